#!/bin/bash
# Builds the "minimal" sandboxd guest image: a Debian cloud kernel, an
# initramfs with the agent as /init, busybox and the virtio modules.
#
#   build-image.sh OUTDIR AGENT_BINARY
#
# Writes OUTDIR/vmlinuz (bzImage), OUTDIR/vmlinux (the same kernel
# uncompressed, ELF with a PVH entry: boots faster), OUTDIR/initrd.img,
# OUTDIR/cmdline and OUTDIR/image.json, atomically (a temporary folder renamed
# into place). Rebuilds only when an input changes: this script, the agent
# binary, the kernel package version or the busybox version.
#
# Environment:
#   SBX_IMAGE_CACHE  where downloaded .debs are kept (default OUTDIR/../cache)
#   SBX_KERNEL_DEB   use this kernel .deb instead of resolving/downloading one
#   SBX_INITRD_COMPRESS  none (default) | gzip | zstd
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
# a silent set -e exit is useless in a CI log: say where it happened
trap 'echo "build-image: error: a command failed at line $LINENO (exit $?)" >&2' ERR

if [ $# -ne 2 ]; then
	echo "usage: $0 OUTDIR AGENT_BINARY" >&2
	exit 2
fi
OUTDIR=$(realpath -m "$1")
AGENT=$(realpath "$2")
SCRIPT=$(realpath "${BASH_SOURCE[0]}")
CACHE=${SBX_IMAGE_CACHE:-$(dirname "$OUTDIR")/cache}
COMPRESS=${SBX_INITRD_COMPRESS:-none}

# the kernel command line: fastest correct one measured under TCG (see README.md)
CMDLINE="console=ttyS0 quiet panic=-1 no_timer_check i8042.noaux i8042.nokbd i8042.nopnp i8042.dumbkbd \
cryptomgr.notests initcall_blacklist=crypto_kdf108_init"

# modules loaded by the agent, in dependency order (checked against modinfo below)
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
virtio_console virtio_blk vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: error: $*" >&2; exit 1; }

[ -x "$AGENT" ] || die "agent binary $AGENT is not executable"
for tool in cpio dpkg-deb sha256sum flock; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
mkdir -p "$CACHE"

# --- resolve inputs --------------------------------------------------------

kernel_deb=""
if [ -n "${SBX_KERNEL_DEB:-}" ]; then
	kernel_deb=$(realpath "$SBX_KERNEL_DEB")
else
	# linux-image-cloud-amd64 is a metapackage depending on the versioned one
	kpkg=$(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*-cloud-amd64\).*/\1/p' | head -n1)
	kver=""
	if [ -n "$kpkg" ]; then
		kver=$(apt-cache show --no-all-versions "$kpkg" 2>/dev/null |
			sed -n 's/^Version: //p' | head -n1)
	fi
	if [ -n "$kpkg" ] && [ -n "$kver" ]; then
		# the .deb file name has the epoch-less version
		kernel_deb="$CACHE/${kpkg}_${kver#*:}_amd64.deb"
		if [ ! -s "$kernel_deb" ]; then
			log "downloading $kpkg $kver"
			(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$kpkg=$kver" >&2) ||
				die "apt-get download $kpkg failed (run apt-get update?)"
		fi
	else
		# no package lists: use a kernel downloaded earlier
		kernel_deb=$(ls -1 "$CACHE"/linux-image-*-cloud-amd64_*.deb /tmp/kern/linux-image-*-cloud-amd64_*.deb 2>/dev/null |
			sort -V | tail -n1 || true)
		[ -n "$kernel_deb" ] ||
			die "cannot resolve linux-image-cloud-amd64 (apt-get update first)"
		log "apt-cache has no linux-image-cloud-amd64; using $kernel_deb"
	fi
fi
[ -s "$kernel_deb" ] || die "kernel package $kernel_deb missing"

busybox_bin=""
busybox_ver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || true)
if [ -n "$busybox_ver" ] && [ -x /bin/busybox ]; then
	busybox_bin=/bin/busybox
else
	bb_deb=$(ls -1 "$CACHE"/busybox-static_*.deb 2>/dev/null | sort -V | tail -n1 || true)
	if [ -z "$bb_deb" ]; then
		log "downloading busybox-static"
		(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root busybox-static >&2) ||
			die "apt-get download busybox-static failed"
		bb_deb=$(ls -1 "$CACHE"/busybox-static_*.deb | sort -V | tail -n1)
	fi
	busybox_ver=$(dpkg-deb -f "$bb_deb" Version)
	mkdir -p "$CACHE/busybox-$busybox_ver"
	dpkg-deb -x "$bb_deb" "$CACHE/busybox-$busybox_ver"
	busybox_bin="$CACHE/busybox-$busybox_ver/bin/busybox"
fi

# one builder per OUTDIR at a time (run.sh and a test suite may race)
mkdir -p "$(dirname "$OUTDIR")"
exec 9>"$OUTDIR.lock"
flock 9

inputs=$(
	{
		echo "script $(sha256sum <"$SCRIPT" | cut -d' ' -f1)"
		echo "agent $(sha256sum <"$AGENT" | cut -d' ' -f1)"
		echo "kernel $(basename "$kernel_deb")"
		echo "busybox $busybox_ver"
		echo "compress $COMPRESS"
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$OUTDIR/.inputs" ] && [ "$(cat "$OUTDIR/.inputs")" = "$inputs" ] &&
	[ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initrd.img" ] && [ -s "$OUTDIR/cmdline" ]; then
	echo "image up to date: $OUTDIR"
	exit 0
fi

# --- build ----------------------------------------------------------------

log "building image in $OUTDIR"
work=$(mktemp -d "$(dirname "$OUTDIR")/.image-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
kx="$work/kernel"
root="$work/root"
new="$work/out"
mkdir -p "$kx" "$root" "$new"

dpkg-deb -x "$kernel_deb" "$kx"
vmlinuz=$(ls -1 "$kx"/boot/vmlinuz-* | head -n1)
kversion=${vmlinuz##*/vmlinuz-}
moddir="$kx/lib/modules/$kversion"
cp "$vmlinuz" "$new/vmlinuz"

# the uncompressed ELF kernel boots through PVH and skips decompression;
# Debian's x86 kernels are LZ4 (legacy frame, magic 02 21 4c 18)
if command -v lz4 >/dev/null; then
	off=$(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
	if [ -n "$off" ]; then
		tail -c +"$((off + 1))" "$vmlinuz" | lz4 -dc >"$new/vmlinux" 2>/dev/null || true
	fi
	if ! head -c 4 "$new/vmlinux" 2>/dev/null | grep -q ELF; then
		log "could not extract an ELF vmlinux (not fatal)"
		rm -f "$new/vmlinux"
	fi
else
	log "lz4 missing: no uncompressed vmlinux (not fatal; apt-get install lz4)"
fi

# root file system layout
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,run,root,mnt,var/tmp}
mkdir -p "$root/lib/modules/$kversion"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
install -m 0755 "$AGENT" "$root/sbin/sandboxd-agent"
strip "$root/sbin/sandboxd-agent" 2>/dev/null || true
ln -s sbin/sandboxd-agent "$root/init"
ln -s sandboxd-agent "$root/sbin/init"
install -m 0755 "$busybox_bin" "$root/bin/busybox"
"$busybox_bin" --list-full | while read -r applet; do
	case "$applet" in
	bin/busybox | linuxrc | sbin/init) continue ;;
	esac
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

: >"$root/etc/sbx-modules"
for m in $MODULES; do
	ko=$(find "$moddir" -name "$m.ko" -print -quit)
	[ -n "$ko" ] || die "module $m not found in $kversion"
	# every dependency must already be listed before it
	deps=$(/sbin/modinfo -F depends "$ko" 2>/dev/null || modinfo -F depends "$ko")
	for d in ${deps//,/ }; do
		grep -q "/$d.ko\$" "$root/etc/sbx-modules" ||
			die "module $m needs $d first: fix MODULES in $0"
	done
	rel=${ko#"$moddir"/}
	mkdir -p "$root/lib/modules/$kversion/$(dirname "$rel")"
	cp "$ko" "$root/lib/modules/$kversion/$rel"
	echo "/lib/modules/$kversion/$rel" >>"$root/etc/sbx-modules"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo sandbox >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost sandbox\n::1\tlocalhost\n' >"$root/etc/hosts"
echo "sandboxd minimal image, kernel $kversion, busybox $busybox_ver" >"$root/etc/sbx-release"
# the kernel opens /dev/console for init before devtmpfs is mounted
if [ "$(id -u)" = 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
	mknod -m 0666 "$root/dev/null" c 1 3
fi

(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) >"$work/initrd.cpio"
case "$COMPRESS" in
none) mv "$work/initrd.cpio" "$new/initrd.img" ;;
gzip) gzip -n -1 -c "$work/initrd.cpio" >"$new/initrd.img" ;;
zstd) zstd -q -3 -c "$work/initrd.cpio" >"$new/initrd.img" ;;
*) die "unknown SBX_INITRD_COMPRESS=$COMPRESS" ;;
esac
echo "$CMDLINE" >"$new/cmdline"
cat >"$new/image.json" <<EOF
{
  "name": "minimal",
  "kernel_version": "$kversion",
  "kernel_package": "$(basename "$kernel_deb")",
  "busybox_version": "$busybox_ver",
  "agent_port": "org.sandboxd.agent.0",
  "initrd_compression": "$COMPRESS"
}
EOF
echo "$inputs" >"$new/.inputs"

# swap in atomically enough: a reader sees either the old or the new folder
rm -rf "$OUTDIR.old"
[ -d "$OUTDIR" ] && mv -T "$OUTDIR" "$OUTDIR.old"
mv -T "$new" "$OUTDIR"
rm -rf "$OUTDIR.old"
log "done: $(du -sh "$OUTDIR" | cut -f1) (kernel $kversion)"
