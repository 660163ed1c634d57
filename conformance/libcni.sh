#!/usr/bin/env bash
# CNI conformance of sixrd through a real CNI client. Runs as root INSIDE the VM (a kernel with
# sit), normally through ctest:
#
#   tests/e2e/vm/run-in-vm.sh --timeout 900 conformance/libcni.sh build/sixrd build/conformance/cnidriver
#
# Usage: libcni.sh SIXRD_BINARY DRIVER      (DRIVER: conformance/build-driver.sh's cnidriver)
#
# Two nodes (network namespaces on a bridge underlay, from tests/e2e/lib.sh). A CNI bin dir holds
# a copy of sixrd plus Debian's reference meta plugins (portmap, bandwidth, tuning). For every
# cniVersion libcni 1.1.2 speaks (0.3.0 0.3.1 0.4.0 1.0.0) the driver (libcni's
# AddNetworkList / CheckNetworkList / DelNetworkList with kubelet-style CNI_ARGS and capability
# args) runs, on node 1:
#   - sixrd alone: ADD, the result read as that version (libcni's view and sixrd's own bytes),
#     the pod's kernel state read back with ip -j, CHECK (0.4.0+; 0.3.x: refused), an ADD into a
#     netns whose ifname is taken (fails, leaves nothing, the foreign link survives its DEL),
#     DEL, DEL again, DEL after the netns is gone;
#   - sixrd + portmap + bandwidth + tuning: ADD, tuning's sysctls and MTU inside the pod,
#     portmap's DNAT (and a real hostPort connection from node 2 over the tunnel), bandwidth's
#     qdiscs, CHECK, DEL twice, nothing left;
#   - loopback + sixrd (sixrd gets loopback's result as prevResult): the merged result (lo and its
#     ips first, sixrd's after with the right indices and ips[].version), the pod's address, CHECK
#     (0.4.0+), DEL.
# cniVersion 1.1.0 (libcni 1.1.2 cannot parse 1.1.0 results) is driven by executing the plugin
# the way a 1.1-aware runtime does: ADD, CHECK with prevResult, DEL twice, GC with
# cni.dev/valid-attachments (removes exactly the others), ADD with a prevResult (merged; one of
# another version refused with code 1), STATUS 0, VERSION.
#
# Prints "ok   <check>" / "FAIL <check>" per check and finally "SUMMARY libcni: N passed, M failed"
# (tests/lib/harness.sh); exits non-zero on any failure. Diagnostics of failed checks go to
# stderr. Cleans up (trap).
#
# Checks are often `expect "what" eval '...'`: the single quotes are deliberate (expanded by eval).
# shellcheck disable=SC2016
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 SIXRD_BINARY DRIVER" >&2; exit 2; }
SIXRD=$(realpath "$1")
DRIVER=$(realpath "$2")
export SIXRD
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

export E2E_NODES=2 E2E_PODS=0 E2E_STATE=/run/sixrd-conformance
export E2E_PREFIX=fd00:10::/48 E2E_UNDERLAY=198.18.0.0/16
# shellcheck source=tests/e2e/lib.sh
. "$here/../tests/e2e/lib.sh"

if ! modprobe sit 2>/dev/null && [ ! -d /sys/module/sit ]; then
  echo "$0: this kernel has no sit module; run me through tests/e2e/vm/run-in-vm.sh" >&2
  exit 2
fi

NET=conformance                    # network name of every conflist
BIN=$E2E_STATE/bin                 # the CNI bin dir (CNI_PATH)
CACHE=$E2E_STATE/cache             # libcni's result cache
VERSIONS=(0.3.0 0.3.1 0.4.0 1.0.0)
HOSTPORT=18080
daemons=()

cleanup() {
  local pid
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null || true; done
  teardown
}
trap cleanup EXIT
teardown

# Command output of a check goes to stderr only when it fails (tests/lib/harness.sh).
HARNESS_QUIET=1

# --- plumbing -----------------------------------------------------------------------------------

node64() { "$SIXRD" node-prefix --prefix "$E2E_PREFIX" --underlay "$E2E_UNDERLAY" --node-ip "$(node_ip "$1")" --json | jq -r .nodePrefix; }
node_overlay() { overlay_addr "$1"; }
data_dir() { echo "$E2E_STATE/node$1/data"; }

