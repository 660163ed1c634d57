#!/usr/bin/env bash
# Egress through 6rd border relays in the VM. Five nodes on the underlay bridge: nodes 1-3 are
# ordinary, nodes 4 and 5 are relays with an upstream link to an "outside" namespace that holds an
# IPv6 host (2001:db8:1::100) and an IPv4-only server (203.0.113.100, HTTP and iperf3). Each relay
# runs Debian's tayga as NAT64 (2001:db8:64::/96) and masquerades to its own upstream IPv4; `sixrd
# relay` routes the NAT64 prefix to tayga. Checked:
#   - one relay: a pod on each ordinary node reaches the IPv6 host and, through NAT64, the IPv4
#     server (ping, HTTP, 20 MB TCP with all ICMPv4 dropped on the underlay); the node's kernel
#     state is the rule + table sixrd describes, and the relay has none of it;
#   - two relays: the egress route spreads over both; with relay 4 down, pod-to-pod traffic still
#     works, `sixrd status` names the relay that does not answer, the daemon moves egress to relay
#     5 and pods reach the IPv4 server again.
# Usage: egress.sh SIXRD_BINARY
set -euo pipefail
SIXRD=$(realpath "$1")
export SIXRD
export E2E_NODES=5 E2E_PODS=1
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

UP_BRIDGE=sxe2eup
OUT=sxe2e-out
OUT6=2001:db8:1::100
OUT4=203.0.113.100
# The NAT64 prefix: a network-specific one from the documentation range. The well-known
# 64:ff9b::/96 translates only to global IPv4 (RFC 6052 3.1, enforced by tayga), and the outside
# here, like an operator's private network, uses non-global addresses.
NAT64_PREFIX=2001:db8:64::/96
NAT64_OUT4=2001:db8:64::cb00:7164 # 203.0.113.100
daemon_pid=

cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
  pkill -f 'tayga -c /run/sixrd-e2e' 2>/dev/null || true
  ip link del "$UP_BRIDGE" 2>/dev/null || true
  teardown
}
trap cleanup EXIT
cleanup

relay_conf() { # relay_conf NODE RELAYS_JSON -> the node's conf file
  conf "$1" "{\"relay\": $2}" >"$E2E_STATE/node$1/sixrd.conf"
}

echo "== underlay, and the outside: an IPv6 host and an IPv4-only server behind the relays"
underlay_up
ip link add "$UP_BRIDGE" type bridge
ip link set "$UP_BRIDGE" up
ip netns add "$OUT"
ip link add sxe2e-xo type veth peer name eth0 netns "$OUT"
ip link set sxe2e-xo master "$UP_BRIDGE" up
ip -n "$OUT" link set lo up
ip -n "$OUT" addr add "$OUT6/64" dev eth0 nodad
ip -n "$OUT" addr add "$OUT4/24" dev eth0
ip -n "$OUT" link set eth0 up
# The relays' upstream routes the cluster prefix back to relay 4 (a routed prefix, as a real
# upstream would by BGP or a static route).
ip -n "$OUT" -6 route add "$E2E_PREFIX" via 2001:db8:1::4
mkdir -p "$E2E_STATE/www"
head -c 20971520 /dev/zero >"$E2E_STATE/www/20M"
echo "hello from the IPv4-only server" >"$E2E_STATE/www/index.html"
ip netns exec "$OUT" python3 -m http.server 8080 --bind "$OUT4" --directory "$E2E_STATE/www" \
  >/dev/null 2>&1 &
ip netns exec "$OUT" python3 -m http.server 8080 --bind "$OUT6" --directory "$E2E_STATE/www" \
  >/dev/null 2>&1 &
ip netns exec "$OUT" iperf3 -s -D -B "$OUT6" -p 5202 --logfile "$E2E_STATE/iperf6.log"

relay_up() { # relay_up NODE: upstream link, tayga NAT64, masquerade, sixrd relay
  local n=$1 ns
  ns=$(node_ns "$n")
  ip link add "sxe2e-x$n" type veth peer name upl netns "$ns"
  ip link set "sxe2e-x$n" master "$UP_BRIDGE" up
  ip -n "$ns" addr add "2001:db8:1::$n/64" dev upl nodad
  ip -n "$ns" addr add "203.0.113.$n/24" dev upl
  ip -n "$ns" link set upl up
  modprobe tun 2>/dev/null || true
  mkdir -p "$E2E_STATE/tayga$n"
  cat >"$E2E_STATE/tayga$n/tayga.conf" <<EOF
tun-device nat64
ipv4-addr 198.51.100.1
ipv6-addr 2001:db8:6464::$n
prefix $NAT64_PREFIX
dynamic-pool 198.51.100.0/24
data-dir $E2E_STATE/tayga$n
EOF
  ip netns exec "$ns" tayga -c "$E2E_STATE/tayga$n/tayga.conf" --mktun
  ip -n "$ns" link set nat64 up
  ip -n "$ns" route add 198.51.100.0/24 dev nat64
  ip netns exec "$ns" nft -f - <<'NFT'
table ip sxe2enat {
  chain post { type nat hook postrouting priority 100; ip saddr 198.51.100.0/24 oifname "upl" masquerade; }
}
NFT
  ip netns exec "$ns" tayga -c "$E2E_STATE/tayga$n/tayga.conf" --pidfile "$E2E_STATE/tayga$n/pid"
  ip netns exec "$ns" "$SIXRD" relay --conf "$E2E_STATE/node$n/sixrd.conf" --nat64-device nat64 \
    --nat64-prefix "$NAT64_PREFIX"
}

