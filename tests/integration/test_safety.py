"""Cannot harm the target (issue 7): read-only, proven under strace; the
target's own checksum of its data is unchanged after 100 snapshots; a
target killed in the middle of a snapshot is a clear error; targets in
their own mount namespace (the interpreter visible only inside it) and in
their own PID namespace are read by their host PID."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BINARY, resolve_interpreter, run_json, run_tool, wait_facts

# The only ptrace requests pyheapscope may make: none of them writes.
PTRACE_ALLOWED = {"PTRACE_SEIZE", "PTRACE_INTERRUPT", "PTRACE_DETACH", "PTRACE_CONT", "PTRACE_LISTEN",
                  "PTRACE_GETSIGINFO"}


def test_read_only_under_strace(binary, make_target, tmp_path):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "checksum_target.py")
    commands = [["info"], ["summary"], ["summary", "--nonblocking"], ["dump", "-o", str(tmp_path / "d.jsonl")],
                ["top", "--batch", "--iterations", "2", "--interval", "0.2"]]
    for command in commands:
        log = tmp_path / "strace.log"
        # (LeakSanitizer cannot run under a tracer: off for the sanitizer build)
        r = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e",
                            "trace=process_vm_readv,process_vm_writev,ptrace,openat,open",
                            BINARY] + command + [str(target.pid)],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        assert r.returncode == 0, (command, r.stderr[-500:])
        text = log.read_text()
        assert "process_vm_readv(%d" % target.pid in text, "strace saw no read: the log is not real"
        assert "process_vm_writev" not in text, command
        requests = set(re.findall(r"ptrace\((PTRACE_[A-Z_]+)", text))
        assert requests <= PTRACE_ALLOWED, (command, requests - PTRACE_ALLOWED)
        assert ("PTRACE_SEIZE" in requests) == ("--nonblocking" not in command), (command, requests)
        for line in text.splitlines():
            if "/proc/%d/mem" % target.pid in line:
                assert "O_RDONLY" in line and "O_RDWR" not in line and "O_WRONLY" not in line, line


def test_target_data_unchanged_after_100_snapshots(binary, make_target, tmp_path):
    # 100; the sanitizer run (PYHEAPSCOPE_TEST_SCALE=0.1) takes 10
    count = max(10, int(100 * float(os.environ.get("PYHEAPSCOPE_TEST_SCALE", "1"))))
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "checksum_target.py")
    for i in range(count):
        extra = ["--nonblocking"] if i % 2 else []
        out = run_json("summary", *extra, target.pid)
        assert out["objects"] > 20000
    os.kill(target.pid, signal.SIGUSR1)
    facts = wait_facts(target.facts_path + ".1")
    assert facts["now"] == facts["digest"] == target.facts["digest"]
    ticks = facts["ticks"]
    time.sleep(0.3)
    os.kill(target.pid, signal.SIGUSR1)
    assert wait_facts(target.facts_path + ".2")["ticks"] > ticks, "the target stopped running"


def proc_state(pid):
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return fields["State"].strip(), int(fields["TracerPid"])


def test_target_killed_while_paused(binary, make_target):
    target = make_target(resolve_interpreter(("pyenv", "3.12")), "checksum_target.py")
    tool = subprocess.Popen([BINARY, "summary", str(target.pid)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYHEAPSCOPE_TEST_HOOK="hold-pause"))
    deadline = time.time() + 10
    while not proc_state(target.pid)[0].startswith("t"):
        assert time.time() < deadline, "pyheapscope never paused the target"
        time.sleep(0.01)
    os.kill(target.pid, signal.SIGKILL)
    out, err = tool.communicate(timeout=30)
    assert tool.returncode == 8, (tool.returncode, err)
    assert len(err.strip().splitlines()) == 1 and "exited" in err, err


def need_root():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("namespaces need root and unshare")


def test_mount_namespace_interpreter_visible_only_inside(binary, make_target, tmp_path):
    """The interpreter is bind-mounted over an empty directory inside the
    target's own mount namespace: the host cannot open it by that path,
    pyheapscope must go through /proc/PID/root."""
    need_root()
    python = resolve_interpreter(("debian", "3.14"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(python)))   # .../root of usr/bin/python3.14
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    inside = os.path.join(str(hidden), os.path.relpath(python, root))
    facts = tmp_path / "facts.json"
    script = os.path.join(os.path.dirname(os.path.dirname(__file__)), "targets", "info_target.py")
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                             'mount --bind "$1" "$2" && exec "$3" "$4" "$5" 1',
                             "sh", root, str(hidden), inside, script, str(facts)])
    try:
        target_facts = wait_facts(str(facts))
        assert not os.path.exists(inside), "the interpreter should not be visible from here"
        assert target_facts["executable"] == inside
        out = run_json("info", proc.pid)
        assert out["python_version"] == "%d.%d.%d" % tuple(target_facts["version_info"][:3])
        assert out["executable"] == inside
        assert run_json("summary", proc.pid)["objects"] > 1000
    finally:
        proc.kill()
        proc.wait()


def test_pid_namespace_by_host_pid(binary, tmp_path):
    need_root()
    python = resolve_interpreter(("pyenv", "3.12"))
    facts = tmp_path / "facts.json"
    script = os.path.join(os.path.dirname(os.path.dirname(__file__)), "targets", "info_target.py")
    # --kill-child: killing unshare alone left the target running, one
    # sleeping Python per test run
    proc = subprocess.Popen(["unshare", "-p", "-f", "--kill-child", "--mount-proc", python, script, str(facts), "2"])
    host_pid = None
    try:
        target_facts = wait_facts(str(facts))
        with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
            host_pid = int(f.read().split()[0])
        out = run_json("info", host_pid)
        assert out["python_version"] == "%d.%d.%d" % tuple(target_facts["version_info"][:3])
        assert len(out["interpreters"][0]["threads"]) == 3
        assert run_json("summary", host_pid)["objects"] > 1000
    finally:
        if host_pid:
            try:
                os.kill(host_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.wait()
