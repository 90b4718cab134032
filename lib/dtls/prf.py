"""TLS 1.2 pseudorandom function with SHA-256 (RFC 5246 section 5).

    PRF(secret, label, seed) = P_SHA256(secret, label + seed)
    P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
    A(0) = seed, A(i) = HMAC(secret, A(i-1))

DTLS 1.2 (RFC 6347) uses it unchanged for the master secret, key block and
Finished verify_data. With the C module the HMACs run on keyed SHA-256 states copied in C
(see dtls.hmac), which is as fast as a PRF written in C here.
"""

from dtls.hmac import hmac_sha256_pads, hmac_sha256_with_pads


def prf(secret, label, seed, length):
    """TLS 1.2 PRF: `length` bytes from secret, label (bytes) and seed (bytes)."""
    if length < 0:
        raise ValueError("PRF length must not be negative")
    pads = hmac_sha256_pads(secret)  # one key for every HMAC below
    out = bytearray(length)
    a = hmac_sha256_with_pads(pads, (label, seed))  # A(1); label + seed never joined
    pos = 0
    while pos < length:
        block = hmac_sha256_with_pads(pads, (a, label, seed))
        n = min(32, length - pos)
        out[pos:pos + n] = block if n == 32 else block[0:n]
        pos += n
        if pos < length:
            a = hmac_sha256_with_pads(pads, a)  # A(i+1)
    return bytes(out)
