#!/usr/bin/env bash
# End-to-end test of the docker-compose stack with podman and podman-compose:
#   1. builds the node and Orthanc images (docker/Dockerfile, docker/orthanc/Dockerfile),
#   2. starts docker/docker-compose.yml as project "torcht1-test" on free host ports,
#   3. waits for health (the images' HEALTHCHECKs, run with `podman healthcheck run`),
#   4. study A: a simulated MOLLI study sent by C-STORE to the node's published DICOM port;
#      checks through Orthanc's REST API that the T1 and T1 SD map series arrive, whole,
#   5. study B: half the instances, `podman restart` of the node (SIGTERM), the other half;
#      checks that every map instance arrives exactly once (no second series),
#   6. study C: the same with the node killed (SIGKILL of its process, as in a crash); the
#      restart policy (unless-stopped) brings it back,
#   7. waits past the idle time and checks that nothing more arrived, then takes the stack
#      down with its volumes.
# Prints PASS/FAIL per check and the time of each phase; exits non-zero on any failure.
#
#   bash docker/test-stack.sh [--keep]       (--keep: leave the stack up for a look)
#
# Environment:
#   TORCHT1_TEST_HEALTHZ=require|warn  require (default): the node's HEALTHCHECK (/healthz)
#       must pass. warn: a failing /healthz is reported but readiness is taken from a DICOM
#       C-ECHO instead (for builds of the node that have no HTTP endpoints yet).
#   TORCHT1_TEST_NO_SETUP=1  do not install or configure podman (it must already work).
#
# Sets podman up when needed (root, Debian): installs podman, podman-compose, runc; writes
# /etc/containers/containers.conf when there is none (runc, cgroupfs, no default ulimits: what
# sandboxed machines need); makes debian:bookworm-slim with debootstrap when it cannot be pulled.
# `check && pass ... || fail ...` is meant: pass never fails.
# shellcheck disable=SC2015
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=torcht1-test
TAG="test"
NODE_IMAGE=localhost/torcht1-node:$TAG
ORTHANC_IMAGE=localhost/torcht1-orthanc:$TAG
HEALTHZ_MODE=${TORCHT1_TEST_HEALTHZ:-require}
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

START=$(date +%s)
PHASE_START=$START
FAILED=0
WORK=$(mktemp -d /tmp/torcht1-test-stack.XXXXXX)
SENDER=$PROJECT-sender

