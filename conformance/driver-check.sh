#!/usr/bin/env bash
# driver-check.sh OUTDIR SIXRD_BINARY — ctest conformance_driver (the fixture conformance_libcni
# needs): builds the libcni driver into OUTDIR/cnidriver (offline, cached), then proves that the
# conflists `sixrd install` writes are what a libcni runtime loads: ConfListFromFile accepts them
# and, with the plugin directories, every plugin of the list claims the list's cniVersion
# (libcni's ValidateNetworkList: VERSION of each plugin, capabilities). Host only, no root.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 OUTDIR SIXRD_BINARY" >&2; exit 2; }
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
"$here/build-driver.sh" "$1"
driver=$(cd -- "$1" && pwd)/cnidriver
sixrd=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-driver-check.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

passed=0
failed=0
check() { # check "what" command...
  local what=$1 out rc=0 line
  shift
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what"
    while IFS= read -r line; do echo "     | $line"; done <<<"$out"
  fi
}

# install ROOT [flags] : `sixrd install` into ROOT as a DaemonSet would, without touching the kernel
install_into() {
  local root=$work/$1
  shift
  mkdir -p "$root"
  "$sixrd" install --host-root "$root" --no-tunnel --node-ip 198.18.0.5 --prefix fd00:10::/48 \
    --underlay 198.18.0.0/16 "$@" >/dev/null
}
list() { echo "$work/$1/etc/cni/net.d/10-sixrd.conflist"; }
bins() { echo "$work/$1/opt/cni/bin:/usr/lib/cni"; }
validated() { # validated ROOT JQ_FILTER [--bin-dirs DIRS] : the driver's validate output passes JQ_FILTER
  local root=$1 filter=$2
  shift 2
  "$driver" validate --conflist "$(list "$root")" "$@" | jq -e "$filter"
}

speaks_11() { "$driver" version --type sixrd --bin-dirs "$(dirname "$sixrd")" | jq -e '.supportedVersions | index("1.1.0") != null'; }
check "cnidriver version: libcni runs sixrd VERSION, 1.1.0 listed" speaks_11

check "sixrd install (defaults) writes a conflist" install_into default
check "libcni loads it (ConfListFromFile): cniVersion 1.1.0, sixrd then portmap" \
  validated default '.cniVersion == "1.1.0" and .plugins == ["sixrd", "portmap"]'

check "sixrd install --chain none writes a conflist" install_into alone --chain none
check "libcni validates it against the plugins: sixrd claims 1.1.0" \
  validated alone '.plugins == ["sixrd"]' --bin-dirs "$(bins alone)"

check "sixrd install --cni-version 1.0.0 --chain portmap,bandwidth,tuning writes a conflist" \
  install_into chained --cni-version 1.0.0 --chain portmap,bandwidth,tuning
check "libcni validates it: every plugin claims 1.0.0; capabilities portMappings, bandwidth" \
  validated chained '.plugins == ["sixrd", "portmap", "bandwidth", "tuning"] and
    (.capabilities | index("portMappings") != null and index("bandwidth") != null)' --bin-dirs "$(bins chained)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
