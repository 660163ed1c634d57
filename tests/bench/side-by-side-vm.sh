#!/usr/bin/env bash
# side-by-side-vm.sh A B PODS — the guest half of tests/bench/side-by-side.sh: two sixrd binaries
# exec'd directly (no libcni) on one node of one VM, alternating pod by pod, so that both see the
# same host load, the same number of pods and the same kernel state. Runs as root INSIDE the VM.
#
# Two passes, each on fresh pod namespaces: pass 1 calls A first in every odd pod pair and B first
# in every even one; pass 2 starts with B. In each pass every pod gets an ADD, then every pod a DEL,
# in the same alternation. Printed per pass and verb: p25, p50, p75 of each binary's wall time in
# microseconds (bash's EPOCHREALTIME around the exec), and B's p50 over A's.
# Both binaries share one network configuration and one lease store, as two releases of sixrd on
# one node would; SIXRD_SIDE_WARM warm-up ADDs and DELs of each (default 4) come first so that the
# tunnel exists and the page cache holds both binaries. A call that fails is counted and fails the run.
# Not a test: nothing here is registered in ctest. Everything it made is removed on exit.
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 SIXRD_A SIXRD_B PODS" >&2; exit 2; }
A=$(realpath "$1")
B=$(realpath "$2")
N=$3
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "$0: PODS must be a positive number, not '$N'" >&2; exit 2; }
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
WARM=${SIXRD_SIDE_WARM:-4}
SETTLE=${SIXRD_BENCH_SETTLE:-1}

export SIXRD=$A E2E_NODES=1 E2E_PODS=0 E2E_STATE=/run/sixrd-side E2E_VERSION=1.0.0
# shellcheck source=tests/e2e/lib.sh
. "$here/../e2e/lib.sh"
require_sit tests/bench/side-by-side.sh
nodes_up sbs-
conf 1 '{"log": {"file": "'"$E2E_STATE"'/node1/sixrd.log", "level": "info"}}' >"$E2E_STATE/conf.json"
node=$(node_ns 1)

# call BINARY VERB POD: one call (cni_call -E: the variables exported in a subshell that execs the
# binary); prints its wall time in us. The timed loops run in the node namespace whole:
# `ip netns exec` per call would add its own exec and mount namespace to each (about 100 ms under
# emulation), as `env` would add a dynamic binary's start.
call() {
  local t0 t1
  t0=$EPOCHREALTIME
  if ! cni_call -E "$2" "sbs-$3" eth0 "/run/netns/sbs-$3" -- "$1" <"$E2E_STATE/conf.json" >/dev/null; then
    echo "FAIL $2 sbs-$3 $1" >&2
    echo "$2 sbs-$3" >>"$E2E_STATE/failed"
  fi
  t1=$EPOCHREALTIME
  echo $((${t1/./} - ${t0/./}))
}

# loop PASS VERB: every pod of the pass, A and B alternating, into t.A and t.B.
loop() {
  local pass=$1 verb=$2 i a b
  rm -f "$E2E_STATE/t.A" "$E2E_STATE/t.B"
  for i in $(seq 1 "$N"); do
    a=$pass-$((2 * i - 1)) b=$pass-$((2 * i))
    if (((i + pass) % 2 == 0)); then
      call "$A" "$verb" "$a" >>"$E2E_STATE/t.A"
      call "$B" "$verb" "$b" >>"$E2E_STATE/t.B"
    else
      call "$B" "$verb" "$b" >>"$E2E_STATE/t.B"
      call "$A" "$verb" "$a" >>"$E2E_STATE/t.A"
    fi
  done
}

stats() { # FILE -> "p25 X p50 Y p75 Z n N"
  sort -n "$1" | awk '{v[NR] = $1} END {
    printf "p25 %6d  p50 %6d  p75 %6d  n %d", v[int(NR * 0.25) + 1], v[int(NR * 0.5) + 1],
      v[int(NR * 0.75) + 1], NR }'
}
p50() { sort -n "$1" | awk '{v[NR] = $1} END {print v[int(NR * 0.5) + 1]}'; }

warm() {
  local i bin
  for i in $(seq 1 "$WARM"); do
    for bin in "$A" "$B"; do
      call "$bin" ADD "w$i" >/dev/null
      call "$bin" DEL "w$i" >/dev/null
    done
  done
}
for i in $(seq 1 "$WARM"); do ip netns add "sbs-w$i"; done
ip netns exec "$node" bash -c "$(declare -p A B E2E_STATE WARM; declare -f cni_call call warm); warm"
del_netns_prefix sbs-w

echo "== side by side: A = $A"
echo "                 B = $B"
echo "   $N pods per binary and pass, exec'd directly, alternating pod by pod; wall time in us"
for pass in 1 2; do
  for i in $(seq 1 $((2 * N))); do echo "netns add sbs-$pass-$i"; done >"$E2E_STATE/ns.batch"
  ip -batch "$E2E_STATE/ns.batch"
  for verb in ADD DEL; do
    ip netns exec "$node" bash -c "$(declare -p A B N E2E_STATE; declare -f cni_call call loop); loop $pass $verb"
    first=$([ "$pass" = 1 ] && echo A || echo B)
    echo "-- pass $pass (starts with $first) $verb"
    echo "   A: $(stats "$E2E_STATE/t.A")"
    echo "   B: $(stats "$E2E_STATE/t.B")"
    echo "   B/A p50: $(awk -v a="$(p50 "$E2E_STATE/t.A")" -v b="$(p50 "$E2E_STATE/t.B")" \
      'BEGIN {printf "%.3f", b / a}')"
  done
  del_netns_prefix "sbs-$pass-"
  # The kernel tears a namespace down later, under the RTNL lock the next pass's requests need.
  sleep "$SETTLE"
done

if [ -s "$E2E_STATE/failed" ]; then
  echo "$0: $(wc -l <"$E2E_STATE/failed") call(s) failed: $(head -3 "$E2E_STATE/failed" | tr '\n' ' ')" >&2
  exit 1
fi
