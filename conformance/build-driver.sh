#!/usr/bin/env bash
# build-driver.sh OUTDIR — builds conformance/driver (a libcni client) into OUTDIR/cnidriver,
# offline: GOPATH mode (GO111MODULE=off) against Debian's libcni source in /usr/share/gocode
# (golang-github-appc-cni-dev), the Go build cache in OUTDIR/.gocache, GOPROXY=off so nothing is
# ever fetched. Does nothing when OUTDIR/cnidriver is newer than the driver sources, this script
# and the libcni package. Needs: golang-go, golang-github-appc-cni-dev.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
gocode=${SIXRD_GOCODE:-/usr/share/gocode}
libcni=$gocode/src/github.com/containernetworking/cni/libcni
mkdir -p -- "$1"
out=$(cd -- "$1" && pwd)/cnidriver

command -v go >/dev/null || { echo "$0: go missing (apt-get install golang-go)" >&2; exit 1; }
[ -d "$libcni" ] || { echo "$0: $libcni missing (apt-get install golang-github-appc-cni-dev)" >&2; exit 1; }

if [ -x "$out" ] && [ -z "$(find "$here/driver" "${BASH_SOURCE[0]}" "$libcni" -newer "$out" -print -quit)" ]; then
  exit 0
fi

# GOPATH = a private tree holding the driver as a package + Debian's Go sources.
gopath=$(mktemp -d "${TMPDIR:-/tmp}/sixrd-cnidriver.XXXXXX")
trap 'rm -rf -- "$gopath"' EXIT
mkdir -p "$gopath/src/sixrd.dev/conformance"
ln -s "$here/driver" "$gopath/src/sixrd.dev/conformance/driver"

env GO111MODULE=off GOPATH="$gopath:$gocode" GOCACHE="$(dirname -- "$out")/.gocache" \
  GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
  go build -trimpath -o "$out.tmp.$$" sixrd.dev/conformance/driver
mv -f -- "$out.tmp.$$" "$out"
echo "built $out"
