#!/bin/bash
# Builds the "debian" sandboxd guest image: a Debian 12 (bookworm) root file
# system on a read-only qcow2 base disk, the same Debian cloud kernel as the
# minimal image, and a tiny initramfs whose /init is the agent: it loads the
# virtio modules, mounts the root disk (/dev/vda, ext4) and moves into it.
#
#   build-debian.sh OUTDIR AGENT_BINARY
#
# Writes OUTDIR/{debian.qcow2,vmlinuz,vmlinux,initrd.img,cmdline,image.json,
# packages.txt}, atomically (a temporary folder renamed into place). Rebuilds
# only when an input changes: this script, the agent binary, the package list,
# the suite, the mirror, the kernel package, the Deno package, the disk size or the debootstrap
# tarball. The downloaded packages are kept as a debootstrap tarball in the
# cache folder, so a rebuild needs no network, and the root file system
# (without the agent) as rootfs-*.tar.zst, so an agent-only change skips debootstrap.
#
# Environment:
#   SBX_IMAGE_CACHE    where downloads are kept (default OUTDIR/../cache)
#   SBX_KERNEL_DEB     use this kernel .deb instead of resolving/downloading one
#   SBX_DEBIAN_MIRROR  Debian mirror URL (default: the one in the host's apt sources)
#   SBX_DEBIAN_SUITE   default bookworm
#   SBX_DEBIAN_EXTRA_PACKAGES  more packages, comma separated
#   SBX_DISK_SIZE_GIB  virtual size of the base disk's ext4 (default 10)
#   SBX_DEBOOTSTRAP_REFRESH=1  download the packages again (new tarball)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
trap 'echo "build-debian: error: a command failed at line $LINENO (exit $?)" >&2' ERR

