#!/bin/sh
# every C file is as clang-format (the repo's .clang-format) would write it.
# usage: check-format.sh SOURCE_ROOT
set -u
root=$1
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
	echo "SKIP: clang-format (clang-format-14) is not installed"
	exit 77
fi
cd "$root" || exit 1
if [ -d .git ] || [ -f .git ]; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find . -name '*.c' -o -name '*.h' | grep -v '^./_build')
fi
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "$f: not clang-formatted (run: $cf -i $f)"
		bad=$((bad + 1))
	fi
done
echo "$(echo "$files" | wc -w) files checked, $bad not formatted"
[ "$bad" -eq 0 ]