echo "== one relay (node4)"
for n in 1 2 3 4 5; do relay_conf "$n" '"198.18.4.14"'; done
relay_add() { # relay_add NODE POD: ADD with the node's conf file
  ip netns add "$(pod_ns "$1" "$2")"
  local out
  out=$(cni "$1" ADD "$(pod_id "$1" "$2")" eth0 "/run/netns/$(pod_ns "$1" "$2")" \
    "$(cat "$E2E_STATE/node$1/sixrd.conf")")
  jq -r '.ips[0].address | split("/")[0]' <<<"$out" >"$E2E_STATE/node$1/pod$2.addr"
}
for n in 1 2 3 4; do expect "ADD node$n pod1 (relay 198.18.4.14 configured)" relay_add "$n" 1; done
expect "sixrd relay on node4 (tunnel, NAT64 route to tayga, forwarding)" relay_up 4

node64() { "$SIXRD" node-prefix --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" \
  --node-ip "$(node_ip "$1")" --json | jq -r .nodePrefix; }
has_rule() {
  ip -n "$(node_ns "$1")" -6 -j rule show | jq -e --arg src "$(node64 "$1" | cut -d/ -f1)" \
    '[.[] | select(.priority == 32800 and .src == $src and .srclen == 64 and .table == "6041")] | length == 1' >/dev/null
}
route_via() { # route_via NODE RELAY...: the egress table's default goes through exactly these
  local n=$1
  shift
  local want
  want=$(printf '::%s\n' "$@" | sort | jq -R . | jq -sc .)
  ip -n "$(node_ns "$n")" -6 -j route show table 6041 | jq -e --argjson want "$want" \
    '[.[] | select(.dst == "default")] | length == 1 and
     ([.[0] | (.gateway // empty), (.nexthops // [] | .[].gateway)] | sort) == $want' >/dev/null
}
no_egress() {
  ! ip -n "$(node_ns "$1")" -6 rule show | grep -q 'lookup 6041' &&
    [ -z "$(ip -n "$(node_ns "$1")" -6 route show table 6041 2>/dev/null)" ]
}
for n in 1 2 3; do
  expect "node$n: rule from its /64 lookup 6041 (after main)" has_rule "$n"
  expect "node$n: table 6041 default via ::198.18.4.14 dev sixrd0" route_via "$n" 198.18.4.14
done
expect "node4 (the relay): no egress rule or route" no_egress 4
nat64_route() { ip -n "$(node_ns 4)" -6 route show "$NAT64_PREFIX" | grep -q 'dev nat64'; }
expect "node4: $NAT64_PREFIX dev nat64" nat64_route

ping6_from() { ip netns exec "$1" ping -6 -c2 -W3 -q "$2" >/dev/null 2>&1; }
for n in 1 2 3; do
  expect "pod on node$n -> IPv6 host $OUT6 through the relay" ping6_from "$(pod_ns "$n" 1)" "$OUT6"
  expect "pod on node$n -> IPv4 server through NAT64 ($NAT64_OUT4)" ping6_from "$(pod_ns "$n" 1)" "$NAT64_OUT4"
done
expect "pod on node4 (the relay) -> IPv6 host" ping6_from "$(pod_ns 4 1)" "$OUT6"
http_get() {
  ip netns exec "$(pod_ns "$1" 1)" curl -sf -g --max-time 20 "http://[$NAT64_OUT4]:8080/" |
    grep -q 'hello from the IPv4-only server'
}
expect "HTTP GET from the pod on node1 to the IPv4-only server via NAT64" http_get 1
expect "HTTP GET from the pod on node3 to the IPv4-only server via NAT64" http_get 3

echo "== 20 MB TCP between pods and the outside, all ICMPv4 dropped on every node's underlay"
for n in 1 2 3 4 5; do
  ip netns exec "$(node_ns "$n")" nft -f - <<'NFT'
table inet sxe2eicmp {
  chain c_in { type filter hook input priority 0; iifname "eth0" ip protocol icmp drop; }
  chain c_out { type filter hook output priority 0; oifname "eth0" ip protocol icmp drop; }
}
NFT
done
transfer() { # transfer NODE DEST PORT: 20 MB, every byte counted by the receiver
  local out="$E2E_STATE/iperf-$1-$3.json" try
  # Seen once on the loaded 2-core machine (fuzzers running beside the VM): iperf3 reported all
  # 20 MB sent, no error, and fewer received (cause not established). A second try then; both
  # tries print what iperf3 reported, and a real black hole fails both (the sender stalls).
  for try in 1 2; do
    if timeout 120 ip netns exec "$(pod_ns "$1" 1)" iperf3 -c "$2" -p "$3" -n 20M -J >"$out" 2>&1 &&
      jq -e '.end.sum_received.bytes >= 20000000' "$out" >/dev/null; then
      return 0
    fi
    echo "   | try $try: $(jq -c '{error, sent: .end.sum_sent.bytes, received: .end.sum_received.bytes}' "$out" 2>/dev/null || tail -5 "$out")"
  done
  return 1
}
download() { # download NODE HOST: 20 MB over HTTP into the pod, every byte counted
  local got
  got=$(ip netns exec "$(pod_ns "$1" 1)" curl -sf -g --max-time 120 -o /dev/null \
    -w '%{size_download}' "http://[$2]:8080/20M") || true
  [ "$got" = 20971520 ] && return 0
  echo "downloaded ${got:-nothing}"
  return 1
}
expect "20 MB TCP IPv4 server -> pod node1 via NAT64 (HTTP download)" download 1 "$NAT64_OUT4"
expect "20 MB TCP IPv6 host -> pod node3 (HTTP download)" download 3 "$OUT6"
expect "20 MB TCP pod node2 -> IPv6 host" transfer 2 "$OUT6" 5202

echo "== two relays (node4, node5), then node4 down"
for n in 1 2 3 4 5; do relay_conf "$n" '["198.18.4.14", "198.18.5.15"]'; done
expect "sixrd relay on node5" relay_up 5
expect "ADD a second pod on node1 (the conf now lists both relays)" relay_add 1 2
expect "node5 (now a relay): no egress rule or route" no_egress 5
# An ADD keeps the egress route the daemon chose; the daemon probes the relays and spreads egress
# over the ones that answer.
ip netns exec "$(node_ns 1)" "$SIXRD" --log-level info daemon --conf "$E2E_STATE/node1/sixrd.conf" \
  --interval 2 --reclaim-grace 0 2>"$E2E_STATE/daemon1.log" &
daemon_pid=$!
eventually() { # eventually COMMAND...: within 60 s
  for _ in $(seq 60); do "$@" && return 0; sleep 1; done
  return 1
}
expect "node1: the daemon spreads egress over both relays (ECMP)" \
  eventually route_via 1 198.18.4.14 198.18.5.15
status1() { ip netns exec "$(node_ns 1)" "$SIXRD" status --conf "$E2E_STATE/node1/sixrd.conf"; }
status1 | tee "$E2E_STATE/status-both.txt"
says_both() {
  grep -q 'relay 198.18.4.14 answers, in use' "$E2E_STATE/status-both.txt" &&
    grep -q 'relay 198.18.5.15 answers, in use' "$E2E_STATE/status-both.txt"
}
expect "sixrd status: both relays answer and are in use" says_both

ip -n "$(node_ns 4)" link set eth0 down # relay 4 is gone from the underlay
pod_to_pod() { ping_from "$(pod_ns 1 1)" "$(pod_addr 2 1)" && ping_from "$(pod_ns 3 1)" "$(pod_addr 1 1)"; }
expect "relay 4 down: pod-to-pod across nodes still works" pod_to_pod
expect "the daemon moves node1's egress to relay 5 alone" eventually route_via 1 198.18.5.15
status1 >"$E2E_STATE/status-one.txt" || true
cat "$E2E_STATE/status-one.txt"
says_down() {
  grep -q 'relay 198.18.4.14 does not answer' "$E2E_STATE/status-one.txt" &&
    grep -q 'relay 198.18.5.15 answers, in use' "$E2E_STATE/status-one.txt"
}
expect "sixrd status names the relay that does not answer, and the one in use" says_down
expect "pod on node1 -> IPv4 server via NAT64 on relay 5" ping6_from "$(pod_ns 1 1)" "$NAT64_OUT4"
expect "HTTP GET from node1's pod via relay 5" http_get 1
grep 'egress' "$E2E_STATE/daemon1.log" || true

summary
