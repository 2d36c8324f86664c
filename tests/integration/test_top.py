"""`pyheapscope top`: batch and JSON modes against a target that adds
instances of one class at a steady, known rate; starting the program to
watch; the target exiting under it."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import BINARY, TARGETS, resolve_interpreter, run_tool

KIND = "__main__.Leak"


@pytest.fixture
def grower(make_target):
    return make_target(resolve_interpreter(("pyenv", "3.12")), "grow_target.py", ("500",))


def test_json_lines_show_the_growth_rate(binary, grower):
    r = run_tool("top", "--json", "--iterations", "4", "--interval", "1", grower.pid, timeout=60)
    assert r.returncode == 0, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert [f["refresh"] for f in frames] == [1, 2, 3, 4]
    assert frames[0]["dobjects"] == 0
    rate = grower.facts["rate"]
    for f in frames[1:]:
        row = next(k for k in f["kinds"] if k["kind"] == KIND)
        seconds = f["elapsed_ms"] / 1000
        assert 0.7 * rate * seconds <= row["dcount"] <= 1.3 * rate * seconds, (row, seconds)
        assert row["dbytes"] > 0 and row["scount"] >= row["dcount"]
        assert f["snapshot"]["paused"] and f["rss_bytes"] > 0 and f["uptime_seconds"] >= 0
    last = next(k for k in frames[-1]["kinds"] if k["kind"] == KIND)
    first = next(k for k in frames[0]["kinds"] if k["kind"] == KIND)
    assert last["scount"] == last["count"] - first["count"]


def test_batch_text_frames(binary, grower):
    r = run_tool("top", "--batch", "--iterations", "2", "--interval", "0.5", "--sort", "dcount", "--top", "5",
                 grower.pid, timeout=60)
    assert r.returncode == 0, r.stderr
    frames = [f for f in r.stdout.split("pyheapscope top - ") if f]
    assert len(frames) == 2
    for f in frames:
        lines = f.splitlines()
        assert "pid %d" % grower.pid in lines[0]
        assert lines[1].startswith("Python 3.12") and "RSS" in lines[1]
        assert lines[2].startswith("GC gen0")
        assert lines[4].split() == ["COUNT", "DCOUNT", "SIZE", "DSIZE", "%HEAP", "AVG", "KIND"]
    rows = frames[1].splitlines()[5:10]
    assert rows[0].split()[-1] == KIND and rows[0].split()[1].startswith("+")


def test_start_the_program_and_watch_it(binary, tmp_path):
    python = resolve_interpreter(("pyenv", "3.12"))
    facts = str(tmp_path / "facts.json")
    r = run_tool("top", "--json", "--iterations", "2", "--interval", "0.5", "--",
                 python, os.path.join(TARGETS, "grow_target.py"), facts, "400", timeout=60)
    assert r.returncode == 0, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert any(k["kind"] == KIND for k in frames[-1]["kinds"])
    pid = frames[0]["pid"]
    time.sleep(0.2)
    assert not os.path.exists("/proc/%d/status" % pid) or "zombie" in open("/proc/%d/status" % pid).read(), \
        "top left the program it started running"


def test_target_exits_while_watched(binary, make_target):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "grow_target.py", ("100", "1.5"))
    r = run_tool("top", "--batch", "--interval", "0.5", target.pid, timeout=60)
    assert r.returncode == 8, (r.returncode, r.stderr)
    assert "exited" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "pyheapscope top - " in r.stdout      # the frames before it went away were printed


@pytest.mark.parametrize("args,message", [
    (["--interval", "0"], "--interval takes"),
    (["--iterations", "0"], "--iterations takes"),
    (["--sort", "age"], "--sort takes"),
])
def test_bad_options(binary, args, message):
    r = run_tool("top", "1", *args)
    assert r.returncode == 2 and message in r.stderr
