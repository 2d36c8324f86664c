"""The full-screen `pyheapscope top`, driven in a real terminal (tmux
send-keys / capture-pane) against a target that adds instances of one class
at a steady, known rate."""
import os
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import BINARY, resolve_interpreter

KIND = "__main__.Leak"
pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")


class Pane:
    def __init__(self, command, width=140, height=40):
        self.name = "phs-" + uuid.uuid4().hex[:8]
        # The shell ignores SIGINT so that a Ctrl-C ends only pyheapscope
        # (which installs its own handler) and the pane lives on to be read.
        shell = "trap '' INT; LANG=C.UTF-8 %s; echo EXITED $?; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60" % command
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell],
                       check=True)

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name] + list(keys), check=True)

    def text(self):
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=True).stdout

    def wait_for(self, needle, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError("%r never appeared; screen:\n%s" % (needle, self.text()))

    def resize(self, width, height):
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)], check=True)

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def grower(make_target):
    return make_target(resolve_interpreter(("pyenv", "3.12")), "grow_target.py", ("500",))


@pytest.fixture
def pane_factory():
    panes = []

    def make(command, **kw):
        p = Pane(command, **kw)
        panes.append(p)
        return p

    yield make
    for p in panes:
        p.close()


def rows(screen):
    """Table rows: (count, dcount, kind)."""
    out = []
    for line in screen.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0].replace(",", "").isdigit():
            # the kind is what follows the last run of two spaces (it may hold one space)
            out.append((int(parts[0].replace(",", "")), parts[1], line.split("  ")[-1].strip()))
    return out


def test_the_class_shows_up_growing_and_keys_work(binary, grower, pane_factory):
    pane = pane_factory("%s top --interval 1 %d" % (BINARY, grower.pid))
    pane.wait_for("ΔCOUNT")
    pane.wait_for("since last refresh")
    time.sleep(2.5)                                   # two refreshes with deltas
    screen = pane.text()
    assert "pid %d" % grower.pid in screen and "Python 3.12" in screen and "RSS" in screen
    assert "GC gen0" in screen and "paused" in screen
    leak = [r for r in rows(screen) if r[2] == KIND]
    assert leak, screen
    dcount = int(leak[0][1].replace(",", "").replace("+", ""))
    assert 300 <= dcount <= 700, screen            # 500 per second, 1 s interval

    pane.keys("C")                                    # sort by Δcount: the class comes first
    time.sleep(0.5)
    assert rows(pane.text())[0][2] in (KIND, "str", "int"), pane.text()
    pane.keys("n")                                    # by name
    time.sleep(0.5)
    names = [r[2] for r in rows(pane.text())]
    assert names == sorted(names), names

    pane.keys("/", "L", "e", "a", "k", "Enter")       # filter
    time.sleep(0.5)
    assert [r[2] for r in rows(pane.text())] == [KIND], pane.text()

    pane.keys("Enter")                                # drill in
    pane.wait_for("Largest instances of " + KIND)
    screen = pane.wait_for("\n0x")                   # the rows follow the title: do not catch it half drawn
    assert sum(1 for l in screen.splitlines() if l.startswith("0x")) >= 5, screen
    pane.keys("Escape")
    pane.wait_for("ΔCOUNT")

    pane.keys("?")
    pane.wait_for("pyheapscope top - keys")
    pane.keys("x")
    pane.keys("p")
    pane.wait_for("[PAUSED]")
    pane.keys("q")
    pane.wait_for("EXITED 0")
    screen = pane.wait_for("icanon")
    assert "-icanon" not in screen, screen            # the terminal is back in cooked mode
    assert grower.proc.poll() is None


def test_ctrl_c_restores_the_terminal_and_releases_the_target(binary, grower, pane_factory):
    pane = pane_factory("%s top --interval 0.3 %d" % (BINARY, grower.pid))
    pane.wait_for("ΔCOUNT")
    pane.keys("C-c")
    pane.wait_for("EXITED")
    screen = pane.wait_for("icanon")
    assert "-icanon" not in screen, screen
    with open("/proc/%d/status" % grower.pid) as f:
        status = f.read()
    assert "TracerPid:\t0" in status and "State:\tS" in status or "State:\tR" in status


def test_resize(binary, grower, pane_factory):
    pane = pane_factory("%s top --interval 1 %d" % (BINARY, grower.pid))
    pane.wait_for("ΔCOUNT")
    pane.resize(80, 20)
    time.sleep(1.5)
    screen = pane.text()
    lines = screen.splitlines()
    assert len(lines) <= 20 and all(len(l) <= 80 for l in lines), screen
    assert "ΔCOUNT" in screen and "q quit" in screen and "KIND" in screen


def test_target_exit_keeps_the_last_data(binary, make_target, pane_factory):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "grow_target.py", ("200", "2"))
    pane = pane_factory("%s top --interval 0.5 %d" % (BINARY, target.pid))
    pane.wait_for("ΔCOUNT")
    screen = pane.wait_for("has exited", timeout=20)
    assert KIND in screen                             # the last table is still there
    pane.keys("q")
    pane.wait_for("EXITED 0")
