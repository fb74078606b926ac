#!/bin/sh
# the filesystem and environment methods of Sandbox1 and `sandboxctl cp`, against the real
# sandboxd with the test backend (the agent runs on the host, so guest paths are host paths:
# everything happens under a temp dir) on a private bus.
# usage: sandboxctl-fs.sh SANDBOXCTL SANDBOXD PLUGIN_DIR
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

ctl=$1
sandboxd=$2
plugin_dir=$3

tmp=$(mktemp -d /tmp/sbx-test-fs-XXXXXX)
. "$(dirname "$0")/../common/sbx-test-env.sh"

# check_err DESCRIPTION ERROR-NAME COMMAND...: the command fails naming the D-Bus error
check_err() {
	desc=$1
	name=$2
	shift 2
	checks=$((checks + 1))
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		fail "$desc: succeeded"
	elif grep -q "$name" "$tmp/err"; then
		echo "ok: $desc"
	else
		fail "$desc: expected $name, got: $(cat "$tmp/err")"
	fi
}

sbx_test_start_bus

mkdir -p "$tmp/g" "$tmp/local"
sbx_test_start_daemon

id=$("$ctl" create --env FROM_CREATE=1 --timeout 10m)
obj=$(gdbus call --address "$SANDBOXCTL_BUS_ADDRESS" --dest org.sandboxd \
	--object-path /org/sandboxd/Manager1 --method org.sandboxd.Manager1.GetSandbox "$id" |
	sed "s/^(objectpath '\(.*\)',)\$/\1/")
call() { # call METHOD ARGS...
	m=$1
	shift
	gdbus call --address "$SANDBOXCTL_BUS_ADDRESS" --dest org.sandboxd --object-path "$obj" \
		--method "org.sandboxd.Sandbox1.$m" "$@"
}
g=$tmp/g

# files: a round trip with a checksum, into a directory, through stdin and stdout
head -c 3000000 /dev/urandom >"$tmp/local/blob"
"$ctl" cp "$tmp/local/blob" "$id:$g/blob"
check "cp up: exit code" 0 $?
"$ctl" cp "$id:$g/blob" "$tmp/local/blob.back"
check "cp down: exit code" 0 $?
check "cp: round trip" "$(sha256sum <"$tmp/local/blob")" "$(sha256sum <"$tmp/local/blob.back")"
check "cp up: the guest file" "$(sha256sum <"$tmp/local/blob")" "$(sha256sum <"$g/blob")"
mkdir "$g/into"
"$ctl" cp "$tmp/local/blob" "$id:$g/into"
check "cp up into a directory keeps the name" 0 $?
test -f "$g/into/blob" || fail "no $g/into/blob"
printf 'from stdin' | "$ctl" cp --mode 600 -p - "$id:$g/new/parent/s.txt"
check "cp - with parents and mode" "from stdin 600" "$(cat "$g/new/parent/s.txt") $(stat -c %a "$g/new/parent/s.txt")"
check "cp to stdout" "from stdin" "$("$ctl" cp "$id:$g/new/parent/s.txt" -)"

# directories: upload and download equality (names, contents, modes, symlinks, empty dirs)
mkdir -p "$tmp/local/tree/a/b" "$tmp/local/tree/empty"
printf 'one' >"$tmp/local/tree/one"
printf 'deep' >"$tmp/local/tree/a/b/deep"
chmod 751 "$tmp/local/tree/a/b/deep"
ln -s a/b/deep "$tmp/local/tree/link"
head -c 200000 /dev/urandom >"$tmp/local/tree/a/bin"
check_err "cp a directory needs -r" "is a directory" "$ctl" cp "$tmp/local/tree" "$id:$g/tree"
"$ctl" cp -r "$tmp/local/tree" "$id:$g/tree"
check "cp -r up: exit code" 0 $?
diff -r "$tmp/local/tree" "$g/tree" >/dev/null
check "cp -r up: trees equal" 0 $?
check "cp -r up: mode kept" 751 "$(stat -c %a "$g/tree/a/b/deep")"
check "cp -r up: symlink kept" "a/b/deep" "$(readlink "$g/tree/link")"
"$ctl" cp -r "$tmp/local/tree" "$id:$g/tree"
test -d "$g/tree/tree" || fail "cp -r into an existing directory: no $g/tree/tree"
"$ctl" cp -r "$id:$g/tree" "$tmp/local/down"
check "cp -r down: exit code" 0 $?
diff -r "$g/tree" "$tmp/local/down" >/dev/null
check "cp -r down: trees equal" 0 $?
"$ctl" cp -r "$id:$g/tree" "$tmp/local/down"
diff -r "$g/tree" "$tmp/local/down/tree" >/dev/null
check "cp -r down into an existing directory" 0 $?

