"""`advise` (issue 9) on a target holding each kind of waste it finds
(tests/targets/waste_target.py), on every interpreter here. The estimates
must be honest: the target applies the suggested fix to its own data and
measures what really went away (sys.getsizeof of the distinct objects it
holds, before and after; for __slots__ and shared instances, what building
them costs with tracemalloc); each estimate must be within 10 % of that.
`advise FILE` on a dump of the same heap must say exactly the same."""
import gzip
import json
import os
import signal

import pytest

from conftest import interpreter_params, resolve_interpreter, run_json, run_tool, wait_facts


def within(estimate, real, tolerance=0.10):
    return real > 0 and abs(estimate - real) <= tolerance * real


def quoted(kind, v):
    if kind == "str":
        return "'%s'" % v
    if kind == "bytes":
        return "b'%s'" % v
    return str(v) if kind == "int" else "%.17g" % v


def finding(out, key, kind):
    for f in out["findings"]:
        if f["finding"] == key and f["type"] == kind:
            return f
    return {"objects": 0, "bytes": 0, "saving": 0, "groups": []}


def long_values(out, facts):
    """The groups of the target's long duplicates: strs a dump cuts, ints it
    writes no value for. Each distinct value must be its own group."""
    strs = [g for g in finding(out, "duplicates", "str")["groups"] if g["value"].startswith("'xxxxxxxxxx")]
    ints = [g for g in finding(out, "duplicates", "int")["groups"] if g["copies"] == facts["long"]["copies"]
            and g["size"] > 40]
    return strs, ints


def advise_dump(target, tmp_path):
    """advise FILE on a dump of target, taken now."""
    path = str(tmp_path / "waste.jsonl.gz")
    r = run_tool("dump", target.pid, "-o", path)
    assert r.returncode == 0, r.stderr
    out = run_json("advise", path)
    assert out.pop("dump") == path and out.pop("time")
    return out, path


@pytest.mark.parametrize("python_spec", interpreter_params())
def test_estimates_match_the_fix_applied_in_the_target(binary, make_target, python_spec, tmp_path):
    target = make_target(resolve_interpreter(python_spec), "waste_target.py")
    facts = target.facts
    before = run_json("advise", target.pid)
    from_dump, _ = advise_dump(target, tmp_path)
    # the same findings, groups, sizes and examples from the dump (the heap
    # sleeps meanwhile), long values told apart by the hash the dump keeps
    assert from_dump == before
    for groups in long_values(before, facts):
        assert len(groups) == facts["long"]["values"], groups
        assert all(g["copies"] == facts["long"]["copies"] for g in groups), groups
    os.kill(target.pid, signal.SIGUSR1)
    freed = wait_facts(target.facts_path + ".1")["freed"]
    after = run_json("advise", target.pid)
    assert before["saving"] == sum(f["saving"] for f in before["findings"])
    assert before["objects"] > 0 and before["bytes"] > before["saving"]

    # duplicates: the saving of exactly the target's values, value by value
    for kind in ("str", "bytes", "int", "float"):
        expected = {quoted(kind, v) for v in facts["values"][kind]}
        groups = {g["value"]: g for g in finding(before, "duplicates", kind)["groups"]}
        missing = expected - set(groups)
        assert not missing, "%s values not reported as duplicates: %s" % (kind, sorted(missing)[:5])
        estimate = sum(groups[v]["saving"] for v in expected)
        assert within(estimate, freed[kind]), (kind, estimate, freed[kind])
        for v in expected:
            g = groups[v]
            assert g["saving"] == (g["copies"] - 1) * g["size"] and g["examples"]
        # after the fix the target holds each value once (a module may hold
        # another copy of its own: 1000003 is a constant in the stdlib)
        left = {g["value"]: g["copies"] for g in finding(after, "duplicates", kind)["groups"]}
        assert all(left.get(v, 1) <= 3 for v in expected), (kind, left)

    # spare capacity and empty containers: what the findings lose when the
    # target fixes its own (the rest of the heap does not change)
    for key, kind, what in (("overallocated", "list", "spare"), ("empty", "list", "empty_list"),
                            ("empty", "dict", "empty_dict"), ("duplicates", "tuple", "tuples"),
                            ("duplicates", "frozenset", "frozensets"), ("overallocated", "dict", "sparse_dicts"),
                            ("overallocated", "set", "sparse_sets")):
        estimate = finding(before, key, kind)["saving"] - finding(after, key, kind)["saving"]
        assert within(estimate, freed[what]), (key, kind, estimate, freed[what])
    tuples = {g["value"] for g in finding(before, "duplicates", "tuple")["groups"]}
    assert "(2000000, 'name-0')" in tuples, sorted(tuples)[:5]

    # records: the key set, and its sizes as slots instances, namedtuples
    # and tuples, each as the target measured them
    classes = facts["classes"]
    shape = [g for g in finding(before, "records", "dict")["groups"] if g["value"].startswith("{'rec_id'")]
    assert len(shape) == 1, finding(before, "records", "dict")["groups"][:3]
    shape = shape[0]
    assert shape["value"] == "{'rec_id', 'rec_name', 'rec_price'}" and shape["fields"] == 3
    assert within(shape["saving"], freed["records"]), (shape, freed["records"])
    assert within(shape["as_slots"], classes["as_slots"]), (shape, classes)
    assert within(shape["as_namedtuple"], classes["as_namedtuple"]), (shape, classes)
    assert within(shape["as_tuple"], classes["as_tuple"]), (shape, classes)
    assert not [g for g in finding(after, "records", "dict")["groups"] if "rec_id" in g["value"]]

    # a class without __slots__, and identical instances: the saving that
    # tracemalloc saw between building them as they are and as advised
    plain = [g for g in finding(before, "no_slots", "instance")["groups"] if g["value"].startswith("__main__.Plain ")]
    assert len(plain) == 1 and plain[0]["value"] == "__main__.Plain (a, b, c)", plain
    assert within(plain[0]["saving"], classes["no_slots"]), (plain, classes["no_slots"])
    shared = [g for g in finding(before, "identical", "instance")["groups"] if g["value"].startswith("__main__.Shared(")]
    assert len(shared) == classes["groups"], shared
    assert all(g["copies"] == classes["per_group"] for g in shared), shared
    assert "__main__.Shared(x='name-0', y=0.5)" in {g["value"] for g in shared}, shared
    estimate = sum(g["saving"] for g in shared)
    assert within(estimate, classes["identical"]), (estimate, classes["identical"])
    assert not [g for g in finding(before, "identical", "instance")["groups"] if g["value"].startswith("__main__.Plain(")]


