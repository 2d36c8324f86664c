#!/usr/bin/env python3
"""probe-offsets.py - make an offsets table for symbols/ from a CPython's headers.

The second generator besides `pyheapscope symbols generate` (DWARF): for a
stripped build whose headers are at hand (Debian ships the internal ones), it
compiles offsetof/sizeof probes for every field of include/pyheapscope/offsets.h
with -DPy_BUILD_CORE, drops the probes that do not compile (a member that does
not exist in this version, or an alternative path), runs the rest and prints
the table.

Structs that CPython defines in .c files (classmethod, propertyobject, ...)
are not in any header; their fields come out absent unless --fill-from names
an existing table to take them from (they are checked unchanged since 3.7,
and the comment says which were taken).

    contrib/probe-offsets.py --include ROOT/usr/include/python3.14 \
        --version 3.14.10 [--define _Py_TIER2=3 --define _Py_JIT] \
        [--fill-from symbols/3.13.txt] > symbols/3.14.txt
"""
import argparse, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OFFSETS_H = os.path.join(HERE, '..', 'include', 'pyheapscope', 'offsets.h')


def catalogue():
    text = open(OFFSETS_H).read()
    structs = {}
    for m in re.finditer(r'S\((\w+),\s*"([^"]+)",\s*"([^"]+)",\s*(\d)\)', text):
        structs[m.group(1)] = (m.group(2), m.group(3), m.group(4) == '1')
    fields = []
    for m in re.finditer(r'F\((\w+),\s*"([^"]+)",\s*(\w+),\s*(NULL|"[^"]*"),\s*(\d)\)', text):
        path = None if m.group(4) == 'NULL' else m.group(4).strip('"')
        fields.append((m.group(2), m.group(3), path))
    return structs, fields


def ctype(structs, sid):
    key, name, is_typedef = structs[sid]
    return name if is_typedef else 'struct ' + name


def compiles(cc, args, src):
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, 'p.c')
        open(c, 'w').write(src)
        r = subprocess.run([cc] + args + ['-fsyntax-only', c], capture_output=True, text=True)
        return r.returncode == 0, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--include', required=True, help='the python3.X include directory (holds internal/)')
    ap.add_argument('--version', required=True, help='M.m or M.m.p the table is for')
    ap.add_argument('--define', action='append', default=[], help='extra -D the core was built with')
    ap.add_argument('--fill-from', help='table to take fields of .c-local structs from')
    ap.add_argument('--cc', default='gcc')
    a = ap.parse_args()

    inc = os.path.abspath(a.include)
    args = ['-I' + inc, '-I' + os.path.join(inc, 'internal'), '-I' + os.path.dirname(inc),
            '-DPy_BUILD_CORE'] + ['-D' + d for d in a.define]
    internal = sorted(f for f in os.listdir(os.path.join(inc, 'internal')) if f.endswith('.h'))
    # Keep the internal headers that compile after Python.h, one by one, then together.
    headers = []
    for h in internal:
        ok, _ = compiles(a.cc, args, '#include "Python.h"\n' + ''.join('#include "internal/%s"\n' % x for x in headers + [h]))
        if ok:
            headers.append(h)
    prelude = '#include "Python.h"\n#include <stddef.h>\n#include <stdio.h>\n' + \
        ''.join('#include "internal/%s"\n' % h for h in headers)

    structs, fields = catalogue()
    probes = []   # (key, expression)
    for key, sid, path in fields:
        t = ctype(structs, sid)
        if path is None:
            probes.append((key, 'sizeof(%s)' % t))
        else:
            for alt in path.split('|'):
                probes.append((key, 'offsetof(%s, %s)' % (t, alt)))
    # Drop probes that do not compile, a line at a time as gcc names them.
    live = list(range(len(probes)))
    for _ in range(len(probes) + 1):
        body = ''.join('    printf("%s %%zu\\n", (size_t)(%s));\n' % (probes[i][0], probes[i][1]) for i in live)
        src = prelude + 'int main(void) {\n' + body + '    return 0;\n}\n'
        first = src.count('\n', 0, src.index('int main')) + 2
        ok, errs = compiles(a.cc, args, src)
        if ok:
            break
        bad = {int(m.group(1)) - first for m in re.finditer(r'p\.c:(\d+):\d+: error', errs)}
        bad = {b for b in bad if 0 <= b < len(live)}
        if not bad:
            sys.exit('probe does not compile for a reason other than a missing member:\n' + errs)
        live = [i for n, i in enumerate(live) if n not in bad]
    with tempfile.TemporaryDirectory() as d:
        c, exe = os.path.join(d, 'p.c'), os.path.join(d, 'p')
        open(c, 'w').write(src)
        subprocess.run([a.cc] + args + ['-o', exe, c], check=True)
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    values = {}
    for line in out.splitlines():
        k, v = line.split()
        values.setdefault(k, int(v))      # first alternative that exists wins
    filled = []
    if a.fill_from:
        local = {sid for sid, (k, name, td) in structs.items()
                 if not any(ctype(structs, sid) in probes[i][1] for i in live)}
        old = {}
        for line in open(a.fill_from):
            p = line.split()
            if len(p) == 2 and p[0] != 'version':
                old[p[0]] = p[1]
        for key, sid, path in fields:
            if key not in values and sid in local and old.get(key, 'absent') != 'absent':
                values[key] = int(old[key])
                filled.append(key)
    mm = '.'.join(a.version.split('.')[:2])
    print('# pyheapscope offsets table. Made by contrib/probe-offsets.py from the headers in')
    print('# %s (%s)' % (a.include, ' '.join('-D' + d for d in a.define) or 'no extra defines'))
    if filled:
        print('# Taken from %s (structs local to .c files): %s' % (os.path.basename(a.fill_from), ' '.join(filled)))
    print('version %s' % mm)
    for key, sid, path in fields:
        print('%s %s' % (key, values[key] if key in values else 'absent'))


if __name__ == '__main__':
    main()