log() { printf '[%4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
pass() { log "PASS: $*"; }
fail() { log "FAIL: $*"; FAILED=1; }
phase() {
  local now; now=$(date +%s)
  log "---- $* (previous phase took $((now - PHASE_START)) s)"
  PHASE_START=$now
}
die() { fail "$*"; exit 1; }

# ---------------------------------------------------------------------------------------------
setup_podman() {
  [ "${TORCHT1_TEST_NO_SETUP:-0}" = 1 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v podman >/dev/null || ! command -v podman-compose >/dev/null; then
    [ "$(id -u)" = 0 ] || die "podman and podman-compose are needed (apt-get install podman podman-compose runc)"
    log "installing podman, podman-compose, runc"
    apt-get update -q >/dev/null
    apt-get install -y -q podman podman-compose runc >/dev/null
  fi
  if [ ! -e /etc/containers/containers.conf ] && [ "$(id -u)" = 0 ]; then
    log "writing /etc/containers/containers.conf (runc, cgroupfs, no default ulimits)"
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' \
      > /etc/containers/containers.conf
  fi
  if ! podman image exists docker.io/library/debian:bookworm-slim; then
    if ! podman pull -q docker.io/library/debian:bookworm-slim >/dev/null 2>&1; then
      [ "$(id -u)" = 0 ] || die "debian:bookworm-slim can be neither pulled nor made (debootstrap needs root)"
      log "no registry: making debian:bookworm-slim with debootstrap"
      command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
      local rootfs="$WORK/rootfs"
      debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
      tar -C "$rootfs" -c . | podman import -q - docker.io/library/debian:bookworm-slim >/dev/null
      rm -rf "$rootfs"
    fi
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

container_of() {  # service name -> container name
  podman ps -a --filter "label=io.podman.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n1
}

compose() { podman-compose -p "$PROJECT" -f docker/docker-compose.yml "$@"; }

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
    for s in node orthanc; do
      local c; c=$(container_of $s || true)
      [ -n "$c" ] && { echo "==== last lines of $s ($c) ===="; podman logs --tail 40 "$c" 2>&1 || true; }
    done
  fi
  podman rm -f -v "$SENDER" >/dev/null 2>&1 || true
  if [ $KEEP = 1 ]; then
    log "--keep: stack $PROJECT left running (take it down: podman-compose -p $PROJECT -f docker/docker-compose.yml down -v)"
  else
    compose down -v >"$WORK/down.log" 2>&1 || true
    podman volume rm -f "${PROJECT}_torcht1-data" "${PROJECT}_orthanc-db" >/dev/null 2>&1 || true
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  local total=$(($(date +%s) - START))
  if [ $rc -eq 0 ] && [ $FAILED -eq 0 ]; then
    echo "test-stack: PASS (${total} s)"
  else
    echo "test-stack: FAIL (${total} s)"
    [ $rc -eq 0 ] && exit 1
  fi
}

orthanc_get() {  # REST GET on Orthanc from the host
  curl -fsS --max-time 10 -u "admin:$ORTHANC_ADMIN_PASSWORD" "http://127.0.0.1:$ORTHANC_HTTP_PORT$1"
}

# Series of a study in Orthanc, one line each: "<description>|<instances>|<SeriesInstanceUID>"
study_series() {
  curl -fsS --max-time 10 -u "admin:$ORTHANC_ADMIN_PASSWORD" "http://127.0.0.1:$ORTHANC_HTTP_PORT/tools/find" \
    -d "{\"Level\": \"Series\", \"Expand\": true, \"Query\": {\"StudyInstanceUID\": \"$1\"}}" |
    python3 -c '
import json, sys
for s in json.load(sys.stdin):
    t = s["MainDicomTags"]
    print("%s|%d|%s" % (t.get("SeriesDescription", ""), len(s["Instances"]), t.get("SeriesInstanceUID", "")))'
}

# Checks a study's map series in Orthanc: exactly one "T1 map" and one "T1 SD map" series with
# <slices> instances each, and no other series. Prints what it found when told to.
maps_complete() {  # study_uid slices [verbose]
  local series; series=$(study_series "$1") || return 1
  [ "${3:-}" = verbose ] && printf '%s\n' "$series" | sed 's/^/        /'
  local t1 sd total
  t1=$(printf '%s\n' "$series" | grep -c "T1 map|$2|" || true)
  sd=$(printf '%s\n' "$series" | grep -c "T1 SD map|$2|" || true)
  total=$(printf '%s\n' "$series" | grep -c . || true)
  [ "$t1" = 1 ] && [ "$sd" = 1 ] && [ "$total" = 2 ]
}

wait_for_maps() {  # label study_uid slices timeout
  local deadline=$(($(date +%s) + $4))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if maps_complete "$2" "$3"; then
      pass "$1: T1 map and T1 SD map series in Orthanc, $3 instances each, no other series"
      maps_complete "$2" "$3" verbose
      return 0
    fi
    sleep 2
  done
  fail "$1: map series not complete in Orthanc after $4 s; found:"
  maps_complete "$2" "$3" verbose || true
  return 1
}

last_health_output() {  # container: output of its last healthcheck run
  podman inspect "$1" --format '{{json .State.Health}}' |
    python3 -c 'import json, sys; log = (json.load(sys.stdin) or {}).get("Log") or [{}]; print(log[-1].get("Output", "").strip())'
}

echo_node() {  # C-ECHO to the node through the published port
  podman exec "$SENDER" echoscu -to 5 -aet SCANNER -aec TORCHT1 127.0.0.1 "$TORCHT1_DICOM_PORT" >/dev/null 2>&1
}

wait_node_ready() {  # label timeout: the node answers C-ECHO (and, when it has them, /healthz)
  local deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if echo_node; then pass "$1: node answers C-ECHO on port $TORCHT1_DICOM_PORT"; return 0; fi
    sleep 1
  done
  fail "$1: node does not answer C-ECHO after $2 s"
  return 1
}

simulate() {  # name seed slices -> study files in the sender's /tmp/<name>; prints the StudyInstanceUID
  podman exec "$SENDER" torcht1 simulate --out "/tmp/$1" --size 64 --slices "$3" --seed "$2" >/dev/null
  podman exec "$SENDER" sh -c "ls /tmp/$1/*.dcm" |
    sort >"$WORK/$1.files"
  podman exec "$SENDER" dcmdump +P 0020,000d "$(head -n1 "$WORK/$1.files")" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n1
}

send_files() {  # list-file from to (1-based lines): C-STORE those files to the node
  local files; files=$(sed -n "$2,$3p" "$1" | tr '\n' ' ')
  # shellcheck disable=SC2086
  podman exec "$SENDER" storescu -to 30 -aet SCANNER -aec TORCHT1 127.0.0.1 "$TORCHT1_DICOM_PORT" $files
}

node_log_count() {  # pattern: lines of the node's log that match
  podman logs "$(container_of node)" 2>&1 | grep -c -- "$1" || true
}

# ---------------------------------------------------------------------------------------------
trap cleanup EXIT
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed (JSON of Orthanc's REST API, free ports)"

phase "set-up"
setup_podman
podman --version
podman-compose --version 2>/dev/null | grep -i 'podman-compose' || true
# Leftovers of an interrupted run.
podman rm -f -v "$SENDER" >/dev/null 2>&1 || true
compose down -v >/dev/null 2>&1 || true

phase "build images"
podman build --format docker --network host -t "$NODE_IMAGE" -f docker/Dockerfile . >"$WORK/build-node.log" 2>&1 \
  || { tail -30 "$WORK/build-node.log"; die "node image build failed"; }
pass "node image built ($(podman image inspect "$NODE_IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
podman build --format docker --network host -t "$ORTHANC_IMAGE" docker/orthanc >"$WORK/build-orthanc.log" 2>&1 \
  || { tail -30 "$WORK/build-orthanc.log"; die "Orthanc image build failed"; }
pass "Orthanc image built"
[ "$(podman image inspect "$NODE_IMAGE" --format '{{.Config.User}}')" = "torcht1:torcht1" ] \
  && pass "node image runs as torcht1, not root" || fail "node image user: $(podman image inspect "$NODE_IMAGE" --format '{{.Config.User}}')"
podman image inspect "$NODE_IMAGE" --format '{{json .Config.Healthcheck}}' | grep -q healthz \
  && pass "node image has a HEALTHCHECK on /healthz" || fail "node image has no HEALTHCHECK"

phase "start the stack"
export TORCHT1_TAG=$TAG
TORCHT1_DICOM_PORT=$(free_port)
TORCHT1_STATUS_PORT=$(free_port)
ORTHANC_HTTP_PORT=$(free_port)
TORCHT1_HTTP_TOKEN=test-$RANDOM$RANDOM
ORTHANC_ADMIN_PASSWORD=test-$RANDOM$RANDOM
export TORCHT1_DICOM_PORT TORCHT1_STATUS_PORT ORTHANC_HTTP_PORT TORCHT1_HTTP_TOKEN ORTHANC_ADMIN_PASSWORD
export ORTHANC_HTTP_BIND=127.0.0.1
log "host ports: DICOM $TORCHT1_DICOM_PORT, status $TORCHT1_STATUS_PORT, Orthanc $ORTHANC_HTTP_PORT"
compose up -d --no-build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; die "podman-compose up failed"; }
NODE=$(container_of node)
ORTHANC=$(container_of orthanc)
[ -n "$NODE" ] && [ -n "$ORTHANC" ] || { cat "$WORK/up.log"; die "stack containers not found"; }
pass "stack up: $NODE, $ORTHANC"
# The sender plays the scanner: it reaches the node through the published port, as a scanner would.
# (podman's own stderr goes to files: without systemd it complains about healthcheck timers.)
podman run -d --name "$SENDER" --network host --entrypoint sleep "$NODE_IMAGE" infinity >/dev/null 2>"$WORK/sender.err" \
  || { cat "$WORK/sender.err"; die "cannot start the sender container"; }

phase "wait for health"
deadline=$(($(date +%s) + 120))
until podman healthcheck run "$ORTHANC" >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || die "Orthanc's HEALTHCHECK does not pass after 120 s"
  sleep 2
done
pass "Orthanc healthy (its HEALTHCHECK: REST API with the admin password)"
orthanc_get /system >/dev/null && pass "Orthanc REST API reachable on 127.0.0.1:$ORTHANC_HTTP_PORT with the password"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ORTHANC_HTTP_PORT/system" || true)
[ "$code" = 401 ] && pass "Orthanc refuses the REST API without the password (401)" || fail "Orthanc without password: HTTP $code"
wait_node_ready "start" 120
deadline=$(($(date +%s) + 60))
until podman healthcheck run "$NODE" >/dev/null 2>&1 || [ "$(date +%s)" -ge "$deadline" ]; do sleep 2; done
if podman healthcheck run "$NODE" >/dev/null 2>&1; then
  pass "node healthy (its HEALTHCHECK: GET /healthz)"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TORCHT1_STATUS_PORT/healthz" || true)
  [ "$code" = 200 ] && pass "/healthz answers 200 on the published status port" || fail "/healthz on the published port: HTTP $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TORCHT1_STATUS_PORT/metrics" || true)
  [ "$code" = 401 ] && pass "/metrics needs the token (401 without)" || fail "/metrics without token: HTTP $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TORCHT1_HTTP_TOKEN" \
    "http://127.0.0.1:$TORCHT1_STATUS_PORT/metrics" || true)
  [ "$code" = 200 ] && pass "/metrics answers 200 with the token" || fail "/metrics with token: HTTP $code"
