#!/usr/bin/env python3
# the path predicts the name: every public (non-static) function defined in
# sbx-foo-bar.c starts with sbx_foo_bar_ (or is sbx_foo_bar, or main).
# Exceptions, one "file function  # why" a line, are in names-exceptions.txt.
# Test programs (tests/ folders) are not checked.
# usage: check-names.py SOURCE_ROOT DIR...
import os
import re
import sys

DEF = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)\s*\(')


def public_functions(path):
    """(line, name) of each non-static function definition in GNU style:
    the return type on its own line, the name at column 0"""
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    depth = 0
    for i, line in enumerate(lines):
        if depth == 0:
            m = DEF.match(line)
            if m and i > 0:
                prev = lines[i - 1].strip()
                name = m.group(1)
                if (prev and not prev.startswith('static') and not prev.startswith('#')
                        and not prev.endswith(';') and not prev.endswith('}')
                        and not name.isupper() and not name.startswith('G_')):
                    # a definition, not a prototype: the body follows
                    rest = '\n'.join(lines[i:i + 12])
                    head = rest.split('{', 1)[0]
                    if '{' in rest and ';' not in head:
                        yield i + 1, name
        depth += line.count('{') - line.count('}')
        if depth < 0:
            depth = 0


def main():
    root = sys.argv[1]
    dirs = sys.argv[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    allowed = set()
    with open(os.path.join(here, 'names-exceptions.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                path, func = line.split()
                allowed.add((path, func))
    bad = []
    count = 0
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            # test programs are not API
            dirnames[:] = sorted(n for n in dirnames
                                 if not n.startswith('.') and n != 'tests')
            for fn in sorted(filenames):
                if not fn.endswith('.c'):
                    continue
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, root)
                prefix = fn[:-2].replace('-', '_')
                for lineno, name in public_functions(path):
                    count += 1
                    if name == 'main' or name == prefix or name.startswith(prefix + '_'):
                        continue
                    if (rel, name) in allowed or (rel, '*') in allowed:
                        continue
                    bad.append(f'{rel}:{lineno}: {name}() does not start with {prefix}_')
    for b in bad:
        print(b)
    print(f'{count} public functions, {len(bad)} whose name the file name does not predict')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
