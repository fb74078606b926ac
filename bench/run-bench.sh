#!/bin/bash
# runs sandboxd-bench against a private sandboxd from a build dir (no installation needed):
#   bench/run-bench.sh [BUILDDIR] [--with-ceph] [--backend libvirt|qemu] [--daemon-debug]
#                      [--conf FILE] [--pool-size N] [sandboxd-bench options]
# needs root, the system libvirtd and the image (meson compile -C BUILDDIR image).
# images in the config: `bench` (the minimal image, the default) and, when built
# (meson compile -C BUILDDIR image-debian), `debian`; the qcow2 and rbd volume plugins
# are loaded, qcow2 volumes live under the temporary folder. --with-ceph starts a
# throwaway Ceph cluster (scripts/ceph-dev.sh) for the rbd plugin and stops it at the end.
# e.g. bench/run-bench.sh BUILDDIR --with-ceph -n 3 --image bench,debian \
#          --disk-image debian --volume-backend qcow2,rbd
# to measure the installed daemon on the system bus instead: sandboxd-bench -n 10
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/common.sh
SBX_SRCDIR=$SRCDIR . "$SRCDIR/scripts/common.sh"
BUILDDIR=$(realpath "${1:-$SRCDIR/_build}")
shift || true
with_ceph=0
backend=libvirt
# [daemon] PoolSize (qemu): unset keeps the daemon's default; 0 measures without a pool
pool_size=""
daemon_args=()
extra_conf=()
while [ $# -gt 0 ]; do
	case "$1" in
	--with-ceph) with_ceph=1 ;;
	# the daemon's debug log (per-step start timings) in BUILDDIR/meson-logs/bench-sandboxd.log
	--daemon-debug) daemon_args=(--verbose) ;;
	--backend)
		backend=${2:-}
		shift
		;;
	# a config drop-in of your own, e.g. [qemu] TbSizeMiB=32 (repeatable)
	--conf)
		[ -f "${2:-}" ] || sbx_die "--conf: no file '${2:-}'"
		extra_conf+=("$(realpath "$2")")
		shift
		;;
	--pool-size)
		pool_size=${2:-}
		shift
		;;
	*) break ;;
	esac
	shift
done
case "$backend" in
libvirt | qemu) ;;
*) sbx_die "--backend: libvirt or qemu, not '$backend'" ;;
esac
IMAGEDIR=$BUILDDIR/image/minimal
DEBIANDIR=$BUILDDIR/image/debian
[ -f "$IMAGEDIR/vmlinuz" ] || sbx_die "no image in $IMAGEDIR: meson compile -C $BUILDDIR image"
[ -x "$BUILDDIR/bench/sandboxd-bench" ] || sbx_die "no $BUILDDIR/bench/sandboxd-bench: meson compile -C $BUILDDIR"
# after a reboot nothing runs yet: the system bus, virtlogd and libvirtd, like run.sh
sbx_require_root
sbx_setup_kvm
sbx_start_host_services

TMP=$(mktemp -d /tmp/sbx-bench-XXXXXX)
chmod 0755 "$TMP"
mkdir -p "$TMP/config" "$TMP/run" "$TMP/state"
mkdir -p "$TMP/config/sandboxd.conf.d" "$TMP/plugins" "$TMP/volumes"
bus_pid=""
daemon_pid=""
ceph_dir=""
cleanup() {
	[ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	# the daemon's log (restore and start timings) outlives the run
	[ -f "$TMP/sandboxd.log" ] && cp "$TMP/sandboxd.log" "$BUILDDIR/meson-logs/bench-sandboxd.log"
	[ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2>/dev/null
	[ -n "$ceph_dir" ] && "$SRCDIR/scripts/ceph-dev.sh" down "$ceph_dir" >&2
	rm -rf "$TMP"
}
trap cleanup EXIT

# the hypervisor and volume plugins in one folder
for so in "$BUILDDIR"/backends/*.so "$BUILDDIR"/volumes/*.so; do
	[ -f "$so" ] && ln -s "$so" "$TMP/plugins/"
done

# the PVH kernel boots faster when the image builder could extract it
bench_kernel=$IMAGEDIR/vmlinuz
[ -f "$IMAGEDIR/vmlinux" ] && bench_kernel=$IMAGEDIR/vmlinux
cat >"$TMP/config/sandboxd.conf" <<CONF
[daemon]
Backend=$backend
DefaultImage=bench
StateDir=$TMP/state
SnapshotDir=$TMP/snapshots
${pool_size:+PoolSize=$pool_size}

[image bench]
Kernel=$bench_kernel
Initrd=$IMAGEDIR/initrd.img
Cmdline=$(cat "$IMAGEDIR/cmdline")

[libvirt]
DomainType=auto

# the burst row creates 10 at once as one user
[limits]
MaxSandboxesPerUser=16

[qcow2]
Directory=$TMP/volumes

# the run's files are under /tmp: QEMU shares it
[qemu]
PrivateTmp=false
RecordDir=$TMP/qemu-records
CONF

if [ -f "$DEBIANDIR/debian.qcow2" ]; then
	# the PVH kernel boots faster when the image builder could extract it
	kernel=$DEBIANDIR/vmlinuz
	[ -f "$DEBIANDIR/vmlinux" ] && kernel=$DEBIANDIR/vmlinux
	cat >"$TMP/config/sandboxd.conf.d/50-debian.conf" <<CONF
[image debian]
Kernel=$kernel
Initrd=$DEBIANDIR/initrd.img
Cmdline=$(cat "$DEBIANDIR/cmdline")
RootDisk=$DEBIANDIR/debian.qcow2
CONF
else
	echo "run-bench: no debian image in $DEBIANDIR (meson compile -C $BUILDDIR image-debian)" >&2
fi

for i in "${!extra_conf[@]}"; do
	cp "${extra_conf[$i]}" "$TMP/config/sandboxd.conf.d/90-extra-$i.conf"
done

if [ "$with_ceph" = 1 ]; then
	ceph_dir=$TMP/ceph
	"$SRCDIR/scripts/ceph-dev.sh" up "$ceph_dir" >&2
	cp "$ceph_dir/sandboxd-rbd.conf" "$TMP/config/sandboxd.conf.d/60-rbd.conf"
fi

dbus-daemon --session --nofork --print-address=1 --address="unix:dir=$TMP" >"$TMP/bus.address" &
bus_pid=$!
for _ in $(seq 1 50); do [ -s "$TMP/bus.address" ] && break; sleep 0.1; done
address=$(head -n 1 "$TMP/bus.address")

"$BUILDDIR/core/sandboxd" --address "$address" --config-dir "$TMP/config" \
	--plugin-dir "$TMP/plugins" --runtime-dir "$TMP/run" "${daemon_args[@]}" >"$TMP/sandboxd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
	gdbus call --address "$address" --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus --method org.freedesktop.DBus.NameHasOwner \
		org.sandboxd 2>/dev/null | grep -q true && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$TMP/sandboxd.log" >&2; exit 1; }
	sleep 0.1
done

# the floor rows restore the daemon's own snapshots with a bare QEMU
floor_args=()
[ "$backend" = qemu ] && floor_args=(--snapshot-dir "$TMP/snapshots")
echo "run-bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rc=0
"$BUILDDIR/bench/sandboxd-bench" --address "$address" "${floor_args[@]}" "$@" || rc=$?
echo "run-bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ "$rc" = 0 ] || { echo "run-bench: sandboxd log:" >&2; tail -n 30 "$TMP/sandboxd.log" >&2; }
exit "$rc"
