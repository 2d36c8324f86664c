"""`dump`, `summary FILE` and `diff` (issue 5) against a target of known
structure (tests/targets/leaky_target.py): the dump parses with Python's
json module, its records say what the target says about itself, the
histogram read back equals the live one, a diff counts exactly the
instances added, and a cut or damaged dump is a clear error."""
import gzip
import json
import os
import signal

import pytest

from conftest import interpreter_params, resolve_interpreter, run_json, run_tool, wait_facts

FORMAT_VERSION = 3


def read_dump(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def take_dump(target, path):
    r = run_tool("dump", target.pid, "-o", path, timeout=120)
    assert r.returncode == 0, r.stderr
    return read_dump(path)


def objects_by_addr(records):
    return {r["a"]: r for r in records if "type" not in r}


def value_of_key(objs, dict_rec, key_id):
    """The reference labelled "v" that follows the key key_id in a dict's record."""
    refs, labels = dict_rec["r"], dict_rec["e"]
    for i, (ref, label) in enumerate(zip(refs, labels)):
        if label == "k" and ref == key_id:
            assert labels[i + 1] == "v"
            return refs[i + 1]
    raise AssertionError("key %#x not in the dict's references" % key_id)


@pytest.mark.parametrize("spec", interpreter_params())
def test_dump_records_match_the_target(spec, binary, make_target, tmp_path):
    python = resolve_interpreter(spec)
    target = make_target(python, "leaky_target.py", ("1000",))
    facts = target.facts
    records = take_dump(target, str(tmp_path / "heap.jsonl.gz"))
    header, end = records[0], records[-1]
    assert header["type"] == "header" and header["format"] == "pyheapscope-dump"
    assert header["format_version"] == FORMAT_VERSION
    assert header["pid"] == target.pid
    assert header["python_version"] == "%d.%d.%d" % tuple(facts["version"])
    assert end["type"] == "end"
    kinds = {r["id"]: r["name"] for r in records if r.get("type") == "kind"}
    objs = objects_by_addr(records)
    assert end["objects"] == len(objs) == header["objects"]
    assert sum(o["s"] for o in objs.values()) == end["bytes"] == header["bytes"]
    # every reference leads to an object of the dump
    assert all(ref in objs for o in objs.values() for ref in o.get("r", ()))
    # app.Leaky: as many as the target counts
    leaky = [o for o in objs.values() if kinds[o["k"]] == "app.Leaky"]
    assert len(leaky) == facts["leaky"] == 1000
    # the chain module dict -> cache -> 'orders' -> list -> instances, labelled
    cache = objs[facts["cache_id"]]
    assert kinds[cache["k"]] == "dict"
    assert value_of_key(objs, cache, facts["orders_key_id"]) == facts["orders_id"]
    assert objs[facts["orders_key_id"]]["v"] == "orders"
    orders = objs[facts["orders_id"]]
    assert (orders["n"], cache["n"], objs[facts["orders_key_id"]]["n"]) == (1000, 1, 6)
    assert orders["r"][:10] == facts["first_ids"] and "e" not in orders    # items by index
    # format 3: what advise reads from a dump (capacity, table, has_dict)
    assert orders["c"] == facts["orders_capacity"] and "c" not in cache
    slots, table_bytes, rebuilt_slots, rebuilt_bytes = cache["t"]
    assert slots == rebuilt_slots == 8 and 0 < rebuilt_bytes == table_bytes < cache["s"]     # dict(d) copies it
    assert [r["has_dict"] for r in records if r.get("type") == "kind" and r["name"] in ("app.Leaky", "int")] \
        in ([True, False], [False, True])
    # an instance's attributes are named (inline values, or its __dict__'s keys)
    inst = objs[facts["first_ids"][0]]
    labels = set(inst.get("e", ()))
    if ".payload" not in labels:
        d = objs[inst["r"][inst["e"].index("__dict__")]]
        assert any(objs[k].get("v") == "payload" for k, l in zip(d["r"], d["e"]) if l == "k")
    # roots: the interpreter's own, and what nothing refers to
    roots = [r for r in records if r.get("type") == "root"]
    named = {r["root"]: r["a"] for r in roots if r["root"] not in ("unreferenced", "frame", "interned", "module")}
    modules = {r["name"]: r["a"] for r in roots if r["root"] == "module"}
    assert modules["__main__"] == facts["main_dict_id"] and "sys" in modules and "app" in modules
    assert named["sys.modules"] == facts["sys_modules_id"]
    assert named["builtins"] == facts["builtins_id"]
    # the main thread's frames, innermost first, each local named
    frames = [r for r in roots if r["root"] == "frame"]
    assert frames and all(len(f["r"]) == len(f["e"]) and all(a in objs for a in f["r"]) for f in frames)
    assert [f["function"] for f in frames if f["thread"] == facts["main_thread"]][-1] == "<module>"
    main = [f for f in frames if f["thread"] == facts["main_thread"] and f["function"] == "main"]
    if main[0]["e"] == ["frame"]:       # 3.7-3.10: the frame object holds the locals
        main = [objs[main[0]["r"][0]]]
    assert "local path" in main[0]["e"] and "local add" in main[0]["e"]
    # interned strs: 'orders' is an identifier in the target's code
    interned = {a: r["immortal"] for r in roots if r["root"] == "interned" for a in r["a"]}
    assert facts["orders_key_id"] in interned and all(objs[a].get("v") is not None for a in interned)
    assert interned[facts["orders_key_id"]] == (tuple(facts["version"]) >= (3, 12))
    unreferenced = [a for r in roots if r["root"] == "unreferenced" for a in r["a"]]
    assert unreferenced and all(a in objs for a in unreferenced)
    referenced = {ref for o in objs.values() for ref in o.get("r", ()) if ref != o["a"]}
    held_by_frames = {ref for f in frames for ref in f["r"]}
    assert not (referenced | held_by_frames) & set(unreferenced)
    assert set(objs) - referenced - held_by_frames == set(unreferenced)


def test_summary_of_a_dump_equals_the_live_one(binary, make_target, tmp_path):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "leaky_target.py", ("2000",))
    path = str(tmp_path / "heap.jsonl")
    live = run_json("summary", "--top", "0", target.pid)
    r = run_tool("dump", target.pid, "-o", path)
    assert r.returncode == 0, r.stderr
    offline = run_json("summary", "--top", "0", path)
    assert offline["dump"] == path and offline["pid"] == target.pid
    assert (offline["objects"], offline["bytes"]) == (live["objects"], live["bytes"])
    assert {k["kind"]: (k["count"], k["bytes"]) for k in offline["kinds"]} == \
           {k["kind"]: (k["count"], k["bytes"]) for k in live["kinds"]}
    text = run_tool("summary", path)
    assert text.returncode == 0 and "app.Leaky" in text.stdout, text.stderr


