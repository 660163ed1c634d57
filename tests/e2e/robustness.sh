#!/usr/bin/env bash
# Robustness e2e, run inside the VM (tests/e2e/vm/run-in-vm.sh): one node, sixrd invoked as a
# runtime does, under concurrency, SIGKILL at random points of ADD, a wiped data dir, and a
# hostile environment. Usage: robustness.sh SIXRD_BINARY
# Knobs (SIXRD_* pass into the VM): SIXRD_ROBUST_CYCLES (ADD/DEL cycles, default 400),
# SIXRD_ROBUST_BUDGET (seconds the cycle phase may take, default 600: a guard against a hang;
# fewer cycles than asked fail the test), SIXRD_ROBUST_HOLD (pods per worker held at once, default 50),
# SIXRD_ROBUST_KILLS (SIGKILL trials, default 20), SIXRD_ROBUST_KILL_MS (max delay, default 150),
# SIXRD_ROBUST_RACES (rounds of two ADDs for one container, and of ADD against DEL, default 12).
set -euo pipefail

# The pod address from an ADD result, without an exec.
addr_of() { [[ $1 =~ \"address\":\ *\"([0-9a-f:]+)/128\" ]] && echo "${BASH_REMATCH[1]}"; }

SIXRD=$(realpath "$1")
export SIXRD
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
export E2E_NODES=1
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

CYCLES=${SIXRD_ROBUST_CYCLES:-400}
BUDGET=${SIXRD_ROBUST_BUDGET:-600}
HOLD=${SIXRD_ROBUST_HOLD:-50}
KILLS=${SIXRD_ROBUST_KILLS:-20}
RACES=${SIXRD_ROBUST_RACES:-12}
KILL_MS=${SIXRD_ROBUST_KILL_MS:-150}
KILL_BASE=${SIXRD_ROBUST_KILL_BASE:-0}  # added to the random delay
WORKERS=4

trap 'teardown' EXIT
teardown

underlay_up
NODE=$(node_ns 1)
DATA=$E2E_STATE/node1/data
CONF=$(conf 1)  # computed once: jq costs ~0.3 s per exec under emulation
printf '%s\n' "$CONF" >"$E2E_STATE/conf.json"
NODE64=$("$SIXRD" node-prefix --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" \
  --node-ip "$(node_ip 1)" --json | jq -r '.nodePrefix // .prefix // empty')
echo "   node prefix ${NODE64:-?}"

# Cheap read-backs (awk, not jq: jq costs ~0.3 s per exec under emulation).
sx_veths() { ip -n "$NODE" -o link show | awk -F': ' '$2 ~ /^sx/ {sub(/@.*/, "", $2); print $2}' | sort; }
leases() { find "$DATA" -type f ! -name '.lock-*' 2>/dev/null | sort; }  # owner lock files stay
# Pod host routes: ip prints a /128 without its length, so: any non-link-local route on an sx
# device, or a dst inside the cluster prefix with no "/" (a host route).
pod_routes() { ip -n "$NODE" -6 route show | awk '$1 !~ /^fe80/ && ($0 ~ / dev sx/ || ($1 ~ /^fd00:10:/ && $1 !~ /\//))'; }
catq() { cat "$@" 2>/dev/null || true; }  # the files that exist (pipefail-safe)
tunnel_addrs() { ip -n "$NODE" -o addr show dev sixrd0 | awk '{print $4}' | sort; }

nothing_left() { # [what]  -> prints what is left
  local v l r t rc=0
  v=$(sx_veths)
  l=$(leases)
  r=$(pod_routes)
  t=$(tunnel_addrs)
  [ -z "$v" ] || { echo "   veths left: $(echo "$v" | head -5 | tr '\n' ' ') ($(echo "$v" | wc -l))"; rc=1; }
  [ -z "$l" ] || { echo "   leases left: $(echo "$l" | head -5 | tr '\n' ' ') ($(echo "$l" | wc -l))"; rc=1; }
  [ -z "$r" ] || { echo "   pod routes left: $(echo "$r" | head -5 | tr '\n' ' ')"; rc=1; }
  [ "$t" = "$TUNNEL_ADDRS" ] || { echo "   tunnel addresses now: $(echo "$t" | tr '\n' ' ') (was $(echo "$TUNNEL_ADDRS" | tr '\n' ' '))"; rc=1; }
  return $rc
}

echo "== warm-up (brings the tunnel up), timing one cycle"
ip netns add sxe2e-warm
t0=$EPOCHREALTIME
warm_out=$(cni 1 ADD rb-warm eth0 /run/netns/sxe2e-warm "$CONF") || true
t1=$EPOCHREALTIME
warm_addr=$(addr_of "$warm_out") || true
expect "warm-up ADD returns a /128 in the node prefix" test -n "$warm_addr"
expect "warm-up pod answers ping from the node" ping_from "$NODE" "$warm_addr"
cni 1 DEL rb-warm eth0 /run/netns/sxe2e-warm "$CONF" >/dev/null || true
t2=$EPOCHREALTIME
ip netns del sxe2e-warm
echo "   ADD $(echo "($t1 - $t0) * 1000 / 1" | bc) ms, DEL $(echo "($t2 - $t1) * 1000 / 1" | bc) ms"
TUNNEL_ADDRS=$(tunnel_addrs)
echo "   tunnel addresses: $(echo "$TUNNEL_ADDRS" | tr '\n' ' ')"
expect "warm-up leaves nothing" nothing_left

echo "== concurrency: $CYCLES ADD/DEL cycles, $WORKERS workers, ${BUDGET}s budget"
# The pod loops run sixrd from tmpfs inside the node namespace (robustness-pods.sh); namespaces are made
# and removed in batches of CHUNK per worker (one `ip -batch` each).
CHUNK=25
install -m 0755 "$SIXRD" "$E2E_STATE/sixrd"
export CONF_FILE=$E2E_STATE/conf.json
netns_batch() { # add|del TAG FIRST LAST
  local i f=$E2E_STATE/nsbatch-$2-$3
  for ((i = $3; i <= $4; i++)); do echo "netns $1 sxe2e-$2-$i"; done >"$f"
  ip -force -batch "$f" >/dev/null 2>&1 || [ "$1" = del ] || echo "netns $1 batch $2 $3..$4 failed" >>"$E2E_STATE/$2.err"
  rm -f "$f"
}
# pods OUT OPS TAG FIRST LAST DEADLINE: one worker's batch, run in the node namespace by
# robustness-pods.sh; results in $E2E_STATE/OUT.addr and OUT.err
pods() {
  local out=$1
  shift
  ip netns exec "$NODE" env SIXRD="$E2E_STATE/sixrd" OUT="$E2E_STATE/$out" bash "$here/robustness-pods.sh" "$@"
}

cycle_worker() { # worker cycles deadline
  set +e
  local w=$1 n=$2 deadline=$3 first last
  for ((first = 1; first <= n; first += CHUNK)); do
    [ "${EPOCHSECONDS}" -lt "$deadline" ] || break
    last=$((first + CHUNK - 1))
    ((last <= n)) || last=$n
    netns_batch add "cyc-w$w" "$first" "$last"
    pods "cyc-w$w" cycle "cyc-w$w" "$first" "$last" "$deadline"
    netns_batch del "cyc-w$w" "$first" "$last"
  done
}
start=$EPOCHSECONDS
deadline=$((start + BUDGET))
per=$(((CYCLES + WORKERS - 1) / WORKERS))
pids=()
for w in $(seq 1 $WORKERS); do cycle_worker "$w" "$per" "$deadline" & pids+=($!); done
wait "${pids[@]}" || true
took=$((EPOCHSECONDS - start))
done_cycles=$(catq "$E2E_STATE"/cyc-w*.addr | wc -l)
errors=$(catq "$E2E_STATE"/cyc-w*.err | wc -l)
[ "$errors" = 0 ] || catq "$E2E_STATE"/cyc-w*.err | head -5 | cut -c1-300 | sed 's/^/   /'
echo "   $done_cycles successful cycles of $((per * WORKERS)) asked in ${took}s ($errors errors)"
cycles_in_prefix() {
  local bad
  bad=$(catq "$E2E_STATE"/cyc-w*.addr | awk -v p="${NODE64%%::/64}:" 'index($2, p) != 1' | wc -l)
  [ "$bad" = 0 ]
}
expect "$((per * WORKERS)) concurrent ADD/DEL cycles within ${BUDGET}s, 0 errors" \
  test "$errors" = 0 -a "$done_cycles" = "$((per * WORKERS))"
expect "every cycle's address is in the node /64" cycles_in_prefix
expect "after the cycles: no sx veth, no lease, no pod route, tunnel addresses unchanged" nothing_left

echo "== concurrency: $WORKERS workers ADD $HOLD pods each and hold them"
hold_worker() { # worker
  set +e
  netns_batch add "hold-w$1" 1 "$HOLD"
  pods "hold-w$1" add "hold-w$1" 1 "$HOLD" $((EPOCHSECONDS + 3600))
}
unhold_worker() { # worker
  set +e
  pods "unhold-w$1" del "hold-w$1" 1 "$HOLD" $((EPOCHSECONDS + 3600))
  netns_batch del "hold-w$1" 1 "$HOLD"
}
start=$EPOCHSECONDS
pids=()
for w in $(seq 1 $WORKERS); do hold_worker "$w" & pids+=($!); done
wait "${pids[@]}" || true
echo "   ${WORKERS}x$HOLD ADDs in $((EPOCHSECONDS - start))s"
total=$((WORKERS * HOLD))
held=$(catq "$E2E_STATE"/hold-w*.addr | wc -l)
catq "$E2E_STATE"/hold-w*.err | head -5 | cut -c1-300 | sed 's/^/   /'
expect "$total concurrent ADDs all succeed" test "$held" = "$total"
dups() { catq "$E2E_STATE"/hold-w*.addr | awk '{print $2}' | sort | uniq -d; }
no_dups() { local d; d=$(dups); [ -z "$d" ] || { echo "   shared: $(echo "$d" | head -5 | tr '\n' ' ')"; return 1; }; }
expect "no two live pods share an address" no_dups
expect "$total host veths exist" test "$(sx_veths | wc -l)" = "$total"
expect "$total leases exist" test "$(leases | wc -l)" = "$total"
expect "$total pod host routes exist" test "$(pod_routes | wc -l)" = "$total"
sample_ping() {
  local w line
  for w in 1 $WORKERS; do
    line=$(tail -1 "$E2E_STATE/hold-w$w.addr")
    ping_from "$NODE" "${line#* }" || { echo "   no answer from $line"; return 1; }
  done
}
expect "held pods answer ping (a sample)" sample_ping
start=$EPOCHSECONDS
pids=()
for w in $(seq 1 $WORKERS); do unhold_worker "$w" & pids+=($!); done
wait "${pids[@]}" || true
echo "   ${WORKERS}x$HOLD DELs in $((EPOCHSECONDS - start))s"
expect "$total concurrent DELs all succeed" test -z "$(catq "$E2E_STATE"/unhold-w*.err)"
expect "after the held pods: no sx veth, no lease, no pod route, tunnel addresses unchanged" nothing_left

echo "== same-container races: $RACES rounds of two ADDs, $RACES of ADD against DEL"
# One attachment as the node sees it: its lease (the file naming the container), the host veth the
# lease records with the attachment's alias, the /128 route through it, and the address on eth0
# in the pod. Prints "present ADDR VETH" or "absent"; returns 1 when they disagree.
attachment() { # CID NS
  local cid=$1 ns=$2 f addr='' veth='' have_veth=0 have_pod=0 marked link addrs route
  f=$(grep -lx -- "$cid" "$DATA"/e2e/[0-9a-f]* 2>/dev/null | head -1) || true
  if [ -n "$f" ]; then
    addr=$(sed -n 3p "$f")
    veth=$(sed -n 4p "$f")
  fi
  marked=$(ip -n "$NODE" -o link show | grep -c "alias sixrd/e2e/eth0/$cid\$" || true)
  ip -n "$ns" link show eth0 >/dev/null 2>&1 && have_pod=1
  if [ -z "$f" ]; then
    [ "$marked" = 0 ] && [ "$have_pod" = 0 ] && { echo absent; return 0; }
    echo "   no lease, but $marked marked veths, pod eth0: $have_pod"
    return 1
  fi
  # Read whole, then matched: `ip | grep -q` fails under pipefail when grep stops reading early.
  link=$(ip -n "$NODE" -o link show dev "$veth" 2>/dev/null) || true
  [[ $link == *"alias sixrd/e2e/eth0/$cid" ]] && have_veth=1
  addrs=$(ip -n "$ns" -6 -o addr show dev eth0 2>/dev/null) || true
  route=$(ip -n "$NODE" -6 route show "$addr" 2>/dev/null) || true
  if [ "$have_veth" = 1 ] && [ "$marked" = 1 ] && [ "$have_pod" = 1 ] &&
    [[ $addrs == *" $addr/128 "* ]] && [[ $route == *"dev $veth "* ]]; then
    echo "present $addr $veth"
    return 0
  fi
  echo "   lease $addr on ${veth:-?}, but veth $have_veth (marked $marked), pod eth0 $have_pod, addresses [$addrs], route [$route]"
  return 1
}
race_bad=0
race_seen=''
race_round() { # addadd|adddel ROUND
  local kind=$1 r=$2 ns=sxe2e-race cid=rb-race-$1-$2 p1 p2 rc1=0 rc2=0 out1 out2 st rc=0 win
  ip netns add "$ns"
  cni 1 ADD "$cid" eth0 "/run/netns/$ns" "$CONF" >"$E2E_STATE/race1" 2>/dev/null &
  p1=$!
  if [ "$kind" = addadd ]; then
    cni 1 ADD "$cid" eth0 "/run/netns/$ns" "$CONF" >"$E2E_STATE/race2" 2>/dev/null &
  else
    cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF" >"$E2E_STATE/race2" 2>/dev/null &
  fi
  p2=$!
  wait "$p1" || rc1=$?
  wait "$p2" || rc2=$?
  out1=$(cat "$E2E_STATE/race1")
  out2=$(cat "$E2E_STATE/race2")
  st=$(attachment "$cid" "$ns") || { echo "   $kind round $r: $st"; rc=1; }
  if [ "$kind" = addadd ]; then
    # One wins; the other waits for it, finds its pod and says so with 105, taking nothing back.
    if [ "$rc1$rc2" = 01 ] && [[ $out2 == *'"code": 105'* || $out2 == *'"code":105'* ]]; then
      win=$out1
    elif [ "$rc1$rc2" = 10 ] && [[ $out1 == *'"code": 105'* || $out1 == *'"code":105'* ]]; then
      win=$out2
    else
      echo "   addadd round $r: exit $rc1/$rc2: $(head -c 200 <<<"$out1") | $(head -c 200 <<<"$out2")"
      rc=1
    fi
    [[ $st == "present $(addr_of "${win:-}") "* ]] || { echo "   addadd round $r: state $st, winner ${win:0:200}"; rc=1; }
    if [ -n "${win:-}" ]; then
      out1=$(cni 1 CHECK "$cid" eth0 "/run/netns/$ns" "$(conf 1 "{\"prevResult\": $win}")") ||
        { echo "   addadd round $r: CHECK after the race: $out1"; rc=1; }
    fi
  else
    # Both succeed, in either order: all of the ADD's work is there, or none of it.
    [ "$rc1$rc2" = 00 ] || { echo "   adddel round $r: exit $rc1/$rc2: ${out1:0:200} | ${out2:0:200}"; rc=1; }
    race_seen+=" ${st%% *}"
  fi
  out1=$(cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF") || { echo "   $kind round $r: DEL failed: $out1"; rc=1; }
  st=$(attachment "$cid" "$ns") || true
  [ "$st" = absent ] || { echo "   $kind round $r: after DEL: $st"; rc=1; }
  ip netns del "$ns"
  return $rc
}
start=$EPOCHSECONDS
for r in $(seq 1 "$RACES"); do race_round addadd "$r" || race_bad=$((race_bad + 1)); done
expect "$RACES rounds of two ADDs for one container: one wins, the other is 105, lease/veth/address agree, CHECK passes" test "$race_bad" = 0
race_bad=0
for r in $(seq 1 "$RACES"); do race_round adddel "$r" || race_bad=$((race_bad + 1)); done
echo "   $((2 * RACES)) rounds in $((EPOCHSECONDS - start))s; ADD against DEL ended:$(tr ' ' '\n' <<<"$race_seen" | sort | uniq -c | tr -s ' \n' ' ')"
expect "$RACES rounds of ADD against DEL for one container: both succeed, lease/veth/address all there or all gone" test "$race_bad" = 0
expect "after the races: nothing left" nothing_left

echo "== a foreign veth under the attachment's host veth name"
foreign_veth() {
  local ns=sxe2e-foreign cid=rb-foreign out name alias rc=0 chosen
  ip netns add "$ns"
  out=$(cni 1 ADD "$cid" eth0 "/run/netns/$ns" "$CONF") || { echo "   first ADD failed: $out"; ip netns del "$ns"; return 1; }
  name=$(grep -o '"name": *"sx[0-9a-f]*"' <<<"$out" | head -1 | grep -o 'sx[0-9a-f]*')
  cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF" >/dev/null || { echo "   DEL failed"; rc=1; }
  for alias in '' "sixrd/other-net/eth0/$cid"; do
    ip -n "$NODE" link add "$name" type veth peer name sxe2e-fp
    [ -z "$alias" ] || ip -n "$NODE" link set dev "$name" alias "$alias"
    # A DEL first (the runtime's cleanup of a failed ADD): not its veth.
    cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF" >/dev/null || { echo "   DEL before ADD failed"; rc=1; }
    ip -n "$NODE" link show "$name" >/dev/null 2>&1 || { echo "   DEL removed the foreign $name (alias '$alias')"; rc=1; }
    if out=$(cni 1 ADD "$cid" eth0 "/run/netns/$ns" "$CONF"); then
      chosen=$(grep -o '"name": *"sx[0-9a-f]*"' <<<"$out" | head -1 | grep -o 'sx[0-9a-f]*')
      [ -n "$chosen" ] && [ "$chosen" != "$name" ] || { echo "   ADD took $chosen beside the foreign $name"; rc=1; }
      attachment "$cid" "$ns" >/dev/null || { echo "   after ADD: $(attachment "$cid" "$ns")"; rc=1; }
      ping_from "$NODE" "$(addr_of "$out")" || { echo "   the pod does not answer ping"; rc=1; }
    else
      echo "   ADD beside the foreign $name (alias '$alias') failed: $out"
      rc=1
    fi
    cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF" >/dev/null || { echo "   DEL failed"; rc=1; }
    [ "$(attachment "$cid" "$ns")" = absent ] || { echo "   DEL left: $(attachment "$cid" "$ns")"; rc=1; }
    ip -n "$NODE" link show "$name" >/dev/null 2>&1 || { echo "   DEL removed the foreign $name (alias '$alias')"; rc=1; }
    [ "$(ip -n "$NODE" -o link show "$name" 2>/dev/null | grep -c "alias $alias\$")" = "$([ -n "$alias" ] && echo 1 || echo 0)" ] ||
      { echo "   the foreign $name's alias changed"; rc=1; }
    ip -n "$NODE" link del "$name" 2>/dev/null || true
  done
  ip netns del "$ns"
  return $rc
}
expect "a foreign veth (no alias, another network's) holding the host veth name: DEL leaves it, ADD takes another name, DEL removes only its own" foreign_veth
expect "after the foreign veth: nothing left" nothing_left

echo "== SIGKILL of ADD at a random point ($KILL_BASE-$((KILL_BASE + KILL_MS)) ms after the start), $KILLS trials"
killed=0
rcs=()
completed=0
partial=0
kill_bad=0
kill_trial() { # trial -> 0 when DEL cleaned up and a fresh ADD/ping/DEL worked
  local t=$1 ns=sxe2e-k cid=rb-kill-$1 ms pid rc=0 out a
  ip netns add "$ns"
  ms=$((KILL_BASE + RANDOM % (KILL_MS + 1)))
  cni_call -x -n "$NODE" ADD "$cid" eth0 "/run/netns/$ns" <"$E2E_STATE/conf.json" >/dev/null 2>&1 &
  pid=$!
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  rcs+=("$rc")
  if [ "$rc" = 137 ]; then
    killed=$((killed + 1))
    if [ -n "$(sx_veths)$(leases)" ] || ip -n "$ns" link show eth0 >/dev/null 2>&1; then partial=$((partial + 1)); fi
  else
    completed=$((completed + 1))
  fi
  rc=0
  out=$(cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF") || { echo "   trial $t (${ms} ms): DEL failed: $out"; rc=1; }
  nothing_left >/tmp/sxe2e-kill.$$ || { echo "   trial $t (${ms} ms): after DEL:"; cat /tmp/sxe2e-kill.$$; rc=1; }
  if ip -n "$ns" link show eth0 >/dev/null 2>&1; then echo "   trial $t: eth0 left in the pod"; rc=1; fi
  if out=$(cni 1 ADD "$cid" eth0 "/run/netns/$ns" "$CONF") && a=$(addr_of "$out"); then
    ping_from "$NODE" "$a" || { echo "   trial $t: fresh pod $a does not answer ping"; rc=1; }
  else
    echo "   trial $t (${ms} ms): fresh ADD failed: $out"
    rc=1
  fi
  out=$(cni 1 DEL "$cid" eth0 "/run/netns/$ns" "$CONF") || { echo "   trial $t: final DEL failed: $out"; rc=1; }
  ip netns del "$ns"
  return $rc
}
start=$EPOCHSECONDS
for t in $(seq 1 "$KILLS"); do
  kill_trial "$t" || kill_bad=$((kill_bad + 1))
done
rm -f /tmp/sxe2e-kill.$$
echo "   $KILLS trials in $((EPOCHSECONDS - start))s: $killed killed mid-ADD ($partial with partial state seen), $completed completed before the kill"
echo "   exit statuses seen: $(printf '%s\n' "${rcs[@]}" | sort | uniq -c | tr -s ' \n' ' ')"
expect "$KILLS SIGKILLed ADDs: DEL succeeds, nothing left, a fresh ADD works and answers ping" test "$kill_bad" = 0
expect "after the kill trials: nothing left" nothing_left

echo "== data dir wiped (reboot on tmpfs), GC clears the stale veths"
wiped() {
  local i rc=0 out a3 gconf v
  for i in 1 2 3; do ip netns add "sxe2e-w$i"; done
  cni 1 ADD rb-wipe-1 eth0 /run/netns/sxe2e-w1 "$CONF" >/dev/null || { echo "   ADD 1 failed"; rc=1; }
  cni 1 ADD rb-wipe-2 eth0 /run/netns/sxe2e-w2 "$CONF" >/dev/null || { echo "   ADD 2 failed"; rc=1; }
  rm -rf "$DATA"
  if out=$(cni 1 ADD rb-wipe-3 eth0 /run/netns/sxe2e-w3 "$CONF") && a3=$(addr_of "$out"); then :; else
    echo "   ADD after the wipe failed: $out"
    rc=1
  fi
  [ "$(sx_veths | wc -l)" = 3 ] || { echo "   before GC: $(sx_veths | wc -l) veths, want 3"; rc=1; }
  gconf=$(conf 1 '{"cni.dev/valid-attachments": [{"containerID": "rb-wipe-3", "ifname": "eth0"}]}')
  out=$(cni 1 GC "" "" "" "$gconf") || { echo "   GC failed: $out"; rc=1; }
  v=$(sx_veths | wc -l)
  [ "$v" = 1 ] || { echo "   after GC: $v veths, want 1: $(sx_veths | tr '\n' ' ')"; rc=1; }
  [ "$(pod_routes | wc -l)" = 1 ] || { echo "   after GC: pod routes $(pod_routes | tr '\n' ' ')"; rc=1; }
  [ "$(leases | wc -l)" = 1 ] || { echo "   after GC: leases $(leases | tr '\n' ' ')"; rc=1; }
  if [ -z "${a3:-}" ] || ! ping_from "$NODE" "$a3"; then echo "   the new pod does not answer ping"; rc=1; fi
  ip -n sxe2e-w1 link show eth0 >/dev/null 2>&1 && { echo "   stale pod 1 still has eth0"; rc=1; }
  cni 1 DEL rb-wipe-3 eth0 /run/netns/sxe2e-w3 "$CONF" >/dev/null || { echo "   DEL 3 failed"; rc=1; }
  for i in 1 2; do cni 1 DEL "rb-wipe-$i" eth0 "/run/netns/sxe2e-w$i" "$CONF" >/dev/null || { echo "   DEL $i (after GC) failed"; rc=1; }; done
  for i in 1 2 3; do ip netns del "sxe2e-w$i"; done
  return $rc
}
expect "after rm -rf of the data dir: ADD works, GC removes the two stale host veths" wiped
expect "after the wipe test: nothing left" nothing_left

echo "== hostile environment"
ip netns add sxe2e-hostile
: >"$E2E_STATE/regular-file"
{ printf '%s' "${CONF%\}}"; printf ', "pad": "'; head -c 10485760 /dev/zero | tr '\0' a; printf '"}\n'; } >"$E2E_STATE/big.json"
raw_add() { # CID IFNAME NETNS STDIN_FILE
  cni_call -n "$NODE" ADD "$1" "$2" "$3" <"$4"
}
hostile() { # code cid ifname netns [stdin file]
  local code=$1 before after out rc=0
  before="$(sx_veths)|$(leases)"
  out=$(raw_add "$2" "$3" "$4" "${5:-$E2E_STATE/conf.json}" 2>/dev/null) && { echo "   exit 0: $out"; return 1; }
  jq -se --argjson c "$code" 'length == 1 and .[0].code == $c and (.[0].msg | length > 0)' <<<"$out" >/dev/null ||
    { echo "   got: $(head -c 300 <<<"$out")"; rc=1; }
  after="$(sx_veths)|$(leases)"
  [ "$before" = "$after" ] || { echo "   state changed: $after"; rc=1; }
  if ip -n sxe2e-hostile link show eth0 >/dev/null 2>&1 || ip -n sxe2e-hostile link show "$3" >/dev/null 2>&1; then
    echo "   an interface appeared in the pod"
    rc=1
  fi
  return $rc
}
NS=/run/netns/sxe2e-hostile
long_id=$(printf 'c%.0s' $(seq 300))
expect "CNI_CONTAINERID with / -> 4" hostile 4 "rb/evil" eth0 "$NS"
expect "CNI_CONTAINERID .. -> 4" hostile 4 ".." eth0 "$NS"
expect "CNI_CONTAINERID ../../etc -> 4" hostile 4 "../../etc" eth0 "$NS"
expect "CNI_CONTAINERID of 300 characters -> 4" hostile 4 "$long_id" eth0 "$NS"
expect "CNI_IFNAME of 16 characters -> 4" hostile 4 rb-hostile abcdefghijklmnop "$NS"
expect "CNI_IFNAME of 40 characters -> 4" hostile 4 rb-hostile "$(printf 'i%.0s' $(seq 40))" "$NS"
expect "CNI_IFNAME with / -> 4" hostile 4 rb-hostile "eth/0" "$NS"
expect "CNI_IFNAME .. -> 4" hostile 4 rb-hostile ".." "$NS"
expect "CNI_NETNS a regular file -> 4" hostile 4 rb-hostile eth0 "$E2E_STATE/regular-file"
expect "CNI_NETNS a directory -> 4" hostile 4 rb-hostile eth0 "$E2E_STATE"
expect "CNI_NETNS missing -> 3" hostile 3 rb-hostile eth0 /run/netns/sxe2e-does-not-exist
expect "10 MB stdin -> 6" hostile 6 rb-hostile eth0 "$NS" "$E2E_STATE/big.json"
ip netns del sxe2e-hostile
expect "after the hostile environment: nothing left" nothing_left

echo
summary
