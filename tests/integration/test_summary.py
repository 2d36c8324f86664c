"""`pyheapscope summary` against the target's own view of its heap.

Each target builds a workload, computes its histogram itself
(tests/targets/heap_target.py: gc.get_objects, referents completed where
gc.get_referents leaves things out, sys.getsizeof, dict owners) and sleeps;
the tool's histogram must agree: every kind with at least 100 objects within
0.5 % in count and 1 % in bytes, and the totals within 1 %.

PYHEAPSCOPE_TEST_SCALE (default 1) scales the workloads; the sanitizer run
uses a smaller one, since what it checks is our memory safety, not sizes.
"""
import json
import os

import pytest

from conftest import interpreter_params, numpy_env, resolve_interpreter, run_json, run_tool

SCALE = float(os.environ.get("PYHEAPSCOPE_TEST_SCALE", "1"))
WORKLOADS = {"json": 200000, "classes": 20000, "mix": 20000, "cext": 5000, "numpy": 2000}
MIN_OBJECTS = 100
COUNT_TOLERANCE = 0.005
BYTES_TOLERANCE = 0.01
TOTAL_TOLERANCE = 0.01
COMBINATORICS = ("itertools.combinations", "itertools.combinations_with_replacement", "itertools.permutations",
                 "itertools.product")


def start_heap_target(make_target, python, workload):
    scale = max(200, int(WORKLOADS[workload] * SCALE))
    env = numpy_env(python) if workload == "numpy" else None
    return make_target(python, "heap_target.py", (workload, str(scale)), timeout=600, env=env), scale


def differences(tool, truth):
    """Every way the tool's histogram disagrees with the ground truth beyond the bar."""
    problems = []
    if abs(tool["objects"] - truth["objects"]) > TOTAL_TOLERANCE * truth["objects"]:
        problems.append("total objects %d, target counted %d" % (tool["objects"], truth["objects"]))
    if abs(tool["bytes"] - truth["bytes"]) > TOTAL_TOLERANCE * truth["bytes"]:
        problems.append("total bytes %d, target counted %d" % (tool["bytes"], truth["bytes"]))
    kinds = {k["kind"]: k for k in tool["kinds"]}
    for name in sorted(set(kinds) | set(truth["kinds"])):
        t = kinds.get(name, {"count": 0, "bytes": 0})
        g = truth["kinds"].get(name, {"count": 0, "bytes": 0})
        if max(t["count"], g["count"]) < MIN_OBJECTS:
            continue
        if abs(t["count"] - g["count"]) > COUNT_TOLERANCE * g["count"]:
            problems.append("%s: %d objects, target counted %d" % (name, t["count"], g["count"]))
        if abs(t["bytes"] - g["bytes"]) > BYTES_TOLERANCE * g["bytes"]:
            problems.append("%s: %d bytes, target counted %d" % (name, t["bytes"], g["bytes"]))
    return problems


