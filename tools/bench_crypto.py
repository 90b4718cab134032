"""Crypto throughput of dtls under the MicroPython unix port: pure Python vs the C module.

    .venv/bin/python tools/bench_crypto.py [--quick] [--json build/bench_crypto.json]

For each backend (DTLS_CRYPTO=python, DTLS_CRYPTO=native with dist/x64_6.3 on MICROPYPATH):
AES-CCM-8 seal+open per record size, P-256 key generation, ECDH, ECDSA sign and verify, the
TLS PRF (key block); then the natmod size per architecture found in dist/. Builds the x64
natmod first if it is missing. Figures are for this host's x64 CPU: on a microcontroller the
gap between pure Python and C is larger (no fast bignum or AES in C for the pure path to lean on,
except cryptolib's AES).
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests_host"))

import mp  # noqa: E402
from native import backend_env  # noqa: E402

INNER = r'''
import sys, time, json
import dtls
from dtls.ccm import AesCcm
from dtls import p256, ecdsa, prf
quick = len(sys.argv) > 1 and sys.argv[1] == "quick"
out = {"backend": dtls.crypto_backend()}

def per_op_us(fn, min_ms):
    n = 0
    t0 = time.ticks_us()
    while True:
        fn()
        n += 1
        dt = time.ticks_diff(time.ticks_us(), t0)
        if dt >= min_ms * 1000:
            return dt / n

ccm = AesCcm(bytes(range(16)), 8)
nonce, aad = bytes(12), bytes(13)
for size in (16, 64, 256, 1024):
    pt = bytes(size)
    def one():
        rec = ccm.seal(nonce, aad, pt)
        ccm.open(nonce, aad, rec)
    us = per_op_us(one, 100 if quick else 400)
    out["ccm8_%d_us" % size] = us
    out["ccm8_%d_kBps" % size] = 2 * size / us * 1e6 / 1024  # seal and open both count
ms = 200 if quick else 1500
priv, pub = p256.generate_keypair()
priv2, pub2 = p256.generate_keypair()
digest = bytes(range(32))
r, s = ecdsa.sign(priv, digest)
out["keygen_ms"] = per_op_us(p256.generate_keypair, ms) / 1000
out["ecdh_ms"] = per_op_us(lambda: p256.ecdh(priv, pub2), ms) / 1000
out["sign_ms"] = per_op_us(lambda: ecdsa.sign(priv, digest), ms) / 1000
out["verify_ms"] = per_op_us(lambda: ecdsa.verify(pub, digest, r, s), ms) / 1000
out["prf_keyblock_us"] = per_op_us(lambda: prf.prf(bytes(48), b"key expansion", bytes(64), 40),
                                   100 if quick else 300)
print(json.dumps(out))
'''


def run(backend, quick):
    fd, path = tempfile.mkstemp(suffix=".py")
    with os.fdopen(fd, "w") as f:
        f.write(INNER)
    try:
        res = mp.run_script(path, ["quick"] if quick else [], timeout=600,
                            env=backend_env(backend))
    finally:
        os.unlink(path)
    if res.returncode != 0:
        raise SystemExit("bench (%s) failed:\n%s%s" % (backend, res.stdout, res.stderr))
    return json.loads(res.stdout.strip().splitlines()[-1])


def natmod_sizes():
    sizes = {}
    dist = os.path.join(ROOT, "dist")
    for d in sorted(os.listdir(dist)) if os.path.isdir(dist) else ():
        path = os.path.join(dist, d, "_dtlscrypto.mpy")
        if os.path.exists(path):
            sizes[d] = os.path.getsize(path)
    return sizes


def main():
    quick = "--quick" in sys.argv
    out_path = os.path.join(ROOT, "build", "bench_crypto.json")
    if "--json" in sys.argv:
        out_path = sys.argv[sys.argv.index("--json") + 1]
    results = {b: run(b, quick) for b in ("python", "native")}
    py, nat = results["python"], results["native"]
    print("%-28s %12s %12s %8s" % ("operation (unix port, x64)", "python", "native", "speedup"))
    rows = [("AES-CCM-8 seal+open 16 B", "ccm8_16_us", "us"),
            ("AES-CCM-8 seal+open 64 B", "ccm8_64_us", "us"),
            ("AES-CCM-8 seal+open 256 B", "ccm8_256_us", "us"),
            ("AES-CCM-8 seal+open 1 KiB", "ccm8_1024_us", "us"),
            ("P-256 key generation", "keygen_ms", "ms"),
            ("P-256 ECDH", "ecdh_ms", "ms"),
            ("ECDSA P-256 sign", "sign_ms", "ms"),
            ("ECDSA P-256 verify", "verify_ms", "ms"),
            ("TLS PRF, 40-byte key block", "prf_keyblock_us", "us")]
    for label, key, unit in rows:
        print("%-28s %9.2f %s %9.2f %s %7.1fx" % (label, py[key], unit, nat[key], unit,
                                                  py[key] / nat[key]))
    for size in (64, 1024):
        key = "ccm8_%d_kBps" % size
        print("%-28s %9.0f KiB/s %6.0f KiB/s" % ("CCM-8 throughput %d B" % size, py[key], nat[key]))
    sizes = natmod_sizes()
    for arch, n in sizes.items():
        print("natmod %-21s %9d bytes" % (arch, n))
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump({"python": py, "native": nat, "natmod_bytes": sizes}, f, indent=1)
    print("(written to %s)" % os.path.relpath(out_path, ROOT))


if __name__ == "__main__":
    main()
