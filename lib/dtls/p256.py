"""NIST P-256 (secp256r1) arithmetic for the ECDHE_ECDSA cipher suites.

RFC 7925 section 4.3/4.4 (via RFC 8422) requires secp256r1 with uncompressed points. Curve
parameters are from SEC 2 v2 section 2.4.2 / FIPS 186-4 D.1.2.3.

Representation: points inside this module are Jacobian (X, Y, Z) with x = X/Z^2, y = Y/Z^3;
Z == 0 is the point at infinity. Every multiply is followed by one `% P` (a 512-bit remainder
costs about three times the multiply itself in MicroPython, ~1 us on a PC), and sums/differences
are folded into the next reduction rather than reduced on their own.

Side channels: the secret-scalar paths (scalar_mult, scalar_mult_base) run a fixed sequence of
doublings and additions (no early exit, no branch on key bits), pick table entries by scanning
the whole table with masks, negate with masks and invert Z blinded. The addition formula keeps
branches for its exceptional cases (equal / opposite points): scalar_mult provably never takes
them (its last addition is done branch-free), scalar_mult_base only for a negligible set of
scalars. Python big integers are NOT constant-time (their length and the division inside `%`
depend on the values), so this is best effort; the planned C module is the hardened path.
Verification (public inputs only) uses a faster variable-time method.

@micropython.native on the hot functions measured only 5-8% faster on the unix port and would
tie the package to per-architecture .mpy files, so it is not used.

With the C module (dtls.backend.native) generate_keypair, public_key and ecdh run in
constant-time C (firmware/dtlscrypto/p256_*.c); the rest of this module stays pure Python.
"""
import os

from dtls.backend import native as _native

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

# Curve y^2 = x^3 - 3x + b over GF(p); the group has prime order n and cofactor 1.
# MicroPython inlines const() names at compile time, so P and N cost no global lookup.
P = const(0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff)
N = const(0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551)
B = const(0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b)
GX = const(0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296)
GY = const(0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)

_TWO256_MINUS_1 = const(0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)

POINT_LEN = const(65)   # 0x04 || X || Y (SEC 1 v2 section 2.3.3, uncompressed)
SCALAR_LEN = const(32)


def inv_mod(a, m):
    """Inverse of a modulo the prime m (P or N) by the extended Euclidean algorithm.

    Variable time: use it on public values only, or through inv_mod_blinded.
    (Never pow(a, -1, m): MicroPython returns 0 for it.)
    """
    a %= m
    if a == 0:
        raise ValueError("zero has no inverse")
    r0, r1, x0, x1 = m, a, 0, 1     # invariant: x_i * a == r_i (mod m)
    while r1 != 1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        x0, x1 = x1, x0 - q * x1
    return x1 % m


def _random_below(m):
    while True:
        r = int.from_bytes(os.urandom(32), "big")
        if 0 < r < m:
            return r


def inv_mod_blinded(a, m):
    """Inverse of a secret a modulo the prime m: Euclid only ever sees a * b for a random b,
    so its running time says nothing about a (and it is ~5x faster than Fermat here)."""
    b = _random_below(m)
    return inv_mod(a * b % m, m) * b % m


def check_point(x, y):
    """Raise ValueError unless (x, y) is an affine point of P-256 (SEC 1 v2 3.2.2.1).

    With cofactor 1, range + curve equation is full validation; the point at infinity has no
    affine form, so it can never pass.
    """
    if not (0 <= x < P and 0 <= y < P):
        raise ValueError("P-256 coordinate out of range")
    if (y * y - (x * x - 3) * x - B) % P:
        raise ValueError("point is not on P-256")


def decode_point(data):
    """65-byte uncompressed SEC 1 point -> validated (x, y). Compressed forms are refused:
    RFC 8422 5.1.2 / RFC 7925 4.3 allow only the uncompressed format."""
    if len(data) != POINT_LEN or data[0] != 4:
        raise ValueError("need a 65-byte uncompressed P-256 point")
    x = int.from_bytes(bytes(data[1:33]), "big")
    y = int.from_bytes(bytes(data[33:65]), "big")
    check_point(x, y)
    return x, y


def encode_point(x, y):
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def scalar_from_bytes(priv):
    """32-byte big-endian private key -> int in [1, n-1] (ValueError otherwise)."""
    if len(priv) != SCALAR_LEN:
        raise ValueError("P-256 private key must be 32 bytes")
    d = int.from_bytes(bytes(priv), "big")
    if not 0 < d < N:
        raise ValueError("P-256 private key out of range")
    return d


