"""Builds of the C module that can be checked on this machine (no MicroPython checkout,
no ESP-IDF, no pico-sdk): natmod headers per arch, the user-module side of the binding
against py/ headers, the firmware target's refusals, and the board manifests' paths."""
import os
import re
import shutil
import subprocess

import pytest

from mp import ROOT
from native import ensure_natmod

# .mpy header: magic 'M', version 6, then arch (high bits) | sub-version 3 (mpy 6.3)
HEADERS = {"x64": "4d060b", "armv6m": "4d0613", "armv7emsp": "4d061f"}


def make(*args, timeout=300):
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def test_x64_natmod_header():
    with open(ensure_natmod(), "rb") as f:
        assert f.read(3).hex() == HEADERS["x64"]


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                    reason="gcc-arm-none-eabi not installed")
@pytest.mark.parametrize("arch", ["armv6m", "armv7emsp"])
def test_arm_natmod_builds(arch):
    res = make("-C", "firmware", "natmod-" + arch)
    assert res.returncode == 0, res.stdout + res.stderr
    path = os.path.join(ROOT, "dist", arch + "_6.3", "_dtlscrypto.mpy")
    with open(path, "rb") as f:
        assert f.read(3).hex() == HEADERS[arch]
    print(arch, os.path.getsize(path), "bytes")


def test_user_module_side_compiles():
    res = make("-C", "firmware", "user-module-check")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("compiles against py/ headers") == 2


def test_firmware_target_refuses_clearly():
    res = make("firmware")
    assert res.returncode != 0 and "set BOARD=" in res.stderr
    res = make("firmware", "BOARD=RPI_PICO_W")
    assert res.returncode != 0 and "set MPY_DIR=" in res.stderr
    res = make("firmware", "BOARD=ESP32_GENERIC", "MPY_DIR=build/mpy_dir")  # PyPI tree: no ports
    assert res.returncode != 0 and "not a MicroPython checkout" in res.stderr
    res = make("firmware", "BOARD=NOPE", "MPY_DIR=/x")
    assert res.returncode != 0 and "no board definition" in res.stderr


@pytest.mark.parametrize("board", ["ESP32_GENERIC", "RPI_PICO_W", "UNIX"])
def test_board_manifest_freezes_lib(board):
    folder = os.path.join(ROOT, "boards", board)
    text = open(os.path.join(folder, "manifest.py")).read()
    # The board includes lib/manifest.py (dtls, dtls-aio, dtls-ecc, coap), which names every file.
    base = re.search(r'^include\("(\.\./[^"]+)"\)', text, re.M).group(1)
    assert os.path.exists(os.path.join(folder, base, "manifest.py"))
    assert os.path.exists(os.path.join(folder, base, "dtls", "__init__.py"))
    assert os.path.exists(os.path.join(folder, "build.mk"))
