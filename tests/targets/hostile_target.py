"""A target whose heap holds objects corrupted on purpose with ctypes: wild
and misaligned pointers, absurd sizes, a dict whose keys pointer leads
nowhere, a deque whose blocks form a cycle, an object whose ob_type is not a
type, a type whose name pointer is garbage. The collector is disabled first
so the target itself never touches them again; it only sleeps.

    python hostile_target.py FACTS_FILE
"""
import collections
import ctypes
import gc
import os
import sys
import time

from facts import write_facts

WILD = 0x100000000000          # aligned, not mapped
MISALIGNED = 0x41414141


def put(addr, value):
    ctypes.c_uint64.from_address(addr).value = value


def main():
    gc.disable()
    hostile = []
    wild = 0

    items = [object(), object(), object()]          # list whose items are wild
    put(id(items) + 24, WILD)
    hostile.append(items)
    wild += 1                                       # the item array itself is unreadable

    members = [1, 2, 3]
    buf = ctypes.c_uint64.from_address(id(members) + 24).value
    put(buf, WILD)                                  # item 0: unmapped
    put(buf + 8, MISALIGNED)                        # item 1: misaligned
    hostile.append(members)
    wild += 2

    huge = [1, 2]
    put(id(huge) + 16, 1 << 40)                     # ob_size far beyond allocated
    hostile.append(huge)

    d = {1: 2, 3: 4}
    put(id(d) + 32, WILD)                           # ma_keys leads nowhere
    hostile.append(d)

    s = 'a string that lies about its length'
    put(id(s) + 16, 1 << 39)
    hostile.append(s)

    t = tuple(range(5))
    put(id(t) + 16, 1 << 30)                        # reads run off into whatever follows
    hostile.append(t)

    fake = bytearray(b'not an object of that type')
    put(id(fake) + 8, id(items))                    # ob_type points at a list
    hostile.append(fake)
    wild += 1

    dq = collections.deque(range(300))              # five blocks; make the first point at itself
    leftblock = ctypes.c_uint64.from_address(id(dq) + 24).value
    put(leftblock + 520, leftblock)
    hostile.append(dq)

    st = {1, 2, 3}
    put(id(st) + 32, (1 << 30) - 1)                 # mask far beyond the table
    hostile.append(st)

    class Broken:
        pass
    b = Broken()
    put(id(Broken) + 24, 0x10)                      # tp_name unreadable
    hostile.append(b)
    wild += 1

    write_facts(sys.argv[1], {'pid': os.getpid(), 'wild_pointers': wild})
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
