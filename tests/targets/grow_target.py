"""A target that adds instances of one class at a steady, known rate (a
leaking cache), for `top`: python grow_target.py FACTS_FILE [RATE] [LIFETIME]

RATE instances of __main__.Leak per second (default 500), each holding a
str; after LIFETIME seconds (default: forever) the target exits.
"""
import os
import sys
import time

from facts import write_facts


class Leak:
    def __init__(self, i):
        self.i = i
        self.payload = 'payload-%d' % i


def main():
    facts_path = sys.argv[1]
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    keep = []
    write_facts(facts_path, {'pid': os.getpid(), 'rate': rate})
    start = time.time()
    n = 0
    while not lifetime or time.time() - start < lifetime:
        due = int((time.time() - start) * rate)
        while n < due:
            keep.append(Leak(n))
            n += 1
        time.sleep(0.01)


if __name__ == '__main__':
    main()
