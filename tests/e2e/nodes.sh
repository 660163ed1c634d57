#!/usr/bin/env bash
# Real bare-metal nodes (issue 10), inside the VM (tests/e2e/vm/run-in-vm.sh): three nodes on the
# e2e bridge, each built the messy way a real one is, and sixrd driven as the runtime and the
# DaemonSet drive it; the kernel state is read back with iproute2.
#   node1: a /32 VIP (keepalived, kube-vip) inside the underlay next to its address
#   node3: the kubelet's address on a management network outside the underlay, `sixrd install`
#          run as the DaemonSet runs it; an uplink taking its IPv6 default route from router
#          advertisements (a crafted RA from a python3 raw socket)
#   node2: renumbered while its pods run; the daemon moves the tunnel, status names the old pods
#   node1 + node3: a second sixrd network (another prefix, another tunnel) beside the first
# Usage: nodes.sh SIXRD_BINARY
set -euo pipefail
SIXRD=$(realpath "$1")
export SIXRD
E2E_NODES=3
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

trap 'teardown' EXIT
teardown

tunnel_local() { ip -n "$(node_ns "$1")" -d -j link show "${2:-sixrd0}" | jq -r '.[0].linkinfo.info_data.local'; }
tunnel_alias() { ip -n "$(node_ns "$1")" -j link show "${2:-sixrd0}" | jq -r '.[0].ifalias // ""'; }
in_prefix() { [[ $1 == "$2"* ]]; }            # in_prefix ADDRESS TEXT-PREFIX
add_pod_conf() { # add_pod_conf NODE NAME CONFIG -> address
  local n=$1 name=$2 config=$3 out
  ip netns add "sxe2e-n$n-$name"
  out=$(cni "$n" ADD "e2e-n$n-$name" eth0 "/run/netns/sxe2e-n$n-$name" "$config") || { echo "$out" >&2; return 1; }
  jq -r '.ips[0].address | split("/")[0]' <<<"$out" >"$E2E_STATE/node$n/$name.addr"
}
addr_of() { cat "$E2E_STATE/node$1/$2.addr"; }

underlay_up

echo "== node1: a /32 VIP inside the underlay"
ip -n "$(node_ns 1)" addr add 198.18.0.100/32 dev eth0
expect "ADD on node1 with a VIP next to its address" add_pod 1 1
expect "the pod address is in node1's /64 (198.18.1.11), not the VIP's" in_prefix "$(pod_addr 1 1)" "fd00:10:0:10b:"
expect "the tunnel's local is the node address" test "$(tunnel_local 1)" = 198.18.1.11
expect "... also with underlayInterface set" add_pod_conf 1 withif "$(conf 1 '{"underlayInterface": "eth0"}')"
expect "STATUS is 0 with the VIP there" cni 1 STATUS "" "" ""
ip -n "$(node_ns 1)" addr add 198.18.0.101/32 dev eth0
ip -n "$(node_ns 1)" addr del 198.18.1.11/16 dev eth0
only_vips() {
  local out
  out=$(cni 1 STATUS "" "" "") && return 1
  jq -e '(.msg | contains("198.18.0.100/32 on eth0")) and (.msg | contains("set nodeIP"))' <<<"$out" >/dev/null
}
expect "with only VIPs inside the underlay, STATUS fails listing them and asks for nodeIP" only_vips
ip -n "$(node_ns 1)" addr add 198.18.1.11/16 dev eth0
ip -n "$(node_ns 1)" addr del 198.18.0.101/32 dev eth0

