#!/usr/bin/env python3
"""offline_bench.py - what the dump and the offline analyses cost at scale.

    bench/offline_bench.py [--python PY] [--records N] [--keep DIR]

Builds the 1M-record JSON workload of bench_target.py (about 11 M objects)
under one interpreter (default: pyenv 3.12), then times, each once, with
the peak RSS of pyheapscope (wait4) and the size of what it wrote:

    dump PID -o heap.jsonl.gz, and -o heap.jsonl (plain)
    summary FILE, diff FILE FILE, retained FILE, paths FILE --kind dict

and the target's own summary for comparison. Prints a table and writes it
to bench/results-offline.md. Read the ratios: the machine is shared.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def default_python():
    hits = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.12.*/bin/python3.12')))
    return hits[-1] if hits else sys.executable


def run(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = []
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        chunks.append(b)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit('offline_bench: %s failed (%d): %s' % (' '.join(cmd), code, err.decode().strip()))
    return wall, usage.ru_maxrss * 1024, b''.join(chunks)


def mib(n):
    return '%.0f MiB' % (n / 2**20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--python', default=default_python())
    ap.add_argument('--records', type=int, default=1000000)
    ap.add_argument('--binary', default=os.path.join(REPO, 'pyheapscope'))
    ap.add_argument('--keep', help='keep the dumps in this directory')
    ap.add_argument('--out', default=os.path.join(HERE, 'results-offline.md'))
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix='phs-offline-')
    os.makedirs(work, exist_ok=True)
    target = subprocess.Popen([a.python, os.path.join(HERE, 'bench_target.py'), 'json', str(a.records)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        json.loads(target.stdout.readline())
        pid = str(target.pid)
        rows = []
        wall, rss, out = run([a.binary, 'summary', '--json', pid])
        live = json.loads(out)
        objects = live['objects']
        rows.append(('summary PID (live, for comparison)', wall, rss, ''))
        gz, plain = os.path.join(work, 'heap.jsonl.gz'), os.path.join(work, 'heap.jsonl')
        wall, rss, _ = run([a.binary, 'dump', pid, '-o', gz])
        rows.append(('dump PID -o heap.jsonl.gz', wall, rss, mib(os.path.getsize(gz))))
        wall, rss, _ = run([a.binary, 'dump', pid, '-o', plain])
        rows.append(('dump PID -o heap.jsonl', wall, rss, mib(os.path.getsize(plain))))
    finally:
        target.kill()
        target.wait()
    wall, rss, out = run([a.binary, 'summary', '--json', gz])
    assert json.loads(out)['objects'] == objects
    rows.append(('summary heap.jsonl.gz', wall, rss, ''))
    wall, rss, _ = run([a.binary, 'summary', '--json', plain])
    rows.append(('summary heap.jsonl', wall, rss, ''))
    wall, rss, _ = run([a.binary, 'diff', '--json', gz, plain])
    rows.append(('diff heap.jsonl.gz heap.jsonl', wall, rss, ''))
    wall, rss, _ = run([a.binary, 'retained', '--json', plain])
    rows.append(('retained heap.jsonl', wall, rss, ''))
    wall, rss, _ = run([a.binary, 'paths', '--json', plain, '--kind', 'dict'])
    rows.append(('paths heap.jsonl --kind dict', wall, rss, ''))
    lines = ['# Offline analyses at scale (bench/offline_bench.py)', '',
             '%s, %d JSON records: %s objects, %s of objects (sys.getsizeof)' %
             (a.python, a.records, format(objects, ','), mib(live['bytes'])), '',
             '| command | wall | peak RSS | RSS per object | file |', '|---|---|---|---|---|']
    for name, wall, rss, size in rows:
        lines.append('| %s | %.1f s | %s | %.0f B | %s |' % (name, wall, mib(rss), rss / objects, size))
    text = '\n'.join(lines) + '\n'
    print(text)
    with open(a.out, 'w') as f:
        f.write(text)
    if not a.keep:
        shutil.rmtree(work)


if __name__ == '__main__':
    main()
