"""A target that builds a workload, computes its own heap histogram, writes it
down and sleeps: the ground truth for `pyheapscope summary`.

    python heap_target.py FACTS_FILE WORKLOAD [SCALE]

WORKLOAD is json (records shaped like an order feed, loaded with json.loads),
classes (plain, __slots__, dataclass and namedtuple instances nested in lists
and dicts), mix (a 10 MB str, every str kind, bytes, bytearray, sets, big
ints, floats, closures, generators, cycles, containers of collections and
array, descriptors, weakrefs, a thread whose frame holds a list and a dict)
or cext (xml.etree Elements, struct.Struct, sockets, the ssl module's state:
C types with parts outside the object).

The ground truth is every object on the collector's lists plus everything
reachable from them, each once, with sys.getsizeof. gc.get_referents is
completed where it leaves things out, as pyheapscope's walk does:
- the keys of dicts (omitted for str-keyed dicts);
- code objects' names, constants, file name, line and exception tables;
  from 3.11 the localsplus names/kinds and the lazily made caches, read with
  ctypes at offsets found and checked inside this process;
- names and bases of types, and the dicts of static types (through the
  mappingproxy's referent);
- descriptors' and ranges' fields that no traverse function visits;
- 3.12's permanent generation (the mro/bases tuples of static types);
- the frames of the running callers (3.7-3.10 leave them off the lists),
  and every other thread's frames with their locals.
An instance's __dict__ (found where CPython looks for it: tp_dictoffset, or
the managed-dict word below the object in 3.11+, read with ctypes) makes the
dict's kind "dict of KIND", as in guppy3.

The walk's own objects (its lists, sets and frame) are excluded, and it
returns before the target sleeps, so what it built is gone when pyheapscope
looks.
"""
import array
import builtins
import collections
import ctypes
import dataclasses
import enum
import gc
import json
import os
import random
import sys
import threading
import time
import weakref

MINOR = sys.version_info[1]
HEAPTYPE = 1 << 9
MANAGED_DICT = 1 << 4


def word(addr):
    return ctypes.c_uint64.from_address(addr).value


def as_object(addr):
    return ctypes.cast(addr, ctypes.py_object).value


def kind_of_type(t):
    qualname = type.__dict__['__qualname__'].__get__(t)
    module = type.__dict__['__module__'].__get__(t)
    if not isinstance(module, str) or module == 'builtins':
        return qualname
    return module + '.' + qualname


class Layout:
    """Offsets this process works out about itself, each checked on a probe."""

    def __init__(self):
        def probe(a, b=1):
            c = a + b
            return lambda: c
        code = probe.__code__
        self.co_filename = self.find_word(code, id(code.co_filename), 64)
        self.localsplus = None
        if MINOR >= 11:
            # co_localsplusnames and co_localspluskinds sit just before co_filename.
            names = as_object(word(id(code) + self.co_filename - 16))
            kinds = as_object(word(id(code) + self.co_filename - 8))
            expected = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
            assert type(names) is tuple and set(names) == expected, names
            assert type(kinds) is bytes and len(kinds) == len(names)
            self.localsplus = self.co_filename - 16
            linetable = self.find_word(code, id(code.co_linetable), 64)
            # the lazily made co_code/co_varnames caches (6.12 of the internals sheet)
            self.code_cache = linetable + {11: 16, 12: 16}.get(MINOR, 24)
        t = type('Probe', (), {'__slots__': ('zz',)})
        self.ht_name = self.find_word(t, id(t.__name__), 1200)
        assert word(id(t) + self.ht_name + 16) == id(t.__qualname__)
        slots = as_object(word(id(t) + self.ht_name + 8))
        assert slots == ('zz',), slots

    @staticmethod
    def find_word(obj, value, nwords):
        for i in range(2, nwords):
            if word(id(obj) + 8 * i) == value:
                return 8 * i
        raise AssertionError('not found')

    def code_extras(self, code):
        out = [code.co_consts, code.co_names, code.co_filename, code.co_name]
        if MINOR < 11:
            out += [code.co_code, code.co_varnames, code.co_freevars, code.co_cellvars]
            out.append(code.co_linetable if MINOR >= 10 else code.co_lnotab)
            return out
        out += [code.co_qualname, code.co_linetable, code.co_exceptiontable]
        for off in (self.localsplus, self.localsplus + 8):
            w = word(id(code) + off)
            if w:
                out.append(as_object(w))
        cache = word(id(code) + self.code_cache)
        if cache and MINOR == 11:
            out.append(as_object(cache))
        elif cache:
            out += [as_object(w) for w in (word(cache + 8 * i) for i in range(4)) if w]
        return out

    def dict_word(self, o, t):
        """The word where CPython keeps o's __dict__, or 0."""
        if MINOR >= 11 and t.__flags__ & MANAGED_DICT:
            w = word(id(o) - 24)
            return 0 if (MINOR == 12 and w & 1) else w
        off = t.__dictoffset__
        if off == 0 or (MINOR >= 12 and off == -1):
            return 0
        if off < 0:
            n = abs(ctypes.c_int64.from_address(id(o) + 16).value)
            off += (t.__basicsize__ + n * t.__itemsize__ + 7) & ~7
        return word(id(o) + off)


