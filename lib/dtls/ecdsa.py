"""ECDSA over P-256 with SHA-256 (FIPS 186-4 section 6.4; ecdsa_secp256r1_sha256 in RFC 8422
section 5.10 and RFC 7925 section 4.3/4.4).

Signing uses deterministic nonces (RFC 6979 section 3.2, HMAC-SHA256), so no random source is
needed for k; the inversion of k is still blinded with os.urandom (see dtls.p256).
Signatures travel as DER Ecdsa-Sig-Value (RFC 8422 section 5.4 / RFC 3279 2.2.3); the
decoder here is strict, as Wycheproof expects.

With the C module (dtls.backend.native) sign and verify run in C (same RFC 6979 nonces, so
the same signatures); DER handling stays here.
"""
import hashlib

from dtls import p256
from dtls.backend import native as _native
from dtls.hmac import hmac_sha256

_N = p256.N
_P = p256.P


def _bits2int(digest):
    # FIPS 186-4 6.4 / RFC 6979 2.3.2: the leftmost 256 bits (qlen) of the hash. With a
    # 256-bit order this is a whole-byte truncation.
    return int.from_bytes(bytes(digest[:32]), "big")


def sign(priv, digest):
    """(r, s) for a 32-byte private key and a 32-byte SHA-256 digest; k per RFC 6979 3.2."""
    if _native is not None:
        if len(priv) != 32 or len(digest) != 32:
            raise ValueError("ecdsa.sign needs a 32-byte private key and a 32-byte SHA-256 digest")
        sig = _native.ecdsa_sign(priv, digest)  # ValueError for a key out of range
        return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    d = p256.scalar_from_bytes(priv)
    if len(digest) != 32:
        raise ValueError("ecdsa.sign needs a 32-byte SHA-256 digest")
    e = _bits2int(digest)
    x = d.to_bytes(32, "big")                  # int2octets(x)
    h1 = (e % _N).to_bytes(32, "big")          # bits2octets(h1)
    v = b"\x01" * 32                           # steps b, c
    k_ = b"\x00" * 32
    k_ = hmac_sha256(k_, v + b"\x00" + x + h1)  # d
    v = hmac_sha256(k_, v)                     # e
    k_ = hmac_sha256(k_, v + b"\x01" + x + h1)  # f
    v = hmac_sha256(k_, v)                     # g
    while True:                                # h: hlen == qlen, so one HMAC per candidate
        v = hmac_sha256(k_, v)
        k = int.from_bytes(v, "big")
        if 0 < k < _N:
            rx, _ = p256.scalar_mult_base(k)
            r = rx % _N
            if r:
                s = p256.inv_mod_blinded(k, _N) * (e + r * d) % _N
                if s:
                    return r, s
        # Out of range k, or r == 0 / s == 0 (RFC 6979 3.4): next candidate.
        k_ = hmac_sha256(k_, v + b"\x00")
        v = hmac_sha256(k_, v)


def verify(pub, digest, r, s):
    """True iff (r, s) is a valid signature of digest under pub.

    pub: 65-byte uncompressed point or an (x, y) pair; either way it is fully validated and an
    invalid key gives False. r and s must lie in [1, n-1]. Variable time (public data only).
    """
    if _native is not None:
        return _verify_native(pub, digest, r, s)
    try:
        if isinstance(pub, (tuple, list)):
            x, y = pub
            p256.check_point(x, y)
        else:
            x, y = p256.decode_point(pub)
    except (ValueError, TypeError):
        return False
    if not (0 < r < _N and 0 < s < _N):
        return False
    w = p256.inv_mod(s, _N)
    X, Y, Z = p256.mul_add_vartime(_bits2int(digest) * w % _N, r * w % _N, (x, y))
    if Z == 0:
        return False
    # Compare in Jacobian form (x = X / Z^2) to skip an inversion. x mod n == r means x == r or,
    # since p < 2n, x == r + n when that is still below p.
    zz = Z * Z % _P
    if (X - r * zz) % _P == 0:
        return True
    return r + _N < _P and (X - (r + _N) * zz) % _P == 0


def _verify_native(pub, digest, r, s):
    if not (0 < r < _N and 0 < s < _N):
        return False
    if isinstance(pub, (tuple, list)):
        try:
            x, y = pub
            if not (0 <= x < _P and 0 <= y < _P):
                return False
            pub = p256.encode_point(x, y)
        except (ValueError, TypeError, OverflowError):
            return False
    elif len(pub) != p256.POINT_LEN:
        return False
    # bits2int: the leftmost 256 bits; a shorter digest is the same number zero-padded.
    digest = bytes(digest[:32])
    if len(digest) < 32:
        digest = bytes(32 - len(digest)) + digest
    # The C side validates the point (off-curve or malformed: False) and the equation.
    return _native.ecdsa_verify(pub, digest, r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify_message_der(pub, message, der_sig):
    """Convenience: SHA-256 the message and verify a DER signature; malformed DER -> False."""
    try:
        r, s = decode_der_signature(der_sig)
    except ValueError:
        return False
    return verify(pub, hashlib.sha256(message).digest(), r, s)


def _read_der_uint(der, pos, end):
    # One INTEGER with a short-form length, non-negative, minimally encoded, at most 33 bytes
    # (enough for any value below 2^256 plus its sign octet).
    if pos + 2 > end or der[pos] != 0x02:
        raise ValueError("DER: expected INTEGER")
    n = der[pos + 1]
    pos += 2
    if n == 0 or n > 33 or pos + n > end:
        raise ValueError("DER: bad INTEGER length")
    if der[pos] & 0x80:
        raise ValueError("DER: negative INTEGER")
    if n > 1 and der[pos] == 0 and not der[pos + 1] & 0x80:
        raise ValueError("DER: non-minimal INTEGER")
    return int.from_bytes(bytes(der[pos:pos + n]), "big"), pos + n


def decode_der_signature(der):
    """Strict DER SEQUENCE { r INTEGER, s INTEGER } -> (r, s); ValueError on anything else
    (long-form or mismatched lengths, trailing bytes, negative or padded integers)."""
    end = len(der)
    # A P-256 signature is at most 72 bytes, so the SEQUENCE length is always short form.
    if end < 8 or der[0] != 0x30 or der[1] >= 0x80 or der[1] != end - 2:
        raise ValueError("DER: bad signature SEQUENCE")
    r, pos = _read_der_uint(der, 2, end)
    s, pos = _read_der_uint(der, pos, end)
    if pos != end:
        raise ValueError("DER: trailing data in signature")
    return r, s


def _der_uint(v):
    if not 0 < v < (1 << 256):
        raise ValueError("signature value out of range")
    b = v.to_bytes(33, "big")
    i = 0
    while i < 32 and b[i] == 0 and b[i + 1] < 0x80:
        i += 1
    return b"\x02" + bytes((33 - i,)) + b[i:]


def encode_der_signature(r, s):
    body = _der_uint(r) + _der_uint(s)
    return b"\x30" + bytes((len(body),)) + body
