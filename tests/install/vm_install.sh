#!/usr/bin/env bash
# The node installer on a kernel with sit, inside the e2e VM (tests/e2e/vm/run-in-vm.sh): sixrd
# install / status / daemon / uninstall run the way the DaemonSet runs them — in the node's network
# namespace, as root with CAP_NET_ADMIN only (every other capability dropped, as the manifest's
# securityContext does) and /proc/sys read-only (as in every unprivileged container) — and the
# kernel state is read back with iproute2, not through sixrd.
# Usage: vm_install.sh SIXRD_BINARY
set -uo pipefail
SIXRD=$(realpath "$1")
NS=sxinst-node
POD=sxinst-pod
PREFIX=fd00:10::/48
UNDERLAY=198.18.0.0/16
NODE_IP=198.18.3.7
ROOT=$(mktemp -d /tmp/sixrd-host.XXXXXX)
# shellcheck source=tests/lib/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

cleanup() {
  ip netns del sxinst-probe 2>/dev/null
  ip netns del "$POD" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  ip link del sxinst-u 2>/dev/null
  rm -rf "$ROOT"
}
trap cleanup EXIT

# As the DaemonSet's containers run: node namespace, CAP_NET_ADMIN only, /proc/sys read-only,
# the ConfigMap's values in the environment. Every step execs the next: one process, one pid.
CONTAINER=(ip netns exec "$NS" unshare -m sh -c
  'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"' sh
  setpriv "--bounding-set=-all,+net_admin" --inh-caps=-all --
  env -i PATH="$PATH" SIXRD_PREFIX="$PREFIX" SIXRD_UNDERLAY="$UNDERLAY" SIXRD_MTU=
  SIXRD_CHAIN=portmap SIXRD_NODE_IP="$NODE_IP")
container() { "${CONTAINER[@]}" "$@"; }

link_json() { ip -n "$NS" -d -j link show sixrd0 2>/dev/null; }

ip netns add "$NS"
ip netns add "$POD"
ip link add sxinst-u type veth peer name eth0 netns "$NS"
ip link set sxinst-u up
ip -n "$NS" link set lo up
ip -n "$NS" addr add "$NODE_IP/16" dev eth0
ip -n "$NS" link set eth0 up

# The node's plugin directory holds the meta plugin install chains (Debian's portmap, which speaks
# CNI up to 1.0.0): install asks it for its versions.
mkdir -p "$ROOT/opt/cni/bin"
cp /usr/lib/cni/portmap "$ROOT/opt/cni/bin/"

sit_before=$(grep -c '^sit ' /proc/modules)
echo "sit.ko loaded before install: $sit_before (0 shows the kernel autoloading it)"

# --- install ---
out=$(container "$SIXRD" install --host-root "$ROOT" 2>&1)
rc=$?
echo "$out"
expect "install exits 0" test "$rc" = 0
expect "sit.ko is loaded after install" grep -q '^sit ' /proc/modules
info=$(link_json | jq -c '.[0] | {kind: .linkinfo.info_kind, d: .linkinfo.info_data, mtu, up: (.flags | index("UP") != null)}')
echo "sixrd0: $info"
expect "sixrd0 is a sit device" test "$(jq -r .kind <<<"$info")" = sit
expect "sixrd0 local is the node IPv4" test "$(jq -r .d.local <<<"$info")" = "$NODE_IP"
expect "sixrd0 6rd-prefix is the cluster prefix" \
  test "$(jq -r '"\(.d.prefix)/\(.d.prefixlen)"' <<<"$info")" = "$PREFIX"
expect "sixrd0 6rd-relay_prefix is the underlay" \
  test "$(jq -r '"\(.d.relay_prefix)/\(.d.relay_prefixlen)"' <<<"$info")" = "$UNDERLAY"
