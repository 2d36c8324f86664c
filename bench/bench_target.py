"""bench_target.py - a heap to measure, and the in-process tools to compare
with, run inside it on request.

    python bench_target.py WORKLOAD SCALE

Builds WORKLOAD (json: SCALE records loaded with json.loads, shaped as in the
accuracy tests; classes: the accuracy tests' class instances, about 5*SCALE
of them), collects, prints one JSON line {"ready": ...} and then answers one
command per line on stdin with one JSON line on stdout:

    rss        the process's resident memory now
    inproc     the walk pympler-style tools do: gc.get_objects() then
               gc.get_referents() transitively, sys.getsizeof of each
    objgraph   objgraph.typestats() (Debian's python3-objgraph)
    quit

For each tool: seconds, objects it saw, and the memory it added to this
process at its peak (VmHWM after resetting it, minus VmRSS before).
"""
import gc
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'targets'))
import heap_target  # noqa: E402  (the accuracy tests' workloads)


def status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def measured(fn):
    """Run fn(); return its seconds, its result and the memory it added."""
    gc.collect()
    rss_before = status_kib('VmRSS')
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')          # reset VmHWM to the current RSS
    except OSError:
        pass
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    added = max(0, status_kib('VmHWM') - rss_before) * 1024
    return seconds, result, added


def inproc_walk():
    seen = set()
    todo = gc.get_objects()
    seen.add(id(seen))        # the walk's own set is on the collector's list: not the heap
    count = size = 0
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        count += 1
        size += sys.getsizeof(o)
        todo.extend(gc.get_referents(o))
    return count


def objgraph_typestats():
    try:
        import objgraph
    except ImportError:
        sys.path.append('/usr/lib/python3/dist-packages')
        try:
            import objgraph
        except ImportError:
            return None
    return sum(objgraph.typestats().values())


def main():
    workload, scale = sys.argv[1], int(sys.argv[2])
    build = {'json': heap_target.workload_json, 'classes': heap_target.workload_classes}[workload]
    data = build(scale)
    gc.collect()
    print(json.dumps({'ready': True, 'pid': os.getpid(), 'version': list(sys.version_info[:3]),
                      'rss': status_kib('VmRSS') * 1024}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'rss':
            out = {'rss': status_kib('VmRSS') * 1024}
        elif cmd in ('inproc', 'objgraph'):
            seconds, objects, added = measured(inproc_walk if cmd == 'inproc' else objgraph_typestats)
            out = {'seconds': seconds, 'objects': objects, 'added': added}
        elif cmd == 'quit':
            break
        else:
            out = {'error': 'unknown command ' + cmd}
        print(json.dumps(out), flush=True)
    del data


if __name__ == '__main__':
    main()