if [ $# -ne 2 ]; then
	echo "usage: $0 OUTDIR AGENT_BINARY" >&2
	exit 2
fi
OUTDIR=$(realpath -m "$1")
AGENT=$(realpath "$2")
SCRIPT=$(realpath "${BASH_SOURCE[0]}")
# the Deno harness sandboxd-gateway drives (deno-harness.js, deno-control)
DENO_HARNESS_DIR=$(dirname "$SCRIPT")/deno
CACHE=${SBX_IMAGE_CACHE:-$(dirname "$OUTDIR")/cache}
SUITE=${SBX_DEBIAN_SUITE:-bookworm}
DISK_GIB=${SBX_DISK_SIZE_GIB:-10}

# what the issue asks for, plus what the agent and a usable shell need; Node.js and
# npm for JavaScript workloads, sudo for the SDK's `sh`...`.sudo()` as user sandbox
PACKAGES="ca-certificates,curl,python3,git,procps,iproute2,e2fsprogs,util-linux,kmod,netbase,\
nodejs,sudo,bash,unzip"
# npm comes from apt-get inside the root (below): debootstrap's resolver cannot
# follow the virtual packages its dependencies name
EXTRA_APT_PACKAGES="npm"

# the Deno runtime, from the npm registry's Linux x64 package: upgrade by changing
# these two lines (the integrity is the registry's `dist.integrity`, sha512)
DENO_VERSION=2.9.6
DENO_SHA512=3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==
DENO_URL=${SBX_NPM_REGISTRY:-https://registry.npmjs.org}/@deno/linux-x64-glibc/-/linux-x64-glibc-$DENO_VERSION.tgz
if [ -n "${SBX_DEBIAN_EXTRA_PACKAGES:-}" ]; then
	PACKAGES="$PACKAGES,$SBX_DEBIAN_EXTRA_PACKAGES"
fi

# the minimal image's command line, plus the root disk for the agent
CMDLINE="console=ttyS0 quiet panic=-1 no_timer_check i8042.noaux i8042.nokbd i8042.nopnp i8042.dumbkbd \
cryptomgr.notests initcall_blacklist=crypto_kdf108_init sbx.root=/dev/vda"

# modules the initramfs loads, in dependency order (checked against modinfo below)
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
virtio_console virtio_blk failover net_failover virtio_net \
vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"

log() { echo "build-debian: $*" >&2; }
die() { echo "build-debian: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, device nodes, file owners)"
[ -x "$AGENT" ] || die "agent binary $AGENT is not executable"
for tool in debootstrap mkfs.ext4 qemu-img cpio dpkg-deb sha256sum flock depmod zstd tar curl python3; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
case "$DISK_GIB" in
'' | *[!0-9]*) die "SBX_DISK_SIZE_GIB must be a number" ;;
esac
[ "$DISK_GIB" -ge 1 ] && [ "$DISK_GIB" -le 1024 ] || die "SBX_DISK_SIZE_GIB must be 1-1024"
mkdir -p "$CACHE"

# --- resolve inputs --------------------------------------------------------

# the host's Debian mirror: the only network we may use
find_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
	done
}
MIRROR=${SBX_DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
	MIRROR=$(find_mirror | grep -E '/debian/?$' | head -n1 || true)
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
MIRROR=${MIRROR%/}

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
		kernel_deb="$CACHE/${kpkg}_${kver#*:}_amd64.deb"
		if [ ! -s "$kernel_deb" ]; then
			log "downloading $kpkg $kver"
			(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$kpkg=$kver" >&2) ||
				die "apt-get download $kpkg failed (run apt-get update?)"
		fi
	else
		kernel_deb=$(ls -1 "$CACHE"/linux-image-*-cloud-amd64_*.deb /tmp/kern/linux-image-*-cloud-amd64_*.deb 2>/dev/null |
			sort -V | tail -n1 || true)
		[ -n "$kernel_deb" ] ||
			die "cannot resolve linux-image-cloud-amd64 (apt-get update first)"
		log "apt-cache has no linux-image-cloud-amd64; using $kernel_deb"
	fi
fi
[ -s "$kernel_deb" ] || die "kernel package $kernel_deb missing"

# the Deno package, downloaded once and checked against the pinned digest every time
deno_tgz="$CACHE/deno-linux-x64-glibc-$DENO_VERSION.tgz"
deno_sha512() {
	python3 -c 'import base64, hashlib, sys
print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"
}
if [ ! -s "$deno_tgz" ]; then
	log "downloading deno $DENO_VERSION from $DENO_URL"
	curl -fsSL --retry 3 -o "$deno_tgz.tmp" "$DENO_URL" || die "cannot download $DENO_URL"
	mv "$deno_tgz.tmp" "$deno_tgz"
fi
if [ "$(deno_sha512 "$deno_tgz")" != "$DENO_SHA512" ]; then
	rm -f "$deno_tgz"
	die "deno $DENO_VERSION: the download does not match the pinned sha512 (removed; try again)"
fi

# one builder per OUTDIR at a time
mkdir -p "$(dirname "$OUTDIR")"
exec 9>"$OUTDIR.lock"
flock 9

# the packages, downloaded once: keyed by suite, mirror and package list
tar_key=$(echo "$SUITE $MIRROR $PACKAGES minbase" | sha256sum | cut -c1-16)
tarball="$CACHE/debootstrap-$SUITE-$tar_key.tgz"
if [ "${SBX_DEBOOTSTRAP_REFRESH:-0}" = 1 ]; then
	rm -f "$tarball"
fi
if [ ! -s "$tarball" ]; then
	log "downloading $SUITE packages from $MIRROR into $tarball"
	dl=$(mktemp -d "$CACHE/.debootstrap-dl.XXXXXX")
	t0=$(date +%s)
	if ! debootstrap --variant=minbase --include="$PACKAGES" \
		--make-tarball="$tarball.tmp" "$SUITE" "$dl" "$MIRROR" >&2; then
		rm -rf "$dl" "$tarball.tmp"
		die "debootstrap --make-tarball failed"
	fi
	rm -rf "$dl"
	mv "$tarball.tmp" "$tarball"
	log "download took $(($(date +%s) - t0)) s"
fi

inputs=$(
	{
		echo "script $(sha256sum <"$SCRIPT" | cut -d' ' -f1)"
		echo "agent $(sha256sum <"$AGENT" | cut -d' ' -f1)"
		echo "deno harness $(cat "$DENO_HARNESS_DIR"/deno-harness.js "$DENO_HARNESS_DIR"/deno-control | sha256sum | cut -d' ' -f1)"
		echo "kernel $(basename "$kernel_deb")"
		echo "suite $SUITE mirror $MIRROR packages $PACKAGES"
		echo "disk $DISK_GIB"
		echo "tarball $(stat -c '%n %s %Y' "$tarball")"
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$OUTDIR/.inputs" ] && [ "$(cat "$OUTDIR/.inputs")" = "$inputs" ] &&
	[ -s "$OUTDIR/debian.qcow2" ] && [ -s "$OUTDIR/initrd.img" ] && [ -s "$OUTDIR/cmdline" ]; then
	echo "image up to date: $OUTDIR"
	exit 0
fi

# --- build ----------------------------------------------------------------

t_start=$(date +%s)
log "building image in $OUTDIR"
work=$(mktemp -d "$(dirname "$OUTDIR")/.debian-build.XXXXXX")
root="$work/root"
cleanup() {
	# debootstrap mounts proc and sys in the target; never delete through a mount
	local m
	for m in $(awk -v r="$root" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
kx="$work/kernel"
ird="$work/initrd"
new="$work/out"
mkdir -p "$kx" "$ird" "$new"

dpkg-deb -x "$kernel_deb" "$kx"
vmlinuz=$(ls -1 "$kx"/boot/vmlinuz-* | head -n1)
kversion=${vmlinuz##*/vmlinuz-}
moddir="$kx/lib/modules/$kversion"
cp "$vmlinuz" "$new/vmlinuz"
# the uncompressed ELF kernel boots through PVH (see build-image.sh)
if command -v lz4 >/dev/null; then
	off=$(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
	if [ -n "$off" ]; then
		tail -c +"$((off + 1))" "$vmlinuz" | lz4 -dc >"$new/vmlinux" 2>/dev/null || true
	fi
	if ! head -c 4 "$new/vmlinux" 2>/dev/null | grep -q ELF; then
		log "could not extract an ELF vmlinux (not fatal)"
		rm -f "$new/vmlinux"
	fi
fi

# --- rootfs begin: the root file system without the agent. Cached as a tarball
# keyed by the packages, the kernel and the text between these markers, so an
# agent-only change skips debootstrap (the slow part).
make_rootfs() {
	local r=${root:?}
	[ "$r" != / ] || die "refusing to build into /"
	log "debootstrap $SUITE (from $tarball)"
	# progress: debootstrap's stage lines; the whole output stays in the log
	if ! debootstrap --variant=minbase --include="$PACKAGES" --unpack-tarball="$tarball" \
		"$SUITE" "$r" "$MIRROR" 2>&1 | tee "$work/debootstrap.log" |
		{ grep --line-buffered -E '^I: (Installing|Unpacking|Configuring) (the|core|required|base)|^I: Base' || true; } |
		sed -u 's/^I: /build-debian: debootstrap: /' >&2; then
		tail -n 30 "$work/debootstrap.log" >&2
		# a package that failed to configure says why in debootstrap's own log
		[ ! -f "$r/debootstrap/debootstrap.log" ] || tail -n 40 "$r/debootstrap/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	for m in $(awk -v r="$r" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m"
	done

	# the kernel's modules so modprobe works inside
	mkdir -p "$r/lib/modules"
	cp -a "$moddir" "$r/lib/modules/"
	depmod -b "$r" "$kversion"

	# the guest's view of the world: the agent writes /etc/resolv.conf at boot
	echo sandbox >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
		>"$r/etc/hosts"
	rm -f "$r/etc/resolv.conf"
	: >"$r/etc/resolv.conf"
	: >"$r/etc/machine-id"
	printf '# the root disk is mounted by the sandboxd agent\n' >"$r/etc/fstab"
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s/debian-security %s-security main\n' \
		"$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "${MIRROR%/debian}" "$SUITE" \
		>"$r/etc/apt/sources.list"
	log "apt-get install $EXTRA_APT_PACKAGES (inside the root file system)"
	cp /etc/resolv.conf "$r/etc/resolv.conf"
	if ! chroot "$r" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $EXTRA_APT_PACKAGES" >"$work/apt.log" 2>&1; then
		tail -n 30 "$work/apt.log" >&2
		die "apt-get install $EXTRA_APT_PACKAGES failed"
	fi
	rm -f "$r/etc/resolv.conf"
	: >"$r/etc/resolv.conf"
	# smaller base; apt-get update inside fetches fresh lists
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
		"$r"/var/cache/apt/*.bin "$r"/var/log/*.log "$r/var/log/apt"/* \
		"$r"/tmp/* "$r"/var/tmp/*
	mkdir -p "$r/var/lib/apt/lists/partial"
	echo "sandboxd debian image ($SUITE), kernel $kversion" >"$r/etc/sbx-release"

	# deno next to node and npm
	tar -xzf "$deno_tgz" -C "$work" package/deno
	install -m 0755 "$work/package/deno" "$r/usr/local/bin/deno"
	rm -rf "$work/package"

	# the SDK's user: `pwd` prints /home/sandbox; sudo without a password (the VM is
	# the boundary, not this account). Debian's skeleton .bashrc returns at once when
	# not interactive, so the SDK's BASH_ENV=$HOME/.bashrc is safe
	chroot "$r" useradd --create-home --uid 1000 --user-group --shell /bin/bash sandbox
	printf 'sandbox ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$r/etc/sudoers.d/sandbox"
	chmod 0440 "$r/etc/sudoers.d/sandbox"
}
# --- rootfs end

rootfs_key=$(
	{
		sed -n '/^# --- rootfs begin/,/^# --- rootfs end/p' "$SCRIPT"
		echo "$SUITE $MIRROR $PACKAGES $EXTRA_APT_PACKAGES $(basename "$kernel_deb") deno $DENO_VERSION $DENO_SHA512"
		stat -c '%n %s %Y' "$tarball"
	} | sha256sum | cut -c1-16
)
rootfs_tar="$CACHE/rootfs-$SUITE-$rootfs_key.tar.zst"
t_stage=$(date +%s)
mkdir -p "$root"
if [ -s "$rootfs_tar" ]; then
	log "root file system from $rootfs_tar"
	tar -C "$root" --numeric-owner --xattrs -I zstd -xpf "$rootfs_tar"
else
	make_rootfs
	# one cached root file system per suite
	rm -f "$CACHE/rootfs-$SUITE-"*.tar.zst
	if ! tar -C "$root" --numeric-owner --xattrs -I 'zstd -1 -T0' -cf "$rootfs_tar.tmp" .; then
		rm -f "$rootfs_tar.tmp"
		die "cannot cache the root file system in $rootfs_tar"
	fi
	mv "$rootfs_tar.tmp" "$rootfs_tar"
fi
log "root file system ready in $(($(date +%s) - t_stage)) s"

install -m 0755 "$AGENT" "$root/sbin/sandboxd-agent"
strip "$root/sbin/sandboxd-agent" 2>/dev/null || true
install -D -m 0644 "$DENO_HARNESS_DIR/deno-harness.js" "$root/usr/lib/sandboxd/deno-harness.js"
install -m 0755 "$DENO_HARNESS_DIR/deno-control" "$root/usr/lib/sandboxd/deno-control"
chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' >"$new/packages.txt"

# the initramfs: the agent as /init and the modules it loads before the root
mkdir -p "$ird"/{dev,proc,sys,sysroot,etc,tmp,run} "$ird/lib/modules/$kversion"
install -m 0755 "$root/sbin/sandboxd-agent" "$ird/sbin-sandboxd-agent"
mkdir -p "$ird/sbin"
mv "$ird/sbin-sandboxd-agent" "$ird/sbin/sandboxd-agent"
ln -s sbin/sandboxd-agent "$ird/init"
: >"$ird/etc/sbx-modules"
for m in $MODULES; do
	ko=$(find "$moddir" -name "$m.ko" -print -quit)
	[ -n "$ko" ] || die "module $m not found in $kversion"
	deps=$(modinfo -F depends "$ko")
	for d in ${deps//,/ }; do
		grep -q "/$d.ko\$" "$ird/etc/sbx-modules" ||
			die "module $m needs $d first: fix MODULES in $0"
	done
	rel=${ko#"$moddir"/}
	mkdir -p "$ird/lib/modules/$kversion/$(dirname "$rel")"
	cp "$ko" "$ird/lib/modules/$kversion/$rel"
	echo "/lib/modules/$kversion/$rel" >>"$ird/etc/sbx-modules"
done
mknod -m 0600 "$ird/dev/console" c 5 1
mknod -m 0666 "$ird/dev/null" c 1 3
(cd "$ird" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) >"$new/initrd.img"

# the root disk: a sparse ext4 of the full size (free blocks cost nothing in
# qcow2); no journal (the disk lives as long as its sandbox) and every inode
# table zeroed now, so the guest's lazy-init thread never writes to an overlay
t_stage=$(date +%s)
log "making the ${DISK_GIB} GiB ext4 root disk"
truncate -s "${DISK_GIB}G" "$work/root.raw"
mkfs.ext4 -q -F -L sbx-root -O ^has_journal -m 0 \
	-E lazy_itable_init=0,lazy_journal_init=0,nodiscard,root_owner=0:0 \
	-d "$root" "$work/root.raw"
qemu-img convert -f raw -O qcow2 "$work/root.raw" "$new/debian.qcow2"
rm -f "$work/root.raw"
chmod 0444 "$new/debian.qcow2"
log "disk ready in $(($(date +%s) - t_stage)) s"

echo "$CMDLINE" >"$new/cmdline"
cat >"$new/image.json" <<EOF
{
  "name": "debian",
  "suite": "$SUITE",
  "mirror": "$MIRROR",
  "packages": "$PACKAGES",
  "kernel_version": "$kversion",
  "kernel_package": "$(basename "$kernel_deb")",
  "root_disk": "debian.qcow2",
  "root_format": "qcow2",
  "root_fs": "ext4",
  "disk_size_gib": $DISK_GIB,
  "agent_port": "org.sandboxd.agent.0"
}
EOF
echo "$inputs" >"$new/.inputs"
# folders on the path must be searchable by QEMU's user; files readable
chmod 0755 "$new"
chmod 0644 "$new"/vmlinuz "$new"/initrd.img "$new"/cmdline "$new"/image.json "$new"/packages.txt
[ -f "$new/vmlinux" ] && chmod 0644 "$new/vmlinux"

rm -rf "$OUTDIR.old"
[ -d "$OUTDIR" ] && mv -T "$OUTDIR" "$OUTDIR.old"
mv -T "$new" "$OUTDIR"
rm -rf "$OUTDIR.old"
log "done in $(($(date +%s) - t_start)) s: $(du -sh "$OUTDIR" | cut -f1) on disk (kernel $kversion)"