else
  output=$(last_health_output "$NODE")
  log "the node's HEALTHCHECK says: $output"
  if [ "$HEALTHZ_MODE" = warn ]; then
    # The check itself must be sound: curl on the URL, refused because nothing listens there.
    case "$output" in
      *"127.0.0.1 port 8080"*)
        log "WARN: the node's HEALTHCHECK (/healthz) does not pass: no HTTP endpoints in this build?" \
            "Readiness taken from C-ECHO (TORCHT1_TEST_HEALTHZ=warn)." ;;
      *) fail "the node's HEALTHCHECK does not even reach 127.0.0.1:8080 (a broken healthcheck command?)" ;;
    esac
  else
    fail "the node's HEALTHCHECK (/healthz) does not pass (TORCHT1_TEST_HEALTHZ=warn accepts this)"
  fi
fi
[ "$(podman exec "$NODE" id -u)" = 10001 ] && pass "node process runs as uid 10001" || fail "node uid: $(podman exec "$NODE" id -u)"
grep -q 'destinations:' <(podman logs "$NODE" 2>&1) && podman logs "$NODE" 2>&1 | grep -q 'pacs: ORTHANC@orthanc:4242' \
  && pass "node configured by environment: maps to pacs ORTHANC@orthanc:4242" || fail "node's destination is not Orthanc"