def ndarray_extras(a):
    """What a numpy array holds that gc.get_referents leaves out (it has no
    tp_traverse): its dtype, its base, and the items of an object array
    that owns its data (fields of object type in a structured one)."""
    out = [a.dtype]
    if a.base is not None:
        out.append(a.base)
    if a.flags.owndata and a.dtype.hasobject:
        if a.dtype.names:
            for name in a.dtype.names:
                if a.dtype.fields[name][0].hasobject:
                    out.extend(a[name].flat)
        else:
            out.extend(a.flat)
    return out


def ground_truth(layout):
    started = time.time()
    objs = gc.get_objects()
    seen = {}
    stack = []
    machinery = {id(objs), id(seen), id(stack), id(sys._getframe())}
    permanent = 0
    if MINOR == 12:
        # 3.12 keeps the mro/bases tuples of static types on the permanent list.
        listed = set(map(id, objs))
        machinery.add(id(listed))
        todo, types = [object], {}
        while todo:
            t = todo.pop()
            if id(t) not in types:
                types[id(t)] = t
                todo.extend(type.__subclasses__(t))
        for t in types.values():
            for tup in (t.__mro__, t.__bases__):
                if gc.is_tracked(tup) and id(tup) not in listed and id(tup) not in seen:
                    seen[id(tup)] = tup
                    stack.append(tup)
                    permanent += 1
        del listed, todo, types, t, tup
    for o in objs:
        if id(o) not in machinery and id(o) not in seen:
            seen[id(o)] = o
            stack.append(o)
    gc_objects = len(seen) - permanent
    if MINOR <= 10:
        # 3.7-3.10 keep a running function's frame off the collector's lists
        # until it returns: its callers' frames (the ones still running when
        # pyheapscope looks) are roots, as pyheapscope takes each thread's.
        f = sys._getframe(1)
        while f is not None:
            if id(f) not in seen:
                seen[id(f)] = f
                stack.append(f)
            f = f.f_back
        del f
    # Every other thread's frames are roots too (pyheapscope seeds the walk
    # from each thread's frames): what only their locals hold, a dict the
    # collector untracked say, is on no list. From 3.11 asking for the frames
    # makes frame objects, and a frame object of a running frame does not
    # visit its locals: they are added from f_locals (3.11/3.12 keep that
    # dict on the frame, which pyheapscope then sees; 3.13+ give a proxy, of
    # which only the values count).
    me = threading.get_ident()
    extra_roots = []
    for tid, f in sys._current_frames().items():
        while tid != me and f is not None:
            extra_roots.append(f)
            if MINOR >= 11:
                loc = f.f_locals
                if type(loc) is dict:
                    extra_roots.append(loc)
                else:
                    extra_roots.extend(loc.values())
                del loc
            f = f.f_back
    del f
    for o in extra_roots:
        if id(o) not in seen and id(o) not in machinery:
            seen[id(o)] = o
            stack.append(o)
    del extra_roots
    code_type, dict_type = type(layout.ground_truth_probe.__code__), dict
    ndarray = getattr(sys.modules.get('numpy'), 'ndarray', None)
    frozendict_type = getattr(builtins, 'frozendict', None)   # 3.15+
    descr_types = (type(str.join), type(int.real), type(type.__dict__['__basicsize__']),
                   type(dict.__dict__['fromkeys']), type(object.__init__))
    while stack:
        o = stack.pop()
        t = type(o)
        refs = gc.get_referents(o)
        if t.__flags__ & HEAPTYPE:
            refs.append(t)
        if issubclass(t, dict_type):
            refs.extend(dict_type.keys(o))
        elif t is frozendict_type:
            refs.extend(o.keys())     # omitted like a dict's, when all str
        if t is code_type:
            refs.extend(layout.code_extras(o))
        elif issubclass(t, type):
            refs.extend((o.__mro__, o.__bases__, o.__base__))
            refs.extend(gc.get_referents(o.__dict__))
            if o.__flags__ & HEAPTYPE:
                refs.append(type.__dict__['__name__'].__get__(o))
                refs.append(type.__dict__['__qualname__'].__get__(o))
                w = word(id(o) + layout.ht_name + 8)
                if w:
                    refs.append(as_object(w))
        elif t in descr_types:
            refs.append(o.__name__)
            w = word(id(o) + 32)
            if w:
                refs.append(as_object(w))
        elif t is range:
            refs.extend((o.start, o.stop, o.step, as_object(word(id(o) + 40))))
        elif t is slice:
            refs.extend((o.start, o.stop, o.step))
        if MINOR >= 13 and t.__flags__ & MANAGED_DICT:
            # the materialised __dict__ of an instance whose values are inline:
            # traverse visits the values, not the dict, which may be untracked
            w = word(id(o) - 24)
            if w:
                refs.append(as_object(w))
        if MINOR >= 10 and t is type(ground_truth):
            refs.append(o.__builtins__)
        if ndarray is not None and isinstance(o, ndarray):
            refs.extend(ndarray_extras(o))
        for r in refs:
            i = id(r)
            if i not in seen and i not in machinery:
                seen[i] = r
                stack.append(r)
    # kinds and sizes
    owner = {}
    for o in seen.values():
        t = type(o)
        w = layout.dict_word(o, t)
        if w and w in seen and type(seen[w]) is dict and w not in owner:
            owner[w] = kind_of_type(t)
    kinds = {}
    total_count = total_bytes = 0
    for i, o in seen.items():
        k = 'dict of ' + owner[i] if i in owner else kind_of_type(type(o))
        size = sys.getsizeof(o)
        row = kinds.get(k)
        if row is None:
            row = kinds[k] = [0, 0]
        row[0] += 1
        row[1] += size
        total_count += 1
        total_bytes += size
    return {'pid': os.getpid(), 'version': list(sys.version_info[:3]), 'objects': total_count,
            'ground_truth_seconds': time.time() - started,
            'bytes': total_bytes, 'gc_objects': gc_objects, 'permanent_objects': permanent,
            'kinds': {k: {'count': v[0], 'bytes': v[1]} for k, v in kinds.items()}}


