"""A target holding each kind of waste `pyheapscope advise` finds, and the
ground truth of what fixing it frees.

It writes its facts (the values it duplicated) and sleeps. On SIGUSR1 it
applies the fix advise suggests to its own data -- sys.intern the strs,
de-duplicate the bytes, ints and floats with a memo, rebuild the
over-allocated lists with .copy(), drop the empty containers -- and writes
FACTS.1 with, per waste, the bytes that really went away: sys.getsizeof
summed over the distinct objects its data held before and after the fix.
"""
import gc
import json
import os
import signal
import sys
import time

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
    data["spare"][:] = [lst.copy() for lst in data["spare"]]
    data["empty_list"][:] = []
    data["empty_dict"][:] = []


def write(path, facts):
    with open(path + ".tmp", "w") as f:
        json.dump(facts, f)
    os.rename(path + ".tmp", path)


def main():
    path = sys.argv[1]
    wanted = []
    signal.signal(signal.SIGUSR1, lambda *_: wanted.append(1))
    gc.collect()
    before = measure()
    write(path, {
        "values": {
            "str": sorted(set(data["str"])),
            "bytes": sorted(set(b.decode() for b in data["bytes"])),
            "int": sorted(set(data["int"])),
            "float": sorted(set(data["float"])),
        },
        "before": before,
        "version": list(sys.version_info[:3]),
    })
    while not wanted:
        time.sleep(0.05)
    fix()
    gc.collect()
    after = measure()
    # the lists of containers themselves are not part of the waste
    write(path + ".1", {"freed": {k: before[k] - after[k] for k in before}})
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
