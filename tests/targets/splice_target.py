"""A target that tracks and untracks GC objects as fast as it can, so that a
pause often stops it between the two stores of a GC list splice (one link
already moved, its partner not yet).

    python splice_target.py FACTS_FILE [THREADS]
"""
import os
import sys
import threading

from facts import write_facts


def spin():
    while True:
        a = []
        b = {}
        a = None
        b = None


def main():
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 0):
        threading.Thread(target=spin, daemon=True).start()
    write_facts(sys.argv[1], {'pid': os.getpid()})
    spin()


if __name__ == '__main__':
    main()
