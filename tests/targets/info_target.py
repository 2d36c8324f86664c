"""Target for the `info` tests: a process whose facts pyheapscope must find.

Builds: N worker threads blocked on an Event, then a full collection with the
collector disabled, so the generations stay put while pyheapscope reads them.
Writes (JSON, to the path in argv[1], atomically): sys.version_info,
sys.hexversion, sys.executable, the thread ids (threading.get_ident) and native
ids (get_native_id, 3.8+), gc.get_count(), gc.get_threshold(), and the length
of each generation (gc.get_objects(generation=g), 3.8+). Then sleeps until
killed. Runs on CPython 3.7 and later with no third-party module.

Usage: python info_target.py FACTS_PATH [NTHREADS]
"""
import gc
import json
import os
import sys
import threading
import time

facts_path = sys.argv[1]
nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 3

stop = threading.Event()
ready = []
lock = threading.Lock()


def worker():
    with lock:
        ready.append((threading.get_ident(),
                      threading.get_native_id() if hasattr(threading, "get_native_id") else None))
    stop.wait()


threads = [threading.Thread(target=worker, daemon=True) for _ in range(nthreads)]
for t in threads:
    t.start()
while len(ready) < nthreads:
    time.sleep(0.01)

main_id = (threading.get_ident(),
           threading.get_native_id() if hasattr(threading, "get_native_id") else None)
gc.collect()
gc.disable()
generations = None
if sys.version_info >= (3, 8):
    generations = [len(gc.get_objects(generation=g)) for g in range(3)]
facts = {
    "version_info": list(sys.version_info[:3]),
    "hexversion": sys.hexversion,
    "executable": os.path.realpath(sys.executable),
    "threads": [list(main_id)] + [list(r) for r in ready],
    "gc_count": list(gc.get_count()),
    "gc_threshold": list(gc.get_threshold()),
    "gc_generations": generations,
    "gc_objects": len(gc.get_objects()),
    "freeze_count": gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0,
}
tmp = facts_path + ".tmp"
with open(tmp, "w") as f:
    json.dump(facts, f)
os.rename(tmp, facts_path)
while True:
    time.sleep(3600)
