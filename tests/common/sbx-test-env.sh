# the shell side of the one daemon harness (sourced by tests/unit/*.sh): the same
# private bus as sbx-test-env.c (sbx-test-bus.conf: the shipped policy) and the
# sandboxd built here with the test backend, removed with everything on exit.
# needs: $ctl (sandboxctl), $sandboxd, $plugin_dir, $tmp (a new folder)
# SPDX-License-Identifier: LGPL-2.1-or-later

sbx_test_dir=$(cd "$(dirname "$0")/../common" && pwd)
sbx_test_policy=$(cd "$sbx_test_dir/../../conf" && pwd)/org.sandboxd.conf
bus_pid=
daemon_pid=
failures=0

sbx_test_cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null && wait "$bus_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap sbx_test_cleanup EXIT
trap 'exit 1' INT TERM

checks=0

fail() {
	echo "not ok: $*"
	failures=$((failures + 1))
}

check() { # check DESCRIPTION EXPECTED ACTUAL
	checks=$((checks + 1))
	if [ "$2" = "$3" ]; then
		echo "ok: $1"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# the bus; exports SANDBOXCTL_BUS_ADDRESS
sbx_test_start_bus() {
	sed -e "s|@SOCKET@|$tmp/bus|" -e "s|@POLICY@|$sbx_test_policy|" \
		"$sbx_test_dir/sbx-test-bus.conf" >"$tmp/bus.conf"
	dbus-daemon --config-file="$tmp/bus.conf" --nofork --print-address=3 3>"$tmp/address" &
	bus_pid=$!
	i=0
	while [ ! -s "$tmp/address" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	SANDBOXCTL_BUS_ADDRESS=$(head -n 1 "$tmp/address")
	[ -n "$SANDBOXCTL_BUS_ADDRESS" ] || { echo "no bus address"; exit 1; }
	export SANDBOXCTL_BUS_ADDRESS
}

# sandboxd with the test backend, once sandboxctl reaches it
sbx_test_start_daemon() {
	mkdir -p "$tmp/conf" "$tmp/run" "$tmp/state"
	printf '[daemon]\nBackend=test\n' >"$tmp/conf/sandboxd.conf"
	"$sandboxd" --address "$SANDBOXCTL_BUS_ADDRESS" --config-dir "$tmp/conf" \
		--plugin-dir "$plugin_dir" --runtime-dir "$tmp/run" --state-dir "$tmp/state" \
		2>"$tmp/sandboxd.log" &
	daemon_pid=$!
	i=0
	until "$ctl" list >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge 200 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			echo "sandboxd did not come up:"
			cat "$tmp/sandboxd.log"
			exit 1
		fi
		sleep 0.1
	done
}
