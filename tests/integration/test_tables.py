"""The tables under symbols/ are what `pyheapscope symbols generate` makes
from each pyenv build's DWARF: regenerate and compare (issue 2, point 3)."""
import glob
import os

import pytest

from conftest import REPO, pyenv_interpreters, run_tool


def data_lines(text):
    return [l for l in text.splitlines() if l.strip() and not l.startswith("#")]


@pytest.mark.parametrize("mm", ["3.%d" % m for m in range(7, 14)])
def test_checked_in_table_matches_dwarf(binary, mm):
    python = pyenv_interpreters().get(mm)
    if not python:
        pytest.skip("no pyenv build of Python %s to regenerate its table from" % mm)
    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(python)), "lib", "libpython%s*.so.1.0" % mm))
    if not libs:
        pytest.skip("the pyenv build of %s has no shared libpython" % mm)
    r = run_tool("symbols", "generate", libs[0])
    assert r.returncode == 0, r.stderr
    with open(os.path.join(REPO, "symbols", mm + ".txt")) as f:
        checked_in = f.read()
    assert data_lines(r.stdout) == data_lines(checked_in), \
        "symbols/%s.txt differs from the DWARF of %s: regenerate it" % (mm, libs[0])


def test_every_supported_minor_has_a_table():
    for minor in range(7, 16):
        assert os.path.exists(os.path.join(REPO, "symbols", "3.%d.txt" % minor))
