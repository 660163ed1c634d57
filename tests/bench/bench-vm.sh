#!/usr/bin/env bash
# bench-vm.sh SIXRD DRIVER FLOOR_PLUGIN KERNEL_FLOOR — the guest half of tests/bench/bench.sh.
# Runs as root INSIDE the VM (a kernel with sit); two nodes are network namespaces on a bridge
# underlay (tests/e2e/lib.sh). The floors (tests/bench/floor_plugin.cpp, kernel_floor.cpp) are what
# sixrd is measured against: any exec'd plugin pays the exec floor (a trivial static plugin through
# libcni) plus the kernel work of the pod layout it builds (the kernel floor: sixrd's pod plumbing
# in raw netlink, timed inside the program).
#
#   1. cost of one run: peak RSS of one sixrd ADD and DEL (/usr/bin/time -v), binary size, stripped?
#   2. datapath: iperf3 TCP pod(node 1) -> pod(node 2) over sixrd vs node 1 -> node 2 on the
#      bare underlay, interleaved rounds in the same run
#   3. pod network setup through libcni (`cnidriver bench`: libcni in-process in node 1's
#      namespace, one plugin exec per pod, as containerd does; cniVersion 1.0.0 conflists): sixrd
#      vs the exec floor (also as floor-result, answering a result shaped like sixrd's) vs
#      reference ptp + host-local (fd00:99::/64, ipMasq false), and the
#      kernel floor (direct, in node 1's namespace; and as a plugin through libcni, timing its own
#      work there too); serially in SIXRD_BENCH_ROUNDS interleaved
#      rounds, then with N parallel workers; latency of each pod's AddNetworkList/DelNetworkList
#      call, p50/p90/p99
#   4. start-up: CNI_COMMAND=VERSION of sixrd vs the trivial plugin, interleaved
#   5. kernel objects one pod adds to the node namespace: IPv6 routes (all tables) and addresses,
#      sixrd vs the kernel floor
#   6. scale: SIXRD_BENCH_SCALE pods on node 1, sixrd invoked directly (CNI_* env + config on
#      stdin, like a runtime; cheaper than the Go driver), then the same number of pods of each
#      kernel-floor layout alone on a node of its own, then sixrd with each ADD followed by one
#      kernel-floor ADD on node 2; ADD/DEL p50 with 0-100 pods on the node vs with the node full;
#      each loop also execs the trivial plugin once per pod (VERSION), the control for the
#      machine's own drift over the loop, and each growth is printed net of it as well
# Scale latency is wall time around each plugin exec, taken with bash's $EPOCHREALTIME (no fork)
# inside a loop that already runs in the node namespace (tests/bench/bench-loop.sh); the kernel
# floor times its own work, and the loop also takes the wall time of its whole process, as sixrd's:
# what the process's fork, exec and exit add to the growth is in sixrd's figure and not in the
# floor's own. Pod namespaces are made before and removed after (ip -batch), untimed.
# Everything is removed on exit (trap). These are printed figures, never assertions.
# Pod id lists are split into arguments on purpose.
# shellcheck disable=SC2046
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 SIXRD_BINARY DRIVER FLOOR_PLUGIN KERNEL_FLOOR" >&2; exit 2; }
SIXRD=$(realpath "$1")
DRIVER=$(realpath "$2")
FLOOR_PLUGIN=$(realpath "$3")
KFLOOR=$(realpath "$4")
export SIXRD DRIVER KFLOOR
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

PODS=${SIXRD_BENCH_PODS:-50}
read -r -a SCALE_FLOORS <<<"${SIXRD_BENCH_SCALE_FLOORS:-sixrd classic}"
ROUNDS=${SIXRD_BENCH_ROUNDS:-5}
VERSIONS=${SIXRD_BENCH_VERSION:-100}
WORKERS=${SIXRD_BENCH_WORKERS:-4}
SCALE=${SIXRD_BENCH_SCALE:-1000}
IPERF_T=${SIXRD_BENCH_IPERF:-5}
SETTLE=${SIXRD_BENCH_SETTLE:-1}

# node 1: sixrd; nodes 2, 3, 4: the kernel floor in sixrd's layout, the classic one (issue 16's floor), the one of the round before (linklocal)
export E2E_NODES=4 E2E_PODS=0 E2E_STATE=/run/sixrd-bench
export E2E_PREFIX=fd00:10::/48 E2E_UNDERLAY=198.18.0.0/16 E2E_VERSION=1.0.0
# shellcheck source=tests/e2e/lib.sh
. "$here/../e2e/lib.sh"

require_sit tests/bench/bench.sh