phase "study A: whole study"
STUDY_A=$(simulate studyA 101 3)
N_A=$(wc -l <"$WORK/studyA.files")
send_files "$WORK/studyA.files" 1 "$N_A" >"$WORK/sendA.log" 2>&1 && pass "study A: $N_A instances stored by the node" \
  || { cat "$WORK/sendA.log"; fail "study A: C-STORE failed"; }
wait_for_maps "study A" "$STUDY_A" 3 180 || true

phase "study B: node restarted (SIGTERM) mid-series"
STUDY_B=$(simulate studyB 202 4)
N_B=$(wc -l <"$WORK/studyB.files")
HALF_B=$((N_B / 2))
send_files "$WORK/studyB.files" 1 "$HALF_B" >"$WORK/sendB1.log" 2>&1 && pass "study B: first $HALF_B of $N_B instances stored" \
  || { cat "$WORK/sendB1.log"; fail "study B: first half not stored"; }
stopped_before=$(node_log_count 'event=stopped')
t=$(date +%s)
podman restart -t 60 "$NODE" >/dev/null 2>"$WORK/restart.err" || { cat "$WORK/restart.err"; fail "podman restart failed"; }
log "podman restart took $(($(date +%s) - t)) s"
[ "$(node_log_count 'event=stopped')" -gt "$stopped_before" ] && pass "node stopped cleanly on SIGTERM (event=stopped logged)" \
  || fail "no event=stopped in the node's log after the restart"