# ---- workloads -------------------------------------------------------------

def workload_json(scale):
    rnd = random.Random(7)
    records = []
    for i in range(scale):
        records.append({'id': i, 'product': {'name': 'Product %d %s' % (rnd.randrange(10**6), 'x' * rnd.randrange(8)),
                                            'uid': '%032x' % rnd.getrandbits(128)},
                        'quantity': {'value': rnd.randrange(1, 20), 'id': 'mt'},
                        'dates': {'start': '2024-%02d-%02dT10:00:00' % (rnd.randrange(1, 13), rnd.randrange(1, 29)),
                                  'end': '2025-01-%02d' % rnd.randrange(1, 29)}})
    text = json.dumps(records)
    del records
    return {'records': json.loads(text)}


class Plain:
    def __init__(self, i):
        self.ident = i
        self.label = 'plain-%d' % i
        self.weight = i * 0.5


class Wide:
    pass


class Slotted:
    __slots__ = ('ident', 'label', 'tags')

    def __init__(self, i):
        self.ident = i
        self.label = 'slotted-%d' % i
        self.tags = ['a', 'b']


@dataclasses.dataclass
class Record:
    ident: int
    name: str
    price: float


Point = collections.namedtuple('Point', 'x y z')


class Node:
    def __init__(self, parent):
        self.parent = parent
        self.children = []


