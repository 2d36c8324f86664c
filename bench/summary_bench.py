#!/usr/bin/env python3
"""summary_bench.py - what one `pyheapscope summary` (and one `top`
refresh) costs, against what the same histogram costs inside the target.

Starts tests/targets/heap_target.py with the JSON-records workload (which
also times its own in-process walk: gc.get_objects + referents +
sys.getsizeof), runs `pyheapscope summary --json` RUNS times on it and prints
medians: wall time, target pause, copy, walk, bytes copied, objects per
second, and the ratio to the in-process walk measured in the same run.

    bench/summary_bench.py [--python PY] [--records N] [--runs R]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--python', default=os.path.expanduser('~/.pyenv/versions/3.12.1/bin/python3.12'))
    ap.add_argument('--records', type=int, default=200000)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--binary', default=os.path.join(REPO, 'pyheapscope'))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        facts_path = os.path.join(d, 'facts.json')
        target = subprocess.Popen([a.python, os.path.join(REPO, 'tests', 'targets', 'heap_target.py'),
                                   facts_path, 'json', str(a.records)])
        try:
            while not os.path.exists(facts_path):
                if target.poll() is not None:
                    sys.exit('target exited')
                time.sleep(0.1)
            facts = json.load(open(facts_path))
            # top: refreshes after the first reuse the snapshot buffer
            interval = 2.0
            topout = subprocess.run([a.binary, 'top', '--json', '--iterations', '4', '--interval', str(interval),
                                     '--top', '1', str(target.pid)], capture_output=True, text=True, check=True)
            frames = [json.loads(line) for line in topout.stdout.splitlines()]
            runs = []
            for _ in range(a.runs):
                t0 = time.monotonic()
                out = subprocess.run([a.binary, 'summary', '--json', str(target.pid)], capture_output=True,
                                     text=True, check=True)
                wall = time.monotonic() - t0
                j = json.loads(out.stdout)
                runs.append((wall, j))
        finally:
            target.kill()
            target.wait()
    med = lambda xs: statistics.median(xs)
    wall = med([r[0] for r in runs])
    snap = lambda k: med([r[1]['snapshot'][k] for r in runs]) / 1e9
    objects = runs[-1][1]['objects']
    copied = runs[-1][1]['snapshot']['bytes_copied']
    inproc = facts['ground_truth_seconds']
    print('pyheapscope summary, %d JSON records on Python %s, median of %d runs' %
          (a.records, '.'.join(map(str, facts['version'])), a.runs))
    print('  objects             %12d   (the target counted %d)' % (objects, facts['objects']))
    print('  bytes (getsizeof)   %12d' % runs[-1][1]['bytes'])
    print('  bytes copied        %12d   (%.1f MiB)' % (copied, copied / 2**20))
    print('  wall, whole command %12.3f s' % wall)
    print('  target paused       %12.3f s   (%.3f s per GiB copied)' % (snap('pause_ns'), snap('pause_ns') / (copied / 2**30)))
    print('  copy                %12.3f s   (%.2f GB/s)' % (snap('copy_ns'), copied / 1e9 / snap('copy_ns')))
    print('  walk                %12.3f s   (%.1f M objects/s)' % (snap('walk_ns'), objects / snap('walk_ns') / 1e6))
    print('  in-process walk     %12.3f s   (gc.get_objects + referents + getsizeof, in the target)' % inproc)
    print('  ratio in-process / pyheapscope wall: %.1fx' % (inproc / wall))
    refresh = med([f['snapshot']['total_ns'] for f in frames[1:]]) / 1e9
    print('  top: one refresh    %12.3f s   (median of refreshes 2-4: %.0f %% of the %.0f s interval; first %.3f s)' %
          (refresh, 100 * refresh / interval, interval, frames[0]['snapshot']['total_ns'] / 1e9))


if __name__ == '__main__':
    main()