wait_node_ready "after restart" 120 || true
podman logs "$NODE" 2>&1 | grep 'event=recovered' | grep -q "instances=$HALF_B" \
  && pass "node recovered the half series from its spool ($HALF_B instances)" || fail "no event=recovered with instances=$HALF_B"
send_files "$WORK/studyB.files" $((HALF_B + 1)) "$N_B" >"$WORK/sendB2.log" 2>&1 && pass "study B: remaining $((N_B - HALF_B)) instances stored" \
  || { cat "$WORK/sendB2.log"; fail "study B: second half not stored"; }
wait_for_maps "study B" "$STUDY_B" 4 180 || true

phase "study C: node killed (SIGKILL) mid-series, brought back by its restart policy"
STUDY_C=$(simulate studyC 303 2)
N_C=$(wc -l <"$WORK/studyC.files")
HALF_C=$((N_C / 2))
send_files "$WORK/studyC.files" 1 "$HALF_C" >"$WORK/sendC1.log" 2>&1 && pass "study C: first $HALF_C of $N_C instances stored" \
  || { cat "$WORK/sendC1.log"; fail "study C: first half not stored"; }
restarts_before=$(podman inspect "$NODE" --format '{{.RestartCount}}')
pid=$(podman inspect "$NODE" --format '{{.State.Pid}}')
kill -KILL "$pid"
deadline=$(($(date +%s) + 60))
while [ "$(podman inspect "$NODE" --format '{{.RestartCount}}')" = "$restarts_before" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
if [ "$(podman inspect "$NODE" --format '{{.RestartCount}}')" != "$restarts_before" ]; then
  pass "restart policy brought the killed node back ($(podman inspect "$NODE" --format '{{.RestartCount}}') restarts)"
else
  fail "the killed node was not restarted by its restart policy within 60 s; starting it by hand"
  podman start "$NODE" >/dev/null 2>&1
fi
wait_node_ready "after kill" 120 || true
send_files "$WORK/studyC.files" $((HALF_C + 1)) "$N_C" >"$WORK/sendC2.log" 2>&1 && pass "study C: remaining $((N_C - HALF_C)) instances stored" \
  || { cat "$WORK/sendC2.log"; fail "study C: second half not stored"; }
wait_for_maps "study C" "$STUDY_C" 2 180 || true

phase "nothing more arrives"
idle=${TORCHT1_SERIES_IDLE_SECONDS:-10}
sleep $((idle + 10))
while read -r name uid slices; do
  maps_complete "$uid" "$slices" && pass "study $name still exactly one T1 map and one T1 SD map series, $slices instances each" \
    || { fail "study $name changed after completion:"; maps_complete "$uid" "$slices" verbose || true; }
done <<EOF_STUDIES
A $STUDY_A 3
B $STUDY_B 4
C $STUDY_C 2
EOF_STUDIES
n=$(orthanc_get /statistics | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])')
expected=$((2 * (3 + 4 + 2)))
[ "$n" = "$expected" ] && pass "Orthanc holds $n instances in all: the $expected map instances, each once" \
  || fail "Orthanc holds $n instances, expected $expected"
failed_sends=$(node_log_count 'event=send_failed')
[ "$failed_sends" = 0 ] && pass "no send_failed in the node's log" || fail "$failed_sends send_failed events in the node's log"

phase "take the stack down"
[ $FAILED -eq 0 ]
