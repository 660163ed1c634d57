#!/usr/bin/env bash
# profile-vm.sh SIXRD KERNEL_FLOOR — the guest half of tests/bench/profile.sh: where one sixrd ADD
# spends its time beyond the kernel floor. Runs as root INSIDE the VM; node 1 runs sixrd, node 2
# the kernel floor (tests/bench/kernel_floor.cpp), both with forwarding on, after SIXRD_PROFILE_WARM
# warm-up ADDs (default 5) so that the tunnel exists and the page cache is warm.
#
#   1. syscalls of one ADD, sixrd against the kernel floor (strace -f -c): counts per call
#   2. one sixrd ADD traced with relative timestamps and call durations (strace -f -r -T): where
#      the gap before a call is large, user-space code ran (libraries, parsing, formatting); then
#      that pod's DEL traced the same way, beside the kernel floor's DEL
#   3. with perf (linux-perf) and SIXRD_PROFILE_PERF=1: SIXRD_PROFILE_N (default 20) ADDs sampled
#      system-wide (cpu-clock), split by command and DSO, then by symbol (kernel and user space) for
#      sixrd and for the kernel floor, and sixrd's own code alone (a copy of the binary that is not
#      stripped gives them names)
#   4. with valgrind and SIXRD_PROFILE_CALLGRIND=1: the instructions of one ADD by function
#      (callgrind; an unstripped binary names them)
# strace slows every call down by about the same amount: compare counts and gaps, not totals.
# Not a test: nothing here is registered in ctest. Everything it made is removed on exit.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 SIXRD_BINARY KERNEL_FLOOR" >&2; exit 2; }
SIXRD=$(realpath "$1")
KFLOOR=$(realpath "$2")
export SIXRD
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
WARM=${SIXRD_PROFILE_WARM:-5}
N=${SIXRD_PROFILE_N:-20}

export E2E_NODES=2 E2E_PODS=0 E2E_STATE=/run/sixrd-profile E2E_VERSION=1.0.0
# shellcheck source=tests/e2e/lib.sh
. "$here/../e2e/lib.sh"
require_sit tests/bench/profile.sh
nodes_up pf-
ip netns exec "$(node_ns 2)" sysctl -qw net.ipv6.conf.all.forwarding=1
conf "1" '{"name": "bench", "log": {"file": "'"$E2E_STATE"'/node1/sixrd.log", "level": "info"}}' >"$E2E_STATE/conf.json"
total=$((WARM + 3 + N))
for i in $(seq 1 "$total"); do echo "netns add pf-s-$i"; echo "netns add pf-k-$i"; done >"$E2E_STATE/ns.batch"
ip -batch "$E2E_STATE/ns.batch"

# sixrd_add N [COMMAND PREFIX...]: one ADD of pod pf-s-N on node 1, as a runtime makes it
sixrd_add() {
  local n=$1
  shift
  ip netns exec "$(node_ns 1)" env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID="pf-s-$n" \
    CNI_IFNAME=eth0 CNI_NETNS="/run/netns/pf-s-$n" CNI_PATH=/usr/lib/cni "$@" "$SIXRD" \
    <"$E2E_STATE/conf.json" >/dev/null
}
kfloor_add() { # kfloor_add N [COMMAND PREFIX...]
  local n=$1
  shift
  "$@" "$KFLOOR" add "/run/netns/$(node_ns 2)" "/run/netns/pf-k-$n" "$n" >/dev/null
}
for i in $(seq 1 "$WARM"); do sixrd_add "$i"; kfloor_add "$i"; done

echo "== 1. syscalls of one ADD: sixrd, then the kernel floor (strace -f -c)"
sixrd_add $((WARM + 1)) strace -f -c -o "$E2E_STATE/sixrd.count"
kfloor_add $((WARM + 1)) strace -f -c -o "$E2E_STATE/kfloor.count"
for who in sixrd kfloor; do
  echo "-- $who"
  awk '/^-|^%|total/ {next} NF >= 5 { printf "  %-16s %5d calls%s\n", $NF, $4, (NF == 6 ? ", " $5 " failed" : "") }' \
    "$E2E_STATE/$who.count"
  awk '/total/ { print "  total: " $4 " calls" }' "$E2E_STATE/$who.count"
