#!/bin/bash
# A throwaway single-node Ceph cluster for trying and testing the rbd volume
# plugin, like Ceph's own vstart.sh: one monitor and one memstore OSD on
# 127.0.0.1, everything (config, keyrings, data, logs, pid files) under DIR,
# no systemd, no /etc/ceph.
#
#   ceph-dev.sh up DIR      start a cluster in DIR (must not hold one already)
#   ceph-dev.sh status DIR  print the daemons and `ceph -s`; fails if not running
#   ceph-dev.sh stop DIR    stop every daemon of DIR, keep its files (a dead
#                           cluster, for testing clients against one)
#   ceph-dev.sh down DIR    stop every daemon of DIR and remove DIR
#
# `up` also writes DIR/sandboxd-rbd.conf, a sandboxd config drop-in that
# points the rbd plugin at the cluster (copy it to
# /etc/sandboxd/sandboxd.conf.d/). Clients: `ceph -c DIR/ceph.conf -s`,
# `rbd -c DIR/ceph.conf ls rbd`. Needs ceph-mon, ceph-osd and ceph-common.
# Data lives in the OSD's memory (memstore, 1 GiB): it is gone after `down`.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

POOL=rbd
MARKER=ceph-dev.marker
MEMSTORE_BYTES=$((1024 * 1024 * 1024))
# how long up waits for each step, and down for the daemons to exit
WAIT_SEC=${CEPH_DEV_WAIT_SEC:-60}

die() {
	echo "ceph-dev: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 up|status|stop|down DIR" >&2
	exit 2
}

# a free TCP port on 127.0.0.1: bind to port 0 and read it back
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return
	# no python: try a few random high ports
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port"
}

# pid is alive and not a zombie (this machine's PID 1 reaps late)
alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

ceph_cmd() {
	timeout "$WAIT_SEC" ceph -c "$DIR/ceph.conf" --connect-timeout 10 "$@"
}

write_conf() {
	local fsid=$1 port=$2
	cat >"$DIR/ceph.conf" <<EOF
# written by ceph-dev.sh: a throwaway single-node cluster
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$port
# msgr v1 only: "127.0.0.1:$port" then means the same to every client
# (librbd in QEMU, libvirt's <host name= port=>)
ms bind msgr2 = false
ms bind ipv4 = true
ms bind ipv6 = false
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
keyring = $DIR/keyring
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
log to stderr = false
err to stderr = true
crash dir = $DIR/crash
# one OSD holds everything
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool delete = true
mon allow pool size one = true
# the disk here may be less than 30% free
mon data avail warn = 1
mon data avail crit = 0
# no mgr: keep the monitor quiet about it
mon mgr mkfs grace = 31536000
mon warn on pool no redundancy = false
# a client of a dead cluster gives up instead of hanging five minutes
client mount timeout = 30
rados mon op timeout = 30
rados osd op timeout = 30

[mon]
admin socket = $DIR/run/\$name.asok
mon data = $DIR/mon
# default 1 s makes bring-up take ~8 s
paxos propose interval = 0.01
mon osd reporter subtree level = osd

[osd]
admin socket = $DIR/run/\$name.asok
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd max object name len = 460
osd max object namespace len = 64
osd heartbeat grace = 20
EOF
}

