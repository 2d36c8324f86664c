"""Every error of `pyheapscope info` is one line on stderr and its own
documented exit status, never a crash (issue 2, required point 6)."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BINARY, pyenv_interpreters, resolve_interpreter, run_tool

EXIT_NO_PROCESS, EXIT_PERMISSION, EXIT_NOT_PYTHON = 3, 4, 5
EXIT_UNSUPPORTED, EXIT_OFFSETS, EXIT_EXITED = 6, 7, 8


def one_line_error(r, code, *words):
    assert r.returncode == code, (r.returncode, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("pyheapscope "), r.stderr
    for w in words:
        assert w in lines[0], (w, r.stderr)


COMMANDS = ["info", "summary", "advise"]


@pytest.mark.parametrize("command", COMMANDS)
def test_no_such_process(binary, command):
    p = subprocess.Popen(["true"])
    p.wait()                 # reaped: its PID names no process now
    one_line_error(run_tool(command, p.pid), EXIT_NO_PROCESS, "no process", str(p.pid))


@pytest.mark.parametrize("command", COMMANDS)
def test_not_a_python_process(binary, command):
    p = subprocess.Popen(["sleep", "100"])
    try:
        time.sleep(0.1)
        one_line_error(run_tool(command, p.pid), EXIT_NOT_PYTHON, "not a CPython process")
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("mm", ["2.7", "3.6"])
def test_unsupported_version(binary, mm):
    python = pyenv_interpreters().get(mm)
    if not python:
        pytest.skip("no pyenv build of Python %s on this machine" % mm)
    p = subprocess.Popen([python, "-c", "import time; time.sleep(100)"])
    try:
        time.sleep(0.5)
        one_line_error(run_tool("info", p.pid), EXIT_UNSUPPORTED, "Python " + mm, "3.7 to 3.15")
    finally:
        p.kill()
        p.wait()


def test_process_exits_during_attach(binary, make_target):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("2",))
    r = run_tool("info", target.pid, env={"PYHEAPSCOPE_TEST_HOOK": "exit-during-attach"})
    one_line_error(r, EXIT_EXITED, "exited")


def test_permission_denied(binary, make_target, tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run pyheapscope as another user")
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("1",))
    # A copy of the binary that user 'nobody' can run.
    d = tmp_path / "bin"
    d.mkdir()
    os.chmod(str(tmp_path), 0o755)
    os.chmod(str(d), 0o755)
    copy = d / "pyheapscope"
    shutil.copy(BINARY, copy)
    os.chmod(str(copy), 0o755)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(copy), "info",
                        str(target.pid)], capture_output=True, text=True, timeout=60)
    one_line_error(r, EXIT_PERMISSION, "ptrace_scope", "CAP_SYS_PTRACE")


def corrupted_table(tmp_path, mm, key, delta):
    """The checked-in table of mm with one field moved by delta bytes."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lines = []
    with open(os.path.join(repo, "symbols", mm + ".txt")) as f:
        for line in f:
            k = line.split()
            if k and k[0] == key:
                line = "%s %d\n" % (key, int(k[1]) + delta)
            lines.append(line)
    assert any(l.split()[:1] == [key] for l in lines), "no %s in the table of %s" % (key, mm)
    path = tmp_path / ("%s-%s.txt" % (mm, key))
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("command,key,delta", [
    ("info", "gc.generations", 8),          # GC list heads misplaced
    ("info", "interp.threads_head", 8),     # thread list head misplaced
    ("info", "tstate.interp", 8),           # thread states do not point back to their interpreter
    ("info", "tstate.prev", 16),            # thread list back links broken
    ("info", "type.tp_name", 8),            # PyType_Type not named "type"
    ("info", "runtime.interpreters_head", 16),
    # summary leaves the GC lists to the walk, which checks every link as it
    # follows them: wrong offsets must still fail as offsets (after the few
    # pauses a stop inside a splice is given), never as a bad histogram
    ("summary", "gc.generations", 8),
    ("summary", "gc.permanent_generation", 8),
    ("summary", "tstate.prev", 16),         # found by the state check before the walk
])
def test_offsets_inconsistent(binary, make_target, tmp_path, command, key, delta):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("1",))
    table = corrupted_table(tmp_path, "3.12", key, delta)
    r = run_tool(command, "--offsets-file", table, target.pid)
    one_line_error(r, EXIT_OFFSETS, "offsets")
    # The correct table read through the same option works.
    good = corrupted_table(tmp_path, "3.12", key, 0)
    assert run_tool(command, "--offsets-file", good, target.pid).returncode == 0


