"""demo_app.py - a small Python service to point pyheapscope at.

Starts a few worker threads and keeps a growing cache of order objects, the
way a leaky web service would, then idles. Used by `make demo`.
Usage: python3 contrib/demo_app.py [READY_FILE]
"""
import os
import sys
import threading
import time


class Order:
    def __init__(self, n):
        self.id = n
        self.items = ["item-%d" % i for i in range(n % 7)]
        self.note = {"by": "demo", "n": n}


cache = {}


def worker(k):
    n = 0
    while True:
        n += 1
        cache[(k, n)] = Order(n)
        time.sleep(0.05)


# what the service has cached by the time you look
for n in range(20000):
    cache[("warm", n)] = Order(n)
for k in range(3):
    threading.Thread(target=worker, args=(k,), daemon=True).start()
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        f.write(str(os.getpid()))
while True:
    time.sleep(1)
