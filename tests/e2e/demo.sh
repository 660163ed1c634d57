#!/usr/bin/env bash
# The three-node demo, run inside the VM: nodes come up, pods get addresses, every pod pings every
# other pod across nodes, pods reach an outside IPv6 host through node3 as the 6rd border relay,
# and it prints what it did. Usage: demo.sh SIXRD_BINARY
set -euo pipefail
SIXRD=$(realpath "$1")
export SIXRD
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=sxe2e-out
OUT6=2001:db8:1::100
# Every node's configuration names the last node as the border relay for egress.
E2E_CONF_EXTRA=$(jq -nc --arg r "$(node_ip "$E2E_NODES")" '{relay: $r}')
export E2E_CONF_EXTRA
trap 'teardown' EXIT
teardown

echo "sixrd demo: $E2E_NODES nodes on underlay $E2E_UNDERLAY, cluster prefix $E2E_PREFIX"
echo "(each node is a network namespace on one bridge; sixrd runs in it exactly as kubelet's runtime would)"
echo
underlay_up
pods=()
for n in $(seq 1 "$E2E_NODES"); do
  for p in $(seq 1 "$E2E_PODS"); do
    start=$(date +%s%N)
    add_pod "$n" "$p"
    pods+=("$n:$p:$((($(date +%s%N) - start) / 1000000))")
  done
done

printf '%-7s %-14s %-22s %s\n' NODE IPV4 "POD /64" "TUNNEL"
for n in $(seq 1 "$E2E_NODES"); do
  info=$(ip -n "$(node_ns "$n")" -d -j link show sixrd0 | jq -r '.[0] | "\(.ifname) sit local \(.linkinfo.info_data.local) 6rd-prefix \(.linkinfo.info_data.prefix)/\(.linkinfo.info_data.prefixlen) relay \(.linkinfo.info_data.relay_prefix)/\(.linkinfo.info_data.relay_prefixlen) mtu \(.mtu)"')
  node64=$("$SIXRD" node-prefix --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" --node-ip "$(node_ip "$n")" --json | jq -r .nodePrefix)
  printf '%-7s %-14s %-22s %s\n' "node$n" "$(node_ip "$n")" "$node64" "$info"
done
echo
printf '%-10s %-7s %-40s %s\n' POD NODE ADDRESS "ADD wall clock (incl. ip netns exec, under TCG emulation)"
for entry in "${pods[@]}"; do
  IFS=: read -r n p ms <<<"$entry"
  printf '%-10s %-7s %-40s %s ms\n' "n${n}p$p" "node$n" "$(pod_addr "$n" "$p")/128" "$ms"
done
echo
echo "connectivity (ping -6 from row to column; ok = reply received):"
printf '%-8s' ""
for m in $(seq 1 "$E2E_NODES"); do for q in $(seq 1 "$E2E_PODS"); do printf '%-7s' "n${m}p$q"; done; done
echo
# Every ping at once: under emulation each one's process start-up costs more than the network.
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$E2E_PODS"); do
  for m in $(seq 1 "$E2E_NODES"); do for q in $(seq 1 "$E2E_PODS"); do
    [ "$n$p" = "$m$q" ] && continue
    (ping_from "$(pod_ns "$n" "$p")" "$(pod_addr "$m" "$q")" && touch "$E2E_STATE/ok-$n$p-$m$q") &
  done; done
done; done
wait
total=0
good=0
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$E2E_PODS"); do
  printf '%-8s' "n${n}p$p"
  for m in $(seq 1 "$E2E_NODES"); do for q in $(seq 1 "$E2E_PODS"); do
    if [ "$n$p" = "$m$q" ]; then printf '%-7s' "-"; continue; fi
    total=$((total + 1))
    if [ -e "$E2E_STATE/ok-$n$p-$m$q" ]; then
      good=$((good + 1)); printf '%-7s' ok
    else
      printf '%-7s' FAIL
    fi
  done; done
  echo
done; done
echo
echo "$good of $total pod pairs reachable; no routes per node, no datastore: the kernel's 6rd mapping did it."
echo

relay=$E2E_NODES
echo "egress: node$relay ($(node_ip "$relay")) is the border relay (\"relay\" in every node's config);"
echo "it has an upstream link to an outside IPv6 host $OUT6 (the internet, here)"
ip netns add "$OUT"
ip link add upl netns "$(node_ns "$relay")" type veth peer name eth0 netns "$OUT"
ip -n "$(node_ns "$relay")" addr add 2001:db8:1::1/64 dev upl nodad
ip -n "$(node_ns "$relay")" link set upl up
ip -n "$OUT" addr add "$OUT6/64" dev eth0 nodad
ip -n "$OUT" link set eth0 up
ip -n "$OUT" -6 route add "$E2E_PREFIX" via 2001:db8:1::1
conf "$relay" >"$E2E_STATE/relay.conf"
ip netns exec "$(node_ns "$relay")" "$SIXRD" relay --conf "$E2E_STATE/relay.conf"
echo "node1's egress (sixrd's rule after the main table, and its table):"
ip -n "$(node_ns 1)" -6 rule show | grep 6041 | sed 's/^/  /'
ip -n "$(node_ns 1)" -6 route show table 6041 | sed 's/^/  /'
egress_total=0
egress_good=0
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$E2E_PODS"); do
  egress_total=$((egress_total + 1))
  if ping_from "$(pod_ns "$n" "$p")" "$OUT6"; then
    egress_good=$((egress_good + 1))
    echo "  pod n${n}p$p -> $OUT6: ok"
  else
    echo "  pod n${n}p$p -> $OUT6: FAIL"
  fi
done; done
echo "$egress_good of $egress_total pods reach the outside host through the relay."
for n in $(seq 1 "$E2E_NODES"); do for p in $(seq 1 "$E2E_PODS"); do del_pod "$n" "$p"; done; done
echo "all pods deleted; leases left: $(find "$E2E_STATE" -path '*/data/*' -type f ! -name '.lock-*' | wc -l)"
[ "$good" = "$total" ] && [ "$egress_good" = "$egress_total" ]
