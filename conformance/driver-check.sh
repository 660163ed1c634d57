#!/usr/bin/env bash
# driver-check.sh OUTDIR SIXRD_BINARY — ctest conformance_driver (the fixture conformance_libcni
# needs): builds the libcni driver into OUTDIR/cnidriver (offline, cached), then proves that the
# conflists `sixrd install` writes are what a libcni runtime loads: ConfListFromFile accepts them
# and, with the plugin directories, every plugin of the list claims the list's cniVersion
# (libcni's ValidateNetworkList: VERSION of each plugin, capabilities). The node's plugin directory
# holds Debian's reference plugins (containernetworking-plugins, which speak up to 1.0.0), as a
# node's /opt/cni/bin would: install negotiates the list's cniVersion and its CNI 1.1 cniVersions
# list with them, and libcni 1.1.2 (containerd 1.6/1.7) must take the list with that extra key.
# Host only, no root.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 OUTDIR SIXRD_BINARY" >&2; exit 2; }
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
"$here/build-driver.sh" "$1"
driver=$(cd -- "$1" && pwd)/cnidriver
sixrd=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-driver-check.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# shellcheck source=tests/lib/harness.sh
. "$here/../tests/lib/harness.sh"
HARNESS_QUIET=1  # a check's command output is shown only when it fails

# install ROOT [flags] : `sixrd install` into ROOT as a DaemonSet would, without touching the kernel;
# ROOT/opt/cni/bin holds copies of the reference meta plugins, as on a node.
install_into() {
  local root=$work/$1 p
  shift
  mkdir -p "$root/opt/cni/bin"
  for p in portmap bandwidth tuning; do cp /usr/lib/cni/$p "$root/opt/cni/bin/"; done
  "$sixrd" install --host-root "$root" --no-tunnel --node-ip 198.18.0.5 --prefix fd00:10::/48 \
    --underlay 198.18.0.0/16 "$@" >/dev/null
}
list() { echo "$work/$1/etc/cni/net.d/10-sixrd.conflist"; }
bins() { echo "$work/$1/opt/cni/bin"; }
# speaks DIR PLUGIN VERSION : libcni's VERSION of PLUGIN in DIR lists VERSION
speaks() { "$driver" version --type "$2" --bin-dirs "$1" | jq -e --arg v "$3" '.supportedVersions | index($v) != null'; }
# listed ROOT JQ_FILTER : the conflist file itself passes JQ_FILTER
listed() { jq -e "$2" "$(list "$1")"; }
validated() { # validated ROOT JQ_FILTER [--bin-dirs DIRS] : the driver's validate output passes JQ_FILTER
  local root=$1 filter=$2
  shift 2
  "$driver" validate --conflist "$(list "$root")" "$@" | jq -e "$filter"
}

speaks_11() { "$driver" version --type sixrd --bin-dirs "$(dirname "$sixrd")" | jq -e '.supportedVersions | index("1.1.0") != null'; }
expect "cnidriver version: libcni runs sixrd VERSION, 1.1.0 listed" speaks_11

expect "sixrd install (defaults) writes a conflist" install_into default
if speaks "$(bins default)" portmap 1.1.0 >/dev/null; then
  expect "portmap speaks 1.1.0: cniVersions ends with 1.1.0" \
    listed default '.cniVersion == "1.0.0" and .cniVersions[-1] == "1.1.0"'
else
  expect "portmap speaks up to 1.0.0: cniVersion 1.0.0, cniVersions 0.3.0..1.0.0 (no 1.1.0)" \
    listed default '.cniVersion == "1.0.0" and .cniVersions == ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]'
fi
expect "libcni loads it (ConfListFromFile, the extra cniVersions ignored): cniVersion 1.0.0, sixrd then portmap" \
  validated default '.cniVersion == "1.0.0" and .plugins == ["sixrd", "portmap"]'
expect "libcni validates it against the plugins: sixrd and portmap claim 1.0.0" \
  validated default '.plugins == ["sixrd", "portmap"]' --bin-dirs "$(bins default)"

expect "sixrd install --chain none writes a conflist" install_into alone --chain none
expect "alone, the list offers every version sixrd speaks, 1.1.0 included" \
  listed alone '.cniVersion == "1.0.0" and .cniVersions == ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]'
expect "libcni validates it against the plugins: sixrd claims 1.0.0" \
  validated alone '.plugins == ["sixrd"]' --bin-dirs "$(bins alone)"

refused_pin() {
  local rc=0
  speaks "$(bins default)" portmap 1.1.0 >/dev/null && return 0
  install_into pinned --cni-version 1.1.0 2>"$work/pinned.err" || rc=$?
  cat "$work/pinned.err"
  [ "$rc" = 2 ] && grep -q portmap "$work/pinned.err" && [ ! -e "$(list pinned)" ]
}
expect "a pinned 1.1.0 that portmap does not speak: exit 2 naming portmap, nothing written" refused_pin
missing_plugin() {
  local rc=0
  mkdir -p "$work/bare"
  "$sixrd" install --host-root "$work/bare" --no-tunnel --node-ip 198.18.0.5 --prefix fd00:10::/48 \
    --underlay 198.18.0.0/16 >/dev/null 2>"$work/bare.err" || rc=$?
  cat "$work/bare.err"
  [ "$rc" != 0 ] && grep -q "no portmap in the CNI plugin directory /opt/cni/bin" "$work/bare.err" &&
    [ ! -e "$(list bare)" ]
}
expect "a chained plugin missing from the node's plugin directory: refused, nothing written" missing_plugin

expect "sixrd install --cni-version 1.0.0 --chain portmap,bandwidth,tuning writes a conflist" \
  install_into chained --cni-version 1.0.0 --chain portmap,bandwidth,tuning
expect "libcni validates it: every plugin claims 1.0.0; capabilities portMappings, bandwidth" \
  validated chained '.plugins == ["sixrd", "portmap", "bandwidth", "tuning"] and
    (.capabilities | index("portMappings") != null and index("bandwidth") != null)' --bin-dirs "$(bins chained)"

summary
