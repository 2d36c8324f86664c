#!/usr/bin/env python3
"""bench.py - what `pyheapscope summary` costs, side by side with what a
user would otherwise run inside the process, on the same heap in one run.

For each interpreter found (pyenv 3.12, pyenv 3.11, Debian's python3.11 by
default) and each workload (1M JSON records loaded with json.loads, about
10M objects; about 1M class instances), bench/bench_target.py builds the
heap and waits. Then, in this order:
  1. `pyheapscope summary --json` RUNS times: wall time, target pause, copy,
     walk, bytes copied, peak RSS of pyheapscope, objects per second; the
     target's anonymous memory before and after (pyheapscope adds nothing);
  2. the in-process walk (gc.get_objects + transitive gc.get_referents +
     sys.getsizeof) and objgraph.typestats() inside the target: time,
     objects seen, memory they added to the target.
The cache of offset tables read from DWARF starts empty (a directory of
the bench's own): each interpreter's first summary reads its DWARF, the
later ones take the table from the cache, as a user's later runs would.
Also: one `top` refresh on a 1M-object heap (100k records), and where the
time of one summary goes (perf, if installed).

Prints a table with the ratios and writes it to bench/results.md.
Ratios are meaningful within one run; absolute figures move with the load
of a shared machine.

    bench/bench.py [--quick] [--runs R] [--python PATH ...] [--out FILE]
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MIB = 2 ** 20
GIB = 2 ** 30


def default_pythons():
    found = []
    for minor in ('3.12', '3.11'):
        hits = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/%s.*/bin/python%s' % (minor, minor))))
        if hits:
            found.append(('pyenv ' + os.path.basename(os.path.dirname(os.path.dirname(hits[-1]))), hits[-1]))
        else:
            print('bench: no pyenv %s, skipped' % minor, file=sys.stderr)
    if os.path.exists('/usr/bin/python3.11'):
        found.append(('Debian 3.11', '/usr/bin/python3.11'))
    else:
        print('bench: no /usr/bin/python3.11, skipped', file=sys.stderr)
    return found


class Target:
    """A bench_target.py process, driven over its stdin/stdout."""

    def __init__(self, python, workload, scale):
        self.proc = subprocess.Popen([python, os.path.join(HERE, 'bench_target.py'), workload, str(scale)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = json.loads(self.proc.stdout.readline())
        self.pid = self.proc.pid

    def ask(self, cmd):
        self.proc.stdin.write(cmd + '\n')
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        try:
            self.ask('quit')
        except (BrokenPipeError, ValueError):
            pass
        self.proc.kill()
        self.proc.wait()


def process_rss(pid):
    """Anonymous resident memory: what a tool would add. (Reading a page of a
    file's private mapping that the target never touched maps the file's
    page into it, which VmRSS counts as RssFile: page cache, not memory
    added; pyheapscope's reads do that to a few dozen pages.)"""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('RssAnon:'):
                return int(line.split()[1]) * 1024
    return 0


def summary_runs(binary, pid, runs):
    results = []
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.Popen([binary, 'summary', '--json', str(pid)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        out = p.stdout.read()
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)     # wait4: the child's own peak RSS
        wall = time.monotonic() - t0
        code = os.waitstatus_to_exitcode(status)
        p.returncode = code
        if code != 0:
            sys.exit('bench: summary failed (%d): %s' % (code, err.strip()))
        j = json.loads(out)
        results.append({'wall': wall, 'rss': usage.ru_maxrss * 1024, 'objects': j['objects'],
                        'bytes': j['bytes'], **j['snapshot']})
    return results


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def bench_heap(a, label, python, workload, scale):
    print('bench: %s, %s x %d ...' % (label, workload, scale), file=sys.stderr, flush=True)
    t = Target(python, workload, scale)
    try:
        # read from outside: the target waits on its stdin meanwhile and runs nothing
        rss_before = process_rss(t.pid)
        runs = summary_runs(a.binary, t.pid, a.runs)
        rss_after = process_rss(t.pid)
        inproc = t.ask('inproc')
        objgraph = t.ask('objgraph')
    finally:
        t.close()
    return {'python': label, 'version': '.'.join(map(str, t.ready['version'])), 'workload': workload,
            'scale': scale, 'runs': runs, 'target_rss': rss_before, 'added_by_us': rss_after - rss_before,
            'inproc': inproc, 'objgraph': objgraph}


def top_refresh(a, python, records):
    """Median cost of one `top` refresh (refreshes 2-4, buffers reused)."""
    t = Target(python, 'json', records)
    try:
        out = subprocess.run([a.binary, 'top', '--json', '--iterations', '4', '--interval', '2', '--top', '1',
                              str(t.pid)], capture_output=True, text=True, check=True).stdout
    finally:
        t.close()
    frames = [json.loads(line) for line in out.splitlines()]
    return (records, frames[-1]['objects'],
            statistics.median(f['snapshot']['total_ns'] for f in frames[1:]) / 1e9)


# perf symbols -> where the time goes (matched on "dso symbol", first match wins)
CATEGORIES = [
    ('page faults (the kernel clearing our fresh pages)',
     r'clear_page|do_anonymous_page|handle_mm_fault|get_user_pages|exc_page_fault|do_huge_pmd|clear_huge|'
     r'alloc_pages|rmqueue|lruvec|folio_add|pte_offset|mas_walk|do_wp_page|zap_|lru_|folio_zero'),
    ('copy (process_vm_readv)', r'copy_to_iter|copy_user|process_vm|follow_page|gup_|pin_user|iov_iter|'
                                r'_raw_spin_unlock_irqrestore|vm_normal_page|workingset_|try_grab|mark_accessed'),
    ('freeing at exit', r'unmap_page_range|free_pages|release_pages|tlb_|free_unref|exit_mmap'),
    ('attach (ELF symbols, DWARF offsets)', r'libdw|libelf|dwarf|offsets_from|index_table|elf_|gelf_|'
                                            r'count_symbols|scan_sections'),
    ('naming types (registry)', r'types_get|types_find|str_utf8|dict_get_str|heap_type_name|register_heap|'
                                r'collect_members'),
    # decode_leaf sizes the objects that hold no references (str, int, float, bytes...)
    ('sizing (str, int, dict sizes)', r'str_size|int_size|dict_shape|header_bytes|generic_size|values_array|'
                                      r'decode_leaf|settle_leaf'),
    ('walk: marks, headers, references', r'pyheapscope .*(admit|walker_|heap_walk|drain|settle|ref_|dict_refs|'
                                         r'decode_object|instance_dict|queue|object_type|push|seed|walk_gc_list|'
                                         r'tally|prefetch|addr_map|code_refs|type_refs|frame_refs|gen_refs|'
                                         r'conservative_scan|snapshot_ptr|index_get|work|gather|open_window|rd)|'
                                         r'memmove|memcpy'),
]


def breakdown(a, python, records):
    """perf-sampled shares of one summary's time, by category: the second
    of two run back to back, so that it gets its fresh pages quickly (the
    first of a new heap meets pages the host took back, and its fault-in
    hides everything else)."""
    if subprocess.run(['sh', '-c', 'command -v perf'], capture_output=True).returncode != 0:
        return None
    t = Target(python, 'json', records)
    data = '/tmp/pyheapscope-bench-perf.data'
    try:
        subprocess.run([a.binary, 'summary', str(t.pid)], capture_output=True)
        r = subprocess.run(['perf', 'record', '-q', '-o', data, a.binary, 'summary', str(t.pid)],
                           capture_output=True, text=True)
    finally:
        t.close()
    if r.returncode != 0:
        return None
    rep = subprocess.run(['perf', 'report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio'],
                         capture_output=True, text=True).stdout
    os.unlink(data)
    shares = {name: 0.0 for name, _ in CATEGORIES}
    shares['other'] = 0.0
    for line in rep.splitlines():
        m = re.match(r'\s*([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(\S+)', line)
        if not m:
            continue
        pct, sym = float(m.group(1)), m.group(2) + ' ' + m.group(3)
        for name, pat in CATEGORIES:
            if re.search(pat, sym):
                shares[name] += pct
                break
        else:
            shares['other'] += pct
    return shares


def fmt_table(results, top, shares, limits_copy):
    lines = []
    w = lines.append
    w('# pyheapscope bench (%s)' % time.strftime('%Y-%m-%d %H:%M'))
    w('')
    w('Machine: %d cores, %s. Medians of %d summary runs per heap; ratios are within one run.' %
      (os.cpu_count(), open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].split('\n')[0].strip()
       if 'model name' in open('/proc/cpuinfo').read() else '?', len(results[0]['runs']) if results else 0))
    w('')
    w('| Python | heap | objects | copied | summary wall | pause | pause/GiB | copy | walk | objects/s '
      '| peak RSS / copied | anon memory added to target | each run: wall / fault-in left after attaching |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in results:
        runs = r['runs']
        copied = med(runs, 'bytes_copied')
        each = ' '.join('%.2f / %.2f' % (x['wall'], x['prepare_ns'] / 1e9) for x in runs)
        w('| %s | %s | %.2f M | %.0f MiB | %.2f s | %.3f s | %.3f s | %.3f s | %.2f s | %.1f M | %.2fx | %d B | %s |' % (
            r['python'], '%s %d' % (r['workload'], r['scale']), med(runs, 'objects') / 1e6, copied / MIB,
            med(runs, 'wall'), med(runs, 'pause_ns') / 1e9, med(runs, 'pause_ns') / 1e9 / (copied / GIB),
            med(runs, 'copy_ns') / 1e9, med(runs, 'walk_ns') / 1e9, med(runs, 'objects') / (med(runs, 'walk_ns') / 1e9) / 1e6,
            med(runs, 'rss') / copied, r['added_by_us'], each))
    w('')
    w('A run whose fault-in is long met fresh pages the host had taken back: this VM reports freed memory '
      'to the host (virtio balloon free page reporting, 2 s after it is freed), and faulting it in again '
      'then runs at 0.5-1 GB/s instead of 10 or more.')
    w('')
    w('In-process alternatives, run inside the same target after pyheapscope:')
    w('')
    w('| Python | heap | tool | time | objects seen | memory added to target | pyheapscope faster by |')
    w('|---|---|---|---|---|---|---|')
    for r in results:
        wall = med(r['runs'], 'wall')
        for tool, res in (('gc walk (get_objects + referents + getsizeof)', r['inproc']),
                          ('objgraph.typestats()', r['objgraph'])):
            if res.get('objects') is None:
                w('| %s | %s %d | %s | not installed | | | |' % (r['python'], r['workload'], r['scale'], tool))
                continue
            w('| %s | %s %d | %s | %.2f s | %.2f M | %.0f MiB | %.1fx |' % (
                r['python'], r['workload'], r['scale'], tool, res['seconds'], res['objects'] / 1e6,
                res['added'] / MIB, res['seconds'] / wall))
    w('')
    if top:
        w('`top`: one refresh of a %.2f M-object heap (%d JSON records) costs %.3f s: %.0f %% of the default '
          '2 s interval (median of refreshes 2-4, which reuse the buffers).' % (top[1] / 1e6, top[0], top[2],
                                                                                50 * top[2]))
        w('')
    if shares:
        w('Where one summary of the largest JSON heap spends its time (perf samples; the second of two '
          'run back to back):')
        w('')
        w('| part | share |')
        w('|---|---|')
        for name, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
            w('| %s | %.1f %% |' % (name, pct))
        w('')
    if results:
        r = results[0]
        runs = r['runs']
        copied = med(runs, 'bytes_copied')
        w('Copy limit (shared/design/limits.md: 7.5-8.3 GB/s into a faulted buffer): %.0f MiB would take %.2f s; '
          'this run copied at %.2f GB/s; the rest of the wall time is faulting the buffer in (%.2f s), the walk '
          '(%.2f s) and start-up.' % (copied / MIB, copied / limits_copy, copied / 1e9 / (med(runs, 'copy_ns') / 1e9),
                                      max(0.0, med(runs, 'total_ns') / 1e9 - med(runs, 'copy_ns') / 1e9
                                          - med(runs, 'walk_ns') / 1e9), med(runs, 'walk_ns') / 1e9))
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--python', action='append', help='an interpreter to bench (repeatable)')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--quick', action='store_true', help='10x smaller heaps, one interpreter')
    ap.add_argument('--binary', default=os.path.join(REPO, 'pyheapscope'))
    ap.add_argument('--out', default=os.path.join(HERE, 'results.md'))
    a = ap.parse_args()
    pythons = [(os.path.basename(p), p) for p in a.python] if a.python else default_pythons()
    if a.quick:
        pythons = pythons[:1]
    div = 10 if a.quick else 1
    results = []
    cache = tempfile.mkdtemp(prefix='pyheapscope-bench-cache-')
    os.environ['PYHEAPSCOPE_CACHE_DIR'] = cache
    try:
        for label, py in pythons:
            results.append(bench_heap(a, label, py, 'json', 1000000 // div))
            results.append(bench_heap(a, label, py, 'classes', 200000 // div))
        top = top_refresh(a, pythons[0][1], 100000 // div) if pythons else None
        shares = breakdown(a, pythons[0][1], 1000000 // div) if pythons else None
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    text = fmt_table(results, top, shares, 7.5e9)
    sys.stdout.write(text)
    with open(a.out, 'w') as f:
        f.write(text)
    print('bench: written to %s' % a.out, file=sys.stderr)


if __name__ == '__main__':
    main()