def test_old_dumps_are_refused_with_a_reason(binary, make_target, tmp_path):
    """A dump of format 2 has no capacities or tables: advise refuses it
    with one line (exit 10), summary still reads it."""
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "waste_target.py", ("2000",))
    _, path = advise_dump(target, tmp_path)
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    header = json.loads(lines[0])
    assert header["format_version"] == 3 and header["slots_size"][1] == 8 and header["tuple_size"][1] == 8
    header["format_version"] = 2
    old = str(tmp_path / "v2.jsonl")
    with open(old, "w") as f:
        f.write("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    r = run_tool("advise", old)
    assert r.returncode == 10 and "format 2" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert run_tool("summary", old).returncode == 0
    text = run_tool("advise", path)
    assert text.returncode == 0 and text.stdout.startswith("pyheapscope advise: %s (pid %d, Python 3.12"
                                                           % (path, target.pid)), text.stdout[:200]


def test_a_dump_out_of_address_order_reads_the_same(binary, make_target, tmp_path):
    target = make_target(resolve_interpreter(("pyenv", "3.11")), "waste_target.py", ("2000",))
    in_order, path = advise_dump(target, tmp_path)
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    objects = [i for i, line in enumerate(lines) if '"type"' not in line[:12]]
    assert objects == list(range(objects[0], objects[-1] + 1)) and len(objects) > 1000
    shuffled = lines[:objects[0]] + lines[objects[0]:objects[-1] + 1][::-1] + lines[objects[-1] + 1:]
    other = str(tmp_path / "reversed.jsonl")
    with open(other, "w") as f:
        f.write("\n".join(shuffled) + "\n")
    out = run_json("advise", other)
    assert out.pop("dump") == other and out.pop("time")
    assert out == in_order


def test_text_report(binary, make_target):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "waste_target.py", ("4000",))
    r = run_tool("advise", target.pid, "--top", "0")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("pyheapscope advise: process %d (Python 3.12" % target.pid)
    assert lines[1].startswith("about ") and "could be saved:" in lines[1] and "duplicate str values" in lines[1]
    assert "fix: sys.intern()" in r.stdout and "'status-7'" in r.stdout and "copies x" in r.stdout
    assert "over-allocated lists" in r.stdout and "empty lists" in r.stdout
    assert run_tool("advise").returncode == 2
    gone = run_tool("advise", "999999999")
    assert gone.returncode != 0 and len(gone.stderr.strip().splitlines()) == 1