def workload_classes(scale):
    data = {'plain': [Plain(i) for i in range(scale)],
            'slotted': [Slotted(i) for i in range(scale)],
            'records': {i: Record(i, 'rec%d' % i, i * 1.25) for i in range(scale)},
            'points': [Point(i, i + 1, 'p%d' % i) for i in range(scale)],
            'nested': [[Plain(i), {'k': Slotted(i)}] for i in range(scale // 4)]}
    if MINOR >= 10:
        @dataclasses.dataclass(slots=True)
        class SlotRecord:
            ident: int
            name: str
        data['slot_records'] = [SlotRecord(i, 's%d' % i) for i in range(scale)]
    # a materialised __dict__ per instance for some: "dict of Plain"
    for p in data['plain'][: scale // 2]:
        vars(p)
    # a __dict__ of over 512 KiB, owned (and its twin owned by nothing):
    # the walk notes such a size apart from the small ones
    wide = Wide()
    for i in range(60000):
        setattr(wide, 'a%d' % i, i)
    data['wide'] = wide
    data['wide_plain'] = dict(vars(wide))
    root = Node(None)
    for i in range(scale // 10):
        child = Node(root)
        root.children.append(child)
    data['tree'] = root
    return data


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


class Tagged(str):
    pass


def workload_mix(scale):
    def make_closure(n):
        def inner():
            return n
        return inner

    def gen(n):
        for i in range(n):
            yield i

    async def coro():
        return 1

    class Prop:
        def __init__(self):
            self._x = 1

        @property
        def x(self):
            return self._x

        @classmethod
        def make(cls):
            return cls()

        @staticmethod
        def helper():
            return 2

        def method(self):
            return self

    def worker(n, started, stop):
        # what only this thread's frame holds: a list, and a dict of ints and
        # strs (untracked by the collector before 3.14)
        names = ['thread-local %d' % i for i in range(n)]
        by_id = {i + 1000: 'id %d' % i for i in range(n)}
        started.set()
        stop.wait()
        return names, by_id

    started = threading.Event()
    thread = threading.Thread(target=worker, args=(scale // 40, started, threading.Event()), daemon=True)
    thread.start()
    started.wait()
    g = gen(10)
    next(g)
    c = coro()
    cycles = []
    for i in range(scale // 10):
        a, b = [], {}
        a.append(b)
        b['a'] = a
        cycles.append(a)
    objs = [Prop() for _ in range(100)]
    data = {
        'big_str': 'x' * (10 * 1024 * 1024),
        'latin1': ['caf\xe9 %d' % i for i in range(scale)],
        'ucs2': ['\u0436\u0443\u043a %d' % i for i in range(scale)],
        'ucs4': ['\U0001f600 %d' % i for i in range(scale)],
        'utf8_cached': [('\u20ac%d' % i) for i in range(200)],
        'bytes': [b'b%d' % i for i in range(scale)],
        'bytearrays': [bytearray(b'x' * (i % 50)) for i in range(scale)],
        'sets': [{i, i + 1, 'k%d' % i} for i in range(scale // 10)],
        'frozensets': [frozenset((i, 'f%d' % i)) for i in range(scale // 10)],
        'big_ints': [2 ** (i % 300) * 3 + i for i in range(scale)],
        'negative': [-(10 ** 20) - i for i in range(scale // 10)],
        'floats': [i / 7 for i in range(scale)],
        'complex': [complex(i, 1) for i in range(scale // 10)],
        'closures': [make_closure(i) for i in range(scale // 10)],
        'generator': g,
        # not started: 3.12+ never set a plain generator's origin word
        'genexprs': [(x for x in range(i)) for i in range(200)],
        'coroutine': c,
        'cycles': cycles,
        'deque': collections.deque(range(scale)),
        'ordered': collections.OrderedDict(('o%d' % i, i) for i in range(scale // 10)),
        'default': collections.defaultdict(list, {('d%d' % i): [i] for i in range(scale // 10)}),
        'array': array.array('d', range(scale)),
        'memoryview': memoryview(b'abcdef' * 100),
        'ranges': [range(i, i + 10 ** 12, 3) for i in range(100)],
        'slices': [slice(i, i + 5, 2) for i in range(100)],
        'props': objs,
        'bound': [o.method for o in objs],
        'weakrefs': [weakref.ref(o) for o in objs],
        'colors': [Color.RED, Color.GREEN],
        'tagged': [Tagged('t%d' % i) for i in range(200)],
    }
    if hasattr(builtins, 'frozendict'):   # 3.15: a dict-like type of its own, not a dict subclass
        data['frozendicts'] = [builtins.frozendict({'f%d' % i: i, 'g': [i], i: 'v%d' % i})
                               for i in range(scale // 10)]
        data['frozendicts'].append(builtins.frozendict({'big%d' % i: i for i in range(5000)}))
    for s in data['utf8_cached']:
        s.encode('utf-8')   # noqa: does not cache; the C API would
    return data


def workload_cext(scale):
    """Objects of C types that keep part of themselves outside the object:
    xml.etree Elements (children and attrib dict in an extra block; the
    attrib dicts hold only strs, so before 3.14 the collector untracks them
    and only the Element leads to them), struct.Struct (format codes), the
    ssl module, whose state holds 3.12's error-code tables, sockets,
    queue.SimpleQueue (a ring buffer from 3.13), decimal.Decimal (a
    coefficient of its own past 4 words), io.BytesIO (its buffer),
    ctypes' types (their C description), itertools' combinatoric iterators
    (their index arrays) and _pickle's Pickler (memo table, output buffer)
    and Unpickler (memo and mark arrays, C strings)."""
    import decimal
    import io
    import itertools
    import pickle
    import queue
    import socket
    import ssl  # noqa: F401 (its module state is part of the heap)
    import struct
    import xml.etree.ElementTree as ET
    root = ET.Element('feed')
    for i in range(scale):
        item = ET.SubElement(root, 'item', id=str(i), kind='k%d' % (i % 7))
        item.text = 'value %d' % i
        item.tail = '\n'
        if i % 10 == 0:
            for j in range(6):      # more than the 4 children kept in the extra block
                ET.SubElement(item, 'part', n=str(j))
    # before 3.10 the collector does not see a Struct's format: the formats
    # are held here too, so that this target's own view has them
    formats = [b'<%dIh%ds' % (i + 1, i) for i in range(90)]
    structs = [struct.Struct(f) for f in formats]
    # a socket's C struct points at its module's state, a C struct that
    # starts with pointers: a conservative scan must not take it for an object
    sockets = [socket.socket() for _ in range(3)]
    # from 3.13 a SimpleQueue keeps its items in a buffer of its own: these
    # strs are on no collector list, and only the queue leads to them
    queues = [queue.SimpleQueue() for _ in range(20)]
    for i in range(scale):
        queues[i % 20].put('queued %d' % i)
    # a Decimal's coefficient outgrows the object past 4 words (76 digits)
    with decimal.localcontext() as ctx:
        ctx.prec = 120
        decimals = [decimal.Decimal(i + 1) / 7 for i in range(scale // 10)] + \
                   [decimal.Decimal(i) for i in range(scale // 10)]
    # a BytesIO's getsizeof counts its buffer while nothing else holds it
    streams = [io.BytesIO(b'%d' % i * (i % 50)) for i in range(scale // 20)]
    for i, s in enumerate(streams[:scale // 40]):
        s.write(b'written %d' % i * 20)
    shared = [s.getvalue() for s in streams[-10:]]
    # index arrays of r (permutations: n + r; product: one per pool) words
    pool = ['p%d' % i for i in range(9)]
    combinatorics = [itertools.combinations(pool, i % 5 + 1) for i in range(scale // 20)] + \
                    [itertools.combinations_with_replacement(pool, i % 4 + 2) for i in range(scale // 20)] + \
                    [itertools.permutations(pool[:i % 9 + 1], i % 3 + 1) for i in range(scale // 20)] + \
                    [itertools.product(pool[:i % 4 + 1], 'xy', repeat=i % 3 + 1) for i in range(scale // 20)]
    for it in combinatorics[::2]:
        next(it)            # a result tuple, held by the iterator
    # a Pickler's memo table grows with what it pickled; an Unpickler keeps
    # its memo and marks arrays, and its encoding and errors strings
    picklers = [pickle.Pickler(io.BytesIO(), protocol=i % pickle.HIGHEST_PROTOCOL + 1) for i in range(scale // 50)]
    for i, p in enumerate(picklers):
        p.dump([{'k%d' % j: j} for j in range(i % 40)])
    pickled = [pickle.dumps([('u%d' % j, j) for j in range(i % 60)], protocol=i % (pickle.HIGHEST_PROTOCOL + 1))
               for i in range(scale // 50)]
    unpicklers = [pickle.Unpickler(Feed(data), encoding='latin-%d' % (i % 9 + 1)) for i, data in enumerate(pickled)]
    loaded = [u.load() for u in unpicklers]
    return {'xml': root, 'formats': formats, 'structs': structs, 'sockets': sockets, 'queues': queues, 'decimals': decimals,
            'streams': streams, 'shared': shared, 'ctypes': ctypes_types(scale // 50), 'combinatorics': combinatorics,
            'picklers': picklers, 'pickled': pickled, 'unpicklers': unpicklers, 'loaded': loaded}


class Feed:
    """A file for an Unpickler that keeps what it hands out: the Unpickler
    holds the last piece it read (a buffer export its traverse does not
    visit), and this way the target's own view sees the piece too."""

    def __init__(self, data):
        self.data, self.pos, self.given = data, 0, []

    def read(self, n):
        piece = self.data[self.pos:self.pos + n]
        self.pos += len(piece)
        self.given.append(piece)
        return piece

    def readline(self):
        end = self.data.find(b'\n', self.pos) + 1 or len(self.data)
        return self.read(end - self.pos)


def ctypes_types(n):
    """ctypes types, whose getsizeof counts their C description (format
    string, shape, ffi elements array): in their StgDict up to 3.12, in
    the type object itself from 3.13, where the metatypes' __sizeof__
    replaces type's. Structures of 1-12 fields, unions, pointers, arrays
    of 1 and 2 dimensions, function prototypes, and a metaclass of ours."""
    from ctypes import c_char, c_double, c_int, c_uint8

    class CtypesMeta(type(ctypes.Structure)):
        pass

    made = []
    for i in range(n):
        fields = [('f%d' % j, (c_int, c_double, c_char * (j + 1))[j % 3]) for j in range(i % 12 + 1)]
        s = type('S%d' % i, (ctypes.Structure,), {'_fields_': fields})
        made += [s, ctypes.POINTER(s), s * (i % 5 + 1), (c_uint8 * (i % 3 + 1)) * 2,
                 type('U%d' % i, (ctypes.Union,), {'_fields_': [('a', c_int), ('b', s)]}),
                 ctypes.CFUNCTYPE(c_int, *([c_double] * (i % 4))),
                 CtypesMeta('M%d' % i, (ctypes.Structure,), {'_fields_': [('x', c_int)] * (i % 3 + 1)})]
    return made


def workload_numpy(scale):
    """numpy arrays: their data is memory of their own (counted when the
    array owns it), views lead to their base, and an object array holds its
    items where only it leads to them: strs and lists built for it alone.
    And numpy scalars."""
    import numpy as np
    floats = [np.arange(i % 50 + 1, dtype=np.float64) for i in range(scale)]
    shapes = [np.zeros((i % 7 + 1, 3), dtype=np.int32) for i in range(scale // 10)]
    fortran = [np.ones((4, i % 5 + 2), order='F') for i in range(scale // 10)]
    # owns its data, yet neither C- nor F-contiguous
    odd = [np.empty_like(np.zeros((2, 3, 4)).transpose(1, 0, 2), order='K') for _ in range(scale // 20)]
    views = [a[::2] for a in floats[:scale // 5]] + [s.T for s in shapes[:scale // 20]]
    backing = [bytes(range(i % 64, i % 64 + 64)) for i in range(scale // 20)]
    from_bytes = [np.frombuffer(b, dtype=np.uint8) for b in backing]
    del backing
    objects = [np.array(['item %d.%d' % (i, j) for j in range(i % 9 + 1)], dtype=object) for i in range(scale // 5)]
    nested = np.empty(scale // 5, dtype=object)
    for i in range(len(nested)):
        nested[i] = ['only in the array', i * 1000003]
    records = np.zeros(scale // 10, dtype=[('id', 'i8'), ('name', 'O'), ('score', 'f4')])
    for i in range(len(records)):
        records[i] = (i, 'record %d' % i, i / 2)
    strings = np.array(['s%d' % i for i in range(scale)])          # fixed-width unicode
    empty = [np.zeros((0, i % 3)) for i in range(scale // 20)]
    big = np.full((256, 1024), 1.5)                                  # 2 MiB of data

    # scalars: their getsizeof adds the item size to the object again
    scalars = [np.float64(i) for i in range(scale // 5)] + [np.int32(i) for i in range(scale // 10)] + \
              [np.uint8(i % 256) for i in range(scale // 10)] + [np.complex128(i) for i in range(scale // 10)] + \
              [np.datetime64(i, 's') for i in range(scale // 10)]

    class Tagged(np.ndarray):
        pass
    tagged = [np.arange(10).view(Tagged) for _ in range(scale // 20)]
    for i, t in enumerate(tagged):
        t.tag = 'tag %d' % i
    return {'floats': floats, 'shapes': shapes, 'fortran': fortran, 'odd': odd, 'views': views,
            'from_bytes': from_bytes, 'objects': objects, 'nested': nested, 'records': records,
            'strings': strings, 'empty': empty, 'big': big, 'tagged': tagged, 'scalars': scalars}


WORKLOADS = {'json': (workload_json, 200000), 'classes': (workload_classes, 20000), 'mix': (workload_mix, 20000),
             'cext': (workload_cext, 5000), 'numpy': (workload_numpy, 2000)}


def main():
    # What this frame still holds when pyheapscope looks is part of the heap
    # it sees, and of no ground truth from 3.11 (a running frame is no
    # object), and up to 3.10 the truth counts what they held while it ran:
    # only names the truth reaches otherwise (sys.argv's strs) stay, so the
    # scale and the temporary name are not kept in locals.
    facts_path, name = sys.argv[1], sys.argv[2]
    global workload
    workload = WORKLOADS[name][0](int(sys.argv[3]) if len(sys.argv) > 3 else WORKLOADS[name][1])
    layout = Layout()
    layout.ground_truth_probe = ground_truth
    gc.collect()
    facts = ground_truth(layout)
    facts['workload'] = name
    text = json.dumps(facts)
    del facts, layout
    gc.collect()    # what the walk left behind in cycles, before anyone looks
    with open(facts_path + '.tmp', 'w') as f:
        f.write(text)
    del f, text
    os.rename(facts_path + '.tmp', facts_path)
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