# --- Jacobian point arithmetic -------------------------------------------------------------

def _dbl(X1, Y1, Z1):
    # dbl-2001-b (Bernstein-Lange EFD), a = -3: 3M + 5S. Z1 == 0 stays 0 (infinity), and P-256
    # has no point of order 2, so doubling has no exceptional case.
    delta = Z1 * Z1 % P
    gamma = Y1 * Y1 % P
    beta = X1 * gamma % P
    alpha = (X1 - delta) * (X1 + delta)
    alpha = (alpha + alpha + alpha) % P      # 3(X - delta)(X + delta); adds beat small multiplies
    X3 = (alpha * alpha - (beta << 3)) % P
    Y3 = (alpha * ((beta << 2) - X3) - (gamma * gamma << 3)) % P
    Z3 = (Y1 * Z1 << 1) % P
    return X3, Y3, Z3


def _add_mixed(X1, Y1, Z1, x2, y2):
    # Jacobian + affine (x2, y2), 8M + 3S. The branches cover the exceptional inputs (infinity,
    # equal or opposite points); a fixed-pattern scalar multiplication with a random scalar
    # reaches them with negligible probability, but they keep the result right for any input.
    if Z1 == 0:
        return x2, y2, 1
    Z1Z1 = Z1 * Z1 % P
    U2 = x2 * Z1Z1 % P
    S2 = y2 * Z1 % P * Z1Z1 % P
    H = (U2 - X1) % P
    R = (S2 - Y1) % P
    if H == 0:
        if R == 0:
            return _dbl(X1, Y1, Z1)
        return 1, 1, 0
    HH = H * H % P
    HHH = H * HH % P
    V = X1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - Y1 * HHH) % P
    return X3, Y3, Z1 * H % P


def _add_mixed_masked(X1, Y1, Z1, x2, y2):
    # _add_mixed without branches for a finite X1:Y1:Z1; also returns -1 when the inputs were
    # equal (the result is then garbage and the caller substitutes a doubling), else 0. The
    # opposite-points case cannot reach it (see scalar_mult).
    Z1Z1 = Z1 * Z1 % P
    U2 = x2 * Z1Z1 % P
    S2 = y2 * Z1 % P * Z1Z1 % P
    H = (U2 - X1) % P
    R = S2 - Y1
    HH = H * H % P
    HHH = H * HH % P
    V = X1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - Y1 * HHH) % P
    return X3, Y3, Z1 * H % P, -(H == 0)


def _add(X1, Y1, Z1, X2, Y2, Z2):
    # General Jacobian addition (add-1998-cmo-2), 12M + 4S; used only to build tables.
    if Z1 == 0:
        return X2, Y2, Z2
    if Z2 == 0:
        return X1, Y1, Z1
    Z1Z1 = Z1 * Z1 % P
    Z2Z2 = Z2 * Z2 % P
    U1 = X1 * Z2Z2 % P
    U2 = X2 * Z1Z1 % P
    S1 = Y1 * Z2 % P * Z2Z2 % P
    S2 = Y2 * Z1 % P * Z1Z1 % P
    H = (U2 - U1) % P
    R = (S2 - S1) % P
    if H == 0:
        if R == 0:
            return _dbl(X1, Y1, Z1)
        return 1, 1, 0
    HH = H * H % P
    HHH = H * HH % P
    V = U1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - S1 * HHH) % P
    return X3, Y3, Z1 * Z2 % P * H % P


def _to_affine(X, Y, Z):
    # Z depends on the secret scalar, hence the blinded inverse.
    if Z == 0:
        raise ValueError("result is the point at infinity")
    zi = inv_mod_blinded(Z, P)
    zi2 = zi * zi % P
    return X * zi2 % P, Y * zi2 % P * zi % P


def _batch_to_affine(pts):
    # Montgomery's trick: one inversion for the whole list. Public points only (plain inv_mod).
    count = len(pts)
    prefix = [1] * count
    acc = 1
    for i in range(count):
        acc = acc * pts[i][2] % P
        prefix[i] = acc
    inv = inv_mod(acc, P)
    xs = [0] * count
    ys = [0] * count
    for i in range(count - 1, -1, -1):
        X, Y, Z = pts[i]
        zi = inv * prefix[i - 1] % P if i else inv
        inv = inv * Z % P
        zi2 = zi * zi % P
        xs[i] = X * zi2 % P
        ys[i] = Y * zi2 % P * zi % P
    return xs, ys