@pytest.mark.parametrize("key", ["gc.generations", "gc.permanent_generation"])
def test_failed_walk_wakes_waiting_helpers(binary, make_target, tmp_path, key):
    """A walk that fails while its helper threads wait for work must wake
    them and exit, not join them for ever. The hook holds the failure until
    every helper waits, as a loaded machine did once in CI (a bare store of
    the stop flag left them asleep)."""
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("1",))
    table = corrupted_table(tmp_path, "3.12", key, 8)
    r = run_tool("summary", "--offsets-file", table, target.pid, timeout=30,
                 env={"PYHEAPSCOPE_THREADS": "2", "PYHEAPSCOPE_TEST_HOOK": "idle-helpers-on-error"})
    one_line_error(r, EXIT_OFFSETS, "offsets")


def test_offsets_file_of_another_version(binary, make_target, tmp_path):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("1",))
    table = corrupted_table(tmp_path, "3.11", "interp.gc", 0)
    one_line_error(run_tool("info", "--offsets-file", table, target.pid), EXIT_OFFSETS, "3.11", "3.12")


def test_usage_errors(binary):
    for args in (["info"], ["info", "abc"], ["info", "1", "2"], ["bogus"], ["info", "--offsets", "x", "1"]):
        r = run_tool(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "pyheapscope" in r.stderr
    r = run_tool("--help")
    assert r.returncode == 0 and "Exit status" in r.stdout and "info PID" in r.stdout


def proc_state(pid):
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return fields["State"].strip(), int(fields["TracerPid"])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_signal_while_paused_releases_target(binary, make_target, sig, command):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("3",))
    tool = subprocess.Popen([BINARY, command, str(target.pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, PYHEAPSCOPE_TEST_HOOK="hold-pause"))
    # TracerPid is set at PTRACE_SEIZE, a moment before PTRACE_INTERRUPT
    # stops the thread: wait for the tracing stop itself.
    deadline = time.time() + 10
    while not (proc_state(target.pid)[1] != 0 and proc_state(target.pid)[0].startswith("t")):
        assert time.time() < deadline, "pyheapscope never paused the target"
        time.sleep(0.01)
    tool.send_signal(sig)
    tool.wait(timeout=10)
    assert tool.returncode == -sig
    state, tracer = proc_state(target.pid)
    assert tracer == 0 and not state.startswith(("t", "T")), state
    for task in os.listdir("/proc/%d/task" % target.pid):
        with open("/proc/%d/task/%s/status" % (target.pid, task)) as f:
            assert "TracerPid:\t0" in f.read()


@pytest.mark.parametrize("command", COMMANDS)
def test_stopped_target_stays_stopped(binary, make_target, command):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), args=("1",))
    os.kill(target.pid, signal.SIGSTOP)
    deadline = time.time() + 5
    while not proc_state(target.pid)[0].startswith("T"):
        assert time.time() < deadline
        time.sleep(0.01)
    try:
        r = run_tool(command, target.pid)
        assert r.returncode == 0, r.stderr
        time.sleep(0.1)
        state, tracer = proc_state(target.pid)
        assert state.startswith("T") and tracer == 0, state
    finally:
        os.kill(target.pid, signal.SIGCONT)
