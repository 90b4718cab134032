"""The PSK handshake plus data within 32 KB of heap (issue: `-X heapsize=32k`), and an
ECDHE-ECDSA handshake with certificate validation within 64 KB (`-X heapsize=64k`).

On a board the library is frozen into flash (boards/) and its bytecode takes no heap. The
unix port has no frozen copy of it: imported code lives in the GC heap (about 80 KB for
the PSK modules on this 64-bit build). So tools/handshake_probe.py imports the modules
first, then fills the heap so that one contiguous 32 KB region stays free, and runs the
handshake and 20 echoed records in that. A runtime need above 32 KB raises MemoryError."""
import json
import os

import pytest

import mp

LIMIT = 32 * 1024
PROBE = os.path.join(mp.TOOLS, "handshake_probe.py")


@pytest.mark.parametrize("name", ["mbedtls", "tinydtls"])
def test_psk_handshake_and_data_in_32k(start_peer, name):
    peer = start_peer(name)
    res = mp.run_script(PROBE, ["microdtls", peer.host, peer.port, "--free", LIMIT,
                                "--echo", 20, "--identity", peer.psk_identity,
                                "--key", peer.psk_key_hex], heapsize="512k", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout.splitlines()[-1])
    assert result["ok"], result
    # the ballast left 32 KB, give or take a heap block
    assert LIMIT - 256 <= result["free_before"] <= LIMIT + 256, result


def test_ecdhe_certificate_handshake_in_64k(pki):
    from test_interop_ecdhe import openssl_cert_server
    with openssl_cert_server(pki) as peer:
        res = mp.run_script(PROBE, ["microdtls", peer.host, peer.port, "--free", 64 * 1024,
                                    "--ca", pki / "root.pem", "--debug"], heapsize="512k", timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        result = json.loads(res.stdout.splitlines()[-1])
        assert result["ok"], res.stdout
        assert 64 * 1024 - 256 <= result["free_before"] <= 64 * 1024 + 256, result
