# shared by run.sh and test.sh: package installation, host services, build.
# sourced, not executed. SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash

SBX_SRCDIR=${SBX_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# everything the build, the guest image and the running daemon need
SBX_RUNTIME_PACKAGES=(
	meson ninja-build gcc pkg-config
	# libsoup3: the gateway's HTTP/WebSocket server, the cloud-hypervisor REST client
	libglib2.0-dev libglib2.0-bin libjson-glib-dev libsoup-3.0-dev
	# the gateway's exposeSsh server (libssh's server API)
	libssh-dev
	libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients
	qemu-system-x86 qemu-utils qemu-system-common
	busybox-static gettext cpio zstd dbus kmod curl
	# the debian guest image (image/build-debian.sh) and its NAT network (libvirt runs
	# dnsmasq and adds iptables rules)
	debootstrap e2fsprogs lz4 dnsmasq-base iptables
	# volume plugins: qcow2 through qemu-img; rbd through librbd/librados (QEMU's rbd
	# driver is in qemu-block-extra); polkit for org.sandboxd.manage-all
	librbd-dev librados-dev qemu-block-extra libpolkit-gobject-1-dev
	# run.sh reads meson's introspection with python3
	python3
	# network isolation: sandboxd's nftables table (nft), libvirt's nwfilter (ebtables
	# and iptables, in the iptables package), ip/bridge for the netpol tests
	nftables iproute2
	# secrets: the per-sandbox CA (GnuTLS) and sandboxd-egress's TLS (GIO's GnuTLS backend)
	libgnutls28-dev glib-networking
	# the process jail's file-volume grants: POSIX ACL entries through libacl
	libacl1-dev libacl1
)
# only the test suite needs these (libFuzzer comes with clang's runtime)
SBX_TEST_PACKAGES=(
	clang libclang-rt-14-dev
	# the volumes suite runs a throwaway single-node Ceph cluster (scripts/ceph-dev.sh)
	ceph-mon ceph-osd ceph-common
	# tests/style: formatting check
	clang-format
	# netpol-vm: the test CA and certificate of the allow_net host-name tests
	openssl
	# gateway-sdk-ssh logs into exposeSsh's server with the OpenSSH client
	openssh-client
)
# run.sh's SDK example and the gateway tests run the @deno/sandbox SDK with node and
# install it with npm ci (a nodesource nodejs bundles npm and conflicts with Debian's)
command -v npm >/dev/null || SBX_RUNTIME_PACKAGES+=(nodejs npm)

sbx_log() {
	printf '==> %s\n' "$*" >&2
}

sbx_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

sbx_require_root() {
	[ "$(id -u)" -eq 0 ] || sbx_die "run me as root (apt-get, libvirtd and the system bus need it)"
}

# installs the packages that are not installed yet; a second run costs one dpkg-query
sbx_install_packages() {
	local missing=() pkg
	local -A installed=()
	# one dpkg-query for all: unknown packages only print to stderr
	while read -r pkg status; do
		case "$status" in
		ii*) installed[${pkg%%:*}]=1 ;;
		esac
	done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
	for pkg in "$@"; do
		[ -n "${installed[$pkg]:-}" ] || missing+=("$pkg")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	sbx_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# the image builder fetches the guest kernel with apt-get download: needs package lists
sbx_ensure_apt_lists() {
	if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
		sbx_log "fetching apt package lists"
		apt-get update -q
	fi
}

# libvirtd re-probes QEMU for ~45 s on every start when it cannot open /dev/kvm
sbx_setup_kvm() {
	if [ -e /dev/kvm ]; then
		getent group kvm >/dev/null || groupadd --system kvm
		chgrp kvm /dev/kvm
		chmod 0660 /dev/kvm
	fi
}

sbx_have_systemd() {
	[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]
}

# true when the pid in FILE is alive
sbx_pidfile_alive() {
	local pid
	[ -r "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

sbx_system_bus_up() {
	dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.GetId >/dev/null 2>&1
}

sbx_libvirtd_up() {
	timeout 20 virsh -q -c qemu:///system version >/dev/null 2>&1
}

# starts the system dbus-daemon, virtlogd and libvirtd unless they already run
sbx_start_host_services() {
	if sbx_have_systemd; then
		systemctl start dbus.service virtlogd.service libvirtd.service
		return 0
	fi
	if ! sbx_system_bus_up; then
		sbx_log "starting the system dbus-daemon"
		mkdir -p /run/dbus
		# a stale pid file from a dead daemon makes dbus-daemon refuse to start
		rm -f /run/dbus/pid
		dbus-daemon --system --fork
	fi
	if ! sbx_pidfile_alive /run/virtlogd.pid; then
		sbx_log "starting virtlogd"
		virtlogd -d
	fi
	if ! sbx_pidfile_alive /run/libvirtd.pid; then
		sbx_log "starting libvirtd"
		libvirtd -d
	fi
	local i
	for i in $(seq 1 60); do
		sbx_libvirtd_up && return 0
		sleep 0.5
	done
	sbx_die "libvirtd does not answer on qemu:///system"
}

# meson setup unless BUILDDIR is already configured, then build
sbx_build() {
	local builddir=$1
	shift
	if [ ! -f "$builddir/build.ninja" ]; then
		sbx_log "configuring $builddir"
		meson setup "$@" "$builddir" "$SBX_SRCDIR"
	fi
	sbx_log "building in $builddir"
	meson compile -C "$builddir"
}

# true when meson_options.txt declares option NAME (others add options as they land)
sbx_has_meson_option() {
	grep -Eq "^option\\(['\"]$1['\"]" "$SBX_SRCDIR/meson_options.txt"
}

# starts sandboxd-gateway (the @deno/sandbox SDK endpoint, [gateway] Listen, default
# 127.0.0.1:8080) as its own system user unless it already runs. $1: the binary
# when process $1 started, in seconds since the epoch
sbx_process_start_time() {
	local ticks btime hz
	ticks=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f20)
	btime=$(sed -n 's/^btime //p' /proc/stat)
	hz=$(getconf CLK_TCK)
	echo $((btime + ticks / hz))
}

sbx_start_gateway() {
	local gateway=$1 log=/var/log/sandboxd-gateway.log pidfile=/run/sandboxd-gateway.pid
	getent passwd sandboxd-gateway >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin sandboxd-gateway
	if sbx_pidfile_alive "$pidfile"; then
		local pid
		pid=$(cat "$pidfile")
		# an older binary keeps serving the old protocol: restart it after an install
		[ "$(stat -c %Y "$gateway")" -le "$(sbx_process_start_time "$pid")" ] && return 0
		sbx_log "sandboxd-gateway was updated since it started: restarting it"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	sbx_log "starting sandboxd-gateway (log: $log)"
	touch "$log"
	setpriv --reuid=sandboxd-gateway --regid=sandboxd-gateway --clear-groups \
		"$gateway" >>"$log" 2>&1 &
	echo $! >"$pidfile"
}

# waits until something accepts TCP connections on HOST:PORT ($1)
sbx_wait_gateway() {
	local host=${1%:*} port=${1##*:} i
	for i in $(seq 1 50); do
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
		sleep 0.2
	done
	sbx_die "sandboxd-gateway does not listen on $1 (see /var/log/sandboxd-gateway.log)"
}
