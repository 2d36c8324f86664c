"""The cache of offset tables read from DWARF (~/.cache/pyheapscope): a
second attach to the same build takes the table from it instead of the debug
file, and an entry that is not whole, not made by this pyheapscope, or that
another user could have written is never trusted."""
import json
import os
import shutil

import pytest

from conftest import build_id, resolve_interpreter, run_json, run_tool, run_traced
from test_info import check_against_facts, debian_debug_file


def debian_target(make_target):
    python = resolve_interpreter(("system", "/usr/bin/python3.11"))
    if debian_debug_file(python) is None:
        pytest.skip("python3.11-dbg is not installed (.ci/run installs it)")
    return python, make_target(python, args=("2",))


def info_with_cache(target, cache, *extra):
    return run_json("info", *extra, target.pid, env={"PYHEAPSCOPE_CACHE_DIR": str(cache)})


def opened_files(tmp_path, args, env):
    """The files a run of pyheapscope opened (strace), and its result."""
    r, trace = run_traced("open,openat", *args, tmp_path=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    return trace, r


def table_lines(text):
    """The "key value" lines of an offsets table."""
    return sorted(l for l in text.splitlines() if l and not l.startswith("#"))


def test_second_attach_reads_the_table_from_the_cache(binary, make_target, tmp_path):
    python, target = debian_target(make_target)
    debug_file = debian_debug_file(python)
    cache = tmp_path / "cache"
    first = info_with_cache(target, cache)
    assert first["offsets"]["source"] == "dwarf"
    assert "cached" not in first["offsets"]["origin"]
    entry = cache / ("%s.offsets" % build_id(python))
    assert entry.exists(), os.listdir(str(cache)) if cache.exists() else "no cache directory"
    assert (os.stat(str(cache)).st_mode & 0o777) == 0o700
    # The entry holds what DWARF says, as symbols generate prints it.
    generated = run_tool("symbols", "generate", python)
    assert generated.returncode == 0, generated.stderr
    text = entry.read_text()
    body = text.split("checksum ", 1)[1].split("\n", 1)[1]
    # where the DWARF was, as the target sees it: not through this PID's /proc/PID/root
    assert "\ndebug-file %s\n" % debug_file in text, text[:400]
    assert table_lines(body) == table_lines(generated.stdout)

    trace, r = opened_files(tmp_path, ["info", "--json", target.pid], {"PYHEAPSCOPE_CACHE_DIR": str(cache)})
    assert os.path.basename(debug_file) not in trace, "the debug file was read despite the cache"
    assert str(entry) in trace
    second = json.loads(r.stdout)
    assert second["offsets"]["source"] == "dwarf"
    assert "cached in %s" % entry in second["offsets"]["origin"]
    assert os.path.realpath(second["build"]["debug_info"]) == os.path.realpath(debug_file)
    check_against_facts(second, target.facts, "dwarf from the cache")
    # A summary through the cache sees the heap it sees without one.
    with_cache = run_json("summary", target.pid, env={"PYHEAPSCOPE_CACHE_DIR": str(cache)})
    without = run_json("summary", target.pid)
    for key in ("objects", "bytes", "gc_objects"):
        assert with_cache[key] == without[key], key

    # Forced DWARF is read from the debug file, every time.
    trace, _ = opened_files(tmp_path, ["info", "--json", "--offsets", "dwarf", target.pid],
                            {"PYHEAPSCOPE_CACHE_DIR": str(cache)})
    assert os.path.basename(debug_file) in trace


def edit_entry(entry, how):
    text = entry.read_text()
    if how == "value-changed":
        # a plausible wrong value under a stale checksum, one the validator
        # cannot tell from a right one: an edited or corrupted file
        lines = text.splitlines(True)
        i = next(i for i, l in enumerate(lines) if l.startswith("type.tp_name "))
        lines[i] = "type.tp_name %d\n" % (int(lines[i].split()[1]) + 8)
        entry.write_text("".join(lines))
    elif how == "other-build":
        # whole, but made by another pyheapscope build (its DWARF reader may differ)
        lines = text.splitlines(True)
        lines[1] = "tool " + "0" * 40 + "\n"
        entry.write_text("".join(lines))
    elif how == "truncated":
        entry.write_text(text[:len(text) // 2])
    elif how == "group-writable":
        os.chmod(str(entry), 0o664)
    elif how == "directory-world-writable":
        os.chmod(str(entry.parent), 0o777)
    elif how == "symlink":
        elsewhere = entry.parent.parent / "elsewhere.offsets"
        shutil.move(str(entry), str(elsewhere))
        os.symlink(str(elsewhere), str(entry))
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["value-changed", "other-build", "truncated", "group-writable",
                                 "directory-world-writable", "symlink"])
def test_untrusted_entry_is_read_again_from_dwarf(binary, make_target, tmp_path, how):
    python, target = debian_target(make_target)
    cache = tmp_path / "cache"
    info_with_cache(target, cache)
    entry = cache / ("%s.offsets" % build_id(python))
    assert entry.exists()
    edit_entry(entry, how)
    again = info_with_cache(target, cache)
    assert again["offsets"]["source"] == "dwarf"
    assert "cached" not in again["offsets"]["origin"], how
    check_against_facts(again, target.facts, how)
    if how in ("value-changed", "other-build", "truncated", "group-writable"):
        # remade whole in place: the next attach takes it
        assert "cached" in info_with_cache(target, cache)["offsets"]["origin"], how


def test_cache_location_and_off_switch(binary, make_target, tmp_path):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("1",))
    home = tmp_path / "home"
    home.mkdir()
    # the default: ~/.cache/pyheapscope, made if missing; a relative
    # XDG_CACHE_HOME is ignored, as the XDG spec says
    env = {"PYHEAPSCOPE_CACHE_DIR": None, "HOME": str(home), "XDG_CACHE_HOME": "relative"}
    first = run_json("info", target.pid, env=env)
    assert "cached" not in first["offsets"]["origin"]
    entries = os.listdir(str(home / ".cache" / "pyheapscope"))
    assert len(entries) == 1 and entries[0].endswith(".offsets"), entries
    assert "cached" in run_json("info", target.pid, env=env)["offsets"]["origin"]
    # XDG_CACHE_HOME, when absolute, wins over HOME
    xdg = tmp_path / "xdg"
    run_json("info", target.pid, env=dict(env, XDG_CACHE_HOME=str(xdg)))
    assert os.listdir(str(xdg / "pyheapscope")) == entries
    # PYHEAPSCOPE_CACHE_DIR="" turns it off: nothing read, nothing written
    off_home = tmp_path / "off-home"
    off_home.mkdir()
    off = run_json("info", target.pid, env={"PYHEAPSCOPE_CACHE_DIR": "", "HOME": str(off_home),
                                            "XDG_CACHE_HOME": None})
    assert "cached" not in off["offsets"]["origin"]
    assert os.listdir(str(off_home)) == []
    # root run with the HOME of another user (sudo keeping it) makes no
    # directory of its own in that user's home, and reads nothing there
    if os.geteuid() == 0:
        other = tmp_path / "other-home"
        other.mkdir()
        os.chown(str(other), 65534, 65534)
        theirs = run_json("info", target.pid, env={"PYHEAPSCOPE_CACHE_DIR": None, "HOME": str(other),
                                                   "XDG_CACHE_HOME": None})
        assert "cached" not in theirs["offsets"]["origin"]
        assert os.listdir(str(other)) == []
    # a cache directory moved elsewhere behind a symlink is used
    moved = tmp_path / "moved"
    moved.mkdir(mode=0o700)
    link = tmp_path / "link"
    os.symlink(str(moved), str(link))
    run_json("info", target.pid, env={"PYHEAPSCOPE_CACHE_DIR": str(link)})
    assert len(os.listdir(str(moved))) == 1
    assert "cached" in run_json("info", target.pid, env={"PYHEAPSCOPE_CACHE_DIR": str(link)})["offsets"]["origin"]
    # a debug path of the user's own is read, never cached
    own = run_json("info", "--debuginfo-path", str(tmp_path), target.pid,
                   env={"PYHEAPSCOPE_CACHE_DIR": str(tmp_path / "own")})
    assert "cached" not in own["offsets"]["origin"]
    assert not (tmp_path / "own").exists()
