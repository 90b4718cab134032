"""The PSK handshake plus data within 32 KB of heap (issue: `-X heapsize=32k`).

On a board the library is frozen into flash (boards/) and its bytecode takes no heap. The
unix port has no frozen copy of it: imported code lives in the GC heap (about 45 KB for
the PSK modules on this 64-bit build). So the script imports the modules first, then
pins a ballast so that exactly 32 KB stay free, and runs the handshake and data in that.
A runtime need above 32 KB raises MemoryError and fails the test."""
import pytest

import mp

LIMIT = 32 * 1024

SCRIPT = """
import gc, sys
import dtls
from dtls import aes, ccm, client, connection, context, handshake, hmac, keys, prf, record
# Keep one contiguous 32 KB region (a board's heap is one region), fill every other free
# block of the (fragmented) heap with ballast, then release the region.
reserve = bytearray(%(limit)d - 64)
ballast = [None] * 8192
i = 0
n = 1 << 20
while n >= 16 and i < len(ballast):
    try:
        ballast[i] = bytearray(n)
        i += 1
    except MemoryError:
        n //= 2
reserve = None
gc.collect()
print("free", gc.mem_free())
ctx = dtls.Context(psk=(%(identity)r, bytes.fromhex(%(key)r)), handshake_timeout_ms=20000)
with ctx.connect("127.0.0.1", %(port)d) as conn:
    for i in range(20):
        msg = b"record %%d " %% i + b"x" * 200
        conn.send(msg)
        conn.settimeout(10)
        assert conn.recv() == msg
    gc.collect()
    print("after", gc.mem_free())
print("ok", conn.cipher_suite)
"""


@pytest.mark.parametrize("name", ["mbedtls", "tinydtls"])
def test_psk_handshake_and_data_in_32k(start_peer, name):
    peer = start_peer(name)
    code = SCRIPT % {"limit": LIMIT, "identity": peer.psk_identity.encode(),
                     "key": peer.psk_key_hex, "port": peer.port}
    res = mp.run_code(code, heapsize="256k", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    free = int(lines[0].split()[1])
    assert LIMIT - 256 <= free <= LIMIT + 256, free  # 32 KB free, give or take a block
    assert lines[-1] == "ok TLS_PSK_WITH_AES_128_CCM_8"
