"""Shared fixtures for the integration tests: the pyheapscope binary, the
interpreters found on this machine, and targets that write their own ground
truth before they sleep.

Interpreters are discovered at test time: the pyenv builds (3.7 and later
with DWARF; 2.7 and 3.6 for the "unsupported" errors), Debian's
/usr/bin/python3.11, Debian unstable's stripped 3.13/3.14/3.15 builds
unpacked by ../shared/tools/debian-python, and the stripped standalone
CPython of Google's Cloud SDK where it is installed. An absent one is a skip
that says why, never a silent pass.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

# Every test reads the offsets afresh, as on a first run: the cache of
# tables read from DWARF (~/.cache/pyheapscope) would let one test's run
# answer for another's. test_offsets_cache turns it on where it is tested.
os.environ["PYHEAPSCOPE_CACHE_DIR"] = ""

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(REPO, "tests", "targets")
BINARY = os.environ.get("PYHEAPSCOPE", os.path.join(REPO, "build", "pyheapscope"))
DEBIAN_PYTHON_TOOL = os.path.join(os.path.dirname(REPO), "shared", "tools", "debian-python")
GCLOUD_PYTHON = "/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3"


def pyenv_root():
    try:
        return subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def pyenv_interpreters():
    """{"3.12": path} for every pyenv build, keyed by major.minor."""
    found = {}
    for d in sorted(glob.glob(os.path.join(pyenv_root(), "versions", "*"))):
        name = os.path.basename(d)
        parts = name.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            continue
        mm = "%s.%s" % (parts[0], parts[1])
        exe = os.path.join(d, "bin", "python" + mm)
        if os.access(exe, os.X_OK):
            found[mm] = exe
    return found


_debian_cache = {}
DISTRO_PYTHON_TOOL = os.path.join(REPO, "tests", "tools", "distro-python")


def debian_python(version, suite="sid"):
    """Path of the stripped build of `version` in `suite` (Debian unstable
    unless said; "trixie", "ubuntu/resolute"), or None (and why)."""
    if (suite, version) in _debian_cache:
        return _debian_cache[(suite, version)]
    result = (None, "../shared/tools/debian-python is not there")
    if os.access(DEBIAN_PYTHON_TOOL, os.X_OK):
        cmd = [DEBIAN_PYTHON_TOOL, version] if suite == "sid" else [DISTRO_PYTHON_TOOL, suite, version]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            path = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
            if out.returncode == 0 and os.access(path, os.X_OK):
                result = (path, "")
            else:
                result = (None, "debian-python %s failed: %s" % (version, out.stderr.strip()[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            result = (None, "debian-python %s failed: %s" % (version, e))
    _debian_cache[(suite, version)] = result
    return result


_numpy_cache = {}
DEBIAN_NUMPY_TOOL = os.path.join(REPO, "tests", "tools", "debian-numpy")


def numpy_env(python):
    """The environment under which `python` imports numpy, or skip saying
    why: Debian's python3.11 has the python3-numpy package; Debian
    unstable's 3.14+ get that suite's numpy 2 from tests/tools/debian-numpy."""
    if python not in _numpy_cache:
        result = (None, "%s cannot import numpy" % python)
        if subprocess.run([python, "-c", "import numpy"], capture_output=True).returncode == 0:
            result = ({}, "")
        elif python in [path for path, _ in _debian_cache.values()]:
            out = subprocess.run([DEBIAN_NUMPY_TOOL, python], capture_output=True, text=True, timeout=600)
            if out.returncode == 0:
                result = (dict(line.split("=", 1) for line in out.stdout.split()), "")
            else:
                result = (None, out.stderr.strip()[-300:])
        _numpy_cache[python] = result
    env, why = _numpy_cache[python]
    if env is None:
        pytest.skip("no numpy: " + why)
    return env


def interpreter_params():
    """pytest params (id, getter) for every supported interpreter we may find.
    PYHEAPSCOPE_TEST_ONLY (comma-separated ids, e.g. pyenv-3.7,debian-3.11)
    keeps those and skips the others, visibly: the sanitizer run in CI
    takes a spread of versions (make sanitize-full takes all)."""
    specs = [(("pyenv", "3.%d" % minor), "pyenv-3.%d" % minor) for minor in range(7, 14)]
    specs.append((("system", "/usr/bin/python3.11"), "debian-3.11"))
    # a build of neither pyenv nor Debian, when this machine has one: the
    # stripped, clang-built CPython (python-build-standalone) that Google's
    # Cloud SDK bundles, read through the bundled tables
    specs.append((("system", GCLOUD_PYTHON), "gcloud-bundled"))
    specs += [(("debian", mm), "debian-unstable-" + mm) for mm in ("3.13", "3.14", "3.15")]
    # Debian 13's own python3: a 3.13 whose GC state is laid out as
    # Debian patches it (symbols/3.13-debian-gchead.txt), with its older
    # thread state
    specs.append((("debian", "trixie:3.13"), "debian-13-3.13"))
    # Ubuntu 26.04 LTS's 3.14 (3.14.4): the incremental GC of 3.14 before its
    # revert (symbols/3.14.0-incremental-gc.txt)
    specs.append((("debian", "ubuntu/resolute:3.14"), "ubuntu-26.04-3.14"))
    # more interpreters, by hand: PYHEAPSCOPE_TEST_PYTHONS=ID=PATH[,ID=PATH...]
    # (say another patch release, or another distribution's build)
    for item in [x for x in os.environ.get("PYHEAPSCOPE_TEST_PYTHONS", "").split(",") if x]:
        ident, _, path = item.partition("=")
        specs.append((("system", path), ident))
    only = [x for x in os.environ.get("PYHEAPSCOPE_TEST_ONLY", "").split(",") if x]
    params = []
    for spec, ident in specs:
        marks = ()
        if only and ident not in only:
            marks = pytest.mark.skip(reason="%s not in PYHEAPSCOPE_TEST_ONLY" % ident)
        params.append(pytest.param(spec, id=ident, marks=marks))
    return params


def resolve_interpreter(spec):
    kind, what = spec
    if kind == "pyenv":
        path = pyenv_interpreters().get(what)
        if not path:
            pytest.skip("no pyenv build of Python %s on this machine" % what)
        return path
    if kind == "system":
        if not os.access(what, os.X_OK):
            pytest.skip("%s is not installed" % what)
        return what
    suite, _, mm = what.rpartition(":")
    path, why = debian_python(mm, suite or "sid")
    if not path:
        pytest.skip("the distribution's Python %s is not available: %s" % (what, why))
    return path


class Target:
    """A running interpreter that wrote its facts; killed at teardown."""

    def __init__(self, python, script, args, tmp_path, timeout=60, env=None):
        self.facts_path = str(tmp_path / "facts.json")
        self.proc = subprocess.Popen([python, os.path.join(TARGETS, script), self.facts_path] + list(args),
                                     stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
        self.pid = self.proc.pid
        deadline = time.time() + timeout
        while not os.path.exists(self.facts_path):
            if self.proc.poll() is not None:
                raise RuntimeError("target %s exited with %s before writing its facts" % (script, self.proc.returncode))
            if time.time() > deadline:
                self.kill()
                raise RuntimeError("target %s wrote no facts in %ss" % (script, timeout))
            time.sleep(0.02)
        with open(self.facts_path) as f:
            self.facts = json.load(f)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def binary():
    if not os.access(BINARY, os.X_OK):
        pytest.fail("pyheapscope binary not built: %s (run make)" % BINARY)
    return BINARY


@pytest.fixture
def make_target(tmp_path):
    targets = []

    def start(python, script="info_target.py", args=(), subdir=None, timeout=60, env=None):
        d = tmp_path / (subdir or "t%d" % len(targets))
        d.mkdir()
        t = Target(python, script, args, d, timeout=timeout, env=env)
        targets.append(t)
        return t

    yield start
    for t in targets:
        t.kill()


# PYHEAPSCOPE_WRAPPER runs the tool under another program (make valgrind).
WRAPPER = os.environ.get("PYHEAPSCOPE_WRAPPER", "").split()


def build_id(path):
    """The GNU build-id of the ELF file at path, in hex (readelf), or None."""
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


def run_tool(*args, env=None, timeout=120):
    """Run pyheapscope; env adds to the environment (a value of None removes
    the variable)."""
    full_env = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    return subprocess.run(WRAPPER + [BINARY] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout * (10 if WRAPPER else 1), env=full_env)


def run_traced(syscalls, *args, tmp_path, env=None):
    """Run pyheapscope under strace, tracing syscalls (e.g. "open,openat"):
    the result, and the trace's text. Skips if strace is missing."""
    if not shutil.which("strace"):
        pytest.skip("strace is needed (.ci/run installs it)")
    trace = tmp_path / "strace.out"
    # LeakSanitizer cannot run under ptrace: the sanitizer build leaves it out here
    full_env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0", **(env or {}))
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=" + syscalls, "-o", str(trace)] + WRAPPER +
                       [BINARY] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=120 * (10 if WRAPPER else 1), env=full_env)
    return r, trace.read_text()


def run_json(*args, env=None):
    r = run_tool(*args, "--json", env=env)
    assert r.returncode == 0, "pyheapscope %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr)
    return json.loads(r.stdout)


def wait_facts(path, timeout=30):
    """The JSON a target writes (atomically) to path, once it is there."""
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, "target wrote no facts to %s" % path
        time.sleep(0.05)
    with open(path) as f:
        return json.load(f)
