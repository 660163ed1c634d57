#!/bin/busybox sh
# shellcheck shell=sh
# sixrd VM, stage 1: /init of the initramfs built by run-in-vm.sh.
#
# Runs under busybox sh with nothing but /bin/busybox, the guest kernel modules in /mods (load
# order in /mods/order), stage2.sh and the per-run files run.conf and env.conf in /sixrd. It
# loads the virtio, 9p and overlay modules, mounts the host's / (9p, read-only) under an overlay
# whose upper layer is a tmpfs, prepares everything a test expects below it (/proc, /sys, /dev,
# devpts, /dev/shm, a fresh /run, cgroup2, bpffs, lo up, hostname) and switch_roots into stage 2,
# which runs under the busybox copied to /run/sixrd-vm.
#
# All the set-up happens here, with the static busybox from the initramfs: every program started
# from the 9p root costs 9p round trips (dynamic loader, libraries) that add up to seconds under
# TCG. Every command goes through $bb explicitly: there is no PATH and there are no applet links.

bb=/bin/busybox
new=/mnt/root
proc=/proc

# The kernel opens /dev/console before running /init only if the node exists; this initramfs has
# no device nodes (it is built without mknod), so mount devtmpfs and reopen stdio on it.
$bb mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
exec </dev/console >/dev/console 2>&1
$bb mount -t proc -o nosuid,nodev,noexec proc /proc
$bb mount -t sysfs -o nosuid,nodev,noexec sysfs /sys

# Boot timestamps on the console with the kernel parameter sixrd.debug (SIXRD_VM_APPEND).
case " $($bb cat /proc/cmdline) " in
*" sixrd.debug "*) stamp() { echo "SIXRD-VM-DEBUG $($bb cut -d' ' -f1 $proc/uptime) $*"; } ;;
*) stamp() { :; } ;;
esac
stamp stage1

fail() {
	echo "SIXRD-VM-ERROR stage1: $*"
	echo o >/proc/sysrq-trigger
	while :; do $bb sleep 1; done
}
warn() { echo "SIXRD-VM-WARNING stage1: $*"; }

while read -r mod; do
	[ -n "$mod" ] || continue
	$bb insmod "/mods/$mod.ko" || fail "insmod $mod failed"
done </mods/order
stamp modules loaded

$bb mkdir -p /mnt/lower /mnt/rw $new
# The 9p transport registers when virtio_pci probes the device; that is synchronous today, but
# retry briefly rather than depend on it.
tries=0
until $bb mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose \
	hostroot /mnt/lower 2>/dev/null; do
	tries=$((tries + 1))
	[ "$tries" -lt 50 ] || fail "cannot mount the 9p root (mount_tag hostroot)"
	$bb usleep 100000
done
stamp 9p mounted

$bb mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || fail "cannot mount the overlay tmpfs"
$bb mkdir -p /mnt/rw/upper /mnt/rw/work
# index/xino/redirect_dir/metacopy off: the lower layer is a network filesystem whose inode
# numbers and file handles overlayfs cannot rely on.
$bb mount -t overlay \
	-o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work,index=off,xino=off,redirect_dir=off,metacopy=off \
	overlay $new || fail "cannot mount the overlay root"

for d in dev proc sys; do
	$bb mount --move "/$d" "$new/$d" || fail "cannot move /$d into the new root"
done
proc=$new/proc
# The host's /run (pid files, /run/netns bind mounts, ...) means nothing in the guest.
$bb mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $new/run || fail "cannot mount /run"
$bb mkdir -p $new/run/sixrd-vm $new/run/lock
$bb cp $bb /sixrd/stage2.sh /sixrd/run.conf /sixrd/env.conf $new/run/sixrd-vm/ ||
	fail "cannot copy the stage 2 files"

$bb mkdir -p $new/dev/pts $new/dev/shm
$bb mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts $new/dev/pts || warn "no devpts"
$bb mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $new/dev/shm || warn "no /dev/shm"
$bb mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate cgroup2 $new/sys/fs/cgroup || warn "no cgroup2"
$bb mount -t bpf -o nosuid,nodev,noexec bpf $new/sys/fs/bpf 2>/dev/null || :
$bb mount -t debugfs -o nosuid,nodev,noexec debugfs $new/sys/kernel/debug 2>/dev/null || :
$bb mount -t tracefs -o nosuid,nodev,noexec tracefs $new/sys/kernel/tracing 2>/dev/null || :
# devtmpfs has no /dev/fd and friends (udev/systemd make them); bash process substitution and
# many scripts need them.
$bb ln -sfn /proc/self/fd $new/dev/fd
$bb ln -sfn /proc/self/fd/0 $new/dev/stdin
$bb ln -sfn /proc/self/fd/1 $new/dev/stdout
$bb ln -sfn /proc/self/fd/2 $new/dev/stderr
[ -e $new/dev/ptmx ] || $bb ln -sfn pts/ptmx $new/dev/ptmx

# The guest kernel's modules, when they come from a cache (guest-payload.sh) rather than the
# host's own /lib/modules: bind them where modprobe and the kernel look for them.
kver='' guest_moddir=''
# shellcheck source=/dev/null
[ -r /sixrd/modules.conf ] && . /sixrd/modules.conf
if [ -n "$guest_moddir" ] && [ "$guest_moddir" != "/lib/modules/$kver" ]; then
	$bb mkdir -p "$new/lib/modules/$kver" &&
		$bb mount --bind "$new$guest_moddir" "$new/lib/modules/$kver" ||
		fail "cannot bind the guest modules $guest_moddir to /lib/modules/$kver"
fi

$bb hostname sixrd-vm
$bb ip link set lo up || warn "cannot bring lo up"

stamp switch_root
exec $bb switch_root $new /run/sixrd-vm/busybox sh /run/sixrd-vm/stage2.sh
