"""A target holding each kind of waste `pyheapscope advise` finds, and the
ground truth of what fixing it frees.

It writes its facts (the values it duplicated) and sleeps. On SIGUSR1 it
applies the fix advise suggests to its own data -- sys.intern the strs,
de-duplicate the bytes, ints, floats and tuples with a memo, rebuild the
over-allocated lists with .copy() and the dicts and sets emptied by
deletions with dict() and set(), drop the empty containers, turn the
record dicts into instances of a __slots__ class -- and writes FACTS.1
with, per waste, the bytes that really went away: sys.getsizeof summed
over the distinct objects its data held before and after the fix.

Two fixes change classes, not data: adding __slots__ to a class, and
sharing identical instances. Their ground truth is measured before the
target sleeps, with tracemalloc (every byte the interpreter allocates,
headers and values arrays included): the cost of building the same
instances from the same attribute values with and without the change.
"""
import collections
import gc
import signal
import sys
import time
import tracemalloc

from facts import write_facts

N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000

data = {
    # equal values, each object made at run time (so not shared by the compiler)
    "str": ["".join(["status-", str(i % 50)]) for i in range(N)],
    "bytes": [("blob-%d" % (i % 20)).encode() for i in range(N // 2)],
    "int": [int("100000%d" % (i % 40)) for i in range(N // 2)],
    "float": [float(i % 30) + 0.25 for i in range(N // 2)],
    "spare": [],
    "empty_list": [[] for _ in range(N // 5)],
    "empty_dict": [{} for _ in range(N // 10)],
}
NAMES = ["name-%d" % i for i in range(10)]    # attribute values, shared by everything below
PRICES = [float(i) + 0.5 for i in range(10)]
IDS = [3 * 10 ** 7 + i for i in range(N)]   # apart from the duplicated ints above
BASE = [2 * 10 ** 6 + i for i in range(7)]


class Plain:                                  # no __slots__: advise should say so
    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c


class PlainSlots:                             # the fix
    __slots__ = ("a", "b", "c")

    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c


class Shared:                                 # many instances equal to one another
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Record:                                 # what the record dicts become
    __slots__ = ("rec_id", "rec_name", "rec_price")

    def __init__(self, rec_id, rec_name, rec_price):
        self.rec_id = rec_id
        self.rec_name = rec_name
        self.rec_price = rec_price


RecordTuple = collections.namedtuple("RecordTuple", "rec_id rec_name rec_price")

NPLAIN, NSHARED, NGROUPS = N // 10, N // 10, 10
data["records"] = [{"rec_id": IDS[i], "rec_name": NAMES[i % 10], "rec_price": PRICES[i % 10]}
                   for i in range(N // 10)]
data["tuples"] = [tuple([BASE[i % 7], NAMES[i % 5]]) for i in range(N // 4)]
data["frozensets"] = [frozenset([BASE[i % 3], NAMES[i % 2]]) for i in range(N // 20)]
data["sparse_dicts"] = []
data["sparse_sets"] = []
for i in range(N // 100):
    # 40 keys cut to 3, or 100 to 21: sizes where the versions' presizing
    # of dict(d) differs (gh-133703) by 15 % of the saving; and 3, 10 or 40
    # set items: a small table or a larger one
    size, left = ((40, 3), (100, 21))[i % 2]
    d = {k: k for k in range(size)}
    s = set(range(300))
    for k in range(size - left):
        del d[k]
    for k in range(300 - (3, 10, 40)[i % 3]):
        s.discard(k)
    data["sparse_dicts"].append(d)
    data["sparse_sets"].append(s)
# duplicates of values a dump does not write whole: strs past its 200
# characters and ints past 120 bits, LONG values that differ only at the end
LONG, NLONG = 5, N // 100
data["long_str"] = ["".join(["x" * 250, str(i % LONG)]) for i in range(NLONG)]
data["long_int"] = [int("7" * 70 + str(i % LONG)) for i in range(NLONG)]
plain = [Plain(IDS[i], NAMES[i % 10], PRICES[i % 10]) for i in range(NPLAIN)]
shared = [Shared(NAMES[i % NGROUPS], PRICES[i % NGROUPS]) for i in range(NSHARED)]


def build_cost(make):
    """Bytes the interpreter allocates to build (and keep) what make() returns."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = make()
    cost = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del kept
    return cost


def class_facts():
    """The real saving of __slots__ for Plain and of sharing for Shared,
    and what the records take as namedtuples and as tuples."""
    def plains(cls):
        return lambda: [cls(IDS[i], NAMES[i % 10], PRICES[i % 10]) for i in range(NPLAIN)]

    def shareds(groups):
        def make():
            one = [Shared(NAMES[g], PRICES[g]) for g in range(groups)]
            return [one[i % NGROUPS] if groups == NGROUPS else Shared(NAMES[i % NGROUPS], PRICES[i % NGROUPS])
                    for i in range(NSHARED)]
        return make

    recs = data["records"]
    return {
        "no_slots": build_cost(plains(Plain)) - build_cost(plains(PlainSlots)),
        "identical": build_cost(shareds(0)) - build_cost(shareds(NGROUPS)),
        "as_namedtuple": sum(sys.getsizeof(RecordTuple(**r)) for r in recs),
        "as_tuple": sum(sys.getsizeof(tuple(r.values())) for r in recs),
        "as_slots": sum(sys.getsizeof(Record(**r)) for r in recs),
        "groups": NGROUPS,
        "per_group": NSHARED // NGROUPS,
    }


for i in range(N // 5):
    grown = []
    for j in range(5):
        grown.append(j)            # grows to 8 slots (4 on 3.7's first step, then 8)
    data["spare"].append(grown)


def distinct_bytes(objs):
    seen = {}
    for o in objs:
        seen[id(o)] = sys.getsizeof(o)
    return sum(seen.values())


def measure():
    return {k: distinct_bytes(v) for k, v in data.items()}


def fix():
    data["str"][:] = [sys.intern(s) for s in data["str"]]
    for kind in ("bytes", "int", "float"):
        memo = {}
        data[kind][:] = [memo.setdefault(v, v) for v in data[kind]]
    for kind in ("tuples", "frozensets"):
        memo = {}
        data[kind][:] = [memo.setdefault(v, v) for v in data[kind]]
    data["spare"][:] = [lst.copy() for lst in data["spare"]]
    data["sparse_dicts"][:] = [dict(d) for d in data["sparse_dicts"]]
    data["sparse_sets"][:] = [set(s) for s in data["sparse_sets"]]
    data["records"][:] = [Record(**r) for r in data["records"]]
    data["empty_list"][:] = []
    data["empty_dict"][:] = []



def main():
    path = sys.argv[1]
    wanted = []
    signal.signal(signal.SIGUSR1, lambda *_: wanted.append(1))
    classes = class_facts()
    gc.collect()
    before = measure()
    write_facts(path, {
        "classes": classes,
        "values": {
            "str": sorted(set(data["str"])),
            "bytes": sorted(set(b.decode() for b in data["bytes"])),
            "int": sorted(set(data["int"])),
            "float": sorted(set(data["float"])),
        },
        "before": before,
        "long": {"values": LONG, "copies": NLONG // LONG},
        "version": list(sys.version_info[:3]),
    })
    while not wanted:
        time.sleep(0.05)
    fix()
    gc.collect()
    after = measure()
    # the lists of containers themselves are not part of the waste
    write_facts(path + ".1", {"freed": {k: before[k] - after[k] for k in before}})
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