done

echo
echo "== 2. one sixrd ADD, each call with the time since the previous one and its own duration"
sixrd_add $((WARM + 2)) strace -f -r -T -s 48 -o "$E2E_STATE/sixrd.trace"
cut -c1-180 "$E2E_STATE/sixrd.trace"
echo "-- the 12 largest gaps before a call (user space running, or the exec itself)"
awk '{ print $2, $0 }' "$E2E_STATE/sixrd.trace" | sort -rn >"$E2E_STATE/gaps"
head -12 "$E2E_STATE/gaps" | cut -d' ' -f2- | cut -c1-160

echo
echo "== 2b. one sixrd DEL (of the pod traced above), traced the same way, and the kernel floor's DEL"
sixrd_del() { # sixrd_del N [COMMAND PREFIX...]
  local n=$1
  shift
  ip netns exec "$(node_ns 1)" env -i PATH="$PATH" CNI_COMMAND=DEL CNI_CONTAINERID="pf-s-$n" \
    CNI_IFNAME=eth0 CNI_NETNS="/run/netns/pf-s-$n" CNI_PATH=/usr/lib/cni "$@" "$SIXRD" \
    <"$E2E_STATE/conf.json" >/dev/null
}
sixrd_del $((WARM + 2)) strace -f -r -T -s 48 -o "$E2E_STATE/sixrd.del.trace"
cut -c1-180 "$E2E_STATE/sixrd.del.trace"
echo "-- the 8 largest gaps before a call"
awk '{ print $2, $0 }' "$E2E_STATE/sixrd.del.trace" | sort -rn | head -8 | cut -d' ' -f2- | cut -c1-160
echo "-- kernel floor DEL: $("$KFLOOR" del "/run/netns/$(node_ns 2)" "/run/netns/pf-k-$((WARM + 1))" $((WARM + 1))) us"

if [ "${SIXRD_PROFILE_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  echo
  echo "== 3. perf: $N ADDs of each, sampled system-wide (cpu-clock)"
  sysctl -qw kernel.kptr_restrict=0 kernel.perf_event_paranoid=-1 || true
  first=$((WARM + 3))
  last=$((WARM + 2 + N))
  cat >"$E2E_STATE/loop.sh" <<EOF
for i in \$(seq $first $last); do
  CNI_COMMAND=ADD CNI_CONTAINERID=pf-s-\$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/pf-s-\$i CNI_PATH=/usr/lib/cni $SIXRD <$E2E_STATE/conf.json >/dev/null
  $KFLOOR add /run/netns/$(node_ns 2) /run/netns/pf-k-\$i \$i >/dev/null
done
EOF
  perf record -q -a -g -e cpu-clock -F 2000 -o "$E2E_STATE/perf.data" -- \
    ip netns exec "$(node_ns 1)" bash "$E2E_STATE/loop.sh" 2>&1 | tail -3 || true
  echo "-- by command and DSO"
  perf report -i "$E2E_STATE/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -12 || true
  for who in sixrd sixrd-kernel-fl; do
    echo "-- $who, kernel and user space, by symbol"
    perf report -i "$E2E_STATE/perf.data" --no-children --comm "$who" --sort dso,sym --stdio -g none 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -40 || true
  done
  echo "-- sixrd's own code, by symbol"
  perf report -i "$E2E_STATE/perf.data" --no-children --comm sixrd --dso sixrd --sort sym --stdio -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -25 || true
fi

if [ "${SIXRD_PROFILE_CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
  echo
  echo "== 4. callgrind: the instructions of one sixrd ADD, by function (inclusive, then self)"
  # Under TCG every guest instruction costs, so the count is what user-space time follows.
  sixrd_add $((WARM + 3 + N)) valgrind -q --tool=callgrind --callgrind-out-file="$E2E_STATE/cg.add"
  callgrind_annotate --inclusive=yes "$E2E_STATE/cg.add" | sed -n '/PROGRAM TOTALS/,$p' | head -60 | cut -c1-160 || true
  echo "-- self"
  callgrind_annotate "$E2E_STATE/cg.add" | sed -n '/file:function/,$p' | head -30 | cut -c1-160 || true
fi
