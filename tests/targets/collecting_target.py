"""A target that is often in the middle of a collection: a large young
heap collected in a loop with short rests, so a pause is likely to catch
the collector with its lists taken apart.

    python collecting_target.py FACTS_FILE
"""
import gc
import json
import os
import sys
import time


class Node:
    def __init__(self, i):
        self.i = i
        self.peer = self


def main():
    keep = [Node(i) for i in range(300000)]
    with open(sys.argv[1] + '.tmp', 'w') as f:
        json.dump({'pid': os.getpid(), 'nodes': len(keep)}, f)
    os.rename(sys.argv[1] + '.tmp', sys.argv[1])
    while True:
        t0 = time.time()
        gc.collect()
        time.sleep(max(0.005, (time.time() - t0) / 2))


if __name__ == '__main__':
    main()