# bad paths give named errors with the guest path in the message
check_err "cp: nonexistent" "$g/missing: No such file" "$ctl" cp "$id:$g/missing" "$tmp/local/x"
check_err "cp: relative guest path" "must be absolute" "$ctl" cp "$id:relative" "$tmp/local/x"
check_err "ReadFile: relative" "org.sandboxd.Error.InvalidArgument" \
	call ReadFile relative '{}' 0
long=/$(head -c 5000 /dev/zero | tr '\0' a)
check_err "Stat: too long" "org.sandboxd.Error.InvalidArgument" call Stat "$long" '{}'
check_err "Stat: nonexistent" "org.sandboxd.Error.NotFound" call Stat "$g/missing" '{}'
check_err "Rename: relative" "org.sandboxd.Error.InvalidArgument" call Rename relative "$g/x"
check_err "Rename: nonexistent" "org.sandboxd.Error.NotFound" call Rename "$g/missing" "$g/x"
check_err "Stat: a file as a directory" "org.sandboxd.Error.NotADirectory" \
	call Stat "$g/blob/x" '{}'
check_err "MakeDirectory: exists" "org.sandboxd.Error.AlreadyExists" \
	call MakeDirectory "$g/tree" '{}'
check_err "Remove: not empty" "org.sandboxd.Error.NotEmpty" call Remove "$g/tree" '{}'
check_err "ReadDir: a file" "org.sandboxd.Error.NotADirectory" call ReadDir "$g/blob"
check_err "WriteFile: unknown option" "org.sandboxd.Error.InvalidArgument" \
	call WriteFile "$g/x" "{'bogus': <1>}" 0
# ".." is resolved as the guest kernel would
check "Stat: .. resolved" "'file'" \
	"$(call Stat "$g/tree/a/../one" '{}' | grep -o "'type': <'[a-z]*'>" | grep -o "'file'")"

# stat, readdir, mkdir, rename, chmod, remove
call Stat "$g/tree/link" "{'follow_symlinks': <false>}" >"$tmp/out"
grep -q "'link_target': <'a/b/deep'>" "$tmp/out" || fail "lstat: $(cat "$tmp/out")"
grep -q "'type': <'symlink'>" "$tmp/out" || fail "lstat type: $(cat "$tmp/out")"
call Stat "$g/blob" '{}' >"$tmp/out"
grep -q "'size': <uint64 3000000>" "$tmp/out" || fail "stat size: $(cat "$tmp/out")"
call ReadDir "$g/tree" >"$tmp/out"
check "ReadDir: entries (one a empty link tree)" 5 "$(grep -o "'name'" "$tmp/out" | wc -l)"
grep -q "'name': <'empty'>, 'type': <'directory'>" "$tmp/out" || fail "ReadDir: $(cat "$tmp/out")"
call MakeDirectory "$g/m/n/o" "{'parents': <true>, 'mode': <uint32 0700>}" >/dev/null
check "MakeDirectory parents" 700 "$(stat -c %a "$g/m/n/o")"
call Rename "$g/m" "$g/m2" >/dev/null
test -d "$g/m2/n/o" || fail "Rename"
call Chmod "$g/blob" 0604 >/dev/null
check "Chmod" 604 "$(stat -c %a "$g/blob")"
call Remove "$g/m2" "{'recursive': <true>}" >/dev/null
test -e "$g/m2" && fail "Remove recursive"

# the sandbox environment, inherited by later processes
call SetEnv GREETING hello >/dev/null
check "GetEnv" "('hello',)" "$(call GetEnv GREETING)"
check "Exec sees SetEnv and the create env" "hello 1" \
	"$("$ctl" exec "$id" -- sh -c 'echo "$GREETING $FROM_CREATE"')"
call GetEnvironment >"$tmp/out"
grep -q "'GREETING': 'hello'" "$tmp/out" || fail "GetEnvironment: $(cat "$tmp/out")"
call UnsetEnv GREETING >/dev/null
check_err "GetEnv after UnsetEnv" "org.sandboxd.Error.NotFound" call GetEnv GREETING
check "Exec after UnsetEnv" "unset" \
	"$("$ctl" exec "$id" -- sh -c 'echo "${GREETING:-unset}"')"
check_err "SetEnv: bad name" "org.sandboxd.Error.InvalidArgument" call SetEnv "1BAD" x

"$ctl" kill "$id" >/dev/null
echo "$((checks - failures)) passed, $failures failed"
[ $failures -eq 0 ]
