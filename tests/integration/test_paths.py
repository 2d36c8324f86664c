"""`retained` and `paths` (issue 5) on a target of known structure
(tests/targets/retain_target.py), on every interpreter here: the retained
size of the cache equals what the target computes it alone keeps alive;
paths name the chain module app -> cache -> 'orders' -> [i], the local
variable of a thread's frame, a reference cycle, a str's place in a
queue.SimpleQueue; garbage is unreachable."""
import json

import pytest

from conftest import interpreter_params, resolve_interpreter, run_json, run_tool

COUNT = 300


@pytest.fixture
def dumped(binary, make_target, tmp_path, request):
    python = resolve_interpreter(request.param)
    target = make_target(python, "retain_target.py", (str(COUNT),))
    path = str(tmp_path / "heap.jsonl.gz")
    r = run_tool("dump", target.pid, "-o", path, timeout=120)
    assert r.returncode == 0, r.stderr
    return path, target.facts


@pytest.mark.parametrize("dumped", interpreter_params(), indirect=True)
def test_retained_and_paths_match_the_target(dumped):
    path, facts = dumped
    # the cache retains exactly what the target computes only it keeps alive
    out = run_json("retained", path, hex(facts["cache_id"]), "--top", "5")
    cache = out["object"]
    assert cache["kind"] == "dict" and cache["reachable"]
    assert (cache["retained"], cache["retained_objects"]) == \
           (facts["cache_retained"], facts["cache_retained_objects"])
    assert cache["dominators"], "the module app's dict keeps the cache alive"
    kinds = {k["kind"]: k for k in out["kinds"]}
    assert "app.Leaky" in kinds or len(out["kinds"]) == 5
    assert out["unreachable"]["objects"] >= 2          # the garbage cycle at least

    # every instance: one shape, through the module's cache
    out = run_json("paths", path, "--kind", "app.Leaky")
    assert out["instances"] == COUNT and out["unreachable"] == 0
    top = out["paths"][0]
    assert top["count"] == COUNT
    assert top["shape"] == "module app ['cache'] ['orders'] [*]", top["shape"]

    # one instance: the chain, with its index
    out = run_json("paths", path, str(facts["leaky_ids"][17]))
    assert out["reachable"] and len(out["paths"]) == 1
    assert out["paths"][0]["root"] == "module app"
    steps = out["paths"][0]["steps"]
    assert [s["how"] for s in steps] == ["root", "['cache']", "['orders']", "[17]"]
    assert [s["address"] for s in steps[1:]] == [facts["cache_id"], facts["orders_id"], facts["leaky_ids"][17]]

    # held only by a local variable of a thread's frame
    # (3.11+: the frame's slots are the root; before, the frame object is)
    out = run_json("paths", path, str(facts["secret_id"]))
    assert len(out["paths"]) == 1
    root, steps = out["paths"][0]["root"], out["paths"][0]["steps"]
    assert "thread %d, frame 0: hold (" % facts["holder_thread"] in root, root
    assert root.endswith("local buf") and len(steps) == 1 or \
           root.endswith(", frame") and [s["how"] for s in steps] == ["root", "local buf"], (root, steps)

    # a cycle held from the module: reached through .peer
    out = run_json("paths", path, str(facts["ring_ids"][1]))
    steps = out["paths"][0]["steps"]
    assert out["reachable"] and [s["how"] for s in steps[-2:]] in (["['ring']", ".peer"], [".__dict__", "['peer']"])
    holder = steps[-2]["address"] if steps[-1]["how"] == ".peer" else steps[-3]["address"]
    assert holder == facts["ring_ids"][0]

    # held only by a SimpleQueue, 5 gets after it was put there: its place
    # in the queue from 3.13 (a ring buffer), in the queue's list before
    out = run_json("paths", path, str(facts["job_ids"][8]))
    steps = out["paths"][0]["steps"]
    assert [s["how"] for s in steps] in (["root", "['jobs']", "[3]"], ["root", "['jobs']", ".lst", "[8]"]), steps
    assert steps[-1]["address"] == facts["job_ids"][8]

    # a garbage cycle: no root leads to it
    out = run_json("paths", path, str(facts["orphan_ids"][0]))
    assert out["reachable"] is False and out["paths"] == []
    assert run_json("retained", path, str(facts["orphan_ids"][0]))["object"]["reachable"] is False


@pytest.mark.parametrize("dumped", [("pyenv", "3.12")], indirect=True)
def test_text_output_and_errors(dumped):
    path, facts = dumped
    r = run_tool("paths", path, "--kind", "app.Leaky")
    assert r.returncode == 0 and "%d instances (" % COUNT in r.stdout and "['orders'] [*]" in r.stdout, r.stderr
    r = run_tool("paths", path, hex(facts["secret_id"]))
    assert r.returncode == 0 and "local buf" in r.stdout and "app.Secret" in r.stdout
    r = run_tool("retained", path)
    assert r.returncode == 0 and "By kind" in r.stdout and "Largest objects" in r.stdout
    r = run_tool("paths", path, "0x10")
    assert r.returncode == 11 and "no object at 0x10" in r.stderr
    r = run_tool("paths", path, "--kind", "app.Nothing")
    assert r.returncode == 11 and "app.Nothing" in r.stderr
    r = run_tool("paths", path)
    assert r.returncode == 2
    r = run_tool("retained", path, "banana")
    assert r.returncode == 2
    r = run_tool("paths", path + ".missing", "0x10")
    assert r.returncode == 10 and "cannot open" in r.stderr
