"""The tables under symbols/ are what `pyheapscope symbols generate` makes
from each pyenv build's DWARF: regenerate and compare (issue 2, point 3)."""
import glob
import os
import shutil
import subprocess

import pytest

from conftest import REPO, build_id, pyenv_interpreters, run_tool, run_traced


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


def generate_traced(lib, debuginfo_path, tmp_path):
    """`symbols generate` of lib: its output, and whether it read a debug
    file through a lean copy in memory (memfd_create, seen by strace)."""
    r, trace = run_traced("memfd_create", "symbols", "generate", "--debuginfo-path", debuginfo_path, lib,
                          tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    return r.stdout, "pyheapscope-debuginfo" in trace


@pytest.mark.parametrize("compress", ["zlib", "none"])
def test_separate_debug_file_gives_the_same_offsets(binary, tmp_path, compress):
    """Distributions ship stripped binaries and compressed debug files. A
    compressed one found by build-id is read from a copy without its line
    tables and location lists (libdw would inflate them all); an
    uncompressed one, or one found only by .gnu_debuglink, as libdwfl opens
    it. Every way must give the offsets of the DWARF in the library itself."""
    if not shutil.which("objcopy") or not shutil.which("strace"):
        pytest.skip("objcopy and strace are needed (binutils, strace: .ci/run installs them)")
    python = pyenv_interpreters().get("3.12")
    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(python or "/")), "lib", "libpython3.12.so.1.0"))
    if not libs:
        pytest.skip("no pyenv build of Python 3.12 with a shared libpython")
    lib = libs[0]
    reference = run_tool("symbols", "generate", lib)
    assert reference.returncode == 0, reference.stderr
    bid = build_id(lib)
    assert bid, "pyenv's libpython has no build-id"

    stripped = tmp_path / "libpython3.12.so.1.0"
    subprocess.run(["objcopy", "--strip-debug", lib, str(stripped)], check=True)
    debug_dir = tmp_path / "debug"
    by_id = debug_dir / ".build-id" / bid[:2]
    by_id.mkdir(parents=True)
    debug_file = by_id / (bid[2:] + ".debug")
    keep = ["objcopy", "--only-keep-debug"] + (["--compress-debug-sections=zlib"] if compress != "none" else [])
    subprocess.run(keep + [lib, str(debug_file)], check=True)

    out, lean = generate_traced(str(stripped), str(debug_dir), tmp_path)
    assert data_lines(out) == data_lines(reference.stdout)
    assert lean == (compress != "none"), "the lean copy is for compressed debug files only"

    # Found by .gnu_debuglink only: libdwfl's search, the same offsets.
    linked = tmp_path / "linked"
    linked.mkdir()
    shutil.copy(str(debug_file), str(linked / "libpython3.12.debug"))
    with_link = linked / "libpython3.12.so.1.0"
    subprocess.run(["objcopy", "--add-gnu-debuglink=" + str(linked / "libpython3.12.debug"), str(stripped),
                    str(with_link)], check=True)
    out, lean = generate_traced(str(with_link), "-:.debug:" + str(tmp_path / "nowhere"), tmp_path)
    assert data_lines(out) == data_lines(reference.stdout)
    assert not lean