def _odd_multiples(x, y, count):
    # Affine P, 3P, 5P, ..., (2*count - 1)P for a validated point P (prime order: no step of
    # this chain can hit an exceptional case).
    X2, Y2, Z2 = _dbl(x, y, 1)
    pts = [(x, y, 1)]
    X, Y, Z = x, y, 1
    for _ in range(count - 1):
        X, Y, Z = _add(X, Y, Z, X2, Y2, Z2)
        pts.append((X, Y, Z))
    return _batch_to_affine(pts)


def _ct_select(xs, ys, base, idx):
    # Entry base + idx of an 8-entry table, reading every entry and combining with masks
    # (m = -1 for the wanted entry, 0 otherwise) instead of indexing by the secret digit.
    sx = sy = 0
    for j in range(8):
        m = ((j ^ idx) - 1) >> 8
        sx |= xs[base + j] & m
        sy |= ys[base + j] & m
    return sx, sy


# --- scalar multiplication -----------------------------------------------------------------

def scalar_mult(k, point):
    """k * point for a secret k in [1, n-1] and an affine point; returns affine (x, y).

    Fixed 4-bit window over a regular signed recoding (every digit odd, in [-15, 15]; Joye and
    Tunstall 2009): 253 doublings and 63 mixed additions whatever k is, table entries picked by
    a masked scan. An even k is replaced by n - k (odd) and the result negated, without branching.
    """
    if not 0 < k < N:
        raise ValueError("scalar out of range")
    x, y = point
    check_point(x, y)
    xs, ys = _odd_multiples(x, y, 8)
    flip = (k & 1) - 1                  # -1 when k is even, else 0
    k ^= (k ^ (N - k)) & flip           # now odd
    digits = [0] * 64
    for i in range(63):
        d = (k & 31) - 16               # odd, -15..15
        digits[i] = d
        k = (k - d) >> 4                # stays odd
    # k < 2^256 leaves k in 1..15 here (odd): the top digit, always positive.
    X, Y = _ct_select(xs, ys, 0, k >> 1)
    Z = 1
    for i in range(62, -1, -1):
        X, Y, Z = _dbl(X, Y, Z)
        X, Y, Z = _dbl(X, Y, Z)
        X, Y, Z = _dbl(X, Y, Z)
        X, Y, Z = _dbl(X, Y, Z)
        d = digits[i]
        s = d >> 8                      # -1 when d < 0, else 0
        sx, sy = _ct_select(xs, ys, 0, ((d ^ s) - s) >> 1)
        sy ^= (sy ^ (P - sy)) & s       # conditional negation
        if i:
            X, Y, Z = _add_mixed(X, Y, Z, sx, sy)
    # Before adding digit i >= 1 the accumulator is 16*k_(i+1)*P with 16 <= 16*k_(i+1) < 2^252,
    # so it is never +-d_i*P or infinity: those additions have no exceptional case. The last one
    # does when k - d_0 == d_0 (mod n) (k = n - 2|d_0|), so do it without a branch: compute the
    # doubling as well and keep it, by mask, when the addition degenerates.
    DX, DY, DZ = _dbl(X, Y, Z)
    X, Y, Z, degenerate = _add_mixed_masked(X, Y, Z, sx, sy)
    X ^= (X ^ DX) & degenerate
    Y ^= (Y ^ DY) & degenerate
    Z ^= (Z ^ DZ) & degenerate
    Y ^= (Y ^ (P - Y)) & flip
    return _to_affine(X, Y, Z)


def _comb_entry(chunks, i, h):
    # Column i of comb table h: recoded bits i + 16*h + 64*t (t = 0..3), i.e. bit i of the 16-bit
    # chunks h, h+4, h+8, h+12. Each recoded digit is +1 (bit 1) or -1 (bit 0); the table holds
    # the columns whose top digit is +1, so the top bit gives the sign and the others (relative
    # to it) the index.
    b3 = (chunks[h + 12] >> i) & 1
    idx = (((chunks[h] >> i) & 1) ^ b3
           | (((chunks[h + 4] >> i) & 1) ^ b3) << 1
           | (((chunks[h + 8] >> i) & 1) ^ b3) << 2) ^ 7
    sx, sy = _ct_select(_COMB_X, _COMB_Y, h * 8, idx)
    s = b3 - 1                          # -1: negative column
    sy ^= (sy ^ (P - sy)) & s
    return sx, sy


