#!/usr/bin/env bash
# dellink-phases-vm.sh SIXRD DELLINK_PHASES [PODS] — when a deleted host veth is gone from the node,
# against when its RTM_DELLINK returns (tests/bench/dellink_phases.c says how each is taken). Runs
# as root INSIDE the VM; from the host:
#   gcc -O2 -static -pthread -o /tmp/dellink-phases tests/bench/dellink_phases.c
#   tests/e2e/vm/run-in-vm.sh --quiet --timeout 900 --smp 2 --mem 2048 \
#     tests/bench/dellink-phases-vm.sh build/sixrd /tmp/dellink-phases 45
# sixrd ADDs PODS pods (default 45) on one node, exec'd directly as in side-by-side-vm.sh; then
# each host veth is deleted by the program, the three ways in turn (sync, thread, fork), and the
# p25, p50 and p75 of each figure (us) are printed. Not a test. Everything it made is removed on
# exit.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 SIXRD DELLINK_PHASES [PODS]" >&2
  exit 2
fi
A=$(realpath "$1")
P=$(realpath "$2")
N=${3:-45}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "$0: PODS must be a positive number, not '$N'" >&2; exit 2; }
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

export SIXRD=$A E2E_NODES=1 E2E_PODS=0 E2E_STATE=/run/sixrd-dellink E2E_VERSION=1.0.0
# shellcheck source=tests/e2e/lib.sh
. "$here/../e2e/lib.sh"
require_sit tests/e2e/vm/run-in-vm.sh
nodes_up dlp-
conf 1 '{"log": {"file": "'"$E2E_STATE"'/node1/sixrd.log", "level": "info"}}' >"$E2E_STATE/conf.json"
node=$(node_ns 1)
for i in $(seq 1 "$N"); do echo "netns add dlp-$i"; done >"$E2E_STATE/netns.batch"
ip -batch "$E2E_STATE/netns.batch"

# In the node namespace: the ADDs, a second for the kernel to settle, then one delete a pod.
run() {
  local i
  local -a modes=(sync thread fork)
  for i in $(seq 1 "$N"); do
    cni_call -E ADD "dlp-$i" eth0 "/run/netns/dlp-$i" -- "$A" <"$E2E_STATE/conf.json" >"$E2E_STATE/r.$i"
  done
  sleep 1
  for i in $(seq 1 "$N"); do
    "$P" "$(jq -r '.interfaces[0].name' "$E2E_STATE/r.$i")" "${modes[$((i % 3))]}"
  done
}
ip netns exec "$node" bash -c "set -euo pipefail; $(declare -p A P N E2E_STATE; declare -f cni_call run); run" \
  >"$E2E_STATE/out"

# stats MODE FIELD: p25 p50 p75 (nearest rank) of the value after FIELD in MODE's lines.
stats() {
  local p
  awk -v m="$1" -v f="$2" '$1 == m { for (i = 2; i < NF; i++) if ($i == f) print $(i + 1) }' \
    "$E2E_STATE/out" >"$E2E_STATE/values"
  [ -s "$E2E_STATE/values" ] || return 0
  for p in 25 50 75; do printf '%8d ' "$(nearest_rank "$p" <"$E2E_STATE/values")"; done
  echo " (n=$(wc -l <"$E2E_STATE/values"))"
}
printf '%-28s %8s %8s %8s\n' "figure (us from the start)" p25 p50 p75
for row in "sync ret" "thread socket" "thread create" "thread gone" "thread ret" "fork socket" \
  "fork create" "fork gone"; do
  # shellcheck disable=SC2086 # MODE and FIELD, split on purpose
  printf '%-28s %s\n' "$row" "$(stats $row)"
done
if grep -q ' rc [^0]' "$E2E_STATE/out"; then
  echo "$0: a delete failed:" >&2
  grep ' rc [^0]' "$E2E_STATE/out" >&2
  exit 1
fi