def test_diff_counts_the_instances_added(binary, make_target, tmp_path):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "leaky_target.py", ("500", "137"))
    before, after = str(tmp_path / "before.jsonl.gz"), str(tmp_path / "after.jsonl.gz")
    assert run_tool("dump", target.pid, "-o", before).returncode == 0
    os.kill(target.pid, signal.SIGUSR1)
    wait_facts(target.facts_path + ".1")
    assert run_tool("dump", target.pid, "-o", after).returncode == 0
    out = run_json("diff", before, after)
    kinds = {k["kind"]: k for k in out["kinds"]}
    assert kinds["app.Leaky"]["dcount"] == 137
    assert kinds["app.Leaky"]["count_before"] == 500 and kinds["app.Leaky"]["count"] == 637
    text = run_tool("diff", before, after)
    assert text.returncode == 0 and "+137" in text.stdout and "app.Leaky" in text.stdout
    same = run_json("diff", before, before)
    assert same["kinds"] == [] and same["dcount"] == 0


def test_damaged_dumps_are_clear_errors(binary, make_target, tmp_path):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "leaky_target.py", ("300",))
    path = tmp_path / "heap.jsonl"
    assert run_tool("dump", target.pid, "-o", str(path)).returncode == 0
    data = path.read_bytes()
    lines = data.split(b"\n")
    cases = {
        "cut mid-record": (data[: len(data) // 2], "truncated"),
        "cut after a record": (b"\n".join(lines[: len(lines) // 2]) + b"\n", "truncated"),
        "damaged record": (b"\n".join(lines[:5] + [lines[5][:-3] + b"x}}"] + lines[6:]), "corrupt dump at line 6"),
        "not a dump": (b'{"hello": 1}\n', "not a pyheapscope dump"),
        "empty": (b"", "empty"),
        "newer format": (lines[0].replace(b'"format_version":%d' % FORMAT_VERSION, b'"format_version":99') + b"\n" +
                         b"\n".join(lines[1:]), "format version 99"),
        "gzip cut": (gzip.compress(data)[:2000], "truncated"),
    }
    # what only advise reads (summary does not look at these fields)
    record = max(range(len(lines)), key=lambda i: lines[i].count(b'"t":['))
    advise_cases = {
        "table with a string": lines[record].replace(b'"t":[', b'"t":["x",', 1),
        "labels of another record": lines[record].replace(b'"e":[', b'"e":[0,', 1),
        "hash that is a number": lines[record][:-1] + b',"vh":12}',
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / ("bad.jsonl.gz" if "gzip" in name else "bad.jsonl")
        bad.write_bytes(content)
        for command in ("summary", "advise"):
            r = run_tool(command, str(bad))
            assert r.returncode == 10, (name, command, r.returncode, r.stderr)
            assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, (name, command, r.stderr)
    for name, line in advise_cases.items():
        bad = tmp_path / "bad.jsonl"
        bad.write_bytes(b"\n".join(lines[:record] + [line] + lines[record + 1:]))
        assert run_tool("summary", str(bad)).returncode == 0, name
        r = run_tool("advise", str(bad))
        assert r.returncode == 10 and "corrupt dump at line %d" % (record + 1) in r.stderr, (name, r.stderr)
    r = run_tool("summary", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 10 and "cannot open" in r.stderr
    r = run_tool("dump", target.pid)
    assert r.returncode == 2 and "-o" in r.stderr


def test_mutated_dumps_never_crash_the_readers(binary, make_target, tmp_path):
    """Object records with one character changed (a digit, a quote, a
    bracket...), seeded: every reader either reads the dump or refuses it
    with one line (exit 10); under the sanitizer build, any memory error
    fails the run."""
    import random
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "waste_target.py", ("500",))
    path = tmp_path / "heap.jsonl"
    assert run_tool("dump", target.pid, "-o", str(path)).returncode == 0
    lines = path.read_bytes().split(b"\n")
    objects = [i for i, line in enumerate(lines) if line.startswith(b'{"a":')]
    rng = random.Random(20261121)
    refused = 0
    for n in range(40):
        mutated = list(lines)
        for _ in range(1 + n % 3):
            i = rng.choice(objects)
            line = bytearray(mutated[i])
            line[rng.randrange(len(line))] = rng.choice(b'0123456789"[]{},:-e.tx\\')
            mutated[i] = bytes(line)
        bad = tmp_path / "mutated.jsonl"
        bad.write_bytes(b"\n".join(mutated))
        for command in ("advise", "summary"):
            r = run_tool(command, str(bad))
            assert r.returncode in (0, 10), (n, command, r.returncode, r.stderr[-2000:])
            assert r.returncode == 0 or len(r.stderr.strip().splitlines()) == 1, (n, command, r.stderr)
            refused += r.returncode == 10
    assert refused > 0          # the mutations do reach the checks
