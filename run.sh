#!/bin/bash
# sets up sandboxd on a fresh Debian 12 machine and runs one command in a real microVM.
# safe to run again: it installs, builds and starts only what is missing or stale.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

SBX_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/common.sh
. "$SBX_SRCDIR/scripts/common.sh"

BUILDDIR=${BUILDDIR:-$SBX_SRCDIR/build}
PREFIX=/usr/local
SANDBOXD=$PREFIX/sbin/sandboxd
IMAGEDIR=/var/lib/sandboxd/images/minimal
DEBIANDIR=/var/lib/sandboxd/images/debian
PIDFILE=/run/sandboxd.pid
LOGFILE=/var/log/sandboxd.log

sbx_require_root
sbx_install_packages "${SBX_RUNTIME_PACKAGES[@]}"
sbx_ensure_apt_lists
sbx_setup_kvm

# config in /etc/sandboxd, images in /var/lib/sandboxd, binaries in /usr/local
setup_args=(-Dprefix=$PREFIX -Dsysconfdir=/etc -Dlocalstatedir=/var -Dbuildtype=debugoptimized)
if sbx_has_meson_option dbus_policy_dir; then
	setup_args+=(-Ddbus_policy_dir=/usr/share/dbus-1/system.d)
fi
sbx_build "$BUILDDIR" "${setup_args[@]}"
sbx_log "installing into $PREFIX"
meson install -C "$BUILDDIR" --only-changed --quiet
PLUGINDIR=$(meson introspect "$BUILDDIR" --buildoptions |
	python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["prefix"]+"/"+o["libdir"]+"/sandboxd/plugins")')

# the guest images: each builder skips the work when its inputs did not change
sbx_log "building the minimal guest image in $IMAGEDIR"
mkdir -p "$IMAGEDIR" "$DEBIANDIR"
# QEMU runs as libvirt-qemu: every folder above the image must let it through
# (an older sandboxd kept its records right here with mode 0700)
chmod 0755 /var/lib/sandboxd /var/lib/sandboxd/images
"$SBX_SRCDIR/image/build-image.sh" "$IMAGEDIR" "$BUILDDIR/agent/sandboxd-agent"
# the default image: Debian 12 with python3, apt, curl and git. The first build
# downloads and installs packages (a few minutes, progress below); later runs reuse
# the package cache and rebuild only what changed
sbx_log "building the debian guest image in $DEBIANDIR (the default image)"
"$SBX_SRCDIR/image/build-debian.sh" "$DEBIANDIR" "$BUILDDIR/agent/sandboxd-agent"

sbx_start_host_services
# the bus applies the policy's <policy user="sandboxd-gateway"> only to a user that
# exists when it reads its config
getent passwd sandboxd-gateway >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		sandboxd-gateway
# pick up the sandboxd bus policy we may just have installed
dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.ReloadConfig >/dev/null

sandboxd_owner_pid() {
	gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.GetConnectionUnixProcessID org.sandboxd 2>/dev/null |
		sed -n 's/^(uint32 \([0-9]*\),)$/\1/p' || true
}

# the newest mtime among the daemon and its plugins
installed_mtime() {
	find "$SANDBOXD" "$PLUGINDIR" -maxdepth 1 -type f -printf '%T@\n' 2>/dev/null |
		sort -n | tail -n 1 | cut -d. -f1
}

# when PID started, in seconds since the epoch (/proc/PID's own mtime is not reliable)

stop_sandboxd() {
	local pid=$1 i
	sbx_log "stopping sandboxd (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || return 0
	# it destroys its sandboxes on SIGTERM, which takes a moment per VM
	for i in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	kill -KILL "$pid" 2>/dev/null || true
}

start_sandboxd() {
	local pid i
	sbx_log "starting sandboxd on the system bus (log: $LOGFILE)"
	setsid "$SANDBOXD" --verbose </dev/null >>"$LOGFILE" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDFILE"
	for i in $(seq 1 60); do
		if [ "$(sandboxd_owner_pid)" = "$pid" ]; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$LOGFILE" >&2
			sbx_die "sandboxd exited at startup, see $LOGFILE"
		fi
		sleep 0.5
	done
	tail -n 20 "$LOGFILE" >&2
	sbx_die "sandboxd did not take the name org.sandboxd, see $LOGFILE"
}

if sbx_have_systemd && systemctl cat sandboxd.service >/dev/null 2>&1; then
	systemctl daemon-reload
	systemctl start sandboxd.service
fi
pid=$(sandboxd_owner_pid)
if [ -z "$pid" ]; then
	start_sandboxd
elif [ "$(installed_mtime)" -gt "$(sbx_process_start_time "$pid")" ]; then
	sbx_log "sandboxd or its plugins were updated since it started"
	if sbx_have_systemd && systemctl cat sandboxd.service >/dev/null 2>&1; then
		systemctl restart sandboxd.service
	else
		stop_sandboxd "$pid"
		start_sandboxd
	fi
else
	sbx_log "sandboxd already running (pid $pid)"
fi

sbx_log "sandboxctl run -- sh -c 'uname -a; grep PRETTY /etc/os-release; python3 --version'"
sandboxctl run -- sh -c 'uname -a; grep PRETTY /etc/os-release; python3 --version'

# the @deno/sandbox SDK's endpoint, then the SDK's own first example through it
sbx_start_gateway "$PREFIX/sbin/sandboxd-gateway"
sbx_wait_gateway 127.0.0.1:8080
sbx_log "the @deno/sandbox SDK example (examples/sdk/hello.mjs) against the gateway"
(cd "$SBX_SRCDIR/examples/sdk" && npm ci --no-audit --no-fund --silent)
# a token of root's (sandboxd resolves it to its owner): one per run, not one more each time
if [ -z "${DENO_DEPLOY_TOKEN:-}" ]; then
	sandboxctl token revoke run-sh 2>/dev/null || true
	DENO_DEPLOY_TOKEN=$(sandboxctl token create run-sh)
fi
DENO_SANDBOX_ENDPOINT=http://127.0.0.1:8080 DENO_DEPLOY_ENDPOINT=http://127.0.0.1:8080 \
	DENO_DEPLOY_TOKEN=$DENO_DEPLOY_TOKEN node "$SBX_SRCDIR/examples/sdk/hello.mjs"
