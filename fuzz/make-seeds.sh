#!/usr/bin/env bash
# Writes the seed corpus (fuzz/corpus/dicom/seed-*, fuzz/corpus/config/seed-*) from the
# simulator and DCMTK's tools. The committed seeds were made with it; run it again only to
# change them. Needs build/server/torcht1 (bash scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
torcht1=build/server/torcht1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=fuzz/corpus/dicom
mkdir -p "$out" fuzz/corpus/config
rm -f "$out"/seed-* fuzz/corpus/config/seed-*
separator=$'\n--TORCHT1-NEXT-FILE--\n'   # fuzz/FuzzHarness.h kFileSeparator

"$torcht1" simulate --out "$work/plain" --size 16 --slices 1 --seed 3 >/dev/null
"$torcht1" simulate --out "$work/enhanced" --size 16 --slices 1 --seed 3 --enhanced >/dev/null
"$torcht1" simulate --out "$work/bits8" --size 8 --slices 1 --seed 4 --bits 8 >/dev/null
"$torcht1" simulate --out "$work/signed" --size 8 --slices 1 --seed 5 --signed --rescale-slope 2 --rescale-intercept -100 >/dev/null
"$torcht1" simulate --out "$work/two" --size 8 --slices 2 --seed 6 --post >/dev/null
first="$work/plain/IM_1_1.dcm"
enhanced=$(ls "$work"/enhanced/*.dcm)

# One image in every transfer syntax the node accepts.
cp "$first" "$out/seed-image-explicit"
dcmconv +ti "$first" "$out/seed-image-implicit"
dcmconv +tb "$first" "$out/seed-image-bigendian"
dcmconv +td "$first" "$out/seed-image-deflated"
dcmcrle "$first" "$out/seed-image-rle"
dcmcjpls "$first" "$out/seed-image-jpegls"
dcmcjpeg +e1 "$first" "$out/seed-image-jpeg14sv1"
# Enhanced MR: one object with every frame (enough for a series on its own).
cp "$enhanced" "$out/seed-enhanced-explicit"
dcmcrle "$enhanced" "$out/seed-enhanced-rle"
dcmcjpls "$enhanced" "$out/seed-enhanced-jpegls"

# Whole series: the files of one series joined by the separator.
join() {
  local target=$1; shift
  local firstFile=1
  : > "$target"
  for f in "$@"; do
    if [ $firstFile -eq 0 ]; then printf '%s' "$separator" >> "$target"; fi
    cat "$f" >> "$target"
    firstFile=0
  done
}
join "$out/seed-series-explicit" "$work"/plain/IM_*.dcm
join "$out/seed-series-8bit" "$work"/bits8/IM_*.dcm
join "$out/seed-series-signed-rescaled" "$work"/signed/IM_*.dcm
join "$out/seed-series-two-slices-post" "$work"/two/IM_*.dcm
mkdir -p "$work/mixed"
i=0
for f in "$work"/plain/IM_*.dcm; do
  case $((i % 3)) in
    0) dcmconv +ti "$f" "$work/mixed/$i.dcm" ;;
    1) dcmcrle "$f" "$work/mixed/$i.dcm" ;;
    2) dcmcjpls "$f" "$work/mixed/$i.dcm" ;;
  esac
  i=$((i + 1))
done
join "$out/seed-series-mixed-syntaxes" $(ls "$work"/mixed/*.dcm | sort -V)

# Configurations: the documented file, small ones, and ones with environment overrides.
env=$'\n--TORCHT1-ENVIRONMENT--\n'     # fuzz/FuzzHarness.h kEnvironmentSeparator
c=fuzz/corpus/config
cp config/torcht1.yaml "$c/seed-documented"
printf '' > "$c/seed-empty"
printf 'node:\n  ae_title: TORCHT1\n  port: 11112\n  allowed_calling_aes: [SCANNER1, PACS]\n' > "$c/seed-node"
printf 'fit:\n  device: cpu\n  solver: varpro-lm\n  valid_range: [0, 5000]\n  mask: {enabled: true, threshold: 0.1}\n  lm: {max_iterations: 60, grid_points: 32}\n' > "$c/seed-fit"
printf 'input:\n  description_pattern: "molli|t1"\n  min_inversion_times: 5\n  slice_tolerance_mm: 0.5\noutput:\n  maps: [T1, T1_SD, R2]\n' > "$c/seed-input-output"
printf 'destinations:\n  - {name: pacs, ae_title: PACS, host: 10.0.0.5, port: 104}\n  - name: backup\n    ae_title: BACKUP\n    host: backup\n    port: 11112\n    max_attempts: 3\n' > "$c/seed-destinations"
printf 'http:\n  bind: 0.0.0.0\n  port: 8080\n  token: s3cret\nseries: {idle_seconds: 2, use_expected_count: false}\n' > "$c/seed-http-series"
printf 'node: {port: 104}%sNODE__PORT=11112\nFIT__LM__MAX_ITERATIONS=60\nOUTPUT__MAPS=[T1, T1_SD]\n' "$env" > "$c/seed-environment"
printf '%sDESTINATIONS=[{name: pacs, ae_title: PACS, host: pacs, port: 104}]\nDESTINATIONS__0__HOST=orthanc\n' "$env" > "$c/seed-environment-destinations"
printf 'fit:\n  lm:\n    grid_points: 2\n' > "$c/seed-error-range"
printf 'node: [1, 2\n' > "$c/seed-error-syntax"
ls -l "$out" "$c"
