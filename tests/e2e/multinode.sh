#!/usr/bin/env bash
# Multi-node e2e, run inside the VM by tests/e2e/run.sh: three nodes, two pods each, and the
# datapath proven through the kernel's 6rd mapping alone.
# Usage: multinode.sh SIXRD_BINARY SIXRD_FAULTS_BINARY (the test build with fault points)
set -euo pipefail
SIXRD=$(realpath "$1")
SIXRD_FAULTS=$(realpath "$2")
export SIXRD
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

trap 'teardown' EXIT
teardown

echo "== nodes and pods"
underlay_up
for n in $(seq 1 "$E2E_NODES"); do
  for p in $(seq 1 "$E2E_PODS"); do
    expect "ADD node$n pod$p" add_pod "$n" "$p"
  done
done

echo "== tunnel state, read back independently"
tunnel_ok() { # node
  local j
  j=$(ip -n "$(node_ns "$1")" -d -j link show sixrd0)
  jq -e --arg local "$(node_ip "$1")" '.[0] |
      .linkinfo.info_kind == "sit" and .linkinfo.info_data.local == $local and
      .linkinfo.info_data.remote == "any" and .linkinfo.info_data.ttl == 64 and
      .linkinfo.info_data.prefix == "fd00:10::" and .linkinfo.info_data.prefixlen == 48 and
      .linkinfo.info_data.relay_prefix == "198.18.0.0" and
      .linkinfo.info_data.relay_prefixlen == 16 and .mtu == 1480 and
      (.flags | index("UP") != null)' <<<"$j" >/dev/null || { echo "$j" >&2; return 1; }
}
overlay_on_tunnel() {
  ip -n "$(node_ns "$1")" -j addr show dev sixrd0 |
    jq -e --arg a "$(overlay_addr "$1")" '[.[0].addr_info[] | select(.local == $a and .prefixlen == 48)] | length == 1' >/dev/null
}
unreachable_route() {
  ip -n "$(node_ns "$1")" -6 -j route show type unreachable |
    jq -e --arg d "fd00:10:0:$(printf '%x' $((($1 << 8) | (10 + $1))))::/64" '[.[] | select(.dst == $d)] | length == 1' >/dev/null
}
forwarding_on() { [ "$(ip netns exec "$(node_ns "$1")" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ]; }
for n in $(seq 1 "$E2E_NODES"); do
  expect "node$n sit device has the 6rd settings (ip -d -j link)" tunnel_ok "$n"
  expect "node$n tunnel carries its overlay address /48" overlay_on_tunnel "$n"
  expect "node$n has the unreachable route for its /64" unreachable_route "$n"
  expect "node$n forwards IPv6" forwarding_on "$n"
done

pod_mtu() { ip -n "$(pod_ns 1 1)" -j link show eth0 | jq -e '.[0].mtu == 1480' >/dev/null; }
pod_nodad() { ip -n "$(pod_ns 1 1)" -j addr show dev eth0 | jq -e --arg a "$(pod_addr 1 1)" \
  '[.[0].addr_info[] | select(.local == $a and .prefixlen == 128 and (.tentative // false | not))] | length == 1' >/dev/null; }
expect "pod MTU is underlay 1500 - 20" pod_mtu
expect "pod address is /128 and never tentative (no DAD)" pod_nodad

echo "== connectivity"
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$E2E_PODS"); do
  for m in $(seq 1 "$E2E_NODES"); do for q in $(seq 1 "$E2E_PODS"); do
    [ "$n$p" = "$m$q" ] && continue
    expect "pod n${n}p$p -> pod n${m}p$q" ping_from "$(pod_ns "$n" "$p")" "$(pod_addr "$m" "$q")"
  done; done
  expect "pod n${n}p$p -> its node's overlay address" ping_from "$(pod_ns "$n" "$p")" "$(overlay_addr "$n")"
done; done
expect "node1 -> remote pod n2p1" ping_from "$(node_ns 1)" "$(pod_addr 2 1)"
expect "node1 -> node3 overlay address" ping_from "$(node_ns 1)" "$(overlay_addr 3)"

echo "== 20 MB TCP pod->pod across nodes with all ICMPv4 dropped on every underlay"
for n in $(seq 1 "$E2E_NODES"); do
  ip netns exec "$(node_ns "$n")" nft -f - <<'NFT'
table inet sxe2e {
  chain c_in { type filter hook input priority 0; ip protocol icmp drop; }
  chain c_out { type filter hook output priority 0; ip protocol icmp drop; }
  chain c_fwd { type filter hook forward priority 0; ip protocol icmp drop; }
}
NFT
done
ip netns exec "$(pod_ns 2 1)" iperf3 -s -1 -D -B "$(pod_addr 2 1)" --logfile "$E2E_STATE/iperf-server.log"
for _ in $(seq 50); do  # the daemon needs a moment under emulation
  ip netns exec "$(pod_ns 2 1)" ss -Hltn 'sport = :5201' | grep -q 5201 && break
  sleep 0.2
done
tcp_transfer() {
  local rc=0
  ip netns exec "$(pod_ns 1 1)" timeout 120 iperf3 -c "$(pod_addr 2 1)" -n 20M -J >"$E2E_STATE/iperf.json" || rc=$?
  # The client sent every byte and got no error; the server's final tally can trail the last
  # interval by a few segments, so "received" is held to 99 % of it, not to the byte.
  if [ "$rc" != 0 ] || ! jq -e '.error == null and .end.sum_sent.bytes >= 20971520 and
      .end.sum_received.bytes >= 0.99 * .end.sum_sent.bytes' "$E2E_STATE/iperf.json" >/dev/null; then
    echo "   iperf3 exit $rc: $(jq -c '{error, sent: .end.sum_sent.bytes, received: .end.sum_received.bytes}' "$E2E_STATE/iperf.json" 2>&1 | head -c 400)"
    return 1
  fi
}
expect "20 MB transfer completes without PMTUD" tcp_transfer
if [ -f "$E2E_STATE/iperf.json" ]; then
  jq -r '"   \(.end.sum_received.bits_per_second / 1e6 | floor) Mbit/s"' "$E2E_STATE/iperf.json" || true
fi

echo "== CHECK, STATUS, GC"
check_pod() {
  local prev
  prev=$(cat "$E2E_STATE/node1/pod1.json")
  cni 1 CHECK "$(pod_id 1 1)" eth0 "/run/netns/$(pod_ns 1 1)" "$(conf 1 "{\"prevResult\": $prev}")" >/dev/null
}
expect "CHECK of a healthy pod succeeds" check_pod
expect "STATUS is 0 on a sit-capable node" cni 1 STATUS "" "" ""
check_after_tamper() {
  local prev out
  prev=$(cat "$E2E_STATE/node1/pod1.json")
  ip -n "$(pod_ns 1 1)" link set eth0 mtu 1500
  out=$(cni 1 CHECK "$(pod_id 1 1)" eth0 "/run/netns/$(pod_ns 1 1)" "$(conf 1 "{\"prevResult\": $prev}")") && return 1
  ip -n "$(pod_ns 1 1)" link set eth0 mtu 1480
  jq -e '.code == 104 and (.msg | contains("mtu is 1500, want at most 1480"))' <<<"$out" >/dev/null
}
expect "CHECK reports a pod MTU above the tunnel's" check_after_tamper

echo "== a deleted pod's address is answered, not looped"
gone=$(pod_addr 2 2)
del_pod 2 2
unreachable_fast() {
  # ping's own clock ("time Nms"): the VM's process start-up under emulation is not the network's.
  local out ms
  out=$(ip netns exec "$(pod_ns 1 1)" ping -6 -c1 -W3 "$gone" 2>&1) && return 1
  ms=$(sed -n 's/.*+1 errors.*time \([0-9]*\)ms.*/\1/p' <<<"$out")
  echo "   $(grep -i unreachable <<<"$out" | head -1) (${ms:-?} ms)"
  [ -n "$ms" ] && [ "$ms" -lt 1000 ]
}
expect "ping to a deleted pod gets unreachable within a second" unreachable_fast

echo "== an ADD interrupted part-way leaves nothing"
host_veths() { ip -n "$(node_ns "$1")" -j link show type veth | jq -r '[.[].ifname | select(startswith("sx"))] | sort | join(" ")'; }
for point in after-veth after-pod-side after-host-side; do
  interrupted_add() {
    local out before ns=sxe2e-n1-fault rc=0
    ip netns add "$ns"
    before=$(host_veths 1)
    if out=$(SIXRD="$SIXRD_FAULTS" SIXRD_TEST_FAULT=$1 cni 1 ADD e2e-fault eth0 "/run/netns/$ns"); then rc=1; fi
    jq -e '.code == 100 and (.msg | contains("injected fault"))' <<<"$out" >/dev/null || rc=1
    [ "$(host_veths 1)" = "$before" ] || { echo "   veth left: $(host_veths 1)"; rc=1; }
    if ip -n "$ns" link show eth0 >/dev/null 2>&1; then echo "   eth0 left in the pod"; rc=1; fi
    if grep -rqs e2e-fault "$E2E_STATE/node1/data"; then echo "   lease left"; rc=1; fi
    cni 1 ADD e2e-fault eth0 "/run/netns/$ns" >/dev/null || rc=1
    cni 1 DEL e2e-fault eth0 "/run/netns/$ns" >/dev/null || rc=1
    ip netns del "$ns"
    return $rc
  }
  expect "ADD interrupted $point: no veth, no lease, and a fresh ADD works" interrupted_add "$point"
done

echo "== GC keeps exactly the valid attachments"
gc_node3() {
  local conf
  conf=$(conf 3 "{\"cni.dev/valid-attachments\": [{\"containerID\": \"$(pod_id 3 1)\", \"ifname\": \"eth0\"}]}")
  cni 3 GC "" "" "" "$conf" >/dev/null &&
    ping_from "$(pod_ns 1 1)" "$(pod_addr 3 1)" && ! ping_from "$(pod_ns 1 1)" "$(pod_addr 3 2)" &&
    [ "$(find "$E2E_STATE/node3/data/e2e" -type f ! -name '.lock-*' | wc -l)" = 1 ]
}
expect "GC on node3 removes pod2 and keeps pod1" gc_node3

echo "== DEL of everything leaves nothing"
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$E2E_PODS"); do
  del_pod "$n" "$p"
done; done
expect "a second DEL succeeds" cni 1 DEL "$(pod_id 1 1)" eth0 "/run/netns/$(pod_ns 1 1)"
nothing_left() {
  local n
  for n in $(seq 1 "$E2E_NODES"); do
    [ "$(ip -n "$(node_ns "$n")" -j link show type veth | jq '[.[] | select(.ifname != "eth0")] | length')" = 0 ] || return 1
    [ "$(find "$E2E_STATE/node$n/data" -type f ! -name '.lock-*' | wc -l)" = 0 ] || return 1
    # ip -j prints host routes without "/128": look for any route through a sixrd host veth.
    [ "$(ip -n "$(node_ns "$n")" -6 -j route show | jq '[.[] | select(.dev // "" | startswith("sx"))] | length')" = 0 ] || return 1
  done
}
expect "no veth, no lease, no pod route on any node" nothing_left

echo
summary
