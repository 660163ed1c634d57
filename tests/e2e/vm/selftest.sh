#!/usr/bin/env bash
# Guest script proving that the VM from run-in-vm.sh is fit for the sixrd datapath tests:
#
#   tests/e2e/vm/run-in-vm.sh tests/e2e/vm/selftest.sh
#
# Checks, in order: the guest runs Debian's kernel, not the host's; `modprobe sit` works from the
# host's /lib/modules seen through 9p; a sit device takes 6rd settings, read back independently
# with `ip -d -j`; network namespaces, veth and a 6rd tunnel carry IPv6 between two namespaces;
# the root filesystem is writable (overlay) and cgroup2 is mounted. Exits 0 when all hold.
set -euo pipefail

step() { printf '\n== %s\n' "$*"; }
fail() {
	echo "SELFTEST FAILED: $*" >&2
	exit 1
}
need() { command -v "$1" >/dev/null || fail "$1 not installed on the host"; }
need ip
need jq
need ping

step "kernel"
uname -r
[[ $(uname -r) == "$(basename /lib/modules/"$(uname -r)")" && -d /lib/modules/$(uname -r) ]] ||
	fail "no /lib/modules/$(uname -r)"
[[ $$ != 1 ]] || fail "the script must not run as PID 1"
[[ $(id -u) == 0 ]] || fail "not root"

step "modprobe sit"
modprobe sit
[[ -d /sys/module/sit ]] || fail "sit not loaded"
grep -E '^(sit|tunnel4|ip_tunnel) ' /proc/modules

step "sit device with 6rd settings"
ip link add sx0 type sit local 198.18.0.1 ttl 64
ip tunnel 6rd dev sx0 6rd-prefix fd00:10::/48 6rd-relay_prefix 198.18.0.0/16
json=$(ip -d -j link show sx0)
jq '.[0] | {ifname, link_type, mtu, linkinfo}' <<<"$json"
check() {
	local got
	got=$(jq -r ".[0].linkinfo.info_data.$1" <<<"$json")
	[[ $got == "$2" ]] || fail "sx0 $1 is '$got', want '$2'"
	echo "ok: $1 = $got"
}
[[ $(jq -r '.[0].linkinfo.info_kind' <<<"$json") == sit ]] || fail "sx0 is not a sit device"
check local 198.18.0.1
check ttl 64
# iproute2 names the 6rd attributes prefix, prefixlen, relay_prefix and relay_prefixlen.
check prefix fd00:10::
check prefixlen 48
check relay_prefix 198.18.0.0
check relay_prefixlen 16
ip link del sx0

step "network namespaces, veth and a 6rd tunnel between them"
# Two "nodes" joined by a veth underlay (198.18.0.1 and .2); each has a sit device with the same
# 6rd domain, so fd00:10:0:2::/64 is reached by encapsulating to 198.18.0.2 (16 bits of IPv4
# after the /16 relay prefix: 0.2 -> subnet id 0x0002).
cleanup() { ip netns del sxa 2>/dev/null || :; ip netns del sxb 2>/dev/null || :; }
trap cleanup EXIT
ip netns add sxa
ip netns add sxb
ip link add va type veth peer name vb
ip link set va netns sxa
ip link set vb netns sxb
node() {
	local ns=$1 dev=$2 v4=$3 v6=$4
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$v4/24" dev "$dev"
	ip -n "$ns" link set "$dev" up
	ip -n "$ns" link add sx0 type sit local "$v4" ttl 64
	ip -n "$ns" tunnel 6rd dev sx0 6rd-prefix fd00:10::/48 6rd-relay_prefix 198.18.0.0/16
	ip -n "$ns" link set sx0 up
	ip -n "$ns" -6 addr add "$v6/48" dev sx0 nodad
}
node sxa va 198.18.0.1 fd00:10:0:1::1
node sxb vb 198.18.0.2 fd00:10:0:2::1
ip -n sxa -br addr
ip netns exec sxa ping -c 1 -W 5 198.18.0.2
ip netns exec sxa ping -6 -c 3 -i 0.2 -W 5 fd00:10:0:2::1
rx=$(ip -n sxb -j -s link show sx0 | jq '.[0].stats64.rx.packets')
((rx >= 3)) || fail "sxb/sx0 received $rx packets, want >= 3"
echo "ok: 6rd tunnel carried IPv6 ($rx packets decapsulated on sxb)"

step "writable root (overlay) and cgroup2"
touch /usr/.sixrd-vm-selftest && rm /usr/.sixrd-vm-selftest
findmnt -n -o FSTYPE / | grep -qx overlay || fail "/ is not the overlay"
findmnt -n -o FSTYPE /sys/fs/cgroup | grep -qx cgroup2 || fail "/sys/fs/cgroup is not cgroup2"
findmnt -n -o FSTYPE /run | grep -qx tmpfs || fail "/run is not a tmpfs"
echo ok

step "selftest passed"