echo "== node3: the kubelet's address outside the underlay, install as the DaemonSet runs it"
ip -n "$(node_ns 3)" link add mgmt0 type dummy
ip -n "$(node_ns 3)" addr add 192.168.77.3/24 dev mgmt0
ip -n "$(node_ns 3)" link set mgmt0 up
ROOT3=$E2E_STATE/root3
mkdir -p "$ROOT3"
container3() { # CAP_NET_ADMIN only, /proc/sys read-only, the ConfigMap and downward API in env
  ip netns exec "$(node_ns 3)" unshare -m sh -c \
    'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"' sh \
    setpriv "--bounding-set=-all,+net_admin" --inh-caps=-all -- \
    env -i PATH="$PATH" SIXRD_PREFIX="$E2E_PREFIX" SIXRD_UNDERLAY="$E2E_UNDERLAY" SIXRD_CHAIN=none \
    SIXRD_NETWORK_NAME=e2e SIXRD_DATA_DIR="$E2E_STATE/node3/data" SIXRD_NODE_IP=192.168.77.3 "$@"
}
install_out=$(container3 "$SIXRD" install --host-root "$ROOT3" 2>&1) && install_rc=0 || install_rc=$?
echo "$install_out" | sed 's/^/   | /'
expect "install exits 0" test "$install_rc" = 0
expect "install warns that the kubelet's address is outside the underlay" \
  grep -q "SIXRD_NODE_IP=192.168.77.3 (the kubelet's address) is outside underlay 198.18.0.0/16" <<<"$install_out"
expect "the tunnel's local is node3's underlay address" test "$(tunnel_local 3)" = 198.18.3.13
expect "the conflist pins no nodeIP" jq -e '.plugins[0] | has("nodeIP") | not' "$ROOT3/etc/cni/net.d/10-sixrd.conflist" >/dev/null
status3=$(container3 "$SIXRD" status --host-root "$ROOT3" 2>&1) || true
echo "   | $status3"
expect "sixrd status is ready and names the node" grep -q 'node 198.18.3.13 with fd00:10:0:30d::/64' <<<"$status3"

echo "== node3: an uplink with SLAAC keeps its default route when sixrd turns forwarding on"
RTR=sxe2e-rtr
ip netns add "$RTR"
ip -n "$(node_ns 3)" link add up6 type veth peer name r0 netns "$RTR"
ip -n "$RTR" link set r0 up
ip -n "$RTR" addr add fe80::1/64 dev r0 nodad
ip -n "$(node_ns 3)" link set up6 up
send_ra() {
  ip netns exec "$RTR" /usr/bin/python3 - <<'PY'
import socket, struct
idx = socket.if_nametoindex("r0")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
s.bind(("fe80::1", 0, 0, idx))
# RA: hop limit 64, router lifetime 1800 s; prefix 2001:db8:77::/64 on-link and autonomous.
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + \
    socket.inet_pton(socket.AF_INET6, "2001:db8:77::")
s.sendto(ra + pio, ("ff02::1", 0, 0, idx))
PY
}
ra_default() { ip -n "$(node_ns 3)" -6 -j route show default | jq -e '[.[] | select(.dev == "up6" and .protocol == "ra")] | length == 1' >/dev/null; }
for _ in $(seq 20); do send_ra; sleep 0.3; ra_default && break; done
expect "before ADD: the uplink has its default route from the RA" ra_default
expect "before ADD: IPv6 forwarding is off on node3" test "$(ip netns exec "$(node_ns 3)" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 0
expect "ADD on node3 (the installed node)" add_pod 3 1
expect "ADD turned IPv6 forwarding on" test "$(ip netns exec "$(node_ns 3)" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1
expect "the uplink's accept_ra is 2" test "$(ip netns exec "$(node_ns 3)" cat /proc/sys/net/ipv6/conf/up6/accept_ra)" = 2
expect "after ADD: the uplink still has its RA default route" ra_default
send_ra
sleep 0.5
expect "after ADD: a new RA is still taken (route refreshed, not dropped)" ra_default
expect "the log says what was changed" grep -q "net.ipv6.conf.up6.accept_ra 1 -> 2" "$E2E_STATE/node3/sixrd.log"

echo "== node2: renumbered while its pods run"
expect "ADD node2 pod1 (198.18.2.12)" add_pod 2 1
expect "node2 pod1 -> node1 pod1 before the change" ping_from "$(pod_ns 2 1)" "$(pod_addr 1 1)"
CONF2=$E2E_STATE/node2/e2e.conflist
jq '{cniVersion, name, plugins: [.]}' <<<"$(conf 2)" >"$CONF2"
# As a DHCP client renumbers: the old lease goes, the new one comes (added first, the new address
# would be a secondary that the kernel deletes with the primary).
ip -n "$(node_ns 2)" addr del 198.18.2.12/16 dev eth0
ip -n "$(node_ns 2)" addr add 198.18.2.50/16 dev eth0
ip netns exec "$(node_ns 2)" "$SIXRD" --log-level info daemon --conf "$CONF2" --interval 1 \
  --reclaim-grace 0 >"$E2E_STATE/node2/daemon.log" 2>&1 &
