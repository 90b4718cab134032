"""Run code inside the real MicroPython unix port from CPython tests.

MicroPython cannot read a script from stdin, so code is written to a file first.
MICROPYPATH keeps ".frozen" first: without it the frozen asyncio/argparse vanish.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
TOOLS = os.path.join(ROOT, "tools")


def micropython_path():
    exe = os.environ.get("MICROPYTHON")
    if exe:
        return exe
    venv = os.path.join(ROOT, ".venv", "bin", "micropython")
    if os.path.exists(venv):
        return venv
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run `make setup`")
    return found


def mp_env(extra=None):
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:" + LIB
    if extra:
        env.update(extra)
    return env


def run_script(path, args=(), heapsize=None, timeout=60, env=None, prefix=()):
    """Run a MicroPython script file; returns subprocess.CompletedProcess (text)."""
    cmd = list(prefix) + [micropython_path()]
    if heapsize:
        cmd += ["-X", "heapsize=" + str(heapsize)]
    cmd += [path] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=mp_env(env))


def run_code(code, args=(), heapsize=None, timeout=60, env=None):
    """Run a snippet of MicroPython code; returns subprocess.CompletedProcess."""
    fd, path = tempfile.mkstemp(suffix=".py", prefix="mp_")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(code)
        return run_script(path, args, heapsize=heapsize, timeout=timeout, env=env)
    finally:
        os.unlink(path)


def check_code(code, **kw):
    """Run code and fail with MicroPython's own output if it exits non-zero."""
    res = run_code(code, **kw)
    if res.returncode != 0:
        raise AssertionError("micropython failed (%d):\n%s\n%s"
                             % (res.returncode, res.stdout, res.stderr))
    return res.stdout
