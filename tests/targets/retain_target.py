"""A target of known structure for `paths` and `retained` (issue 5):

- module app (in sys.modules): app.cache = {'orders': [app.Leaky(i), ...]},
  each instance holding values of its own (a str, a big int, a float, a
  list of two strs, a dict with a key of its own);
- app.ring: a reference cycle of two app.Node, a.peer = b, b.peer = a;
- app.jobs: a queue.SimpleQueue of 20 strs only it holds, 5 of them taken
  (from 3.13 a ring buffer whose start has moved; a list before);
- a garbage cycle of two app.Orphan nothing refers to (the collector is
  disabled, so it stays);
- a thread running hold(), whose local variable `buf` is the only reference
  to an app.Secret.

    python retain_target.py FACTS_FILE [COUNT]

FACTS_FILE gets the ids of these objects, the holder thread's ident, and
cache_retained: the bytes (sys.getsizeof) of the cache and everything only
the cache keeps alive, computed here from reference counts.
"""
import gc
import os
import sys
import threading
import time
import types

from facts import write_facts

gc.disable()

app = types.ModuleType('app')
sys.modules['app'] = app
exec('''
class Leaky:
    def __init__(self, i):
        self.i = 10 ** 30 + i
        self.payload = 'leaky-%d' % i
        self.price = i * 1.5
        self.lines = ['line-%d-a' % i, 'line-%d-b' % i]
        self.tags = {'tag-%d' % i: i * 2.5}

class Node:
    pass

class Orphan:
    pass

class Secret:
    def __init__(self, text):
        self.text = text
''', app.__dict__)

facts = {}


def refcount(objs, i):
    return sys.getrefcount(objs[i])


def baseline():
    """What refcount() says for an object held by nothing but the map."""
    objs = {0: object()}
    return refcount(objs, 0)


# Instance __dict__s of 3.7-3.10 share their keys with the class (a split
# table): the keys object holds the key strings, the dicts do not.
SPLIT_DICTS = set()


def referents(o):
    """Every object o holds a reference to. gc.get_referents leaves out the
    str keys of a dict (they cannot form a cycle): a dict's are taken
    whole, except the shared keys of a split instance dict."""
    if type(o) is dict:
        return (list(o.keys()) if id(o) not in SPLIT_DICTS else []) + list(o.values())
    if sys.version_info < (3, 11) and type(o).__module__ == 'app' and hasattr(o, '__dict__'):
        SPLIT_DICTS.add(id(o.__dict__))
    return gc.get_referents(o)


def closure(root):
    objs = {id(root): root}
    todo = [root]
    while todo:
        for r in referents(todo.pop()):
            if not isinstance(r, (type, types.ModuleType)) and id(r) not in objs:
                objs[id(r)] = r
                todo.append(r)
    return objs


def inner_counts(objs, alive):
    counts = dict.fromkeys(alive, 0)
    for i in alive:
        for r in referents(objs[i]):
            if id(r) in counts:
                counts[id(r)] += 1
    return counts


def retained_by(root):
    """Sum of sys.getsizeof over root and everything only root keeps
    alive: the closure of its referents, less every object with more
    references than the closure itself holds, until none is left."""
    objs = closure(root)
    base = baseline()
    alive = set(objs)
    while True:
        counts = inner_counts(objs, alive)
        drop = [i for i in alive if i != id(root) and refcount(objs, i) - base > counts[i]]
        if not drop:
            break
        alive.difference_update(drop)
    return sum(sys.getsizeof(objs[i]) for i in alive), len(alive)


def hold(ready):
    buf = app.Secret('held only by a local variable')
    facts['secret_id'] = id(buf)
    facts['holder_thread'] = threading.get_ident()
    ready.set()
    while True:
        time.sleep(1)


def build(count):
    exec('cache = {"orders": [Leaky(i) for i in range(%d)]}' % count, app.__dict__)
    exec('ring = Node(); ring.peer = Node(); ring.peer.peer = ring', app.__dict__)
    exec('o = Orphan(); o.peer = Orphan(); o.peer.peer = o; '
         'orphan_ids = [id(o), id(o.peer)]; del o', app.__dict__)
    facts['orphan_ids'] = app.__dict__.pop('orphan_ids')
    exec('import _queue; jobs = _queue.SimpleQueue()', app.__dict__)
    jobs = ['job %d' % i for i in range(20)]
    facts['job_ids'] = [id(j) for j in jobs]
    for j in jobs:
        app.jobs.put(j)
    del jobs, j
    for _ in range(5):
        app.jobs.get()
    orders = app.cache['orders']
    facts.update({
        'pid': os.getpid(),
        'count': count,
        'cache_id': id(app.cache),
        'orders_id': id(orders),
        'leaky_ids': [id(o) for o in orders[:20]],
        'ring_ids': [id(app.ring), id(app.ring.peer)],
        'version': list(sys.version_info[:3]),
    })
    del orders


def main():
    path = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    build(count)
    ready = threading.Event()
    threading.Thread(target=hold, args=(ready,), daemon=True).start()
    ready.wait()
    facts['cache_retained'], facts['cache_retained_objects'] = retained_by(app.cache)
    write_facts(path, facts)
    while True:
        time.sleep(0.5)


main()