cmd_up() {
	local fsid port uuid osd_id secret i

	command -v ceph-mon >/dev/null || die "ceph-mon not found (apt-get install ceph-mon ceph-osd ceph-common)"
	command -v ceph-osd >/dev/null || die "ceph-osd not found (apt-get install ceph-osd)"
	if [ -e "$DIR/$MARKER" ]; then
		die "$DIR already holds a cluster (ceph-dev.sh down $DIR first)"
	fi
	if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
		die "$DIR is not empty"
	fi
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)
	mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/log" "$DIR/crash"
	touch "$DIR/$MARKER"

	fsid=$(cat /proc/sys/kernel/random/uuid)
	port=$(free_port)
	write_conf "$fsid" "$port"

	ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. \
		--cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' \
		--cap mds 'allow *' >/dev/null
	ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/keyring" >/dev/null
	chmod 600 "$DIR/keyring" "$DIR/mon.keyring"
	monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$port]" \
		"$DIR/monmap" >/dev/null

	ceph-mon -c "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" \
		--keyring "$DIR/mon.keyring"
	ceph-mon -c "$DIR/ceph.conf" -i a 2>>"$DIR/log/start.log" ||
		die "ceph-mon did not start (see $DIR/log)"

	uuid=$(cat /proc/sys/kernel/random/uuid)
	secret=$(ceph-authtool --gen-print-key)
	osd_id=$(echo "{\"cephx_secret\": \"$secret\"}" |
		ceph_cmd osd new "$uuid" -i -) || die "ceph osd new failed (see $DIR/log)"
	[ "$osd_id" = 0 ] || die "unexpected osd id '$osd_id'"
	ceph-authtool --create-keyring "$DIR/osd/keyring" --name osd.0 \
		--add-key "$secret" >/dev/null
	ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
		--keyring "$DIR/osd/keyring" >"$DIR/log/osd-mkfs.log" 2>&1 ||
		die "ceph-osd --mkfs failed (see $DIR/log/osd-mkfs.log)"
	ceph-osd -c "$DIR/ceph.conf" -i 0 --keyring "$DIR/osd/keyring" 2>>"$DIR/log/start.log" ||
		die "ceph-osd did not start (see $DIR/log)"

	ceph_cmd osd pool create "$POOL" 8 8 >/dev/null 2>&1 ||
		die "cannot create pool $POOL (see $DIR/log)"
	# rbd (C++) starts faster than the ceph CLI (python)
	timeout "$WAIT_SEC" rbd -c "$DIR/ceph.conf" pool init "$POOL" >/dev/null 2>&1 ||
		die "cannot initialise pool $POOL for rbd"
	# ready when an image can be made and removed
	for i in $(seq $((WAIT_SEC * 10))); do
		if timeout 10 rbd -c "$DIR/ceph.conf" create --size 1M "$POOL/ceph-dev-probe" \
			2>/dev/null; then
			timeout 10 rbd -c "$DIR/ceph.conf" rm --no-progress \
				"$POOL/ceph-dev-probe" >/dev/null 2>&1 || true
			break
		fi
		[ "$i" -lt $((WAIT_SEC * 10)) ] || die "the OSD did not come up (see $DIR/log)"
		sleep 0.1
	done

	cat >"$DIR/sandboxd-rbd.conf" <<EOF
# sandboxd config drop-in written by ceph-dev.sh for the cluster in $DIR;
# copy it to /etc/sandboxd/sandboxd.conf.d/
[rbd]
CephConf=$DIR/ceph.conf
Pool=$POOL
ClientId=admin
Keyring=$DIR/keyring
EOF
	echo "ceph-dev: cluster up in $DIR (mon 127.0.0.1:$port, pool $POOL)"
	echo "ceph-dev: sandboxd drop-in: $DIR/sandboxd-rbd.conf"
}

pids_of() {
	local f
	for f in "$DIR"/run/*.pid; do
		[ -f "$f" ] && cat "$f"
	done
	return 0
}

cmd_stop() {
	local pids pid i left

	[ -e "$DIR" ] || return 0
	[ -e "$DIR/$MARKER" ] || die "$DIR was not made by ceph-dev.sh; not touching it"
	DIR=$(cd "$DIR" && pwd)
	pids=$(pids_of)
	# also daemons whose pid file is gone: they carry our config path
	pids="$pids $(pgrep -f -- "-c $DIR/ceph.conf" || true)"
	for pid in $pids; do
		if alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for i in $(seq $((WAIT_SEC * 10))); do
		left=
		for pid in $pids; do
			alive "$pid" && left="$left $pid"
		done
		[ -z "$left" ] && break
		if [ "$i" -eq 50 ]; then
			# 5 s is plenty for a memstore cluster
			for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
		fi
		sleep 0.1
	done
	[ -z "$left" ] || die "daemons still running:$left"
	rm -f "$DIR"/run/*.pid
}

cmd_down() {
	[ -e "$DIR" ] || return 0
	cmd_stop
	rm -rf "$DIR"
	echo "ceph-dev: cluster in $DIR stopped and removed"
}

cmd_status() {
	local pid f ok=0

	[ -e "$DIR/$MARKER" ] || die "no cluster in $DIR"
	if ! ls "$DIR"/run/*.pid >/dev/null 2>&1; then
		echo "no daemons running (stopped)"
		return 1
	fi
	for f in "$DIR"/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if alive "$pid"; then
			echo "$(basename "$f" .pid): running (pid $pid)"
		else
			echo "$(basename "$f" .pid): not running"
			ok=1
		fi
	done
	WAIT_SEC=10 ceph_cmd -s || ok=1
	return $ok
}

[ $# -eq 2 ] || usage
DIR=$2
case $1 in
up) cmd_up ;;
stop) cmd_stop ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac
