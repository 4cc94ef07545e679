#!/usr/bin/env bash
# Times C-STOREs of simulated MOLLI images (256x256, 8 per slice) into a `torcht1 serve`
# started here on free ports, with nothing fitted (the description pattern matches nothing),
# from two senders: DCMTK's storescu, and torcht1's own sender (`torcht1 simulate --send`,
# timed as simulate with --send minus simulate without). Prints the median of each.
#
#   bash scripts/time-store.sh [instances (a multiple of 8, default 24)] [runs (default 5)]
#
# The node gets this script's environment: TCP_NODELAY=0 keeps Nagle's algorithm on its
# sockets (as before the node set TCP_NODELAY itself). The senders run without TCP_NODELAY,
# or with TCP_NODELAY=$CLIENT_TCP_NODELAY when that is set (0: Nagle on in torcht1's sender
# too). Needs build/server/torcht1 (scripts/build.sh), DCMTK's tools, python3 and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
instances=${1:-24}
runs=${2:-5}
slices=$((instances / 8))
bin=build/server/torcht1
work=$(mktemp -d /tmp/torcht1-time-store.XXXXXX)
node=
cleanup() {
  if [[ -n $node ]]; then kill "$node" 2>/dev/null || true; wait "$node" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
seconds() {  # runs "$@" quietly, prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

port=$(free_port)
"$bin" simulate --out "$work/study" --slices "$slices" --size 256 >/dev/null
mapfile -t files < <(find "$work/study" -name '*.dcm' -not -path '*/truth/*' | sort)
[[ ${#files[@]} -eq $instances ]] || { echo "simulate wrote ${#files[@]} images, not $instances" >&2; exit 1; }

TORCHT1_NODE__PORT=$port TORCHT1_NODE__SPOOL_DIR="$work/spool" TORCHT1_OUTPUT__DIR="$work/maps" \
TORCHT1_HTTP__PORT=0 TORCHT1_INPUT__DESCRIPTION_PATTERN=nothing-matches-this \
  "$bin" serve >"$work/node.log" 2>&1 &
node=$!
for _ in $(seq 100); do
  env -u TCP_NODELAY echoscu -aec TORCHT1 127.0.0.1 "$port" >/dev/null 2>&1 && break
  sleep 0.1
done

sender=(env -u TCP_NODELAY)
[[ -n ${CLIENT_TCP_NODELAY:-} ]] && sender=(env TCP_NODELAY="$CLIENT_TCP_NODELAY")
echo "TCP_NODELAY for the node: ${TCP_NODELAY-not set}; for the senders: ${CLIENT_TCP_NODELAY:-not set}"
storescu=()
for run in $(seq "$runs"); do
  storescu+=("$(seconds "${sender[@]}" storescu -aet SCANNER -aec TORCHT1 127.0.0.1 "$port" "${files[@]}")")
  sleep 0.5
done
ours=()
for run in $(seq "$runs"); do
  alone=$(seconds "${sender[@]}" "$bin" simulate --out "$work/alone$run" --slices "$slices" --size 256)
  sent=$(seconds "${sender[@]}" "$bin" simulate --out "$work/sent$run" --slices "$slices" --size 256 \
    --send "127.0.0.1:$port" --aec TORCHT1)
  ours+=("$(echo "$sent - $alone" | bc)")
  sleep 0.5
done
printf 'storescu:                %d instances in %.3f s (median of %d: %s)\n' "$instances" \
  "$(printf '%s\n' "${storescu[@]}" | median)" "$runs" "$(printf '%.3f ' "${storescu[@]}")"
printf 'torcht1 simulate --send: %d instances in %.3f s (median of %d: %s)\n' "$instances" \
  "$(printf '%s\n' "${ours[@]}" | median)" "$runs" "$(printf '%.3f ' "${ours[@]}")"
