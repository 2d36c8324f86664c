"""A target that checks its own data: builds dicts, lists, strs, bytes and
instances, records a SHA-256 of their pickled form, and on each SIGUSR1
computes it again and writes both, with a count of the checks done, to
FACTS_FILE.N (N = 1, 2, ...). A worker thread keeps a counter moving, so a
test can see the target run. For the read-only tests (issue 7): whatever
pyheapscope does to look, the data must not change.

    python checksum_target.py FACTS_FILE
"""
import hashlib
import os
import pickle
import signal
import sys
import threading
import time

from facts import write_facts


class Item:
    def __init__(self, i):
        self.i = i
        self.name = 'item-%d' % i
        self.tags = ['t%d' % (i % 7), 't%d' % (i % 11)]


data = {
    'items': [Item(i) for i in range(5000)],
    'table': {'k%d' % i: [i, i * 1.5, b'b%d' % i] for i in range(5000)},
    'text': ''.join(chr(32 + i % 90) for i in range(100000)),
}
ticks = [0]


def digest():
    return hashlib.sha256(pickle.dumps(data, protocol=4)).hexdigest()


def tick():
    while True:
        ticks[0] += 1
        time.sleep(0.001)



def main():
    path = sys.argv[1]
    first = digest()
    threading.Thread(target=tick, daemon=True).start()
    wanted = []
    signal.signal(signal.SIGUSR1, lambda *_: wanted.append(1))
    write_facts(path, {'pid': os.getpid(), 'digest': first})
    checks = 0
    while True:
        time.sleep(0.02)
        while wanted:
            wanted.pop()
            checks += 1
            write_facts('%s.%d' % (path, checks), {'digest': first, 'now': digest(), 'ticks': ticks[0]})


main()