def scalar_mult_base(k):
    """k * G for a secret k in [1, n-1]; returns affine (x, y).

    Signed Lim-Lee comb, 4 teeth 64 bits apart, 4 tables 16 bits apart (8 entries each): 15
    doublings and 64 mixed additions (the first onto infinity), fixed pattern. An odd k is
    written as sum((2*b_i - 1) * 2^i) with b the bits of (k + 2^256 - 1) / 2, so no column is
    ever zero. The additions could only be exceptional if the running sum equalled +-the table
    column being added, which a uniformly random k (keygen, RFC 6979 nonces) hits with
    negligible probability; _add_mixed still returns the right point if it happens.
    """
    if not 0 < k < N:
        raise ValueError("scalar out of range")
    flip = (k & 1) - 1
    k ^= (k ^ (N - k)) & flip
    k = (k + _TWO256_MINUS_1) >> 1
    chunks = [(k >> (16 * j)) & 0xffff for j in range(16)]
    X, Y, Z = 1, 1, 0
    for i in range(15, -1, -1):
        if i != 15:                     # public loop counter
            X, Y, Z = _dbl(X, Y, Z)
        for h in range(4):
            sx, sy = _comb_entry(chunks, i, h)
            X, Y, Z = _add_mixed(X, Y, Z, sx, sy)
    Y ^= (Y ^ (P - Y)) & flip
    return _to_affine(X, Y, Z)


_WNAF_LEN = 258  # digits of a scalar below 2^256, with room for the final carry


def _wnaf(k, w):
    # Width-w NAF, least significant digit first: each digit 0 or odd with |d| < 2^(w-1),
    # stored as d + 128 in a fixed-size bytearray (a growing list of ints would need a
    # 4 KB contiguous block on a 64-bit port, which a fragmented small heap may not have).
    half = 1 << (w - 1)
    full = 1 << w
    out = bytearray(b"\x80" * _WNAF_LEN)
    i = 0
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= half:
                d -= full
            k -= d
            out[i] = d + 128
        k >>= 1
        i += 1
    return out


def mul_add_vartime(u1, u2, point):
    """u1*G + u2*point as Jacobian (X, Y, Z) (Z == 0: infinity), for ECDSA verification.

    VARIABLE TIME (public inputs only): interleaved wNAF (Shamir's trick), width 6 for G with
    the built-in table, width 5 for the point. The caller validates the point.
    """
    x, y = point
    qxs, qys = _odd_multiples(x, y, 8)
    n1 = _wnaf(u1 % N, 6)
    n2 = _wnaf(u2 % N, 5)
    length = _WNAF_LEN
    while length and n1[length - 1] == 128 and n2[length - 1] == 128:
        length -= 1
    X, Y, Z = 1, 1, 0
    for i in range(length - 1, -1, -1):
        if Z:
            X, Y, Z = _dbl(X, Y, Z)
        d = n1[i] - 128
        if d > 0:
            X, Y, Z = _add_mixed(X, Y, Z, _G_ODD_X[d >> 1], _G_ODD_Y[d >> 1])
        elif d < 0:
            X, Y, Z = _add_mixed(X, Y, Z, _G_ODD_X[-d >> 1], P - _G_ODD_Y[-d >> 1])
        d = n2[i] - 128
        if d > 0:
            X, Y, Z = _add_mixed(X, Y, Z, qxs[d >> 1], qys[d >> 1])
        elif d < 0:
            X, Y, Z = _add_mixed(X, Y, Z, qxs[-d >> 1], P - qys[-d >> 1])
    return X, Y, Z


# --- key agreement -------------------------------------------------------------------------

def generate_keypair(rng=None):
    """-> (private 32 bytes, public 65 bytes). The scalar is uniform in [1, n-1]: 32 bytes from
    rng (default os.urandom) are redrawn until they fall in range (FIPS 186-4 B.4.2 style)."""
    if rng is None:
        rng = os.urandom
    while True:
        raw = bytes(rng(SCALAR_LEN))
        if len(raw) != SCALAR_LEN:
            raise ValueError("rng returned the wrong number of bytes")
        d = int.from_bytes(raw, "big")
        if 0 < d < N:
            break
    if _native is not None:
        return raw, _native.p256_public_key(raw)
    x, y = scalar_mult_base(d)
    return d.to_bytes(32, "big"), encode_point(x, y)