BIN=$E2E_STATE/bin
RES=$E2E_STATE/results
daemons=()
cleanup() {
  local pid
  set +e
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null; done
  del_netns_prefix bp-
  teardown
}
trap cleanup EXIT
teardown
underlay_up
# IPv6 forwarding on every node, as sixrd turns it on in node 1: the kernel floor's nodes then
# carry the same routes per pod (forwarding adds a subnet-router anycast route per prefix).
for n in 2 3 4; do ip netns exec "$(node_ns "$n")" sysctl -qw net.ipv6.conf.all.forwarding=1; done
mkdir -p "$BIN" "$RES"
install -m 0755 "$SIXRD" "$BIN/sixrd"
install -m 0755 "$FLOOR_PLUGIN" "$BIN/floor"
# The same trivial plugin under a second name: ADD answers a result shaped like sixrd's (see
# floor_plugin.cpp), so libcni parses, caches and hands back (as DEL's prevResult) as much.
install -m 0755 "$FLOOR_PLUGIN" "$BIN/floor-result"
# The kernel floor as a plugin (its CNI mode, see kernel_floor.cpp): the same work driven through
# libcni like sixrd, timing itself into $SIXRD_KFLOOR_TIMES (set per set in run_set).
install -m 0755 "$KFLOOR" "$BIN/kfloor"

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
# pct FILE P -> the P-th percentile (nearest rank) of the microsecond figures in FILE, in ms
pct() {
  local v
  v=$(nearest_rank "$2" <"$1")
  if [ -n "$v" ]; then ms "$v"; else echo n/a; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0 || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
# interval NUM DEN... -> "LO-HI", the 90% bootstrap interval of p50(NUM) / (p50(DEN) + ...): each
# file's microsecond figures resampled with replacement, 1000 times, p50 by nearest rank as pct
# takes it, a fixed seed; the bounds by nearest rank too. How far the ratio of one run's p50s
# could move on its pods alone; drift between the rounds is not in it. n/a when a file is missing
# or empty.
interval() {
  local f ratios
  for f in "$@"; do [ -s "$f" ] || { echo n/a; return; }; done
  ratios=$(awk -v B=1000 '
    FNR == 1 { f++ }
    { v[f, ++n[f]] = $1 + 0 }
    function p50(k, m, i, j, t) {
      m = n[k]
      for (i = 1; i <= m; i++) s[i] = v[k, int(rand() * m) + 1]
      for (i = 2; i <= m; i++) {
        t = s[i]
        for (j = i - 1; j >= 1 && s[j] > t; j--) s[j + 1] = s[j]
        s[j + 1] = t
      }
      return s[int((50 * m + 99) / 100)]
    }
    END {
      srand(16)
      for (b = 1; b <= B; b++) {
        num = p50(1); den = 0
        for (k = 2; k <= f; k++) den += p50(k)
        print (den > 0 ? num / den : 0)
      }
    }' "$@")
  printf '%.2f-%.2f' "$(nearest_rank 5 <<<"$ratios")" "$(nearest_rank 95 <<<"$ratios")"
}
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
section() { printf '\n== %s ==\n' "$*"; }

mk_netns() { # mk_netns PREFIX FIRST LAST : makes bp-PREFIX-FIRST..LAST (untimed)
  local f=$E2E_STATE/ns.batch i
  for ((i = $2; i <= $3; i++)); do echo "netns add bp-$1-$i"; done >"$f"
  ip -batch "$f"
}
rm_netns() {
  local f=$E2E_STATE/ns.batch i
  for ((i = $2; i <= $3; i++)); do echo "netns del bp-$1-$i"; done >"$f"
  ip -force -batch "$f" 2>/dev/null || true
}
# The kernel tears a deleted namespace down later, in a work queue that takes the RTNL lock the
# next set's netlink requests wait for: each libcni set below starts SETTLE seconds after that,
# so that no plugin's set runs over the teardown of the set before it.
settle() { sleep "$SETTLE"; }
ids() { local i; for ((i = $2; i <= $3; i++)); do echo "$1-$i"; done; }
errors() { cat "$RES"/*.err 2>/dev/null | grep -c '^FAIL' || true; }

sixrd_plugin() {
  jq -n --arg p "$E2E_PREFIX" --arg u "$E2E_UNDERLAY" --arg d "$E2E_STATE/node$1/data" \
    --arg l "$E2E_STATE/node$1/sixrd.log" \
    '{type: "sixrd", prefix: $p, underlay: $u, dataDir: $d, log: {file: $l, level: "info"}}'
}
# direct-invocation config (a single plugin config, as a runtime passes it)
for n in 1 2; do
  sixrd_plugin "$n" | jq --arg v "$E2E_VERSION" '{cniVersion: $v, name: "bench"} + .' >"$E2E_STATE/node$n/sixrd.json"
done
jq -n --argjson p "$(sixrd_plugin 1)" '{cniVersion: "1.0.0", name: "bench", plugins: [$p]}' \
  >"$E2E_STATE/sixrd.conflist"
jq -n '{cniVersion: "1.0.0", name: "bench-floor", plugins: [{type: "floor"}]}' >"$E2E_STATE/floor.conflist"
jq -n '{cniVersion: "1.0.0", name: "bench-floor-result", plugins: [{type: "floor-result"}]}' \
  >"$E2E_STATE/floor-result.conflist"
jq -n '{cniVersion: "1.0.0", name: "bench-kfloor", plugins: [{type: "kfloor"}]}' >"$E2E_STATE/libcni-kfloor.conflist"
jq -n --arg d "$E2E_STATE/host-local" '{cniVersion: "1.0.0", name: "bench-ptp", plugins: [
  {type: "ptp", ipMasq: false, ipam: {type: "host-local", ranges: [[{subnet: "fd00:99::/64"}]], dataDir: $d}}]}' \
  >"$E2E_STATE/ptp.conflist"

declare -A R # summary figures

echo "sixrd bench: $(nproc) vCPU guest, kernel $(uname -r), pods=$PODS rounds=$ROUNDS workers=$WORKERS scale=$SCALE iperf=${IPERF_T}s"

# --- 1. cost of one run --------------------------------------------------------------------------
section "cost of one run"
ip netns add bp-rss-1
rss_of() { # rss_of VERB -> peak RSS (kB) of one direct sixrd invocation
  cni_call -n "$(node_ns 1)" -a K8S_POD_NAME=rss-1 "$1" rss-1 eth0 /run/netns/bp-rss-1 \
    -- /usr/bin/time -v -o "$RES/time.$1" "$BIN/sixrd" <"$E2E_STATE/node1/sixrd.json" >/dev/null
  awk -F': ' '/Maximum resident set size/ { print $2 }' "$RES/time.$1"
}
if [ -x /usr/bin/time ]; then
  R[rss_add]=$(rss_of ADD)
  R[rss_del]=$(rss_of DEL)
else
  R[rss_add]="n/a (no /usr/bin/time: apt-get install time)"
  R[rss_del]=n/a
fi
ip netns del bp-rss-1
R[size]=$(stat -c %s "$SIXRD")
if file -L "$SIXRD" | grep -q 'not stripped'; then R[stripped]=no; else R[stripped]=yes; fi
strip -o "$E2E_STATE/sixrd.stripped" "$SIXRD" 2>/dev/null && R[size_stripped]=$(stat -c %s "$E2E_STATE/sixrd.stripped") || R[size_stripped]=n/a
echo "peak RSS: ADD ${R[rss_add]} kB, DEL ${R[rss_del]} kB"
echo "binary: ${R[size]} bytes, stripped: ${R[stripped]} ($(file -L "$SIXRD" | cut -d: -f2- | cut -c1-60)...); strip --strip-all -> ${R[size_stripped]} bytes"

# --- 2. datapath ---------------------------------------------------------------------------------
section "datapath: iperf3 TCP, ${IPERF_T}s per run"
ip netns add bp-dp-1
ip netns add bp-dp-2
cni 1 ADD dp-1 eth0 /run/netns/bp-dp-1 "$(cat "$E2E_STATE/node1/sixrd.json")" >"$RES/dp1.json"
cni 2 ADD dp-2 eth0 /run/netns/bp-dp-2 "$(cat "$E2E_STATE/node2/sixrd.json")" >"$RES/dp2.json"
pod2=$(jq -r '.ips[0].address | split("/")[0]' "$RES/dp2.json")
# wait until the pod path works (and the servers listen)
for _ in $(seq 1 50); do ping_from bp-dp-1 "$pod2" && break; sleep 0.2; done
iperf() { # iperf NETNS DEST -> Mbit/s received; the server is restarted per run
  local ns=$1 dst=$2 srvns=$3 bps
  ip netns exec "$srvns" iperf3 -s -1 >/dev/null 2>&1 &
  daemons+=($!)
  sleep 0.5
  # -O 1: the first second (slow start) is not counted
  bps=$(ip netns exec "$ns" iperf3 -c "$dst" -O 1 -t "$IPERF_T" -J 2>/dev/null | jq -r '.end.sum_received.bits_per_second // 0') || bps=0
  awk -v b="$bps" 'BEGIN { printf "%.0f", b / 1e6 }'
}
under=() over=()
# One unrecorded short run per path first: under emulation the first pass through kernel code
# (sit encapsulation, forwarding) pays for translating it, which is not a cost of the datapath.
IPERF_T_SAVED=$IPERF_T IPERF_T=2
iperf "$(node_ns 1)" "$(node_ip 2)" "$(node_ns 2)" >/dev/null
iperf bp-dp-1 "$pod2" bp-dp-2 >/dev/null
IPERF_T=$IPERF_T_SAVED
for round in 1 2 3; do
  u=$(iperf "$(node_ns 1)" "$(node_ip 2)" "$(node_ns 2)")
  o=$(iperf bp-dp-1 "$pod2" bp-dp-2)
  under+=("$u") over+=("$o")
  echo "round $round: underlay node->node $u Mbit/s, sixrd pod->pod $o Mbit/s"
done
R[tput_under]=$(printf '%s\n' "${under[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')
R[tput_over]=$(printf '%s\n' "${over[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')
R[tput_ratio]=$(awk -v a="${R[tput_over]}" -v b="${R[tput_under]}" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }')
echo "mean: underlay ${R[tput_under]} Mbit/s, sixrd ${R[tput_over]} Mbit/s, sixrd/underlay ${R[tput_ratio]}"
cni 1 DEL dp-1 eth0 /run/netns/bp-dp-1 "$(cat "$E2E_STATE/node1/sixrd.json")" >/dev/null
cni 2 DEL dp-2 eth0 /run/netns/bp-dp-2 "$(cat "$E2E_STATE/node2/sixrd.json")" >/dev/null
ip netns del bp-dp-1
ip netns del bp-dp-2

# --- 3. libcni: sixrd vs the floors vs ptp + host-local -----------------------------------------
# run_set PLUGIN MODE FIRST LAST : ADD then DEL of pods FIRST..LAST (fresh namespaces) through
# libcni, in one driver process per verb as a runtime would (cnidriver bench: libcni in-process,
# one plugin exec per pod); each figure, appended to $RES/PLUGIN-MODE.VERB, is the wall time of
# one pod's AddNetworkList/DelNetworkList call. PLUGIN kfloor is the kernel floor instead: one
# direct sixrd-kernel-floor exec per pod in node 1's namespace, its own timing of the work;
# kfloorclassic and kfloorlinklocal the same in the floor's other layouts (sixrd-kernel-floor
# says which). PLUGIN libcni-kfloor is the kernel floor as a plugin through libcni: its calls' wall
# times as for the others, and its own timing of the work in $RES/libcni-kfloor-MODE.VERB.self.
run_set() {
  local plugin=$1 mode=$2 first=$3 last=$4 tag=$1-$2 nw=1 verb i
  [ "$mode" = parallel ] && nw=$WORKERS
  mk_netns "$tag" "$first" "$last"
  for verb in ADD DEL; do
    if [[ $plugin == kfloor* ]]; then
      # shellcheck disable=SC2016 # expanded by the inner bash
      ip netns exec "$(node_ns 1)" bash -c 'for ((i = $1; i <= $2; i++)); do
        "$KFLOOR" "$3" - "/run/netns/bp-$4-$i" "$i" $5 || echo "FAIL kfloor $3 $i" >&2; done' \
        _ "$first" "$last" "${verb,,}" "$tag" "${plugin#kfloor}" >>"$RES/$tag.$verb" 2>>"$RES/$tag.err"
      continue
    fi
    SIXRD_KFLOOR_TIMES="$RES/$tag.$verb.self" ip netns exec "$(node_ns 1)" "$DRIVER" bench "${verb,,}" \
      --conflist "$E2E_STATE/$plugin.conflist" --netns-dir /run/netns --workers "$nw" \
      --bin-dirs "$BIN:/usr/lib/cni" --cache-dir "$E2E_STATE/cache" \
      $(ids "bp-$tag" "$first" "$last") >"$RES/$tag.$verb.raw" 2>>"$RES/$tag.err" || true
    awk '$2 == "FAIL" { print "FAIL " $0 >"/dev/stderr"; next } { print $2 }' "$RES/$tag.$verb.raw" \
      >>"$RES/$tag.$verb" 2>>"$RES/$tag.err"
  done
  rm_netns "$tag" "$first" "$last"
  settle
}
report_set() { # report_set PLUGIN MODE
  local tag=$1-$2 verb p
  for verb in ADD DEL; do
    for p in 50 90 99; do R[$tag.$verb.p$p]=$(pct "$RES/$tag.$verb" "$p"); done
    printf '%-6s %-8s %s: n=%s p50 %s ms, p90 %s ms, p99 %s ms\n' "$1" "$2" "$verb" \
      "$(wc -l <"$RES/$tag.$verb")" "${R[$tag.$verb.p50]}" "${R[$tag.$verb.p90]}" "${R[$tag.$verb.p99]}"
  done
}
section "pod setup through libcni (cnidriver, cniVersion 1.0.0): sixrd vs floors vs ptp + host-local"
# Serial: ROUNDS rounds, each running every plugin on its share of the pods, so that drift over
# the run (the VM warming up, the host's other load) falls on all of them alike.
per=$(((PODS + ROUNDS - 1) / ROUNDS))
SERIAL_SETS=(floor floor-result sixrd kfloor libcni-kfloor kfloorclassic kfloorlinklocal ptp)
for ((r = 0; r * per < PODS; r++)); do
  first=$((r * per + 1)) last=$(((r + 1) * per))
  ((last > PODS)) && last=$PODS
  for plugin in "${SERIAL_SETS[@]}"; do run_set "$plugin" serial "$first" "$last"; done
done
for plugin in "${SERIAL_SETS[@]}"; do report_set "$plugin" serial; done
for plugin in sixrd ptp; do
  run_set "$plugin" parallel 1 "$PODS"
  report_set "$plugin" parallel
done
R[libcni_errors]=$(errors)
echo "driver failures: ${R[libcni_errors]}"
cat "$RES"/*.err 2>/dev/null | head -5 >&2 || true
rm -f "$RES"/*.err
# against KEY VERB EXEC_FILE KERNEL_FILE [SET]: R[floorsKEY.VERB] = the p50s of the two files
# added (ms), R[vsfloorKEY.VERB] = SET's p50 (default sixrd-serial, sixrd's serial set) over that
# sum, and R[ciKEY.VERB] the ratio's 90% interval, what every line below prints.
against() {
  local set=${5:-sixrd-serial}
  R[floors$1.$2]=$(plus "$(pct "$3" 50)" "$(pct "$4" 50)")
  R[vsfloor$1.$2]=$(ratio "${R[$set.$2.p50]}" "${R[floors$1.$2]}")
  R[ci$1.$2]=$(interval "$RES/$set.$2" "$3" "$4")
}
for verb in ADD DEL; do
  exec_p50=${R[floor-serial.$verb.p50]} exec_file=$RES/floor-serial.$verb
  against "" "$verb" "$exec_file" "$RES/kfloor-serial.$verb"
  echo "$verb p50: sixrd ${R[sixrd-serial.$verb.p50]} ms, exec floor $exec_p50 ms + kernel floor ${R[kfloor-serial.$verb.p50]} ms = ${R[floors.$verb]} ms; sixrd/floors ${R[vsfloor.$verb]} (90% interval ${R[ci.$verb]}; kernel floor, classic layout ${R[kfloorclassic-serial.$verb.p50]} ms, linklocal layout ${R[kfloorlinklocal-serial.$verb.p50]} ms)"
  # The kernel floor as issue 16 measured it (classic layout: more kernel objects per pod than
  # sixrd's layout has asked for since): the issue's own sum of the two floors.
  against _classic "$verb" "$exec_file" "$RES/kfloorclassic-serial.$verb"
  echo "$verb p50 against the exec floor + the kernel floor in issue 16's (classic) layout: ${R[floors_classic.$verb]} ms; sixrd/that ${R[vsfloor_classic.$verb]} (${R[ci_classic.$verb]})"
  against _result "$verb" "$RES/floor-result-serial.$verb" "$RES/kfloor-serial.$verb"
  echo "$verb p50 with the exec floor answering a result shaped like sixrd's: ${R[floor-result-serial.$verb.p50]} ms; sixrd/floors ${R[vsfloor_result.$verb]} (${R[ci_result.$verb]})"
  # The kernel floor's work timed inside calls libcni makes, as sixrd's is.
  R[kfloorlib.$verb]=$(pct "$RES/libcni-kfloor-serial.$verb.self" 50)
  against _lib "$verb" "$exec_file" "$RES/libcni-kfloor-serial.$verb.self"
  R[vskfloorcall.$verb]=$(ratio "${R[sixrd-serial.$verb.p50]}" "${R[libcni-kfloor-serial.$verb.p50]}")
  R[cikfloorcall.$verb]=$(interval "$RES/sixrd-serial.$verb" "$RES/libcni-kfloor-serial.$verb")
  # What the sum of the floors asks of any plugin: the kernel floor's own whole call, which does
  # the floor's work and nothing else, against the same sum. A target below it asks sixrd to be
  # faster than that call.
  against _kfloorcall "$verb" "$exec_file" "$RES/kfloor-serial.$verb" libcni-kfloor-serial
  echo "$verb p50 with the kernel floor timed inside libcni calls: ${R[kfloorlib.$verb]} ms (direct ${R[kfloor-serial.$verb.p50]} ms); sixrd/(exec floor + that) ${R[vsfloor_lib.$verb]} (${R[ci_lib.$verb]}); the kernel floor's whole call through libcni ${R[libcni-kfloor-serial.$verb.p50]} ms, sixrd/that ${R[vskfloorcall.$verb]} (${R[cikfloorcall.$verb]})"
done

# --- 4. start-up ---------------------------------------------------------------------------------
section "start-up: CNI_COMMAND=VERSION, $VERSIONS calls each, interleaved"
: >"$RES/version.sixrd"
: >"$RES/version.floor"
for ((i = 0; i < VERSIONS; i++)); do
  for p in sixrd floor; do
    t0=$EPOCHREALTIME
    CNI_COMMAND=VERSION "$BIN/$p" </dev/null >/dev/null
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >>"$RES/version.$p"
  done
done
R[version.sixrd]=$(pct "$RES/version.sixrd" 50)
R[version.floor]=$(pct "$RES/version.floor" 50)
R[version.ratio]=$(ratio "${R[version.sixrd]}" "${R[version.floor]}")
echo "VERSION p50: sixrd ${R[version.sixrd]} ms, trivial plugin ${R[version.floor]} ms, ratio ${R[version.ratio]}"

# --- 5. kernel objects per pod -------------------------------------------------------------------
section "IPv6 routes and addresses one pod adds to the node namespace"
node_objects() { # node_objects NODE -> "ROUTES ADDRESSES"
  echo "$(ip -n "$(node_ns "$1")" -6 route show table all | wc -l) $(ip -n "$(node_ns "$1")" -6 -o addr show | wc -l)"
}
ip netns add bp-obj-1
ip -n "$(node_ns 1)" -6 route show table all >"$RES/obj.before"
read -r r0 a0 < <(node_objects 1)
cni_call -n "$(node_ns 1)" -a K8S_POD_NAME=obj-1 ADD obj-1 eth0 /run/netns/bp-obj-1 \
  <"$E2E_STATE/node1/sixrd.json" >/dev/null
read -r r1 a1 < <(node_objects 1)
ip -n "$(node_ns 1)" -6 route show table all >"$RES/obj.after"
cni_call -n "$(node_ns 1)" -a K8S_POD_NAME=obj-1 DEL obj-1 eth0 /run/netns/bp-obj-1 \
  <"$E2E_STATE/node1/sixrd.json" >/dev/null
R[obj.sixrd]="$((r1 - r0)) routes, $((a1 - a0)) addresses"
echo "sixrd: +${R[obj.sixrd]}:"
diff "$RES/obj.before" "$RES/obj.after" | sed -n 's/^> /  /p' || true
for layout in "" classic linklocal; do
  read -r r0 a0 < <(node_objects 1)
  ip netns exec "$(node_ns 1)" "$KFLOOR" add - /run/netns/bp-obj-1 1 $layout >/dev/null
  read -r r1 a1 < <(node_objects 1)
  ip netns exec "$(node_ns 1)" "$KFLOOR" del - /run/netns/bp-obj-1 1 >/dev/null
  R[obj.kfloor$layout]="$((r1 - r0)) routes, $((a1 - a0)) addresses"
  echo "kernel floor${layout:+ ($layout layout)}: +${R[obj.kfloor$layout]}"
done
ip netns del bp-obj-1

# --- 6. scale -----------------------------------------------------------------------------------
# Each plugin and kernel-floor layout alone on a node of its own, on fresh pod namespaces: what the
# node's own pods cost every later ADD. Run together, the layouts measure each other: a pod
# namespace that had its /proc/sys/net/ipv6 looked up (the classic and linklocal layouts write
# accept_dad and accept_ra there) adds an entry that every later lookup of that path from another
# namespace walks past, the host veth's accept_ra write included (measured: sixrd +2.5 ms alone,
# +45.5 ms among the four layouts). Then, with SIXRD_BENCH_SCALE_PAIRED=1, sixrd interleaved pod by
# pod with the kernel floor in its own layout on a second node: the same state of the machine for
# both, two nodes filling at once (which, for a reason not yet found, makes both grow more than
# either alone: +11.5 and +9.4 ms against +2.5 and -0.5 in one run).
scale_phase() { # scale_phase NAME SIXRD? LAYOUT... : SCALE ADDs, then SCALE DELs in reverse order
  local name=$1 with_sixrd=$2 layout n l conf=- node=1
  shift 2
  [ "$with_sixrd" = 1 ] && conf=$E2E_STATE/node1/sixrd.json && mk_netns sc 1 "$SCALE"
  KFLOORS=
  for layout in "$@"; do
    case $layout in sixrd) n=2 ;; classic) n=3 ;; linklocal) n=4 ;; *) echo "unknown floor layout $layout" >&2; exit 2 ;; esac
    mk_netns "k$layout" 1 "$SCALE"
    l=$layout; [ "$l" = sixrd ] && l=-
    KFLOORS+=" $layout:/run/netns/$(node_ns "$n"):bp-k$layout:$l"
    [ "$with_sixrd" = 1 ] || node=$n # a floor's phase: the routes of its node are counted
  done
  export KFLOORS TRIVIAL=$BIN/floor
  ip netns exec "$(node_ns 1)" "$here/bench-loop.sh" "$RES/scale.$name.ADD" ADD "$conf" $(ids sc 1 "$SCALE")
  R[scale_routes.$name]=$(ip -n "$(node_ns "$node")" -6 route show table all | grep -c . || true)
  R[scale_links.$name]=$(ip -n "$(node_ns "$node")" -o link | grep -c . || true)
  # DEL in reverse order: the first 100 DELs run on a full node, the last 100 on a near-empty one
  ip netns exec "$(node_ns 1)" "$here/bench-loop.sh" "$RES/scale.$name.DEL" DEL "$conf" $(ids sc 1 "$SCALE" | tac)
  [ "$conf" = - ] || rm_netns sc 1 "$SCALE"
  for layout in "$@"; do rm_netns "k$layout" 1 "$SCALE"; done
}
section "scale: $SCALE pods, sixrd and each kernel-floor layout (${SCALE_FLOORS[*]}) alone on a node; then sixrd interleaved with the floor in its layout"
scale_phase sixrd 1
for layout in "${SCALE_FLOORS[@]}"; do scale_phase "floor-$layout" 0 "$layout"; done
[ "${SIXRD_BENCH_SCALE_PAIRED:-1}" = 1 ] && scale_phase paired 1 sixrd
K=100
growth() { # growth FULL EMPTY -> FULL - EMPTY (ms)
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a") print "n/a"; else printf "%+.1f", a - b }'
}
series=(sixrd sixrd.trivial paired paired.sixrd paired.sixrd.wall paired.trivial)
for layout in "${SCALE_FLOORS[@]}"; do series+=("floor-$layout.$layout" "floor-$layout.$layout.wall" "floor-$layout.trivial"); done
for s in "${series[@]}"; do
  # scale.NAME.ADD holds sixrd's figures, scale.NAME.ADD.LAYOUT the kernel floor's
  a=$RES/scale.${s%%.*}.ADD d=$RES/scale.${s%%.*}.DEL
  [ "$s" = "${s%%.*}" ] || { a+=.${s#*.}; d+=.${s#*.}; }
  [ -s "$a" ] || continue
  head -n "$K" "$a" >"$RES/sa.empty.$s"; tail -n "$K" "$a" >"$RES/sa.full.$s"
  tail -n "$K" "$d" >"$RES/sd.empty.$s"; head -n "$K" "$d" >"$RES/sd.full.$s"
  for f in sa.empty sa.full sd.empty sd.full; do R[$f.$s]=$(pct "$RES/$f.$s" 50); done
  R[sa.growth.$s]=$(growth "${R[sa.full.$s]}" "${R[sa.empty.$s]}")
  R[sd.growth.$s]=$(growth "${R[sd.full.$s]}" "${R[sd.empty.$s]}")
done
# Growth net of the drift: a series' growth less that of the trivial exec in the same loop.
net() { # net SERIES LOOP -> growth of SERIES minus the trivial exec's growth in LOOP (ms)
  growth "${R[sa.growth.$1]:-n/a}" "${R[sa.growth.$2.trivial]:-n/a}"
}
R[sa.net.sixrd]=$(net sixrd sixrd)
R[sa.net.paired]=$(net paired paired)
R[sa.net.paired.sixrd.wall]=$(net paired.sixrd.wall paired)
for layout in "${SCALE_FLOORS[@]}"; do R[sa.net.floor-$layout]=$(net "floor-$layout.$layout.wall" "floor-$layout"); done
R[sa.ratio]=$(ratio "${R[sa.full.sixrd]}" "${R[sa.empty.sixrd]}")
R[sd.ratio]=$(ratio "${R[sd.full.sixrd]}" "${R[sd.empty.sixrd]}")
R[scale_errors]=$(errors)
scale_line() { # scale_line WHAT SERIES
  echo "$1 ADD p50: first $K ${R[sa.empty.$2]:-n/a} ms, last $K ${R[sa.full.$2]:-n/a} ms, growth ${R[sa.growth.$2]:-n/a} ms; DEL (reverse order) full ${R[sd.full.$2]:-n/a} ms, near-empty ${R[sd.empty.$2]:-n/a} ms, growth ${R[sd.growth.$2]:-n/a} ms"
}
echo "IPv6 routes (all tables) with $SCALE pods on the node: sixrd ${R[scale_routes.sixrd]} (${R[scale_links.sixrd]} links)$(
  for layout in "${SCALE_FLOORS[@]}"; do printf ', kernel floor %s layout %s' "$layout" "${R[scale_routes.floor-$layout]}"; done)"
scale_line "sixrd alone" sixrd
scale_line "  a trivial exec in its loop" sixrd.trivial
for layout in "${SCALE_FLOORS[@]}"; do
  scale_line "kernel floor ($layout layout) alone" "floor-$layout.$layout"
  scale_line "  its whole process" "floor-$layout.$layout.wall"
  scale_line "  a trivial exec in its loop" "floor-$layout.trivial"
done
scale_line "sixrd interleaved" paired
scale_line "kernel floor (sixrd layout) interleaved with it" paired.sixrd
scale_line "  its whole process" paired.sixrd.wall
scale_line "  a trivial exec in the loop" paired.trivial
echo "ADD growth net of the trivial exec's in the same loop: sixrd alone ${R[sa.net.sixrd]} ms$(
  for layout in "${SCALE_FLOORS[@]}"; do printf ', kernel floor %s layout alone (whole process) %s ms' "$layout" "${R[sa.net.floor-$layout]}"; done
), interleaved: sixrd ${R[sa.net.paired]} ms, kernel floor (whole process) ${R[sa.net.paired.sixrd.wall]} ms"
echo "failures: ${R[scale_errors]}"
cat "$RES"/*.err 2>/dev/null | head -5 >&2 || true

# --- summary ------------------------------------------------------------------------------------
section "SUMMARY ($(nproc) vCPU qemu TCG guest, $(date -u +%Y-%m-%d))"
echo "against the floors (p50 ms; serial, $PODS pods each in $ROUNDS interleaved rounds; target ADD <= 1.2, DEL <= 1.1; in brackets each ratio's 90% bootstrap interval over the run's pods)"
printf '  %-5s sixrd %-8s exec floor %-8s kernel floor %-8s sixrd/(exec+kernel) %s [%s]\n' \
  ADD "${R[sixrd-serial.ADD.p50]}" "${R[floor-serial.ADD.p50]}" "${R[kfloor-serial.ADD.p50]}" "${R[vsfloor.ADD]}" "${R[ci.ADD]}" \
  DEL "${R[sixrd-serial.DEL.p50]}" "${R[floor-serial.DEL.p50]}" "${R[kfloor-serial.DEL.p50]}" "${R[vsfloor.DEL]}" "${R[ci.DEL]}"
printf '    the exec floor answering a result shaped like sixrd'"'"'s (libcni parses, caches and returns as much): ADD %s ms, ratio %s; DEL %s ms, ratio %s\n' \
  "${R[floor-result-serial.ADD.p50]}" "${R[vsfloor_result.ADD]}" "${R[floor-result-serial.DEL.p50]}" "${R[vsfloor_result.DEL]}"
printf '    the kernel floor timed inside libcni calls (as sixrd is): ADD %s ms, ratio %s; DEL %s ms, ratio %s\n' \
  "${R[kfloorlib.ADD]}" "${R[vsfloor_lib.ADD]}" "${R[kfloorlib.DEL]}" "${R[vsfloor_lib.DEL]}"
printf '    the kernel floor as a whole plugin call through libcni: ADD %s ms, sixrd/that %s [%s]; DEL %s ms, sixrd/that %s [%s]\n' \
  "${R[libcni-kfloor-serial.ADD.p50]}" "${R[vskfloorcall.ADD]}" "${R[cikfloorcall.ADD]}" "${R[libcni-kfloor-serial.DEL.p50]}" "${R[vskfloorcall.DEL]}" "${R[cikfloorcall.DEL]}"
printf '    that whole call over (exec + kernel floor), what a plugin doing the floor'"'"'s work and no more reaches against the targets'"'"' sum: ADD %s [%s]; DEL %s [%s]\n' \
  "${R[vsfloor_kfloorcall.ADD]}" "${R[ci_kfloorcall.ADD]}" "${R[vsfloor_kfloorcall.DEL]}" "${R[ci_kfloorcall.DEL]}"
printf '    the kernel floor in issue 16'"'"'s (classic) layout, which asks the kernel for more per pod: ADD %s ms, sixrd/(exec+it) %s; DEL %s ms, sixrd/(exec+it) %s\n' \
  "${R[kfloorclassic-serial.ADD.p50]}" "${R[vsfloor_classic.ADD]}" "${R[kfloorclassic-serial.DEL.p50]}" "${R[vsfloor_classic.DEL]}"
printf '  growth at %d pods (last %d - first %d ADD p50), each alone on a node: sixrd %s ms; kernel floor: sixrd layout %s ms, classic %s ms, linklocal %s ms\n' \
  "$SCALE" "$K" "$K" "${R[sa.growth.sixrd]:-n/a}" "${R[sa.growth.floor-sixrd.sixrd]:-n/a}" "${R[sa.growth.floor-classic.classic]:-n/a}" "${R[sa.growth.floor-linklocal.linklocal]:-n/a}"
printf '    interleaved pod by pod on two nodes: sixrd %s ms, kernel floor in its layout %s ms\n' \
  "${R[sa.growth.paired]:-n/a}" "${R[sa.growth.paired.sixrd]:-n/a}"
printf '    the kernel floor'"'"'s whole process (fork, exec, namespace switch, work, exit), timed as sixrd'"'"'s: sixrd layout alone %s ms, interleaved %s ms\n' \
  "${R[sa.growth.floor-sixrd.sixrd.wall]:-n/a}" "${R[sa.growth.paired.sixrd.wall]:-n/a}"
printf '    a trivial static exec in the same loops (the machine'"'"'s own drift, paid by every process): with sixrd alone %s ms, with the floor in sixrd'"'"'s layout alone %s ms, interleaved %s ms\n' \
  "${R[sa.growth.sixrd.trivial]:-n/a}" "${R[sa.growth.floor-sixrd.trivial]:-n/a}" "${R[sa.growth.paired.trivial]:-n/a}"
printf '    net of that drift: sixrd alone %s ms, the floor'"'"'s whole process in sixrd'"'"'s layout alone %s ms; interleaved sixrd %s ms, the floor'"'"'s whole process %s ms\n' \
  "${R[sa.net.sixrd]}" "${R[sa.net.floor-sixrd]:-n/a}" "${R[sa.net.paired]}" "${R[sa.net.paired.sixrd.wall]}"
printf '  DEL growth (full - near-empty p50), alone: sixrd %s ms; kernel floor: sixrd layout %s ms, classic %s ms, linklocal %s ms\n' \
  "${R[sd.growth.sixrd]:-n/a}" "${R[sd.growth.floor-sixrd.sixrd]:-n/a}" "${R[sd.growth.floor-classic.classic]:-n/a}" "${R[sd.growth.floor-linklocal.linklocal]:-n/a}"
# Each alone loop runs in a window of its own, so the host's drift between the windows is in the
# difference of two alone growths; interleaved, both plugins' DELs share one window.
printf '    interleaved pod by pod on two nodes: sixrd %s ms, the kernel floor'"'"'s whole process %s ms (its own timing %s ms)\n' \
  "${R[sd.growth.paired]:-n/a}" "${R[sd.growth.paired.sixrd.wall]:-n/a}" "${R[sd.growth.paired.sixrd]:-n/a}"
printf '  VERSION start-up: sixrd %s ms, trivial static plugin %s ms, ratio %s (target <= 1.2)\n' \
  "${R[version.sixrd]}" "${R[version.floor]}" "${R[version.ratio]}"
printf '  IPv6 objects one pod adds to the node namespace: sixrd %s; kernel floor %s, classic layout %s, linklocal layout %s\n' \
  "${R[obj.sixrd]}" "${R[obj.kfloor]}" "${R[obj.kfloorclassic]}" "${R[obj.kfloorlinklocal]}"
echo "libcni pod setup latency, ms (p50 / p90 / p99); ratio = ptp / sixrd"
printf '  %-24s %-26s %-26s %s\n' "figure" "sixrd" "ptp+host-local" "ratio p50/p90/p99"
for mode in serial parallel; do
  for verb in ADD DEL; do
    s=sixrd-$mode.$verb p=ptp-$mode.$verb
    label="$verb $mode"; [ "$mode" = parallel ] && label="$verb ${WORKERS} workers"
    printf '  %-24s %-26s %-26s %s\n' "$label ($PODS pods)" \
      "${R[$s.p50]} / ${R[$s.p90]} / ${R[$s.p99]}" "${R[$p.p50]} / ${R[$p.p90]} / ${R[$p.p99]}" \
      "$(ratio "${R[$p.p50]}" "${R[$s.p50]}") / $(ratio "${R[$p.p90]}" "${R[$s.p90]}") / $(ratio "${R[$p.p99]}" "${R[$s.p99]}")"
  done
done
echo "scale, $SCALE pods on one node (direct invocation), p50 ms"
printf '  ADD  first %d: %-8s last %d: %-8s last/first: %s\n' "$K" "${R[sa.empty.sixrd]}" "$K" "${R[sa.full.sixrd]}" "${R[sa.ratio]}"
printf '  DEL  full node: %-8s near-empty: %-8s full/empty: %s\n' "${R[sd.full.sixrd]}" "${R[sd.empty.sixrd]}" "${R[sd.ratio]}"
echo "cost of one run"
printf '  peak RSS ADD: %s kB, DEL: %s kB\n' "${R[rss_add]}" "${R[rss_del]}"
printf '  binary: %s bytes, stripped: %s (strip --strip-all: %s bytes)\n' "${R[size]}" "${R[stripped]}" "${R[size_stripped]}"
echo "datapath, iperf3 TCP, mean of 3 x ${IPERF_T}s after a warm-up; target >= 90%"
printf '  underlay node->node: %s Mbit/s   sixrd pod->pod: %s Mbit/s   sixrd/underlay: %s\n' \
  "${R[tput_under]}" "${R[tput_over]}" "${R[tput_ratio]}"
printf 'failures: libcni %s, scale %s\n' "${R[libcni_errors]}" "${R[scale_errors]}"
