"""The two crypto backends of dtls for tests that run code inside MicroPython.

    backend_env("python" | "native")  -> env overrides for mp.run_script / check_code
    BACKENDS                           parametrize over these

"native" loads the x64 natmod dist/x64_6.3/_dtlscrypto.mpy (DTLS_CRYPTO=native makes a
missing module an ImportError, so a test can never silently fall back to Python). The
module is built on first use with `make -C firmware natmod-x64` when it is not there yet
(make test builds it beforehand).
"""
import os
import subprocess

from mp import LIB, ROOT

BACKENDS = ("python", "native")
DIST_X64 = os.path.join(ROOT, "dist", "x64_6.3")
NATMOD = os.path.join(DIST_X64, "_dtlscrypto.mpy")

_built = []


def ensure_natmod():
    """Build the x64 natmod once per session if it is missing; AssertionError if that fails."""
    if _built or os.path.exists(NATMOD) and os.environ.get("DTLS_NATMOD_REBUILD") != "1":
        return NATMOD
    res = subprocess.run(["make", "-C", os.path.join(ROOT, "firmware"), "natmod-x64"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and os.path.exists(NATMOD), \
        "building the natmod failed:\n" + res.stdout[-3000:] + res.stderr[-3000:]
    _built.append(True)
    return NATMOD


def backend_env(backend):
    """Environment for a MicroPython run with that crypto backend."""
    if backend == "native":
        ensure_natmod()
        return {"DTLS_CRYPTO": "native", "MICROPYPATH": ".frozen:" + LIB + ":" + DIST_X64}
    assert backend == "python", backend
    return {"DTLS_CRYPTO": "python"}
