#!/usr/bin/env python3
# Prints what a `meson test` run did: passed, failed, skipped, and each skip with its
# reason (a whole test that exited 77, or a GTest/TAP subtest reported "# SKIP").
# With --strict, exits 1 when a skip is not listed in the allow-list file.
#
#   test-summary.py BUILDDIR [--allowed FILE] [--strict]
#
# The allow-list has one skip per line: "<test name>  <reason>" (the test name as
# meson prints it, "project:suite / name", or "project:suite / name: /gtest/path"
# for a subtest; two spaces or a tab before the reason);
# blank lines and lines starting with '#' are ignored.
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import json
import os
import re
import sys

SKIP_LINE = re.compile(r"^ok \d+ (?P<name>\S.*?)\s+# SKIP\s*(?P<reason>.*)$", re.IGNORECASE)


def last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(it printed no reason)"


WHY_LINE = re.compile(r"^(not ok|Bail out|\*\*|.*(ERROR|CRITICAL|WARNING|error:))")


def why_lines(text, limit=14):
    """the failure lines of a test's output (GTest/TAP, GLib log levels) and its
    last lines, in their order, at most @limit in all"""
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    picked = {i for i, line in enumerate(lines) if WHY_LINE.match(line.strip())}
    picked = set(sorted(picked)[-(limit // 2):])
    for i in range(len(lines) - 1, -1, -1):
        if len(picked) >= limit:
            break
        picked.add(i)
    return [lines[i] for i in sorted(picked)]


def load_allowed(path):
    allowed = set()
    if not path or not os.path.exists(path):
        return allowed
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # the name ends where two spaces or a tab start the reason
            name = re.split(r"\t|  +", line, maxsplit=1)[0]
            allowed.add(name)
    return allowed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("--allowed")
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args()

    log = os.path.join(args.builddir, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"test summary: no {log}: did meson test run?", file=sys.stderr)
        return 1
    tests = []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                tests.append(json.loads(line))

    passed, failed, skipped = [], [], []
    sub_skips = []
    for t in tests:
        name = t.get("name", "?")
        result = t.get("result", "?")
        out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
        if result in ("OK", "EXPECTEDFAIL"):
            passed.append(name)
        elif result == "SKIP":
            skipped.append((name, last_line(out)))
            continue
        else:
            failed.append((name, result, out))
        for line in out.splitlines():
            m = SKIP_LINE.match(line.strip())
            if m:
                sub_skips.append((f"{name}: {m.group('name')}", m.group("reason") or "(no reason)"))

    print()
    print("==> test summary")
    print(f"    {len(tests)} tests: {len(passed)} passed, {len(failed)} failed, "
          f"{len(skipped)} skipped; {len(sub_skips)} skipped subtests")
    for name, result, _ in failed:
        print(f"    FAILED   {name} ({result})")
    allowed = load_allowed(args.allowed)
    unlisted = []
    for name, reason in skipped + sub_skips:
        listed = name in allowed
        print(f"    SKIPPED  {name}: {reason}" + ("" if listed else "  [not in the allow-list]"))
        if not listed:
            unlisted.append(name)
    # the lines that say why, last: CI keeps only the end of what a run prints
    for name, _, out in failed:
        print(f"==> why {name} failed")
        for line in why_lines(out):
            print(f"    | {line[:300]}")
    if args.strict and unlisted:
        print(f"error: {len(unlisted)} skip(s) not listed in {args.allowed}; a skip in CI "
              "needs a line there with its reason", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
