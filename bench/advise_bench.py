#!/usr/bin/env python3
"""advise_bench.py - what `advise` costs on the large heaps, next to `summary`.

    bench/advise_bench.py [--python PY ...] [--records N] [--runs R]

For each interpreter (default: pyenv 3.12 and 3.11), builds the workloads
of bench_target.py -- json: N records loaded with json.loads (about 11 M
objects at 1M), classes: about N class instances -- then runs, R times
each, `summary --json PID` and `advise --json PID`, and reports the median
wall time, pyheapscope's peak RSS (wait4) and what advise found. advise
walks like summary, then sweeps every object again with its references.
Then once: `dump -o FILE.gz` and `advise --json FILE.gz` (which must find
the same saving): their wall time, the dump's size and advise FILE's peak
RSS.
Prints a table and writes it to bench/results-advise.md. Read the ratios
(advise / summary, same run), not the seconds: the machine is shared.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from offline_bench import mib, run as run_rss  # noqa: E402  (wall, peak RSS, stdout of a command)


def pyenv(minor):
    hits = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.%d.*/bin/python3.%d' % (minor, minor))))
    return hits[-1] if hits else None


def bench(a, python, workload, scale):
    target = subprocess.Popen([python, os.path.join(HERE, 'bench_target.py'), workload, str(scale)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(target.stdout.readline())
        pid = str(target.pid)
        rows = {}
        for cmd in ('summary', 'advise'):
            walls, rss, out = [], 0, None
            for _ in range(a.runs):
                wall, peak, out = run_rss([a.binary, cmd, '--json', pid])
                walls.append(wall)
                rss = max(rss, peak)
            rows[cmd] = (statistics.median(walls), rss, json.loads(out))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'heap.jsonl.gz')
            wall, _, _ = run_rss([a.binary, 'dump', pid, '-o', path])
            rows['dump'] = (wall, os.path.getsize(path), None)
            wall, peak, out = run_rss([a.binary, 'advise', '--json', path])
            rows['advise FILE'] = (wall, peak, json.loads(out))
        return ready, rows
    finally:
        target.stdin.write('quit\n')
        target.stdin.close()
        target.kill()
        target.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--python', action='append', help='an interpreter (repeatable)')
    ap.add_argument('--records', type=int, default=1000000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--binary', default=os.path.join(REPO, 'pyheapscope'))
    ap.add_argument('--out', default=os.path.join(HERE, 'results-advise.md'))
    a = ap.parse_args()
    pythons = a.python or [p for p in (pyenv(12), pyenv(11)) if p]
    lines = ['# advise at scale (bench/advise_bench.py)', '',
             'Median of %d runs each; peak RSS of pyheapscope. advise / summary is measured in one run.' % a.runs,
             '', '| interpreter | workload | objects | summary | advise | advise / summary | advise peak RSS '
             '| saving found | top finding | dump (size) | advise FILE | its peak RSS |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for python in pythons:
        for workload, scale in (('json', a.records), ('classes', a.records // 5)):
            ready, rows = bench(a, python, workload, scale)
            s_wall, _, s_out = rows['summary']
            v_wall, v_rss, v_out = rows['advise']
            d_wall, d_size, _ = rows['dump']
            f_wall, f_rss, f_out = rows['advise FILE']
            top = v_out['findings'][0] if v_out['findings'] else None
            lines.append('| %s | %s | %s | %.2f s | %.2f s | %.1fx | %s | %s of %s | %s | %.1f s (%s) | %.1f s%s | %s |' % (
                '.'.join(map(str, ready['version'])), workload, format(s_out['objects'], ','), s_wall, v_wall,
                v_wall / s_wall, mib(v_rss), mib(v_out['saving']), mib(v_out['bytes']),
                '%s %s (%s)' % (top['finding'], top['type'], mib(top['saving'])) if top else '-',
                d_wall, mib(d_size), f_wall, '' if f_out['saving'] == v_out['saving'] else
                ' (saving differs: %s)' % mib(f_out['saving']), mib(f_rss)))
            print(lines[-1], flush=True)
    text = '\n'.join(lines) + '\n'
    print(text)
    with open(a.out, 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
