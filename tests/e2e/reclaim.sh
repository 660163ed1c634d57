#!/usr/bin/env bash
# Reclaim e2e (issue 15), run as root INSIDE the VM (a kernel with sit), normally through ctest:
#
#   tests/e2e/vm/run-in-vm.sh --timeout 600 tests/e2e/reclaim.sh build/sixrd build/conformance/cnidriver
#
# Usage: reclaim.sh SIXRD_BINARY DRIVER      (DRIVER: conformance/build-driver.sh's cnidriver)
#
# One node namespace with its sit tunnel (tests/e2e/lib.sh). A conflist chains sixrd with
# "faildel", a shell plugin written here that passes ADD's prevResult through and fails every DEL,
# and pods are driven through libcni (cnidriver), as containerd does: libcni runs DEL in reverse
# order and stops at faildel's error, so sixrd's DEL is never called.
#   - pod "failed": ADD, DEL fails -> lease, host veth and /128 route remain; its netns is deleted
#     -> the kernel takes the veth and route, the lease remains; `sixrd daemon --reclaim-grace 3
#     --interval 1` (running all along) releases it no earlier than the grace period after the ADD
#     and within grace + interval (+ slack for emulation), and logs it.
#   - pod "pinned": ADD, DEL fails, netns kept (a runtime pinning it): veth and lease are kept.
#   - pod "retry": ADD, DEL fails, netns deleted, then ADDed again (same container id) at moments
#     around the grace boundary, several times: an ADD racing the reclaim of its own stale lease.
#   - meanwhile a loop ADDs and holds new pods: at the end every live pod has its lease, host veth
#     and /128 route, and answers ping; no reclaim line names any of them.
#   - a foreign file in the lease directory stays and is logged as left alone.
# Prints "ok   <check>" / "FAIL <check>" per check and "SUMMARY reclaim: N passed, M failed"
# (tests/lib/harness.sh); exits non-zero on any failure. Cleans up everything it made (trap), also on failure.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 SIXRD_BINARY DRIVER" >&2; exit 2; }
SIXRD=$(realpath "$1")
DRIVER=$(realpath "$2")
export SIXRD
export E2E_NODES=1 E2E_PODS=0 E2E_STATE=/run/sixrd-reclaim E2E_VERSION=1.0.0
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

if ! modprobe sit 2>/dev/null && [ ! -d /sys/module/sit ]; then
  echo "$0: this kernel has no sit module; run me through tests/e2e/vm/run-in-vm.sh" >&2
  exit 2
fi

NET=reclaim
GRACE=${SIXRD_RECLAIM_E2E_GRACE:-3}
INTERVAL=1
HOLDERS=${SIXRD_RECLAIM_E2E_HOLDERS:-16}
RETRIES=4
SLACK=4  # seconds a pass may take beyond grace + interval under emulation (TCG)
BIN=$E2E_STATE/bin
CACHE=$E2E_STATE/cache
LIST=$E2E_STATE/reclaim.conflist
DATA=$E2E_STATE/node1/data
LEASES=$DATA/$NET
DAEMON_LOG=$E2E_STATE/daemon.log
NODE=$(node_ns 1)
daemon_pid=
holder_pid=

cleanup() {
  set +e
  [ -z "$holder_pid" ] || { kill "$holder_pid" 2>/dev/null; wait "$holder_pid" 2>/dev/null; }
  [ -z "$daemon_pid" ] || { kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; }
  teardown
}
trap cleanup EXIT
teardown
underlay_up

# --- the CNI bin dir and the conflist ------------------------------------------------------------
mkdir -p "$BIN" "$CACHE"
install -m 0755 "$SIXRD" "$BIN/sixrd"
cat >"$BIN/faildel" <<'EOF'
#!/bin/sh
# A chained plugin whose DEL always fails (as portmap's does when its iptables call fails).
case "$CNI_COMMAND" in
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}' ;;
  ADD) jq -c .prevResult ;;
  CHECK) cat >/dev/null ;;
  DEL)
    cat >/dev/null
    echo '{"cniVersion":"1.0.0","code":100,"msg":"faildel: DEL fails on purpose (test)"}'
    exit 1
    ;;
  *) exit 0 ;;
esac
EOF
chmod 0755 "$BIN/faildel"
SIXRD_CONF=$(conf 1 "{\"name\": \"$NET\"}")
jq -n --argjson s "$SIXRD_CONF" --arg n "$NET" \
  '{cniVersion: "1.0.0", name: $n,
    plugins: [($s | del(.cniVersion, .name)), {type: "faildel"}]}' >"$LIST"

# drv VERB NETNS ID : libcni through the driver, in the node namespace (as containerd on a node)
drv() {
  ip netns exec "$NODE" "$DRIVER" "$1" --conflist "$LIST" --netns "$2" --id "$3" --ifname eth0 \
    --bin-dirs "$BIN" --cache-dir "$CACHE" --pod-namespace reclaim --pod-name "pod-$3"
}
# sixrd's own DEL, executed directly (the cleanup the runtime could not do)
sixrd_del() { cni 1 DEL "$1" eth0 "$2" "$SIXRD_CONF" >/dev/null; }