daemon=$!
moved() { [ "$(tunnel_local 2)" = 198.18.2.50 ]; }
for _ in $(seq 50); do moved && break; sleep 0.2; done
sleep 1
kill -TERM "$daemon"
wait "$daemon" || true
sed 's/^/   | /' "$E2E_STATE/node2/daemon.log"
expect "the daemon moved the tunnel's local to the new address" moved
new_overlay() {
  ip -n "$(node_ns 2)" -j addr show dev sixrd0 | jq -e '[.[0].addr_info[] | select(.local == "fd00:10:0:232::1")] | length == 1' >/dev/null &&
    ! ip -n "$(node_ns 2)" -j addr show dev sixrd0 | jq -e '[.[0].addr_info[] | select(.local == "fd00:10:0:20c::1")] | length > 0' >/dev/null
}
expect "the tunnel carries the new overlay address and not the old" new_overlay
new_unreachable() {
  local r
  r=$(ip -n "$(node_ns 2)" -6 -j route show type unreachable)
  jq -e '[.[] | select(.dst == "fd00:10:0:232::/64")] | length == 1' <<<"$r" >/dev/null &&
    jq -e '[.[] | select(.dst == "fd00:10:0:20c::/64")] | length == 0' <<<"$r" >/dev/null
}
expect "the unreachable route moved to the new /64" new_unreachable
expect "the daemon names the pod still in the old /64" grep -q "e2e-node2-pod1" "$E2E_STATE/node2/daemon.log"
status2=$(ip netns exec "$(node_ns 2)" "$SIXRD" status --conf "$CONF2" 2>&1) || true
echo "   | $status2"
stale_named() { grep -q 'e2e-node2-pod1' <<<"$status2" && grep -q 'restart them' <<<"$status2"; }
expect "sixrd status names the stale pod and asks for a restart" stale_named
expect "ADD after the change" add_pod 2 2
expect "the new pod is in the new /64" in_prefix "$(pod_addr 2 2)" "fd00:10:0:232:"
expect "new pod on node2 -> node1 pod" ping_from "$(pod_ns 2 2)" "$(pod_addr 1 1)"
expect "node3 pod -> new pod on node2" ping_from "$(pod_ns 3 1)" "$(pod_addr 2 2)"

echo "== two sixrd networks on node1 and node3"
blue() { conf "$1" '{"name": "blue", "prefix": "fd00:20::/48", "tunnel": "sixrd1"}'; }
expect "blue ADD on node1" add_pod_conf 1 blue "$(blue 1)"
expect "blue ADD on node3" add_pod_conf 3 blue "$(blue 3)"
expect "blue pods are in blue's prefix" in_prefix "$(addr_of 1 blue)" "fd00:20:0:10b:"
expect "sixrd0 is marked for e2e, sixrd1 for blue" \
  bash -c "[ '$(tunnel_alias 1)' = sixrd/e2e ] && [ '$(tunnel_alias 1 sixrd1)' = sixrd/blue ]"