sixrd_plugin() { # sixrd_plugin NODE -> the sixrd plugin object of a conflist
  jq -n --arg p "$E2E_PREFIX" --arg u "$E2E_UNDERLAY" --arg d "$(data_dir "$1")" \
    --arg l "$E2E_STATE/node$1/sixrd.log" \
    '{type: "sixrd", prefix: $p, underlay: $u, dataDir: $d, log: {file: $l, level: "debug"}}'
}

# conflist VERSION FILE PLUGIN_JSON...  -> writes a conflist named $NET
conflist() {
  local v=$1 file=$2
  shift 2
  printf '%s\n' "$@" | jq -s --arg v "$v" --arg n "$NET" '{cniVersion: $v, name: $n, plugins: .}' >"$file"
}

chain_plugins() { # the meta plugins chained after sixrd
  cat <<EOF
{"type": "portmap", "capabilities": {"portMappings": true}}
{"type": "bandwidth", "capabilities": {"bandwidth": true}}
{"type": "tuning", "mtu": 1400, "sysctl": {"net.core.somaxconn": "512", "net.ipv6.conf.eth0.hop_limit": "33"}}
EOF
}

# drv NODE VERB CONFLIST NETNS ID [IFNAME] : libcni through the driver, run in the node namespace
# (libcni executes the plugins in its own namespace, as containerd does on a node).
drv() {
  local n=$1 verb=$2 list=$3 netns=$4 id=$5 ifname=${6:-eth0}
  ip netns exec "$(node_ns "$n")" "$DRIVER" "$verb" --conflist "$list" --netns "$netns" \
    --id "$id" --ifname "$ifname" --bin-dirs "$BIN" --cache-dir "$CACHE/node$n" \
    --pod-namespace conformance --pod-name "pod-$id"
}

# direct NODE VERB ID IFNAME NETNS CONFIG : executes sixrd as a 1.1-aware runtime does.
direct() {
  local n=$1 verb=$2 id=$3 ifname=$4 netns=$5 config=$6 args=''
  [ -n "$id" ] && args="IgnoreUnknown=1;K8S_POD_NAMESPACE=conformance;K8S_POD_NAME=pod-$id;K8S_POD_INFRA_CONTAINER_ID=$id;K8S_POD_UID=00000000-0000-4000-8000-$(printf '%s' "$id" | sha256sum | cut -c1-12)"
  cni_call -n "$(node_ns "$n")" -p "$BIN" -a "$args" "$verb" "$id" "$ifname" "$netns" -- "$BIN/sixrd" <<<"$config"
}

# plugin_conf VERSION NODE [extra] : a single plugin config as a runtime hands it to sixrd
# (name and cniVersion injected from the conflist).
plugin_conf() {
  local extra=${3:-}
  [ -n "$extra" ] || extra='{}'
  sixrd_plugin "$2" | jq -c --arg v "$1" --arg n "${4:-$NET}" --argjson x "$extra" '. + {cniVersion: $v, name: $n} + $x'
}

new_netns() { ip netns add "sxe2e-c-$1" && echo "/run/netns/sxe2e-c-$1"; }
del_netns() { ip netns del "sxe2e-c-$1" 2>/dev/null || true; }
pod_ns_of() { basename "$1"; }     # /run/netns/X -> X

host_veths() { ip -n "$(node_ns "$1")" -j link show type veth | jq -r '[.[].ifname | select(startswith("sx"))] | sort | join(" ")'; }
lease_owners() { # NODE [NETWORK] -> "cid/ifname" per lease, sorted
  local d f
  d="$(data_dir "$1")/${2:-$NET}"
  [ -d "$d" ] || return 0
  for f in "$d"/*; do
    [ -f "$f" ] || continue
    case ${f##*/} in .tmp-*) continue ;; esac
    sed -n '1h;2{H;x;s/\n/\//p}' "$f"
  done | sort | paste -sd' '
}

# --- checks -------------------------------------------------------------------------------------

