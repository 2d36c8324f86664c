"""Robustness: fail target read number N over a whole `info` or `summary` run (every N
up to 300, then a spread up to the run's last read, plus one past it).
Every run must end in a full result or a clean, one-line error with a
documented exit status; never a crash or a sanitizer report. The
sanitizer run (PYHEAPSCOPE_TEST_SCALE < 1), ten times slower a run, takes
every N up to 100 and the same spread: the normal build covers the rest."""
import os

import pytest

from conftest import resolve_interpreter, run_json, run_tool

CLEAN_EXITS = {0, 5, 7, 9}


DENSE = 300 if float(os.environ.get("PYHEAPSCOPE_TEST_SCALE", "1")) >= 1 else 100


def fault_points(total):
    points = set(range(1, min(total, DENSE) + 1))
    step = max(1, (total - DENSE) // 60)
    points.update(range(DENSE, total + 1, step))
    points.update({total, total + 1})
    return sorted(points)


@pytest.mark.parametrize("command", ["info", "summary"])
@pytest.mark.parametrize("sticky", [False, True])
def test_every_failing_read_is_a_clean_error(binary, make_target, sticky, command):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("2",))
    total = run_json(command, target.pid)["target_reads"]
    assert total > 10
    failures = 0
    for n in fault_points(total):
        fault = "%d%s" % (n, "+" if sticky else "")
        r = run_tool(command, target.pid, env={"PYHEAPSCOPE_FAULT_READ": fault})
        assert r.returncode in CLEAN_EXITS, (fault, r.returncode, r.stderr)
        assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
        if r.returncode != 0:
            failures += 1
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        if n > total:
            assert r.returncode == 0, "a fault past the last read changed the result: " + r.stderr
    assert failures > 0, "no injected fault was ever seen"
