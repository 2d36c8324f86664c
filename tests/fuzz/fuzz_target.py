"""The heap recorded for the fuzzer's seed corpus (tests/fuzz/make-corpus.sh).

Small on purpose (a recording keeps every page the walk touches, and the
fuzzer mutates all of it), but with one or a few of every layout the walker
decodes: dicts combined and split, managed instance dicts, __slots__, every
str kind, big ints, sets after deletions, deque blocks, a generator and a
coroutine suspended, closures, weakrefs, cycles, a second thread whose
frame holds locals, C types with decoders of their own (Struct,
SimpleQueue, BytesIO, ctypes' type descriptions; xml.etree and decimal
would add thousands of objects of their imports). Run with -S -I; prints
"ready" when it is.
"""
import array
import _queue
import collections
import ctypes
import io
import struct
import sys
import threading
import time
import weakref


class Plain:
    def __init__(self, i):
        self.i = i
        self.name = "p%d" % i


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a
        self.b = [a]


class Node:
    pass


def gen():
    x = [1, 2, 3]
    yield x
    yield 2


async def coro():
    return 1


def closure(v):
    def inner():
        return v
    return inner


def hold(ready, done):
    buf = {"held": "by a frame", "n": 12345678901234567890}
    ready.set()
    done.wait()
    return buf


keep = {
    "records": [{"id": i, "name": "n%d" % i, "score": i * 0.5, "tags": ["a", "b"]} for i in range(20)],
    "plain": [Plain(i) for i in range(10)],
    "slotted": [Slotted(i) for i in range(5)],
    "strs": ["ascii", "l\xe4tin-1", "\u0394 ucs2", "\U0001f600 ucs4", "x" * 3000],
    "bytes": [b"abc", bytearray(b"x" * 100), memoryview(b"view")],
    "ints": [2 ** 100, -(2 ** 70), 7, -5],
    "floats": [1.5, complex(1, 2)],
    "tuples": [(1, "a", None), (), ((1, 2), (3,))],
    "sets": [set(range(50)), frozenset("abc")],
    "deque": collections.deque(range(200)),
    "odict": collections.OrderedDict(a=1, b=2),
    "ddict": collections.defaultdict(list, {"k": [1]}),
    "array": array.array("i", range(10)),
    "range": range(5),
    "slice": slice(1, 10, 2),
    "gen": gen(),
    "closure": closure("captured"),
    "method": Plain(99).__init__,
}
q = _queue.SimpleQueue()
for i in range(40):
    q.put("queued %d" % i)
for i in range(10):
    q.get()                           # the ring buffer's start moves (3.13+)
stream = io.BytesIO(b"initial")
stream.write(b"written" * 10)
keep.update({"struct": struct.Struct("<2Ih3s"), "queue": q, "bytesio": stream})


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]


keep["ctypes"] = [Pair, Pair * 3, (ctypes.c_uint8 * 2) * 2, ctypes.POINTER(Pair),
                  ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_double)]
next(keep["gen"])
c = coro()
keep["coro"] = c
s = keep["sets"][0]
for i in range(40):
    s.discard(i)                      # a table with dummies
big = {i: str(i) for i in range(100)}
for i in range(90):
    del big[i]                        # a dict with deleted entries
keep["big"] = big
a, b = Node(), Node()
a.peer, b.peer = b, a                 # a cycle
keep["cycle"] = a
keep["weak"] = weakref.ref(a)

ready, done = threading.Event(), threading.Event()
t = threading.Thread(target=hold, args=(ready, done), daemon=True)
t.start()
ready.wait()
print("ready", flush=True)
sys.stdout.close()
while True:
    time.sleep(1000)
