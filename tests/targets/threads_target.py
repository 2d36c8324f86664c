"""Target with many threads, each holding what nothing else holds.

Starts N threads (argv[2], default 200); each keeps a Held instance and a
list in its frame's locals and waits on an Event. Writes (JSON, to argv[1],
atomically) sys.version_info and N once every thread holds them, then
sleeps until killed. Each thread's stack is mapped whole (8 MiB by
default) and written only near its top.

Usage: python threads_target.py FACTS_PATH [N]
"""
import sys
import threading
import time

from facts import write_facts


class Held:
    pass


def worker(started, stop):
    held = Held()
    items = ['item %d' % i for i in range(10)]
    started.release()
    stop.wait()
    return held, items


n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
started, stop = threading.Semaphore(0), threading.Event()
threads = [threading.Thread(target=worker, args=(started, stop), daemon=True) for _ in range(n)]
for t in threads:
    t.start()
for _ in range(n):
    started.acquire()
facts = {"version_info": list(sys.version_info[:3]), "threads": n}
write_facts(sys.argv[1], facts)
while True:
    time.sleep(3600)