netns_of() { echo "sxe2e-rc-$1"; }
# add ID -> writes the result to $E2E_STATE/ID.json; fails when the ADD does
add() {
  local ns
  ns=$(netns_of "$1")
  [ -e "/run/netns/$ns" ] || ip netns add "$ns"
  drv add "/run/netns/$ns" "$1" >"$E2E_STATE/$1.json" 2>"$E2E_STATE/$1.err"
}
# del_fails ID: DEL through libcni fails, with faildel's error (so sixrd's DEL was not called)
del_fails() {
  if drv del "/run/netns/$(netns_of "$1")" "$1" >/dev/null 2>"$E2E_STATE/$1.delerr"; then
    echo "   DEL of $1 succeeded"
    return 1
  fi
  grep -q "faildel: DEL fails on purpose" "$E2E_STATE/$1.delerr" || { sed 's/^/   /' "$E2E_STATE/$1.delerr"; return 1; }
}
addr_of() { jq -r '.ips[0].address | split("/")[0]' "$E2E_STATE/$1.json"; }
veth_of() { jq -r '.interfaces[0].name' "$E2E_STATE/$1.json"; }
has_veth() { ip -n "$NODE" link show dev "$1" >/dev/null 2>&1; }
has_route() { ip -n "$NODE" -6 route show "$1/128" | grep -q "dev $2"; }
lease_of() { # ID -> the lease file holding that container id, if any
  local f
  for f in "$LEASES"/*; do
    [ -f "$f" ] && [ "$(head -1 "$f")" = "$1" ] && { echo "$f"; return 0; }
  done
  return 1
}
# alive ID: lease (with the result's address), host veth and /128 route all there
alive() {
  local id=$1 f a v
  a=$(addr_of "$id") v=$(veth_of "$id")
  f=$(lease_of "$id") || { echo "   $id: no lease"; return 1; }
  [ "$(sed -n 3p "$f")" = "$a" ] || { echo "   $id: lease holds $(sed -n 3p "$f"), ADD gave $a"; return 1; }
  has_veth "$v" || { echo "   $id: no host veth $v"; return 1; }
  has_route "$a" "$v" || { echo "   $id: no route $a/128 dev $v"; return 1; }
}
wait_for() { # SECONDS command... : polls every 0.2 s
  local until=$((EPOCHSECONDS + $1))
  shift
  until "$@"; do
    [ "$EPOCHSECONDS" -lt "$until" ] || return 1
    sleep 0.2
  done
}

echo "== the daemon (grace ${GRACE}s, interval ${INTERVAL}s) and a loop ADDing $HOLDERS pods"
ip netns exec "$NODE" "$SIXRD" --log-level info daemon --conf "$LIST" --interval "$INTERVAL" \
  --reclaim-grace "$GRACE" 2>"$DAEMON_LOG" &
daemon_pid=$!
expect "the daemon brings the tunnel up" wait_for 30 ip -n "$NODE" link show dev sixrd0
mkdir -p "$LEASES"
echo "not a lease" >"$LEASES/README"

holders() {
  set +e
  local i
  for ((i = 1; i <= HOLDERS; i++)); do
    if add "hold$i"; then echo "hold$i" >>"$E2E_STATE/holders.ok"; else echo "hold$i" >>"$E2E_STATE/holders.fail"; fi
  done
}
holders &
holder_pid=$!

echo "== pod 'failed': a chained plugin's DEL fails, then its namespace goes"
expect "ADD through libcni (sixrd + faildel) succeeds" add failed
t_add=$EPOCHREALTIME
A=$(addr_of failed) AV=$(veth_of failed)
echo "   failed: $A on $AV"
expect "DEL through libcni fails with faildel's error" del_fails failed
expect "sixrd's DEL was never called: lease, veth and route remain" alive failed
ip netns del "$(netns_of failed)"
expect "the namespace gone, the kernel removes the host veth" wait_for 10 not has_veth "$AV"
t_gone_veth=$EPOCHREALTIME
expect "... and its /128 route" not has_route "$A" "$AV"
A_LEASE=$(lease_of failed) || A_LEASE=$LEASES/missing
lease_left() { [ -e "$A_LEASE" ]; }  # a builtin: polling stays cheap under emulation
if [ "$(echo "$EPOCHREALTIME - $t_add < $GRACE" | bc)" = 1 ]; then
  expect "the lease remains within the grace period" lease_left
fi
expect "the daemon releases the lease" wait_for $((GRACE + INTERVAL + SLACK + 10)) not lease_left
t_released=$EPOCHREALTIME
age=$(echo "$t_released - $t_add" | bc)
base=$(echo "if ($t_gone_veth - $t_add > $GRACE) $t_gone_veth - $t_add else $GRACE" | bc)
echo "   released ${age}s after the ADD (veth gone after $(echo "$t_gone_veth - $t_add" | bc)s); bound $(echo "$base + $INTERVAL + $SLACK" | bc)s"
expect "not before the grace period" test "$(echo "$age >= $GRACE" | bc)" = 1
expect "within grace + interval (+${SLACK}s slack)" test "$(echo "$age <= $base + $INTERVAL + $SLACK" | bc)" = 1
expect "the daemon logged the reclaim naming container and ifname" \
  grep -q "reclaim: released lease $A of container failed ifname eth0" "$DAEMON_LOG"
# The daemon's own figure (the lease's age when it was released) is exact where the polling above
# is not (each poll is an exec under emulation).
logged_age=$(sed -n "s/.*released lease $A of container failed .* the lease is \([0-9]*\) s old.*/\1/p" "$DAEMON_LOG" | head -1)
echo "   the daemon released it at age ${logged_age:-?}s"
expect "... at an age of at least the grace period" test "${logged_age:-0}" -ge "$GRACE"
expect "... within grace + interval (+${SLACK}s) of the veth going" \
  test "$(echo "${logged_age:-999} <= $base + $INTERVAL + $SLACK" | bc)" = 1

echo "== pod 'pinned': DEL fails, the runtime keeps its namespace"
expect "ADD succeeds" add pinned
expect "DEL through libcni fails" del_fails pinned

echo "== pod 'retry': the same container ADDed again around the grace boundary, $RETRIES times"
retry_ok=0
for ((r = 1; r <= RETRIES; r++)); do
  if add retry; then retry_ok=$((retry_ok + 1)); else sed 's/^/   /' "$E2E_STATE/retry.err" | head -3; fi
  del_fails retry >/dev/null || echo "   DEL of retry did not fail at faildel"
  ip netns del "$(netns_of retry)"
  # Around the moment the stale lease becomes eligible: before, at, and after it.
  sleep "$(echo "$GRACE - 1 + ($r % 3) * $INTERVAL * 0.7" | bc)"
done
expect "every retried ADD succeeds ($RETRIES)" test "$retry_ok" = "$RETRIES"
expect "the last retry ADD succeeds" add retry
expect "ADD of the retried container made its pod whole" alive retry

echo "== the holders"
wait "$holder_pid" || true
holder_pid=
held=$(wc -l <"$E2E_STATE/holders.ok" 2>/dev/null || echo 0)
expect "$HOLDERS pods ADDed while the daemon reclaimed" test "$held" = "$HOLDERS"
# Let every lease outgrow the grace period and a few more passes run over them.
sleep $((GRACE + 3 * INTERVAL))
all_alive() {
  local id rc=0
  for id in $(cat "$E2E_STATE/holders.ok" 2>/dev/null) pinned retry; do alive "$id" || rc=1; done
  return $rc
}
expect "every live pod (holders, pinned, retry) keeps lease, veth and route" all_alive
ping_sample() {
  local id
  for id in hold1 "hold$HOLDERS" pinned retry; do
    ping_from "$NODE" "$(addr_of "$id")" || { echo "   no answer from $id"; return 1; }
  done
}
expect "live pods answer ping (a sample)" ping_sample
no_live_reclaimed() {
  local id bad=0
  for id in $(cat "$E2E_STATE/holders.ok") pinned; do
    if grep -E "reclaim: (released|removed).* (of container $id ifname|$(veth_of "$id") )" "$DAEMON_LOG"; then bad=1; fi
  done
  return $bad
}
expect "no reclaim line names a live pod" no_live_reclaimed
expect "the foreign file stays" test "$(cat "$LEASES/README")" = "not a lease"
expect "the foreign file is logged as left alone" grep -q "leaving alone $LEASES/README" "$DAEMON_LOG"
echo "   daemon: $(grep -c 'reclaim: released' "$DAEMON_LOG") released, $(grep -c 'reclaim: keeping' "$DAEMON_LOG") kept after a race, $(grep -c 'reclaim: removed host veth' "$DAEMON_LOG") veths removed"
grep "reclaim: " "$DAEMON_LOG" | sed 's/^/   | /' | head -20

kill "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
expect "the daemon exits 0 on SIGTERM" test "$rc" = 0

echo "== cleanup"
for id in $(cat "$E2E_STATE/holders.ok" 2>/dev/null) pinned retry; do
  sixrd_del "$id" "/run/netns/$(netns_of "$id")" || echo "   DEL $id failed"
  ip netns del "$(netns_of "$id")" 2>/dev/null || true
done
rm -f "$LEASES/README"
nothing_left() {
  local v l
  v=$(ip -n "$NODE" -o link show | awk -F': ' '$2 ~ /^sx[0-9a-f]/ {print $2}')
  l=$(find "$LEASES" -type f ! -name '.lock-*')
  [ -z "$v" ] || echo "   veths left: $v"
  [ -z "$l" ] || echo "   files left: $l"
  [ -z "$v$l" ]
}
expect "nothing left: no sixrd veth, no lease" nothing_left
summary