expect "sixrd0 mtu is 1500 - 20" test "$(jq -r .mtu <<<"$info")" = 1480
expect "sixrd0 is up" test "$(jq -r .up <<<"$info")" = true
has_overlay() {
  ip -n "$NS" -6 -j addr show dev sixrd0 |
    jq -e '.[0].addr_info[] | select(.local == "fd00:10:0:307::1" and .prefixlen == 48)' >/dev/null
}
has_unreachable() { ip -n "$NS" -6 route show type unreachable | grep -q '^unreachable fd00:10:0:307::/64'; }
expect "sixrd0 carries fd00:10:0:307::1/48" has_overlay
expect "unreachable fd00:10:0:307::/64 is routed" has_unreachable
expect "install warns that forwarding is left to the plugin (/proc/sys is read-only)" \
  grep -q "warning: IPv6 forwarding is off" <<<"$out"
conflist=$ROOT/etc/cni/net.d/10-sixrd.conflist
expect "the binary is the running one" cmp -s "$SIXRD" "$ROOT/opt/cni/bin/sixrd"
expect "the binary has mode 755" test "$(stat -c %a "$ROOT/opt/cni/bin/sixrd")" = 755
expect "the conflist pins no nodeIP (SIXRD_NODE_IP is a hint) and chains portmap" \
  jq -e '(.plugins[0] | has("nodeIP") | not) and .plugins[1].type == "portmap"' "$conflist" >/dev/null
expect "the conflist has mode 644" test "$(stat -c %a "$conflist")" = 644
portmap_versions=$(cni_call VERSION -- "$ROOT/opt/cni/bin/portmap" <<<'{"cniVersion":"1.0.0"}' |
  jq -c '[.supportedVersions[] | select(. == "0.3.0" or . == "0.3.1" or . == "0.4.0" or . == "1.0.0" or . == "1.1.0")]')
echo "versions both sixrd and portmap speak: $portmap_versions"
expect "the conflist's cniVersion is 1.0.0 (what pre-1.1 runtimes can use)" \
  jq -e '.cniVersion == "1.0.0"' "$conflist"
expect "the conflist's cniVersions are the versions sixrd and portmap both speak" \
  jq -e --argjson want "$portmap_versions" '.cniVersions == $want' "$conflist"

# --- status: the readiness probe ---
out=$(container "$SIXRD" status --host-root "$ROOT" 2>&1)
rc=$?
echo "$out"
expect "status exits 0 on a healthy node" test "$rc" = 0
expect "status says ready" grep -q "ready: network sixrd can serve ADD" <<<"$out"

# --- status removes the sit probe devices of dead processes (a status killed at its timeout) ---
sleep 0 &
dead=$!
wait "$dead"
sleep 0 &
dead2=$!
wait "$dead2"
sleep 300 &
live=$!
# (distinct remotes: the kernel refuses two sit devices with the same endpoints)
ip -n "$NS" link add "sxprobe$dead" type sit remote 192.0.2.1
ip -n "$NS" link add "sxprobe$live" type sit remote 192.0.2.2
ip -n "$NS" link add "sxprobe${dead}x" type sit remote 192.0.2.3
ip -n "$NS" link add "sxprobe$dead2" type dummy
out=$(container "$SIXRD" --log-level info status --host-root "$ROOT" 2>&1)
rc=$?
echo "$out"
has_link() { ip -n "$NS" link show "$1" >/dev/null 2>&1; }
expect "status with leftover probe devices exits 0" test "$rc" = 0
expect "status removed sxprobe$dead (its process is gone)" not has_link "sxprobe$dead"
expect "status says it removed sxprobe$dead and why" \
  grep -q "removed sit device sxprobe$dead: the probe of sixrd process $dead, which is no longer running" <<<"$out"
