"""Every interop test of test_interop_psk.py and test_interop_ecdhe.py once more with the C
crypto module: DTLS_CRYPTO=native and the x64 natmod on MICROPYPATH (see native.py).

The tests are the same function objects, collected here a second time; an autouse fixture
switches the environment that mp.mp_env() gives the client, and the success checks also
require the client's "crypto: native" line, so a silent fall back to Python fails. The CPython
run of the client (test_core_runs_under_cpython) is left out: a natmod loads only in MicroPython.
"""
import subprocess

import pytest

import mp
import native
import test_interop_ecdhe
import test_interop_psk

_SKIP = {"test_core_runs_under_cpython"}
_MODULES = (test_interop_psk, test_interop_ecdhe)

for _module in _MODULES:
    for _name, _obj in vars(_module).items():
        if _name.startswith("test_") and _name not in _SKIP:
            globals()[_name] = _obj


def _require_native_line(res):
    lines = res.stdout.splitlines()
    assert len(lines) > 1 and lines[1] == "crypto: native", \
        "client did not use the C module:\n%s\n%s" % (res.stdout, res.stderr)


@pytest.fixture(autouse=True)
def native_crypto(monkeypatch):
    env = native.backend_env("native")
    plain_env = mp.mp_env

    def mp_env(extra=None):
        merged = dict(env)
        merged.update(extra or {})
        return plain_env(merged)

    monkeypatch.setattr(mp, "mp_env", mp_env)

    psk_check = test_interop_psk.assert_clean_success

    def assert_clean_success(res):
        _require_native_line(res)
        # the PSK checks expect the default backend's line; the rest is unchanged
        out = res.stdout.replace("crypto: native", "crypto: python", 1)
        return psk_check(subprocess.CompletedProcess(res.args, res.returncode, out, res.stderr))

    monkeypatch.setattr(test_interop_psk, "assert_clean_success", assert_clean_success)

    ecdhe_check = test_interop_ecdhe.assert_ok

    def assert_ok(res, *args, **kw):
        lines = ecdhe_check(res, *args, **kw)
        _require_native_line(res)
        return lines

    monkeypatch.setattr(test_interop_ecdhe, "assert_ok", assert_ok)
