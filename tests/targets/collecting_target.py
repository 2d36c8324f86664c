"""A target that is often in the middle of a collection: a large young
heap collected in a loop with short rests, so a pause is likely to catch
the collector with its lists taken apart.

    python collecting_target.py FACTS_FILE
"""
import gc
import os
import sys
import time

from facts import write_facts


class Node:
    def __init__(self, i):
        self.i = i
        self.peer = self


def main():
    keep = [Node(i) for i in range(300000)]
    write_facts(sys.argv[1], {'pid': os.getpid(), 'nodes': len(keep)})
    while True:
        t0 = time.time()
        gc.collect()
        time.sleep(max(0.005, (time.time() - t0) / 2))


if __name__ == '__main__':
    main()
