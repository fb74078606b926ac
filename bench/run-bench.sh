#!/bin/bash
# runs sandboxd-bench against a private sandboxd from a build dir (no installation needed):
#   bench/run-bench.sh [BUILDDIR] [sandboxd-bench options, e.g. -n 10]
# needs root, the system libvirtd and the image (meson compile -C BUILDDIR image).
# to measure the installed daemon on the system bus instead: sandboxd-bench -n 10
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILDDIR=$(realpath "${1:-$SRCDIR/_build}")
shift || true
IMAGEDIR=$BUILDDIR/image/minimal
[ -f "$IMAGEDIR/vmlinuz" ] || { echo "no image in $IMAGEDIR: meson compile -C $BUILDDIR image" >&2; exit 1; }

TMP=$(mktemp -d /tmp/sbx-bench-XXXXXX)
chmod 0755 "$TMP"
mkdir -p "$TMP/config" "$TMP/run" "$TMP/state"
bus_pid=""
daemon_pid=""
cleanup() {
	[ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/config/sandboxd.conf" <<CONF
[daemon]
Backend=libvirt
DefaultImage=bench
StateDir=$TMP/state

[image bench]
Kernel=$IMAGEDIR/vmlinuz
Initrd=$IMAGEDIR/initrd.img
Cmdline=$(cat "$IMAGEDIR/cmdline")

[libvirt]
DomainType=auto
CONF

dbus-daemon --session --nofork --print-address=1 --address="unix:dir=$TMP" >"$TMP/bus.address" &
bus_pid=$!
for _ in $(seq 1 50); do [ -s "$TMP/bus.address" ] && break; sleep 0.1; done
address=$(head -n 1 "$TMP/bus.address")

"$BUILDDIR/core/sandboxd" --address "$address" --config-dir "$TMP/config" \
	--plugin-dir "$BUILDDIR/backends" --runtime-dir "$TMP/run" >"$TMP/sandboxd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
	gdbus call --address "$address" --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus --method org.freedesktop.DBus.NameHasOwner \
		org.sandboxd 2>/dev/null | grep -q true && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$TMP/sandboxd.log" >&2; exit 1; }
	sleep 0.1
done

"$BUILDDIR/bench/sandboxd-bench" --address "$address" "$@"