expect "blue node1 -> blue node3" ping_from sxe2e-n1-blue "$(addr_of 3 blue)"
expect "blue node3 -> blue node1" ping_from sxe2e-n3-blue "$(addr_of 1 blue)"
expect "e2e node1 -> e2e node3 still" ping_from "$(pod_ns 1 1)" "$(pod_addr 3 1)"
expect "e2e node3 -> e2e node1 still" ping_from "$(pod_ns 3 1)" "$(pod_addr 1 1)"
red_refused() {
  local out
  ip netns add sxe2e-n1-red
  out=$(cni 1 ADD e2e-n1-red eth0 /run/netns/sxe2e-n1-red "$(conf 1 '{"name": "red", "prefix": "fd00:30::/48"}')") && return 1
  echo "   | $out"
  jq -e '.code == 105 and (.msg | contains("network e2e")) and (.msg | contains("\"tunnel\""))' <<<"$out" >/dev/null
}
expect "a third network on sixrd0 is refused with 105 naming the owner and the tunnel field" red_refused
expect "... and sixrd0 is left as it was" bash -c "[ '$(tunnel_alias 1)' = sixrd/e2e ]"
own_refused() {
  local out
  ip -n "$(node_ns 1)" link add opsit type sit remote 198.18.99.1 local 198.18.1.11
  out=$(cni 1 ADD e2e-n1-red eth0 /run/netns/sxe2e-n1-red "$(conf 1 '{"name": "red", "prefix": "fd00:30::/48", "tunnel": "opsit"}')") && return 1
  echo "   | $out"
  jq -e '.code == 105 and (.msg | contains("did not make"))' <<<"$out" >/dev/null &&
    [ "$(ip -n "$(node_ns 1)" -d -j link show opsit | jq -r '.[0].linkinfo.info_data.remote')" = 198.18.99.1 ]
}
expect "an operator's own sit device is refused with 105 and left alone" own_refused
upgrade_adopts() {
  ip -n "$(node_ns 1)" link set sixrd1 alias ""
  cni 1 ADD e2e-n1-blue2 net1 /run/netns/sxe2e-n1-blue "$(blue 1)" >/dev/null &&
    [ "$(tunnel_alias 1 sixrd1)" = sixrd/blue ]
}
expect "an unmarked tunnel with the network's own 6rd prefix (previous version) is adopted" upgrade_adopts

echo "== uninstall --remove-tunnel removes only its network's tunnel"
# A node with no pods (its own namespace), a conflist for network e2e with tunnel sxrm0, and a sit
# device under that name owned each time by someone else, then by e2e.
ip netns add sxe2e-rm
rm_root=$E2E_STATE/rm-root
rm_try() { # rm_try ALIAS 6RD-PREFIX -> uninstall's output; its status
  mkdir -p "$rm_root/etc/cni/net.d"
  printf '%s' '{"cniVersion": "1.0.0", "name": "e2e", "plugins": [{"type": "sixrd",
    "prefix": "fd00:10::/48", "underlay": "198.18.0.0/16", "tunnel": "sxrm0"}]}' \
    >"$rm_root/etc/cni/net.d/10-sixrd.conflist"
  ip -n sxe2e-rm link del sxrm0 2>/dev/null || true
  ip -n sxe2e-rm link add sxrm0 type sit local 198.18.1.11 ttl 64
  ip -n sxe2e-rm tunnel 6rd dev sxrm0 6rd-prefix "$2" 6rd-relay_prefix 198.18.0.0/16
  ip -n sxe2e-rm link set sxrm0 alias "$1"
  ip netns exec sxe2e-rm "$SIXRD" uninstall --host-root "$rm_root" --remove-tunnel 2>&1
}
present() { ip -n sxe2e-rm link show sxrm0 >/dev/null 2>&1; }
refused() { # refused ALIAS 6RD-PREFIX TEXT: uninstall fails naming TEXT and sxrm0 stays
  local out
  out=$(rm_try "$1" "$2") && { echo "   | $out"; return 1; }
  echo "   | $out"
  grep -q -- "$3" <<<"$out" && present
}
removed() { rm_try "$1" "$2" >/dev/null && ! present; }
expect "another sixrd network's tunnel is refused, naming it, and left" \
  refused sixrd/blue fd00:10::/48 "belongs to sixrd network blue"
expect "an operator's sit device (no mark, another 6rd prefix) is refused and left" \
  refused "" fd00:99::/48 "did not make it"
expect "a device marked by something else is refused and left" refused opsit fd00:10::/48 'alias "opsit"'
expect "the network's own tunnel (alias sixrd/e2e) is removed" removed sixrd/e2e fd00:10::/48
expect "an unmarked tunnel with the network's 6rd prefix (previous version) is removed" \
  removed "" fd00:10::/48
ip netns del sxe2e-rm

echo
summary
