#!/usr/bin/env bash
# The README's commands on a machine that has never seen the project: a clean clone of the
# committed HEAD inside a freshly debootstrapped Debian bookworm (minbase + git), as root.
#
# A development machine (and CI, which runs on one) has packages from earlier work that hide a
# missing install step; here nothing is installed but what install/deps.sh installs. Run it
# whenever dependencies, includes, the build or the README's commands change (.ci/run does).
#
# usage: tests/fresh-machine.sh [COMMAND]     (as root, from anywhere in the repository)
#   default COMMAND: the README's first command (deps.sh, build, the three-node VM demo), then
#   the unit tests; e.g. tests/fresh-machine.sh tests/run.sh runs the README's second command too
#   (about 30 minutes more).
# env: SIXRD_FRESH_CACHE  where the debootstrapped base is kept as a tarball (default
#                         /var/cache/sixrd/fresh; made once, a few minutes, then reused)
#      SIXRD_FRESH_KEEP=1 keep the chroot afterwards for a look
set -euo pipefail

repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
readme_setup=$(sed -n '/^On a new Debian machine/,/^Run every test/{s/^    //p}' "$repo/README.md" | head -n 1)
[[ -n $readme_setup ]] || { echo "fresh-machine: no setup command found in README.md" >&2; exit 2; }
cmd=${1:-"$readme_setup && (cd build && ctest -L unit --output-on-failure)"}
cache=${SIXRD_FRESH_CACHE:-/var/cache/sixrd/fresh}
base=$cache/bookworm-minbase.tar
[[ $(id -u) == 0 ]] || { echo "fresh-machine: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-machine: debootstrap missing (bash install/deps.sh fresh)" >&2; exit 2; }

# The mirror this machine's apt already uses (deb822 or one-line sources), never a hard-coded one.
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || :)
[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || :)
[[ -n $mirror ]] || { echo "fresh-machine: no Debian mirror in the apt sources" >&2; exit 2; }

mkdir -p "$cache"
if [[ ! -s $base ]]; then
	tmp=$(mktemp -d "$cache/debootstrap.XXXXXX")
	echo "fresh-machine: debootstrapping bookworm minbase from $mirror (once; kept in $base)"
	if ! debootstrap --variant=minbase --include=git,ca-certificates bookworm "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -n 20 "$cache/debootstrap.log" >&2
		rm -rf --one-file-system "$tmp"
		exit 1
	fi
	# The sources a stock install has (updates and security too), not debootstrap's single line.
	cp -a /etc/apt/sources.list.d/. "$tmp/etc/apt/sources.list.d/" 2>/dev/null || :
	[[ -s /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$tmp/etc/apt/sources.list"
	tar -C "$tmp" -cf "$base.part" . && mv -f "$base.part" "$base"
	rm -rf --one-file-system "$tmp"
fi

root=$(mktemp -d /var/tmp/sixrd-fresh.XXXXXX)
cleanup() {
	local m
	for m in dev/pts dev sys proc ""; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
	if [[ ${SIXRD_FRESH_KEEP:-0} == 1 ]]; then echo "fresh-machine: kept $root"; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
# / must be a mount point inside the chroot (ip netns makes its mounts rslave), /sys and /dev
# are the host's (namespaces, qemu), /proc is the chroot's own.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || :
git clone -q "$repo" "$root/root/sixrd"
echo "fresh-machine: $(git -C "$repo" log -1 --format='%h %s') in a fresh bookworm"
echo "fresh-machine: running: $cmd"
start=$(date +%s)
rc=0
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/bash -c "cd /root/sixrd && $cmd" || rc=$?
echo "fresh-machine: exit $rc after $(($(date +%s) - start)) s"
exit "$rc"
