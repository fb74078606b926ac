#!/bin/sh
# sandboxctl against the real sandboxd (test backend: the agent runs on the host) on a
# private bus: exit codes, signals, stdio through passed fds, pipes seeing EOF, list, kill.
# usage: sandboxctl-daemon.sh SANDBOXCTL SANDBOXD PLUGIN_DIR
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

ctl=$1
sandboxd=$2
plugin_dir=$3

tmp=$(mktemp -d /tmp/sbx-test-ctl-XXXXXX)

. "$(dirname "$0")/../common/sbx-test-env.sh"

# a reader of sandboxctl's stdout must see EOF once the command is done (the daemon must
# not keep the passed fds open); timeout(1) kills the whole pipeline if it never does
pipe_check() { # pipe_check DESCRIPTION EXPECTED SANDBOXCTL-ARGS...
	desc=$1
	expected=$2
	shift 2
	timeout 30 sh -c '"$@" | cat >"$0"' "$tmp/pipe" "$ctl" "$@"
	rc=$?
	if [ $rc -eq 124 ]; then
		fail "$desc: the reader never saw EOF"
	else
		check "$desc" "$expected" "$(cat "$tmp/pipe")"
	fi
}

sbx_test_start_bus

# before sandboxd is there
"$ctl" list >/dev/null 2>"$tmp/err"
check "list without sandboxd fails with 1" 1 $?
grep -q '^sandboxctl: cannot reach sandboxd on the given bus address: ' "$tmp/err" ||
	fail "unexpected error line: $(cat "$tmp/err")"

sbx_test_start_daemon

# run: exit codes and signals
"$ctl" run -- sh -c 'exit 42'
check "run: exit code 42" 42 $?
"$ctl" run -- true
check "run: exit code 0" 0 $?
"$ctl" run -- sh -c 'kill -9 $$'
check "run: SIGKILL gives 137" 137 $?

# stdio through the passed fds, kept apart
# (stdout to files: a reader of a pipe would wait for its EOF, tested below)
printf 'through stdin' | "$ctl" run -- cat >"$tmp/out"
check "run: stdin piped through cat" "through stdin" "$(cat "$tmp/out")"
"$ctl" run -- sh -c 'echo out; echo err >&2' >"$tmp/out" 2>"$tmp/err"
check "run: stdout" "out" "$(cat "$tmp/out")"
check "run: stderr" "err" "$(cat "$tmp/err")"
"$ctl" run --env A=1 --cwd / -- sh -c 'echo "$A $(pwd)"' >"$tmp/out"
check "run: --env and --cwd" "1 /" "$(cat "$tmp/out")"
pipe_check "run: pipe reader sees EOF" "piped" run -- echo piped

# create, list, exec, kill
"$ctl" create --label team=ci --label job=1 --timeout 5m >"$tmp/id"
check "create: exit code" 0 $?
id=$(cat "$tmp/id")
case "$id" in
'' | *' '*) fail "create printed '$id'" ;;
esac
"$ctl" list >"$tmp/list"
head -n 1 "$tmp/list" | grep -q '^ID  *STATE  *MEMORY  *VCPUS  *CREATED  *LABELS$' ||
	fail "list header: $(head -n 1 "$tmp/list")"
grep -q "^$id  *running  *1024  *2  .*  job=1,team=ci\$" "$tmp/list" ||
	fail "list row: $(cat "$tmp/list")"
"$ctl" exec "$id" -- sh -c 'echo hi; exit 3' >"$tmp/out"
check "exec: exit code 3" 3 $?
check "exec: output" "hi" "$(cat "$tmp/out")"
pipe_check "exec: pipe reader sees EOF" "piped" exec "$id" -- echo piped
"$ctl" kill "$id"
check "kill: exit code" 0 $?
"$ctl" list | grep -q "^$id " && fail "killed sandbox still listed"
"$ctl" exec "$id" -- true 2>"$tmp/err"
check "exec on a killed sandbox fails with 1" 1 $?
grep -q "^sandboxctl: cannot find sandbox '$id': " "$tmp/err" ||
	fail "unexpected error line: $(cat "$tmp/err")"

# the daemon's refusal, as one line without the D-Bus error name
"$ctl" create --memory 100 2>"$tmp/err"
check "create --memory 100 fails with 1" 1 $?
check "one error line" 1 "$(wc -l <"$tmp/err")"
grep -q '^sandboxctl: cannot create sandbox: .*768' "$tmp/err" ||
	fail "unexpected error line: $(cat "$tmp/err")"
grep -q 'GDBus.Error' "$tmp/err" && fail "D-Bus error name not stripped"

if [ $failures -ne 0 ]; then
	echo "$failures failure(s); sandboxd log:"
	cat "$tmp/sandboxd.log"
	exit 1
fi
exit 0