expect "status left sxprobe$live alone (process $live runs)" has_link "sxprobe$live"
expect "status left sxprobe${dead}x alone (not the naming pattern)" has_link "sxprobe${dead}x"
expect "status left the dummy sxprobe$dead2 alone (not a sit device)" has_link "sxprobe$dead2"
kill "$live"
wait "$live" 2>/dev/null
ip -n "$NS" link del "sxprobe$live"
ip -n "$NS" link del "sxprobe${dead}x"
ip -n "$NS" link del "sxprobe$dead2"
no_probe_left() { test -z "$(ip -n "$NS" -j link show type sit | jq -r '.[].ifname | select(startswith("sxprobe"))')"; }
expect "no sxprobe device is left" no_probe_left

# --- CNI STATUS on a sit node before its tunnel exists: the probe answers, and leaves nothing ---
ip netns add sxinst-probe
ip -n sxinst-probe link add eth0 type dummy
ip -n sxinst-probe addr add 198.18.3.9/16 dev eth0
ip -n sxinst-probe link set eth0 up
probe_conf='{"cniVersion": "1.1.0", "name": "sixrd", "type": "sixrd", "prefix": "fd00:10::/48", "underlay": "198.18.0.0/16"}'
out=$(cni_call -n sxinst-probe STATUS -- "$SIXRD" <<<"$probe_conf" 2>&1)
rc=$?
echo "$out"
expect "CNI STATUS succeeds on a sit node without a tunnel yet (the probe device answers)" test "$rc" = 0
expect "... and leaves no sxprobe device and no tunnel" \
  test -z "$(ip -n sxinst-probe -j link show | jq -r '.[].ifname | select(startswith("sxprobe") or . == "sixrd0")')"
ip netns del sxinst-probe

# --- the plugin, installed, serves a pod as the runtime would call it (full root) ---
stdin=$(jq -c '.plugins[0] + {name: .name, cniVersion: .cniVersion, dataDir: "/run/sixrd-inst"}' "$conflist")
result=$(cni_call -n "$NS" -p "$ROOT/opt/cni/bin" ADD inst-pod1 eth0 "/run/netns/$POD" \
  -- "$ROOT/opt/cni/bin/sixrd" <<<"$stdin")
echo "ADD: $result"
in_node64() { jq -e '.ips[0].address | startswith("fd00:10:0:307:")' <<<"$result" >/dev/null; }
expect "ADD through the installed binary gives an address in the node /64" in_node64
expect "the plugin (on the host) switched IPv6 forwarding on" \
  test "$(ip netns exec "$NS" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1

# --- install again: nothing changes ---
inode=$(stat -c %i "$ROOT/opt/cni/bin/sixrd")
out=$(container "$SIXRD" install --host-root "$ROOT" 2>&1)
rc=$?
echo "$out"
expect "a second install exits 0" test "$rc" = 0
expect "a second install rewrites nothing" test "$(grep -c 'already up to date' <<<"$out")" = 2
expect "a second install finds the tunnel as configured" grep -q "already up as configured" <<<"$out"
expect "the binary was not replaced" test "$(stat -c %i "$ROOT/opt/cni/bin/sixrd")" = "$inode"

# --- daemon: repairs a deleted tunnel, exits 0 on SIGTERM ---
ip -n "$NS" link del sixrd0
(exec "${CONTAINER[@]}" "$SIXRD" --log-level info daemon --host-root "$ROOT" --interval 1) \
  >"$ROOT/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 1 50); do
  link_json >/dev/null && break
  sleep 0.2
done
is_sit() { link_json | jq -e '.[0].linkinfo.info_kind == "sit"' >/dev/null; }
expect "the daemon recreated the deleted tunnel" is_sit