def check_workload_is_there(workload, truth, scale, minor):
    """The ground truth must contain what the workload built, or the comparison proves little."""
    kinds = truth["kinds"]
    if workload == "json":
        assert kinds["dict"]["count"] >= 4 * scale
        assert kinds["str"]["count"] >= 4 * scale
    elif workload == "classes":
        assert kinds["__main__.Plain"]["count"] >= scale
        assert kinds["__main__.Slotted"]["count"] >= scale
        assert kinds["__main__.Record"]["count"] == scale
        assert kinds["__main__.Point"]["count"] == scale
        assert kinds["dict of __main__.Plain"]["count"] >= scale // 2
    elif workload == "numpy":
        arrays = kinds["numpy.ndarray"]
        assert arrays["count"] >= scale + scale // 5
        assert arrays["bytes"] >= 2 << 20           # the one big array's data
    elif workload == "cext":
        assert kinds["xml.etree.ElementTree.Element"]["count"] >= scale + 6 * (scale // 10)
        assert kinds["dict"]["count"] >= scale      # the attrib dicts
        assert kinds["_queue.SimpleQueue"]["count"] == 20
        assert kinds["decimal.Decimal"]["count"] >= 2 * (scale // 10)
        assert kinds["_io.BytesIO"]["count"] >= scale // 20
        for name in COMBINATORICS:
            assert kinds[name]["count"] == scale // 20, name
        assert kinds["_pickle.Pickler"]["count"] == kinds["_pickle.Unpickler"]["count"] == scale // 50
    else:
        assert kinds["collections.deque"]["count"] >= 1
        assert kinds["generator"]["count"] >= 1
        assert kinds["float"]["count"] >= scale
        assert kinds["set"]["count"] >= scale // 10
        if minor >= 15:
            assert kinds["frozendict"]["count"] >= scale // 10


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
@pytest.mark.parametrize("spec", interpreter_params())
def test_histogram_matches_the_targets_own_view(binary, make_target, spec, workload):
    python = resolve_interpreter(spec)
    target, scale = start_heap_target(make_target, python, workload)
    truth = target.facts
    minor = truth["version"][1]
    check_workload_is_there(workload, truth, scale, minor)
    tool = run_json("summary", target.pid)
    problems = differences(tool, truth)
    assert not problems, "\n".join(problems)
    assert tool["permanent_objects"] == truth["permanent_objects"]
    assert abs(tool["gc_objects"] - truth["gc_objects"]) <= TOTAL_TOLERANCE * truth["gc_objects"]
    assert tool["snapshot"]["paused"] and tool["snapshot"]["pause_ns"] > 0
    assert tool["snapshot"]["pause_ns"] < tool["snapshot"]["total_ns"]
    assert tool["inconsistencies"] == {"bad_pointers": 0, "bad_gc_links": 0, "bad_objects": 0}
    kinds = {k["kind"]: k for k in tool["kinds"]}
    if workload == "classes":
        # 3.11+ keep attribute values outside the instance and its getsizeof
        extra = kinds["__main__.Plain"]["extra_bytes"]
        assert (extra > 0) == (minor >= 11), extra
        assert kinds["__main__.Slotted"]["extra_bytes"] == 0
        # one __dict__ of over 512 KiB, to the byte, under its owner
        assert truth["kinds"]["dict of __main__.Wide"]["bytes"] >= 512 << 10
        wide = kinds["dict of __main__.Wide"]
        assert (wide["count"], wide["bytes"]) == (1, truth["kinds"]["dict of __main__.Wide"]["bytes"])
    if workload == "cext":
        # 90, under the bar's 100 objects, so checked here (3.7 and 3.8 call it Struct)
        name = "_struct.Struct" if minor >= 9 else "Struct"
        assert truth["kinds"][name]["count"] >= 90
        assert kinds[name]["bytes"] == truth["kinds"][name]["bytes"]
    if workload == "cext":
        # 20 queues (3.15 counts their buffers), to the byte, as the Decimals and BytesIOs
        for name in ("_queue.SimpleQueue", "decimal.Decimal", "_io.BytesIO"):
            assert kinds[name]["bytes"] == truth["kinds"][name]["bytes"], name
        # what __sizeof__ counts outside these objects: index arrays, memo
        # tables, output buffers, mark arrays and C strings, to the byte
        for name in COMBINATORICS + ("_pickle.Pickler", "_pickle.Unpickler"):
            assert kinds[name]["bytes"] == truth["kinds"][name]["bytes"], name
        # ctypes' types with their C descriptions: the StgDicts up to 3.12,
        # the types of the metatypes (ours too) from 3.13
        described = [name for name in truth["kinds"] if name == "StgDict" or name.endswith(".CtypesMeta") or
                     (name.startswith("_ctypes.") and name.endswith("Type"))]
        assert len(described) >= 7, described
        for name in described:
            assert kinds[name]["bytes"] == truth["kinds"][name]["bytes"], name
    if workload == "numpy":
        # the arrays' own memory, their data when they own it, to the byte
        assert kinds["numpy.ndarray"]["bytes"] == truth["kinds"]["numpy.ndarray"]["bytes"]
    permanent = sum(k["permanent"] for k in tool["kinds"])
    assert permanent == tool["permanent_objects"]
    check_threads_agree(target.pid)


@pytest.mark.parametrize("spec", interpreter_params())
def test_many_threads_copy_only_the_stacks_in_use(binary, make_target, spec):
    """200 threads map 1.6 GB of stacks and use a few KiB of each: the copy
    takes what each thread has written (pagemap), and what their frames
    hold is still found."""
    python = resolve_interpreter(spec)
    target = make_target(python, "threads_target.py", ("200",), timeout=120)
    n = target.facts["threads"]
    tool = run_json("summary", target.pid)
    kinds = {k["kind"]: k for k in tool["kinds"]}
    assert kinds["__main__.Held"]["count"] == n
    copied = tool["snapshot"]["bytes_copied"]
    assert copied < n * (1 << 20), "%d bytes copied for %d threads" % (copied, n)
    assert tool["inconsistencies"] == {"bad_pointers": 0, "bad_gc_links": 0, "bad_objects": 0}


def histogram(out):
    return {k["kind"]: (k["count"], k["bytes"], k["extra_bytes"], k["gc_objects"], k["permanent"])
            for k in out["kinds"]}


def check_threads_agree(pid):
    """Heaps under 64 MiB are walked by one thread; bigger ones by one per
    core, sharing the work (walk.c). Several threads must find exactly what
    one finds: the same objects, sizes and collector flags, kind by kind
    (helpers are fed while the collector's lists are still being chased, so
    they reach some listed objects first)."""
    one = run_json("summary", pid, env={"PYHEAPSCOPE_THREADS": "1"})
    for threads in ("2", "3"):
        many = run_json("summary", pid, env={"PYHEAPSCOPE_THREADS": threads})
        assert (many["objects"], many["bytes"], many["gc_objects"]) == (one["objects"], one["bytes"], one["gc_objects"])
        a, b = histogram(one), histogram(many)
        wrong = ["%s: %s with 1 thread, %s with %s" % (k, a.get(k), b.get(k), threads)
                 for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def mix_target_312(tmp_path_factory):
    from conftest import Target, pyenv_interpreters
    python = pyenv_interpreters().get("3.12")
    if not python:
        pytest.skip("no pyenv 3.12")
    t = Target(python, "heap_target.py", ("mix", "2000"), tmp_path_factory.mktemp("mix"), timeout=120)
    yield t
    t.kill()


def test_text_output_is_a_histogram(binary, mix_target_312):
    r = run_tool("summary", mix_target_312.pid, "--top", "5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "objects" in lines[0] and "Python 3.12" in lines[0]
    assert "paused" in lines[1]
    header = next(i for i, l in enumerate(lines) if l.split()[:2] == ["Index", "Count"])
    rows = lines[header + 1:header + 6]
    assert [int(l.split()[0]) for l in rows] == [0, 1, 2, 3, 4]
    assert lines[header + 6].startswith("<") and "more kinds" in lines[header + 6]
    # the largest kind of this workload is str (a 10 MB string)
    assert rows[0].split()[-1] == "str"
    assert "MiB" in rows[0]


def test_sort_and_top(binary, mix_target_312):
    by_count = run_json("summary", mix_target_312.pid, "--sort", "count", "--top", "10")
    counts = [k["count"] for k in by_count["kinds"]]
    assert len(counts) == 10 and counts == sorted(counts, reverse=True)
    by_size = run_json("summary", mix_target_312.pid)
    sizes = [k["bytes"] for k in by_size["kinds"]]
    assert sizes == sorted(sizes, reverse=True)
    assert by_size["sort"] == "size" and by_count["sort"] == "count"
    assert sum(sizes) == by_size["bytes"]
    assert sum(k["count"] for k in by_size["kinds"]) == by_size["objects"]


def test_nonblocking_does_not_pause(binary, mix_target_312):
    out = run_json("summary", "--nonblocking", mix_target_312.pid)
    assert out["snapshot"]["paused"] is False and out["snapshot"]["pause_ns"] == 0
    truth = mix_target_312.facts
    # the target sleeps, so even unpaused the walk sees what it computed
    assert not differences(out, truth)


@pytest.mark.parametrize("args,message", [
    (["--top", "x"], "--top takes"),
    (["--sort", "age"], "--sort takes"),
])
def test_bad_options(binary, args, message):
    r = run_tool("summary", "1", *args)
    assert r.returncode == 2 and message in r.stderr


def test_churning_target(binary, make_target):
    """A target that allocates and frees as fast as it can in four threads:
    N --nonblocking snapshots, then N paused ones, in a row, never crash or
    hang (each is bounded in time), report plausible totals, and the target
    keeps running and checking its own data. N is 20 here and 200 under
    `make stress` (PYHEAPSCOPE_CHURN_SNAPSHOTS)."""
    n = int(os.environ.get("PYHEAPSCOPE_CHURN_SNAPSHOTS", "20"))
    python = resolve_interpreter(("pyenv", "3.12"))
    target = make_target(python, "churn_target.py", ("4",))
    totals = {"nonblocking": [], "paused": []}
    for mode in totals:
        extra = ["--nonblocking"] if mode == "nonblocking" else []
        for _ in range(n):
            r = run_tool("summary", "--json", *extra, target.pid, timeout=30)
            assert r.returncode == 0, (mode, r.stderr)
            totals[mode].append(json.loads(r.stdout)["objects"])
            assert target.proc.poll() is None, "the churning target died"
    reference = sorted(totals["paused"])[n // 2]
    assert all(0.5 * reference < t < 2 * reference for t in totals["nonblocking"] + totals["paused"]), totals
    with open(target.facts_path + ".errors") as f:
        assert f.read() == "", "the target found its data corrupted"


def test_hostile_heap(binary, make_target):
    """Objects corrupted on purpose (wild pointers, absurd sizes, cycles in
    deque blocks, a non-type ob_type): the walk skips and counts, and ends."""
    python = resolve_interpreter(("pyenv", "3.12"))
    target = make_target(python, "hostile_target.py")
    for extra in ([], ["--nonblocking"]):
        r = run_tool("summary", "--json", target.pid, *extra, timeout=60)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["inconsistencies"]["bad_pointers"] >= target.facts["wild_pointers"]
        assert out["objects"] > 1000


def test_pause_inside_a_list_splice_is_redone(binary, make_target):
    """A stop can land between the two stores that link an object into a GC
    list or unlink it: the links look broken for that instant. A paused
    command must look again, not call the offsets wrong (CI caught exactly
    this: "broken back link" on a churning target). About 1 pause in 40 lands
    there with this target, 1 in 100 or fewer under a loaded CI with the
    sanitizer build (there one run saw none in 400 summaries); run until
    both commands have been caught, up to 1000 tries each."""
    python = resolve_interpreter(("pyenv", "3.12"))
    target = make_target(python, "splice_target.py")
    retries = {"info": 0, "summary": 0}
    for i in range(2000):
        if min(retries.values()) >= 1:
            break
        command = "info" if i % 2 else "summary"
        out = run_json(command, target.pid)
        retries[command] += out["pause" if command == "info" else "snapshot"]["midway_retries"]
    assert min(retries.values()) >= 1, "no pause ever stopped inside a splice; the test proves nothing: %r" % retries


def test_pause_during_a_collection_is_redone(binary, make_target):
    """Pausing inside gc.collect() finds the lists taken apart: the snapshot
    is redone once the collection is over, and the result is whole."""
    python = resolve_interpreter(("pyenv", "3.12"))
    target = make_target(python, "collecting_target.py")
    retries = 0
    for _ in range(8):
        out = run_json("summary", target.pid)
        retries += out["snapshot"]["collection_retries"]
        assert out["inconsistencies"]["bad_gc_links"] == 0
        kinds = {k["kind"]: k["count"] for k in out["kinds"]}
        assert kinds["__main__.Node"] == target.facts["nodes"]
    assert retries > 0, "no pause ever caught a collection; the test proves nothing"
