"""Time P-256 keygen, ECDH, ECDSA sign and verify: median ms over several runs.

    .venv/bin/micropython tools/bench_p256.py [runs]     (or python3, for comparison)

Runs unchanged on a board (copy dtls/ to the board's lib folder first).
"""
import sys

try:
    _here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    sys.path.insert(0, _here + "/../lib")
except NameError:
    pass

import hashlib
import time

from dtls import ecdsa, p256

try:
    _ticks_us = time.ticks_us
    _diff = time.ticks_diff
except AttributeError:  # CPython
    def _ticks_us():
        return int(time.perf_counter() * 1000000)

    def _diff(a, b):
        return a - b


def _median_ms(fn, runs):
    times = []
    for _ in range(runs):
        t0 = _ticks_us()
        fn()
        times.append(_diff(_ticks_us(), t0))
    times.sort()
    return times[len(times) // 2] / 1000


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    priv, pub = p256.generate_keypair()
    peer_priv, peer_pub = p256.generate_keypair()
    digest = hashlib.sha256(b"microdtls bench").digest()
    r, s = ecdsa.sign(priv, digest)
    if not ecdsa.verify(pub, digest, r, s):
        raise SystemExit("self-check failed: signature does not verify")
    if p256.ecdh(priv, peer_pub) != p256.ecdh(peer_priv, pub):
        raise SystemExit("self-check failed: ECDH mismatch")
    results = (
        ("keygen", _median_ms(p256.generate_keypair, runs)),
        ("ecdh", _median_ms(lambda: p256.ecdh(priv, peer_pub), runs)),
        ("sign", _median_ms(lambda: ecdsa.sign(priv, digest), runs)),
        ("verify", _median_ms(lambda: ecdsa.verify(pub, digest, r, s), runs)),
    )
    print("%s, median of %d runs:" % (sys.implementation.name, runs))
    for name, ms in results:
        print("  %-7s %8.2f ms" % (name, ms))


main()