# --- liveness: the daemon's heartbeat, as the livenessProbe reads it ---
heartbeat=$ROOT/run/sixrd/.daemon-10-sixrd.conflist.heartbeat
expect "the daemon writes its heartbeat under the host's /run/sixrd" test -s "$heartbeat"
liveness() { container "$SIXRD" status --liveness --host-root "$ROOT" 2>&1; }
out=$(liveness)
rc=$?
echo "$out"
expect "status --liveness exits 0 while the daemon goes round" test "$rc" = 0
expect "... and says alive" grep -q "sixrd status: alive: the daemon (pid $daemon" <<<"$out"
# Truly stuck: the daemon stopped mid-loop; 3 rounds of --interval 1 later its heartbeat is stale.
kill -STOP "$daemon"
sleep 4.5
out=$(liveness)
rc=$?
echo "$out"
expect "status --liveness exits 1 once the daemon is stuck (SIGSTOP) for more than 3 rounds" test "$rc" = 1
expect "... and says stuck" grep -q "sixrd status: stuck: the daemon (pid $daemon" <<<"$out"
kill -CONT "$daemon"
alive_again() { liveness >/dev/null; }
for _ in $(seq 1 25); do alive_again && break; sleep 0.2; done
expect "status --liveness exits 0 again once the daemon goes round again" alive_again
kill -TERM "$daemon"
wait "$daemon"
rc=$?
cat "$ROOT/daemon.log"
expect "the daemon exits 0 on SIGTERM" test "$rc" = 0
expect "the daemon logged the repair" grep -q "repaired: tunnel sixrd0 does not exist" "$ROOT/daemon.log"

# --- uninstall ---
out=$(container "$SIXRD" uninstall --host-root "$ROOT" 2>&1)
rc=$?
echo "$out"
expect "uninstall exits 0" test "$rc" = 0
expect "uninstall removed the conflist" test ! -e "$conflist"
expect "uninstall removed the binary" test ! -e "$ROOT/opt/cni/bin/sixrd"
expect "uninstall left the tunnel" is_sit
out=$(container "$SIXRD" status --host-root "$ROOT" 2>&1)
rc=$?
echo "$out"
expect "status exits 1 once uninstalled" test "$rc" = 1

# --- uninstall --remove-tunnel: refused while a pod holds the tunnel, then done ---
out=$(container "$SIXRD" uninstall --host-root "$ROOT" --remove-tunnel 2>&1)
rc=$?
echo "$out"
expect "uninstall --remove-tunnel exits 1 while the pod is there" test "$rc" = 1
expect "the refusal names the pod's host veth and its container" \
  grep -q "host veth sx[0-9a-f]\{12\} (sixrd/sixrd/eth0/inst-pod1)" <<<"$out"
expect "the refused uninstall left the tunnel" is_sit
cni_call -n "$NS" -p "$ROOT/opt/cni/bin" DEL inst-pod1 eth0 "/run/netns/$POD" -- "$SIXRD" <<<"$stdin"
expect "DEL removed the pod's host veth" test -z "$(ip -n "$NS" -j link show type veth | jq -r '.[].ifname | select(startswith("sx"))')"
out=$(container "$SIXRD" uninstall --host-root "$ROOT" --remove-tunnel 2>&1)
rc=$?
echo "$out"
expect "uninstall --remove-tunnel exits 0 once no pod holds the tunnel" test "$rc" = 0
expect "sixrd0 is gone" test -z "$(link_json)"
expect "the unreachable /64 is gone" bash -c "! ip -n $NS -6 route show type unreachable | grep -q fd00:10:0:307::/64"
expect "no overlay address is left" bash -c "! ip -n $NS -6 addr show | grep -q fd00:10:0:307::1"
expect "IPv6 forwarding is left on" test "$(ip netns exec "$NS" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1
expect "uninstall says forwarding is left as it is" grep -q "IPv6 forwarding (net.ipv6.conf.all.forwarding) and the sit module are left as they are" <<<"$out"
out=$(container "$SIXRD" uninstall --host-root "$ROOT" --remove-tunnel 2>&1)
rc=$?
echo "$out"
expect "uninstall --remove-tunnel again: exit 0, nothing there" test "$rc" = 0
expect "... and it says the tunnel was not there" grep -q "tunnel sixrd0 was not there" <<<"$out"

summary