def public_key(priv):
    """Public key (65 bytes) of a 32-byte private key."""
    if _native is not None:
        if len(priv) != SCALAR_LEN:
            raise ValueError("P-256 private key must be 32 bytes")
        return _native.p256_public_key(priv)    # ValueError out of range, as below
    x, y = scalar_mult_base(scalar_from_bytes(priv))
    return encode_point(x, y)


def ecdh(priv, peer_pub):
    """ECDH shared secret (RFC 8422 5.10): the 32-byte x-coordinate of priv * peer_pub.

    peer_pub is validated (ValueError if malformed, compressed or off the curve); a result at
    infinity (impossible for a valid point of prime order) also raises ValueError.
    """
    if _native is not None:
        if len(priv) != SCALAR_LEN or len(peer_pub) != POINT_LEN:
            raise ValueError("need a 32-byte private key and a 65-byte uncompressed point")
        return _native.p256_ecdh(priv, peer_pub)  # validates both, ValueError otherwise
    d = scalar_from_bytes(priv)
    point = decode_point(peer_pub)
    x, _ = scalar_mult(d, point)
    return x.to_bytes(32, "big")


# --- fixed tables for G (generated from the `cryptography` package; checked by
# tests_host/test_p256.py::test_base_tables) ------------------------------------------------
# _COMB_*[8*h + j] = 2^(16h) * (2^192 + s2*2^128 + s1*2^64 + s0) * G, s_t = +1 if bit t of j
# is set else -1 (h = 0..3; j = 0..7).
# _G_ODD_*[i] = (2i + 1) * G, i = 0..15 (width-6 wNAF in verification).
_COMB_X = (
    0xdca746348411afb57a941b3100c7462ec7dd307902d883402c147bd3023e0a99,
    0x47b8c15b5931239087f51bcfa6c7513324fc081ad4e6e5c5f7447e16e0b9010a,
    0x39f2e126e7a90157aff955e975a529794fcfde2a0fcb47e38db221505b370b39,
    0xb98668c64a1d889b37b090171835523743726c12f9021bc1dbd40b537699e898,
    0x8399d76df70660cb574af433f51b14f0accbd9e5a6c902a97342e89b4c02faa6,
    0x61302d5d508fdc2e7f8ed508a43b83b70ba6d2f4e0103c59d14f8ead7db8cab2,
    0x8781fbdafc931410b414f9cee81ff10c45e388a81fd9d03de47c247d3ce742eb,
    0xb48e26b484f7a21c0a4a46fb6aaf363a66b0de3225c4744b9615b5110d1d78e5,
    0x8932bc528e5a0961e654b4be01221e4c7bec5d585933bc9a1739ef407b5274e3,
    0x491ed6749ea9a42163c053ad838787cb9790f62272da32816254a3cf5d9f1687,
    0x28a684cf919d72e4a4411001526a9b0ba3e206551a53f6623ffb4d080e16fe90,
    0x055b0eff11f8acc60d92134a6889023968d328c268da3a881902ef8249eacb31,
    0x3ff98c5b9935acbf5beecc8016d96507cb082716f523979b43a813f65b4d32f5,
    0x140b4f8e94618bb2a71be3f3dc44bc51756d612c813aa9a9a28a7518c1531fbc,
    0x774549d461bae3fdc4e852b7c63ee8566c3276a23ccc057de726f7f983339395,
    0xe6ac67b1996218b7144ebc2de747aa83db46ae4d68a84bf098fbea5ee72dd53a,
    0x93ec502f40eb0400de6f9b655ba7c4b0bab7fe8cd9cfff3def0480c8c30436cf,
    0xf78f1923e1ce67e4bc39529a19e78b5a6a8fdcfe5bcfaff35afdfe2657e7f028,
    0x16c095ebe31d5c287d4c2a2c05d226c084929064ad0e6ca773c606eb5915322a,
    0x4b9cc3e655f2392a8e057e7145116a58670d0fad014c766b7d3a1ce165852310,
    0x795987c0fa86df65e51d7636d9e2b769ca3551384b49f3281baa91d27489115c,
    0xd6563611c482f425b064d6b3eb4ca2dc4ab509faa3d570856d9c9cd80bdf143a,
    0x96e8837a894db4d17ae418f5e6e596fa6c56158963a63bf00a37356e493a5dda,
    0x15fee545c78dd9f6fc7d229ca0058c3bf330240db58d5a62f20fc2afdf1d043d,
    0x1a3dd8d54e6e9536a7fd32ac5c33558c8582cb346e8b155e32ef44e519e65674,
    0x16d68d3de8401daf8765f718ad7c003192c179a31c69b71112f8d58eccd069ce,
    0x1ea1827108225a359d5c911a0bad8dafe415277e934cbb27aa1615fc8530c568,
    0xea788258dca94c1acca535f5450abb5dcd44de7d11a4cde4853ae0070d34baa1,
    0x1d897cab7a66ed27b2edf6c63fcf000c30e4363308e3b7102bd82824155a273d,
    0x740afbacdc6e6f0f841455a64c78c6d914bcaa566e1694f656227527fb10bc02,
    0xde2d944af6da8c74af381c37b15cc3b084d2a39f523c486f363794fddbc1c9c2,
    0x1e861bc1972202beede61ee9473f7b1194c2a6dc9619917be294af04b0991313,
)
_COMB_Y = (
    0xa378f49c3c6073e0efa230d38e2875b6d170fe410060632c47b0d520235f3fb0,
    0xeab69cfcb27bced91de9c2ead61aa5c0c8cb9d1bc2faa8275d8a5a16d7b4b792,
    0x2fe3918b81bac5c2034cfc1d65141b266fdab9fb481de5acc13c7a63865122ba,
    0x04ef5fa9a113f297c8daa7515da9f6564ec8476537c48f4ec894a7323a913c3d,
    0xa08f6b5156ecb1cc58ef27c62016d4c87a47e013c687587274c93f9be68ba2ba,
    0x6c584e7f2cc4a0290410b88323e6de4270750b1d46b0f759ebd1782fb01280c1,
    0x3eb35234fa6ada4cbfe61ee20c945128cada9ad59713e7caa87b2111082ca20d,
    0xfac015404d4d3dab64131bcdfed6f668c004e4048b7b0f9806ebb0f621a01b2d,
    0x082b5331b07647358214e456c60e81963faa64bb5ab767f027e679a03cc7b2b2,
    0x531bbe691f0f8a3ab18aad6c7adb248171a85e264ae3083ce7348186455c74a1,
    0x92ce3021a68447142728f6ba588fc576dfba5441f1b74f0899e5e94512e8e59a,
    0x6bc637a97b7a589e4139917cf60195c7fa18ce86f9733ffb99d7eaf4f4373b12,
    0xdec660225905572c9350c394b9c9bc881be1f57d2cd65207cc725606212bfc55,
    0x2d36c414e70f39e19bc1002896401f37289ad2bfe0af0ed6217eab19f56f72e0,
    0xfc19c89f5e296e897a697807ed6ff162b2b091841288e37ea4767f26532a0954,
    0xe91b85063e7ef395f3b563ff850d9b6856484a26728e5d164ed6d73f7e384c3c,
    0x3d67ce245f49b20da6474e6dc958a44b71eac8b185289bacb50f455004294bde,
    0x70c8b106f5c8e6c655f7925318a2427fb545d926e8292d3811b11edcd95c7aec,
    0xca0df006ee10a9d4b64e78ea5e45e05af6bdfb833b0a2a70886ab7f0ee413740,
    0x38e23f516cb0c9359285a77ad3f289c9c4a8b423546e9eb4975b10535dae6ae3,
    0x0b12f9f4d165c9b3f7b59ff52fc8dc8178a7f2691dbbea0cf61e49e7394bf0b4,
    0x825cf14941e659e3f77308c112e2aac9c25801da265be82125f2c9c2c243e9c8,
    0x86a8c0090a2777c40e49f3cd7d6a9375bb9d6a0f46be16bc71de746eb00cd3bb,
    0x4ab5b6b2b8753f81557d9f49461210fb41ef80e5d046ac04501e82885bc98cda,
    0xf3179945ee1ced5d0bf25dc0dfcd4392edce120d9e1f2e0be8e71e6f29dd4dce,
    0xcc996e0cb3b178b810eebedc7e90e736db660621b20a3a4da53df74d17631dd0,
    0xedb3b8ac3f389fdfd56ada773e08deb9755a92a5852b6b78e826a9d25507e94e,
    0xc2420bd6939029b1075f5ddef43c9133131630a7969508d250e69971388b80c5,
    0x9011a8f42356dc58009d2dce2ab6f292bd127bbb1b66b02ee824dff32866f8a9,
    0x676462e772755c635aba3dccf5df241be395a2f0ed91f976907d554c3c2e2562,
    0x52bee7a01a5851905d2775957f03c0ef5c23c502dba5ef56097fdb21a4301c1c,
    0x5c7126b9f8fe284a5fc453c2c3291d1b22f6e128649b84ba0267e0c8e5e0f368,
)
_G_ODD_X = (
    0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
    0x5ecbe4d1a6330a44c8f7ef951d4bf165e6c6b721efada985fb41661bc6e7fd6c,
    0x51590b7a515140d2d784c85608668fdfef8c82fd1f5be52421554a0dc3d033ed,
    0x8e533b6fa0bf7b4625bb30667c01fb607ef9f8b8a80fef5b300628703187b2a3,
    0xea68d7b6fedf0b71878938d51d71f8729e0acb8c2c6df8b3d79e8a4b90949ee0,
    0x3ed113b7883b4c590638379db0c21cda16742ed0255048bf433391d374bc21d1,
    0x177c837ae0ac495a61805df2d85ee2fc792e284b65ead58a98e15d9d46072c01,
    0xf0454dc6971abae7adfb378999888265ae03af92de3a0ef163668c63e59b9d5f,
    0x47776904c0f1cc3a9c0984b66f75301a5fa68678f0d64af8ba1abce34738a73e,
    0xcb6d2861102c0c25ce39b7c17108c507782c452257884895c1fc7b74ab03ed83,
    0x3250fcf686637c7b2e4ac86eb473bca53a582139f42b1523fd76364e67399e83,
    0x0e91c7239c2640d7d28a3e39d4583fa63c0bc0a5df64a4fe672e573045ca7896,
    0x3a67e2554b0c0bb685f4f52d8c07fa8441652fc5b76f1b2484a4dc45f200d687,
    0x184ffa5819d80d51deba2fac4611f378576355bd683e54abf2e201173b0883d1,
    0xd6d33adefa195b07a7c36da090853b8cfd8cd1c688b58a41dedd693d1c784def,
    0x301d9e502dc7e05da85da026a7ae9aa0fac9db7d52a95b3e3e3f9aa0a1b45b8b,
)
_G_ODD_Y = (
    0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5,
    0x8734640c4998ff7e374b06ce1a64a2ecd82ab036384fb83d9a79b127a27d5032,
    0xe0c17da8904a727d8ae1bf36bf8a79260d012f00d4d80888d1d0bb44fda16da4,
    0x73eb1dbde03318366d069f83a6f5900053c73633cb041b21c55e1a86c1f400b4,
    0x2a2744c972c9fce787014a964a8ea0c84d714feaa4de823fe85a224a4dd048fa,
    0x9099209accc4c8a224c843afa4f4c68a090d04da5e9889dae2f8eefce82a3740,
    0x63bb58cd4ebea558a24091adb40f4e7226ee14c3a1fb4df39c43bbe2efc7bfd8,
    0xb5b93ee3592e2d1f4e6594e51f9643e62a3b21ce75b5fa3f47e59cde0d034f36,
    0xaa005ee6b5b957286231856577648e8381b2804428d5733f32f787ff71f1fcdc,
    0x58d7614b24d9ef515c35e7100d6d6ce4a496716e30fa3e03e39150752bcecdaa,
    0x42e7c342667d359397b3090d1d7eb88c897cd3c33b566a8215de24a071d48c09,
    0x5df65c3b550dba221a22733bb8e0bd6d7e68833575e7a5ae138046543140ad55,
    0x27d0f1872f1fcf4326daf267163afb0d8c188af735a7618aa9ed16b302f79324,
    0xc0a66e276688f359a4c6d90826cb999545bdeccc63f0491620d242c260906e6f,
    0x84aaba16ee195d7e3f78245f558a5dcb09a166ab4b95eded550c124593d1bca6,
    0x6551b6f6b3061223e0d23c026b017d72298d9ae46887ca61d58db6aea17ee267,
)