# result_ok VERSION NETNS RESULT_FILE NODE
result_ok() {
  local v=$1 netns=$2 file=$3 n=$4 legacy=false pfx
  case $v in 0.3.0 | 0.3.1 | 0.4.0) legacy=true ;; esac
  pfx=$(node64 "$n")
  pfx=${pfx%%::/64}
  jq -e --arg v "$v" --arg ns "$netns" --arg pfx "$pfx:" --argjson legacy "$legacy" '
    .cniVersion == $v
    and ((.interfaces // []) | length) >= 2
    and ([.interfaces[] | select(.name == "eth0" and .sandbox == $ns)] | length) == 1
    and ([.interfaces[] | select((.sandbox // "") == "" and (.name | startswith("sx")))] | length) == 1
    and all(.interfaces[]; .mac | test("^([0-9a-f]{2}:){5}[0-9a-f]{2}$"))
    and (.ips | length) == 1
    and (.ips[0].address | startswith($pfx) and endswith("/128"))
    and (.ips[0].interface != null and .interfaces[.ips[0].interface].name == "eth0")
    and (.ips[0].gateway == "fe80::1")
    and (if $legacy then .ips[0].version == "6" else (.ips[0] | has("version") | not) end)
    and ([.routes[] | select(.dst == "::/0")] | length) == 1
  ' "$file" || { cat "$file"; return 1; }
}

# pod_state_ok NETNS RESULT_FILE MTU : the pod as the kernel sees it, against the result
pod_state_ok() {
  local ns addr mac
  ns=$(pod_ns_of "$1")
  addr=$(jq -r '.ips[0].address | split("/")[0]' "$2")
  mac=$(jq -r '.interfaces[] | select(.sandbox != null and .sandbox != "") | .mac' "$2")
  ip -n "$ns" -j addr show dev eth0 | jq -e --arg a "$addr" --arg m "$mac" --argjson mtu "$3" '
    .[0].mtu == $mtu and .[0].address == $m and (.[0].flags | index("UP") != null)
    and ([.[0].addr_info[] | select(.family == "inet6" and .local == $a and .prefixlen == 128)] | length) == 1' &&
    ip -n "$ns" -6 -j route show default | jq -e '.[0].gateway == "fe80::1" and .[0].dev == "eth0"'
}

# host_side_ok NODE RESULT_FILE : host veth of the result exists, carries the /128 route
host_side_ok() {
  local veth addr
  veth=$(jq -r '.interfaces[] | select((.sandbox // "") == "" and (.name | startswith("sx"))) | .name' "$2")
  addr=$(jq -r '.ips[0].address' "$2")
  ip -n "$(node_ns "$1")" -j -d link show dev "$veth" | jq -e '.[0].linkinfo.info_kind == "veth"' &&
    ip -n "$(node_ns "$1")" -6 -j route show "$addr" | jq -e --arg d "$veth" '.[0].dev == $d'
}

# fails_with CODE command... : the command fails and the CNI error JSON (driver: last stderr line;
# plugin: stdout) carries CODE
fails_with() {
  local code=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  echo "$out"
  [ "$rc" != 0 ] && tail -n1 <<<"$out" | jq -e --argjson c "$code" '.code == $c' >/dev/null
}

no_trace() { # NODE ID : no lease of ID, no veth alias naming ID
  ! lease_owners "$1" | tr ' ' '\n' | grep -q "^$2/" &&
    ! ip -n "$(node_ns "$1")" -j link show type veth | jq -e --arg id "$2" '[.[] | select((.ifalias // "") | endswith("/" + $id))] | length > 0' >/dev/null
}

# --- scenarios ----------------------------------------------------------------------------------

to_file() { # to_file FILE command... : stdout of the command into FILE (shown when it fails)
  local f=$1 out rc=0
  shift
  out=$("$@") || rc=$?
  printf '%s\n' "$out" >"$f"
  [ "$rc" = 0 ] || { echo "exit $rc: $out"; return "$rc"; }
}
equals() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
is_legacy() { case $1 in 0.3.0 | 0.3.1 | 0.4.0) return 0 ;; esac; return 1; }
has_check() { case $1 in 0.3.0 | 0.3.1) return 1 ;; esac; return 0; }

# all_gone NODE NETNS ID : the pod's eth0 (when its netns still exists), host veth and lease gone
all_gone() {
  local ns
  ns=$(pod_ns_of "$2")
  if [ -e "$2" ] && ip -n "$ns" link show eth0 2>/dev/null; then echo "eth0 left in $ns"; return 1; fi
  equals "$(host_veths "$1")" "" && no_trace "$1" "$3"
}

# raw_add_ok VERSION TAG : libcni re-encodes results, so also read sixrd's own bytes: a pod
# added by executing sixrd directly with a VERSION config gets a valid VERSION result.
raw_add_ok() {
  local out=$E2E_STATE/raw.json netns id=conf-$2-raw rc=0
  netns=$(new_netns "$2-raw")
  to_file "$out" direct 1 ADD "$id" eth0 "$netns" "$(plugin_conf "$1" 1)" && result_ok "$1" "$netns" "$out" 1 || rc=1
  direct 1 DEL "$id" eth0 "$netns" "$(plugin_conf "$1" 1)" || rc=1
  del_netns "$2-raw"
  return "$rc"
}

scenario_sixrd() { # VERSION
  local v=$1 tag id list netns res busy busyid before
  tag=s${v//./}
  id=conf-$tag
  list=$E2E_STATE/$tag.conflist
  res=$E2E_STATE/$tag.result
  conflist "$v" "$list" "$(sixrd_plugin 1)"
  echo "== cniVersion $v: sixrd alone through libcni"
  expect "$v validate: libcni loads the conflist and sixrd claims $v" \
    "$DRIVER" validate --conflist "$list" --bin-dirs "$BIN"
  netns=$(new_netns "$tag")
  expect "$v ADD succeeds" to_file "$res" drv 1 add "$list" "$netns" "$id"
  expect "$v ADD result (libcni's view) is a valid $v result" result_ok "$v" "$netns" "$res" 1
  expect "$v ADD result (sixrd's own bytes, executed directly) is a valid $v result" raw_add_ok "$v" "$tag"
  expect "$v pod: /128, MAC, MTU 1480, default via fe80::1 (ip -j)" pod_state_ok "$netns" "$res" 1480
  expect "$v node: host veth and /128 route to it (ip -j)" host_side_ok 1 "$res"
  expect "$v lease held by $id/eth0" equals "$(lease_owners 1)" "$id/eth0"
  if has_check "$v"; then
    expect "$v CHECK succeeds" drv 1 check "$list" "$netns" "$id"
  else
    expect "$v CHECK is refused by libcni (CHECK needs 0.4.0)" not drv 1 check "$list" "$netns" "$id"
    expect "$v CHECK executed directly: sixrd answers error 1 (incompatible version)" \
      fails_with 1 direct 1 CHECK "$id" eth0 "$netns" "$(plugin_conf "$v" 1 "{\"prevResult\": $(cat "$res")}")"
  fi

  # A second container whose netns already has the ifname (a dummy link called eth0).
  busyid=conf-$tag-busy
  busy=$(new_netns "$tag-busy")
  ip -n "$(pod_ns_of "$busy")" link add eth0 type dummy
  # shellcheck disable=SC2034 # read by the eval below
  before=$(host_veths 1)
  expect "$v ADD into a netns that already has eth0 fails with code 105" \
    fails_with 105 drv 1 add "$list" "$busy" "$busyid"
  expect "$v ... and leaves no veth and no lease" eval 'equals "$(host_veths 1)" "$before" && no_trace 1 "$busyid"'
  expect "$v ... the runtime's DEL after the failed ADD succeeds" drv 1 del "$list" "$busy" "$busyid"
  expect "$v ... and leaves that netns' own eth0 alone" ip -n "$(pod_ns_of "$busy")" link show eth0
  expect "$v ... the first pod is untouched" pod_state_ok "$netns" "$res" 1480
  del_netns "$tag-busy"

  expect "$v DEL succeeds" drv 1 del "$list" "$netns" "$id"
  expect "$v DEL removed the pod's eth0, host veth and lease" all_gone 1 "$netns" "$id"
  expect "$v DEL again succeeds" drv 1 del "$list" "$netns" "$id"

  # kubelet may DEL after the sandbox (and its netns) is gone: that must still clean up.
  expect "$v ADD again" to_file "$res" drv 1 add "$list" "$netns" "$id"
  del_netns "$tag"
  expect "$v DEL with the netns already gone succeeds" drv 1 del "$list" "$netns" "$id"
  expect "$v ... and released the lease and the veth" all_gone 1 "$netns" "$id"
}

dnat_rules() { # NODE ADDR : portmap's ip6tables DNAT rules towards ADDR
  ip netns exec "$(node_ns "$1")" ip6tables -w -t nat -S | grep -F -- "--to-destination [$2]:" || true
}
bwp_ifbs() { ip -n "$(node_ns "$1")" -j link show type ifb | jq -r '[.[].ifname | select(startswith("bwp"))] | join(" ")'; }

bandwidth_ok() { # NODE HOSTVETH
  tc -n "$(node_ns "$1")" -j qdisc show dev "$2" | jq -e 'any(.[]; .kind == "tbf")' &&
    [ -n "$(bwp_ifbs "$1")" ] && tc -n "$(node_ns "$1")" -j qdisc show dev "$(bwp_ifbs "$1")" | jq -e 'any(.[]; .kind == "tbf")'
}

# http_get NETNS ADDR PORT PATH -> the body (bash's /dev/tcp: busybox wget is not reliable here)
http_get() {
  # shellcheck disable=SC2016 # positional parameters of the inner bash
  ip netns exec "$1" timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3 && cat <&3' \
    "$2" "$3" "$4" | tr -d '\r' | sed '1,/^$/d'
}

# hostport_ok VERSION POD_NETNS POD_ADDR : a real connection node 2 -> [node 1 overlay]:HOSTPORT -> pod:80,
# through portmap's DNAT and the 6rd tunnel both ways.
hostport_ok() {
  local www=$E2E_STATE/www got pid
  mkdir -p "$www" && echo "sixrd $1" >"$www/index.html"
  ip netns exec "$2" busybox httpd -f -p 80 -h "$www" &
  pid=$!
  daemons+=("$pid")
  for _ in $(seq 50); do
    ip netns exec "$2" ss -Hltn 'sport = :80' | grep -q . && break
    sleep 0.2
  done
  got=$(http_get "$(node_ns 2)" "$(node_overlay 1)" "$HOSTPORT" /index.html) || true
  if [ "$got" != "sixrd $1" ]; then  # tell the DNAT apart from the datapath
    echo "pod listeners: $(ip netns exec "$2" ss -Hltn)"
    echo "node2 -> pod directly: $(http_get "$(node_ns 2)" "$3" 80 /index.html 2>&1)"
    ip netns exec "$(node_ns 1)" ip6tables -w -t nat -S
    ip netns exec "$(node_ns 1)" ip6tables -w -t nat -L -v -n
  fi
  kill "$pid" 2>/dev/null || true
  equals "$got" "sixrd $1"
}

scenario_chain() { # VERSION
  local v=$1 tag id list netns res pns addr hostveth
  tag=c${v//./}
  id=conf-$tag
  list=$E2E_STATE/$tag.conflist
  res=$E2E_STATE/$tag.result
  conflist "$v" "$list" "$(sixrd_plugin 1)" "$(chain_plugins)"
  echo "== cniVersion $v: sixrd + portmap + bandwidth + tuning through libcni"
  expect "$v chain validate: every plugin claims $v; capabilities portMappings, bandwidth" \
    eval '"$DRIVER" validate --conflist "$list" --bin-dirs "$BIN" | jq -e ".capabilities | sort == [\"bandwidth\", \"portMappings\"]"'
  netns=$(new_netns "$tag")
  pns=$(pod_ns_of "$netns")
  expect "$v chain ADD succeeds" to_file "$res" drv 1 add "$list" "$netns" "$id"
  expect "$v chain ADD result is a valid $v result" result_ok "$v" "$netns" "$res" 1
  addr=$(jq -r '.ips[0].address | split("/")[0]' "$res" 2>/dev/null) || addr=none
  hostveth=$(jq -r '.interfaces[] | select((.sandbox // "") == "" and (.name | startswith("sx"))) | .name' "$res" 2>/dev/null) || hostveth=none
  expect "$v tuning: net.core.somaxconn = 512 inside the pod" \
    equals "$(ip netns exec "$pns" cat /proc/sys/net/core/somaxconn)" 512
  expect "$v tuning: net.ipv6.conf.eth0.hop_limit = 33 inside the pod" \
    equals "$(ip netns exec "$pns" cat /proc/sys/net/ipv6/conf/eth0/hop_limit)" 33
  expect "$v tuning: pod eth0 MTU is 1400, address and route intact" pod_state_ok "$netns" "$res" 1400
  expect "$v portmap: ip6tables DNAT dport $HOSTPORT -> [$addr]:80 on the node" \
    eval 'dnat_rules 1 "$addr" | grep -q -- "--dport $HOSTPORT .*--to-destination \[$addr\]:80"'
  expect "$v portmap: node2 -> [node1]:$HOSTPORT reaches the pod over the 6rd tunnel" hostport_ok "$v" "$pns" "$addr"
  expect "$v bandwidth: tbf on the host veth and on its ifb (egress)" bandwidth_ok 1 "$hostveth"
  if has_check "$v"; then
    # CHECK runs the list without portmap (same network name, so libcni finds the cached
    # result): Debian's portmap 1.1.1 CHECK always looks for the IPv4 DNAT chain, which an
    # IPv6-only pod never gets ("could not check ipv4 dnat: chain CNI-DN-... not found"; the same
    # bug as containernetworking/plugins#819, for the other family).
    conflist "$v" "$list.check" "$(sixrd_plugin 1)" "$(chain_plugins | grep -v '"portmap"')"
    expect "$v chain CHECK of sixrd, bandwidth, tuning (sixrd after tuning lowered the MTU)" \
      drv 1 check "$list.check" "$netns" "$id"
  fi
  expect "$v chain DEL succeeds" drv 1 del "$list" "$netns" "$id"
  expect "$v chain DEL again succeeds" drv 1 del "$list" "$netns" "$id"
  expect "$v chain DEL left no eth0, veth, lease, DNAT rule or ifb" \
    eval 'all_gone 1 "$netns" "$id" && equals "$(dnat_rules 1 "$addr")" "" && equals "$(bwp_ifbs 1)" ""'
  del_netns "$tag"
}

# merged_ok VERSION NETNS RESULT_FILE NODE : sixrd after loopback (which reports lo with 127.0.0.1/8
# and ::1/128): loopback's interface and ips first and unchanged, sixrd's after, its ips[].interface
# pointing at its eth0 (shifted past lo), ips[].version as VERSION defines it.
merged_ok() {
  local v=$1 netns=$2 file=$3 n=$4 legacy=false pfx
  is_legacy "$v" && legacy=true
  pfx=$(node64 "$n")
  pfx=${pfx%%::/64}
  jq -e --arg v "$v" --arg ns "$netns" --arg pfx "$pfx:" --argjson legacy "$legacy" '
    .cniVersion == $v
    and (.interfaces | length) == 3
    and .interfaces[0].name == "lo"
    and (.interfaces[1].name | startswith("sx")) and ((.interfaces[1].sandbox // "") == "")
    and .interfaces[2].name == "eth0" and .interfaces[2].sandbox == $ns
    and (.ips | length) == 3
    and .ips[0].address == "127.0.0.1/8" and .ips[0].interface == 0
    and .ips[1].address == "::1/128" and .ips[1].interface == 0
    and (.ips[2].address | startswith($pfx) and endswith("/128"))
    and .ips[2].interface == 2 and .ips[2].gateway == "fe80::1"
    and (if $legacy then [.ips[].version] == ["4", "6", "6"] else all(.ips[]; has("version") | not) end)
    and ([.routes[] | select(.dst == "::/0" and .gw == "fe80::1")] | length) == 1
  ' "$file" || { cat "$file"; return 1; }
}

# sixrd as a chained plugin: loopback runs first and produces a result, libcni hands it to sixrd
# as prevResult, sixrd merges into it.
scenario_prev() { # VERSION
  local v=$1 tag id list netns res addr
  tag=p${v//./}
  id=conf-$tag
  list=$E2E_STATE/$tag.conflist
  res=$E2E_STATE/$tag.result
  conflist "$v" "$list" '{"type": "loopback"}' "$(sixrd_plugin 1)"
  echo "== cniVersion $v: loopback + sixrd through libcni (sixrd gets a prevResult)"
  netns=$(new_netns "$tag")
  expect "$v loopback+sixrd ADD succeeds" to_file "$res" drv 1 add "$list" "$netns" "$id"
  expect "$v merged result: loopback's lo and ips first, sixrd's after, indices right" \
    merged_ok "$v" "$netns" "$res" 1
  addr=$(jq -r '.ips[2].address | split("/")[0]' "$res" 2>/dev/null) || addr=none
  expect "$v the pod holds the merged result's sixrd address on eth0 (ip -j)" \
    eval 'ip -n "$(pod_ns_of "$netns")" -j addr show dev eth0 | jq -e --arg a "$addr" "any(.[0].addr_info[]; .local == \$a)"'
  if has_check "$v"; then
    expect "$v loopback+sixrd CHECK with the merged result succeeds" drv 1 check "$list" "$netns" "$id"
  fi
  expect "$v loopback+sixrd DEL succeeds" drv 1 del "$list" "$netns" "$id"
  expect "$v ... and left no veth and no lease" all_gone 1 "$netns" "$id"
  del_netns "$tag"
}

scenario_11() {
  local v=1.1.0 conf res_a nsa nsb nsc nsd other nsp prev
  echo "== cniVersion 1.1.0: sixrd executed directly (libcni 1.1.2 cannot parse 1.1.0 results)"
  conf=$(plugin_conf "$v" 1)
  res_a=$E2E_STATE/gc-a.result
  expect "1.1.0 VERSION lists 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0" \
    eval 'direct 1 VERSION "" "" "" "$conf" | jq -e ".cniVersion == \"1.1.0\" and (.supportedVersions | sort) == [\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"'
  expect "1.1.0 STATUS succeeds on a sit-capable node" direct 1 STATUS "" "" "" "$conf"
  nsa=$(new_netns gc-a)
  nsb=$(new_netns gc-b)
  nsc=$(new_netns gc-c)
  nsd=$(new_netns gc-d)
  nsp=$(new_netns gc-p)
  # shellcheck disable=SC2034 # read by the eval below
  prev=$(jq -nc --arg ns "$nsp" '{cniVersion: "1.1.0", interfaces: [{name: "lo", mac: "00:00:00:00:00:00", sandbox: $ns}],
    ips: [{address: "127.0.0.1/8", interface: 0}, {address: "::1/128", interface: 0}]}')
  expect "1.1.0 ADD A (gc-a/eth0)" to_file "$res_a" direct 1 ADD gc-a eth0 "$nsa" "$conf"
  expect "1.1.0 ADD result is a valid 1.1.0 result" result_ok "$v" "$nsa" "$res_a" 1
  expect "1.1.0 result: the pod interface carries mtu 1480 (new in 1.1.0)" \
    jq -e '.interfaces[] | select(.name == "eth0") | .mtu == 1480' "$res_a"
  expect "1.1.0 pod kernel state matches the result" pod_state_ok "$nsa" "$res_a" 1480
  expect "1.1.0 CHECK with prevResult succeeds" \
    direct 1 CHECK gc-a eth0 "$nsa" "$(plugin_conf "$v" 1 "{\"prevResult\": $(cat "$res_a")}")"
  expect "1.1.0 CHECK without prevResult fails with code 7" fails_with 7 direct 1 CHECK gc-a eth0 "$nsa" "$conf"
  expect "1.1.0 ADD B (gc-b/eth0)" to_file /dev/null direct 1 ADD gc-b eth0 "$nsb" "$conf"
  # C has A's container id and another ifname: GC must key on the (containerID, ifname) pair.
  expect "1.1.0 ADD C (gc-a/net1: A's container id, another ifname)" to_file /dev/null direct 1 ADD gc-a net1 "$nsc" "$conf"
  # Another sixrd network on the same node has its own prefix and its own tunnel (sixrd0
  # belongs to the first network: sixrd refuses to share it).
  other='{"prefix": "fd00:20::/48", "tunnel": "sixrd1"}'
  expect "1.1.0 ADD D (gc-d/eth0) on another network (name \"other\", tunnel sixrd1)" \
    to_file /dev/null direct 1 ADD gc-d eth0 "$nsd" "$(plugin_conf "$v" 1 "$other" other)"
  expect "1.1.0 before GC: leases A, B, C on $NET, D on other" \
    eval 'equals "$(lease_owners 1)" "gc-a/eth0 gc-a/net1 gc-b/eth0" && equals "$(lease_owners 1 other)" "gc-d/eth0"'
  expect "1.1.0 before GC: four host veths" equals "$(host_veths 1 | wc -w)" 4
  expect "1.1.0 GC with valid-attachments [gc-a/eth0] succeeds" \
    direct 1 GC "" "" "" "$(plugin_conf "$v" 1 '{"cni.dev/valid-attachments": [{"containerID": "gc-a", "ifname": "eth0"}]}')"
  expect "1.1.0 GC kept exactly A's lease on $NET (and D's on other)" \
    eval 'equals "$(lease_owners 1)" "gc-a/eth0" && equals "$(lease_owners 1 other)" "gc-d/eth0"'
  expect "1.1.0 GC removed B's and C's host veths, kept A's and D's" \
    equals "$(ip -n "$(node_ns 1)" -j link show type veth | jq -r '[.[] | .ifalias // empty] | sort | join(" ")')" \
    "sixrd/$NET/eth0/gc-a sixrd/other/eth0/gc-d"
  expect "1.1.0 GC: B lost eth0, C lost net1, A kept eth0" \
    eval 'not ip -n sxe2e-c-gc-b link show eth0 && not ip -n sxe2e-c-gc-c link show net1 && ip -n sxe2e-c-gc-a link show eth0'
  expect "1.1.0 CHECK of A still succeeds after GC" \
    direct 1 CHECK gc-a eth0 "$nsa" "$(plugin_conf "$v" 1 "{\"prevResult\": $(cat "$res_a")}")"
  expect "1.1.0 GC of network other with no valid attachments succeeds" \
    direct 1 GC "" "" "" "$(plugin_conf "$v" 1 "$(jq -c '. + {"cni.dev/valid-attachments": []}' <<<"$other")" other)"
  expect "1.1.0 ... it removed D only" \
    eval 'equals "$(lease_owners 1 other)" "" && equals "$(lease_owners 1)" "gc-a/eth0" && equals "$(host_veths 1 | wc -w)" 1'
  expect "1.1.0 ADD P with a prevResult (as a runtime passes loopback's): merged, indices right" \
    eval 'direct 1 ADD gc-p eth0 "$nsp" "$(plugin_conf "$v" 1 "{\"prevResult\": $prev}")" >"$E2E_STATE/gc-p.result" && merged_ok "$v" "$nsp" "$E2E_STATE/gc-p.result" 1'
  expect "1.1.0 ADD with a prevResult of another version fails with code 1, nothing made" \
    eval 'fails_with 1 direct 1 ADD gc-q eth0 "$nsp" "$(plugin_conf "$v" 1 "{\"prevResult\": {\"cniVersion\": \"1.0.0\"}}")" && no_trace 1 gc-q'
  expect "1.1.0 DEL P succeeds" direct 1 DEL gc-p eth0 "$nsp" "$conf"
  del_netns gc-p
  expect "1.1.0 DEL A succeeds" direct 1 DEL gc-a eth0 "$nsa" "$conf"
  expect "1.1.0 DEL A again succeeds" direct 1 DEL gc-a eth0 "$nsa" "$conf"
  expect "1.1.0 DEL of the GC'd B and C succeeds" \
    eval 'direct 1 DEL gc-b eth0 "$nsb" "$conf" && direct 1 DEL gc-a net1 "$nsc" "$conf"'
  expect "1.1.0 nothing left: no veth, no lease" \
    eval 'equals "$(host_veths 1)" "" && equals "$(lease_owners 1)" ""'
  # A namespace without any underlay address stands for a node that is not ready.
  expect "1.1.0 STATUS on a node without an underlay address fails with code 50" \
    fails_with 50 eval 'cni_call -n sxe2e-c-gc-d -p "$BIN" STATUS -- "$BIN/sixrd" <<<"$conf"'
  del_netns gc-a
  del_netns gc-b
  del_netns gc-c
  del_netns gc-d
}

# --- run ----------------------------------------------------------------------------------------

t0=$SECONDS
underlay_up
mkdir -p "$BIN" "$CACHE"
install -m 0755 "$SIXRD" "$BIN/sixrd"
for p in portmap bandwidth tuning loopback; do ln -s "/usr/lib/cni/$p" "$BIN/$p"; done
echo "== setup: 2 nodes on $E2E_UNDERLAY, prefix $E2E_PREFIX, CNI bin dir $BIN (sixrd portmap bandwidth tuning loopback)"
expect "VERSION through libcni lists 0.3.0 .. 1.1.0" \
  eval 'ip netns exec "$(node_ns 1)" "$DRIVER" version --type sixrd --bin-dirs "$BIN" |
        jq -e ".supportedVersions | sort == [\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"'
# Node 2 needs its tunnel for the hostPort check: one ADD/DEL brings it up.
expect "node2 tunnel up (ADD/DEL of a throwaway pod)" \
  eval 'n2=$(new_netns n2) && direct 2 ADD n2 eth0 "$n2" "$(plugin_conf 1.0.0 2)" >/dev/null && direct 2 DEL n2 eth0 "$n2" "$(plugin_conf 1.0.0 2)" && del_netns n2'

for v in "${VERSIONS[@]}"; do
  scenario_sixrd "$v"
  scenario_chain "$v"
  scenario_prev "$v"
done
scenario_11

if [ "$failed" != 0 ]; then
  for n in 1 2; do
    [ -f "$E2E_STATE/node$n/sixrd.log" ] || continue
    echo "--- node$n sixrd.log: errors and warnings (expected ones included: refused CHECKs, busy ifname)" >&2
    grep -E '\] [^ ]+: (error|warning|critical) |^[^ ]+ (error|warning|critical) ' "$E2E_STATE/node$n/sixrd.log" | tail -n 30 >&2 || true
  done
fi
echo "   ($((SECONDS - t0)) s)"
summary
