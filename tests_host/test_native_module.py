"""The C module _dtlscrypto itself, loaded as the x64 natmod inside MicroPython.

- bad inputs (wrong types and lengths, forged key schedules and hash states, points off the
  curve, zero and out-of-range scalars) raise ValueError/TypeError and never crash;
- SHA-256 with a copyable state and HMAC against hashlib/hmac on random data;
- random P-256 and CCM cross-checks against `cryptography` beyond the KAT files;
- the module is the one dtls uses under DTLS_CRYPTO=native, and DTLS_CRYPTO is honoured.
The known-answer suites themselves run with both backends in test_kat_ccm.py, test_p256.py and
test_kat_hmac_prf.py.
"""
import hashlib
import hmac
import json
import random

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

import mp
from native import backend_env

N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff


def run_native(code, data=None, tmp_path=None, timeout=120):
    args = ()
    if data is not None:
        path = tmp_path / "data.json"
        path.write_text(json.dumps(data))
        args = (str(path),)
    return mp.check_code(code, args=args, timeout=timeout, env=backend_env("native"))


def test_bad_inputs_raise_and_never_crash():
    out = run_native(r'''
import _dtlscrypto as c
G = bytes.fromhex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                  "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
N = bytes.fromhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
ONE = bytes(31) + b"\x01"
ks = c.aes_key(bytes(16))
st = bytearray(c.SHA256_STATE_SIZE)
c.sha256_init(st)
bad_state = bytearray(st)
bad_state[40] = 0xff            # buf_len field (offset 40) forged to >= 64
bad_ks = bytearray(ks)
bad_ks[-4] = 99                 # round count forged
off_curve = bytearray(G)
off_curve[-1] ^= 1
cases = [
    ("aes_key short", lambda: c.aes_key(bytes(15)), ValueError),
    ("aes_key int", lambda: c.aes_key(16), TypeError),
    ("aes_key str", lambda: c.aes_key(None), TypeError),
    ("seal schedule short", lambda: c.ccm(ks[:-1], 8, bytes(12), b"", b"x", False), ValueError),
    ("seal schedule forged", lambda: c.ccm(bytes(bad_ks), 8, bytes(12), b"", b"x", False), ValueError),
    ("seal tag 3", lambda: c.ccm(ks, 3, bytes(12), b"", b"x", False), ValueError),
    ("seal tag 18", lambda: c.ccm(ks, 18, bytes(12), b"", b"x", False), ValueError),
    ("seal tag str", lambda: c.ccm(ks, "8", bytes(12), b"", b"x", False), TypeError),
    ("seal nonce 6", lambda: c.ccm(ks, 8, bytes(6), b"", b"x", False), ValueError),
    ("seal nonce 14", lambda: c.ccm(ks, 8, bytes(14), b"", b"x", False), ValueError),
    ("seal too long for L=2", lambda: c.ccm(ks, 8, bytes(13), b"", bytes(0x10000), False), ValueError),
    ("seal aad int", lambda: c.ccm(ks, 8, bytes(12), 5, b"x", False), TypeError),
    ("seal pt None", lambda: c.ccm(ks, 8, bytes(12), b"", None, False), TypeError),
    ("open nonce 5", lambda: c.ccm(ks, 8, bytes(5), b"", bytes(8), True), ValueError),
    ("sha init short", lambda: c.sha256_init(bytearray(10)), ValueError),
    ("sha init bytes", lambda: c.sha256_init(bytes(c.SHA256_STATE_SIZE)), TypeError),
    ("sha update forged", lambda: c.sha256_update(bad_state, b"x"), ValueError),
    ("sha digest forged", lambda: c.sha256_digest(bad_state), ValueError),
    ("sha update int", lambda: c.sha256_update(st, 1), TypeError),
    ("hmac key int", lambda: c.hmac_sha256(1, b""), TypeError),
    ("pub zero", lambda: c.p256_public_key(bytes(32)), ValueError),
    ("pub n", lambda: c.p256_public_key(N), ValueError),
    ("pub ff", lambda: c.p256_public_key(b"\xff" * 32), ValueError),
    ("pub 31", lambda: c.p256_public_key(bytes(31)), ValueError),
    ("pub 33", lambda: c.p256_public_key(bytes(32) + b"\x01"), ValueError),
    ("pub list", lambda: c.p256_public_key([1] * 32), TypeError),
    ("ecdh zero scalar", lambda: c.p256_ecdh(bytes(32), G), ValueError),
    ("ecdh n", lambda: c.p256_ecdh(N, G), ValueError),
    ("ecdh off curve", lambda: c.p256_ecdh(ONE, bytes(off_curve)), ValueError),
    ("ecdh zeros", lambda: c.p256_ecdh(ONE, b"\x04" + bytes(64)), ValueError),
    ("ecdh compressed", lambda: c.p256_ecdh(ONE, b"\x02" + G[1:33] + bytes(32)), ValueError),
    ("ecdh x=p", lambda: c.p256_ecdh(ONE, b"\x04" + b"\xff" * 64), ValueError),
    ("ecdh short point", lambda: c.p256_ecdh(ONE, G[:33]), ValueError),
    ("ecdh str", lambda: c.p256_ecdh(ONE, "G"), (ValueError, TypeError)),  # str has a buffer
    ("sign zero key", lambda: c.ecdsa_sign(bytes(32), bytes(32)), ValueError),
    ("sign digest 31", lambda: c.ecdsa_sign(ONE, bytes(31)), ValueError),
    ("sign digest 48", lambda: c.ecdsa_sign(ONE, bytes(48)), ValueError),
    ("verify sig 63", lambda: c.ecdsa_verify(G, bytes(32), bytes(63)), ValueError),
    ("verify digest None", lambda: c.ecdsa_verify(G, None, bytes(64)), TypeError),
]
for name, fn, exc in cases:
    try:
        fn()
        print("NO-ERROR", name)
    except exc:
        pass
    except Exception as e:
        print("WRONG", name, type(e).__name__, e)
# Not errors: invalid keys and signatures just do not verify; short records do not open.
sig = c.ecdsa_sign(ONE, bytes(32))
assert c.ecdsa_verify(G, bytes(32), sig) is True
assert c.ecdsa_verify(bytes(off_curve), bytes(32), sig) is False
assert c.ecdsa_verify(G[:64], bytes(32), sig) is False
assert c.ecdsa_verify(G, bytes(32), bytes(64)) is False          # r = s = 0
assert c.ecdsa_verify(G, bytes(32), N + sig[32:]) is False       # r = n
assert c.ecdsa_verify(G, bytes(32), sig[:32] + N) is False       # s = n
assert c.ccm(ks, 8, bytes(12), b"", bytes(7), True) is None
assert c.ccm(ks, 16, bytes(12), None, bytes(16), True) is None
assert c.ccm(ks, 8, bytes(12), None, b"", False) == c.ccm(ks, 8, bytes(12), b"", b"", False)
# The key schedule is data, never trusted: any content of the right shape is harmless.
junk = bytearray(len(ks))
junk[-4] = 10
c.ccm(bytes(junk), 8, bytes(12), b"", b"x", False)
print("DONE", len(cases))
''')
    lines = out.split("\n")
    assert [l for l in lines if l.startswith(("NO-ERROR", "WRONG"))] == []
    assert lines[-2].startswith("DONE") and int(lines[-2].split()[1]) >= 36


def test_sha256_state_copy_and_hmac_match_hashlib(tmp_path):
    rng = random.Random(256)
    chunks = [rng.randbytes(rng.choice((0, 1, 55, 56, 63, 64, 65, 127, 128, rng.randint(0, 700))))
              for _ in range(60)]
    keys = [rng.randbytes(n) for n in (0, 1, 32, 63, 64, 65, 100, 200)]
    out = run_native(r'''
import sys, json, binascii
import _dtlscrypto as c
from dtls.sha256 import Sha256
data = json.load(open(sys.argv[1]))
chunks = [binascii.unhexlify(x) for x in data["chunks"]]
st = bytearray(c.SHA256_STATE_SIZE)
c.sha256_init(st)
h = Sha256()
for i, ch in enumerate(chunks):
    snapshot = bytearray(st)                     # copy, then keep going in both
    c.sha256_update(st, memoryview(ch) if i % 2 else ch)
    h.update(ch)
    print("run:" + binascii.hexlify(c.sha256_digest(st)).decode())
    assert c.sha256_digest(snapshot) == c.sha256_digest(snapshot)   # digest leaves it usable
    c.sha256_update(snapshot, b"x")
    print("fork:" + binascii.hexlify(c.sha256_digest(snapshot)).decode())
    h2 = h.copy()
    h2.update(b"y")
    print("cls:%s:%s" % (binascii.hexlify(h.digest()).decode(), binascii.hexlify(h2.digest()).decode()))
for k in data["keys"]:
    k = binascii.unhexlify(k)
    print("hmac:" + binascii.hexlify(c.hmac_sha256(k, b"".join(chunks[:5]))).decode())
''', {"chunks": [c.hex() for c in chunks], "keys": [k.hex() for k in keys]}, tmp_path)
    lines = out.split()
    want_run, want_fork, want_cls = [], [], []
    acc = b""
    for ch in chunks:
        want_fork.append("fork:" + hashlib.sha256(acc + b"x").hexdigest())
        acc += ch
        want_run.append("run:" + hashlib.sha256(acc).hexdigest())
        want_cls.append("cls:%s:%s" % (hashlib.sha256(acc).hexdigest(),
                                       hashlib.sha256(acc + b"y").hexdigest()))
    assert [l for l in lines if l.startswith("run:")] == want_run
    assert [l for l in lines if l.startswith("fork:")] == want_fork
    assert [l for l in lines if l.startswith("cls:")] == want_cls
    msg = b"".join(chunks[:5])
    assert [l for l in lines if l.startswith("hmac:")] == [
        "hmac:" + hmac.new(k, msg, "sha256").hexdigest() for k in keys]


def test_random_cross_check_with_cryptography(tmp_path):
    """Random keys, points, digests and records: the C results against OpenSSL's."""
    rng = random.Random(7251)
    cases = {"ecdh": [], "pub": [], "sign": [], "verify": [], "ccm": []}
    expect = {"ecdh": [], "pub": [], "sign_pub": [], "verify": [], "ccm": []}
    for i in range(40):
        d = rng.randrange(1, N)
        if i < 4:
            d = (1, 2, N - 1, N - 2)[i]
        mine = ec.derive_private_key(d, ec.SECP256R1())
        peer = ec.derive_private_key(rng.randrange(1, N), ec.SECP256R1())
        peer_pub = peer.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
        my_pub = mine.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
        priv = d.to_bytes(32, "big")
        cases["ecdh"].append([priv.hex(), peer_pub.hex()])
        expect["ecdh"].append(mine.exchange(ec.ECDH(), peer.public_key()).hex())
        cases["pub"].append(priv.hex())
        expect["pub"].append(my_pub.hex())
        digest = rng.randbytes(32)
        cases["sign"].append([priv.hex(), digest.hex()])
        expect["sign_pub"].append(my_pub)
        der = peer.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        r, s = decode_dss_signature(der)
        good = i % 3 != 0
        if not good:
            s = (s + 1) % N or 1
        cases["verify"].append([peer_pub.hex(), digest.hex(), (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex()])
        expect["verify"].append("1" if good else "0")
    for i in range(60):
        key = rng.randbytes(rng.choice((16, 24, 32)))
        nonce = rng.randbytes(rng.randint(7, 13))
        tag = rng.choice((4, 6, 8, 10, 12, 14, 16))
        aad = rng.randbytes(rng.choice((0, 13, rng.randint(0, 300))))
        pt = rng.randbytes(rng.choice((0, 1, 16, 31, rng.randint(0, 1500))))
        cases["ccm"].append([key.hex(), nonce.hex(), tag, aad.hex(), pt.hex()])
        expect["ccm"].append(AESCCM(key, tag).encrypt(nonce, pt, aad).hex())
    out = run_native(r'''
import sys, json, binascii
import _dtlscrypto as c
u, h = binascii.unhexlify, lambda b: binascii.hexlify(b).decode()
data = json.load(open(sys.argv[1]))
for priv, peer in data["ecdh"]:
    print("ecdh:" + h(c.p256_ecdh(u(priv), u(peer))))
for priv in data["pub"]:
    print("pub:" + h(c.p256_public_key(u(priv))))
for priv, digest in data["sign"]:
    print("sign:" + h(c.ecdsa_sign(u(priv), u(digest))))
for pub, digest, sig in data["verify"]:
    print("verify:%d" % c.ecdsa_verify(u(pub), u(digest), u(sig)))
for key, nonce, tag, aad, pt in data["ccm"]:
    rec = c.ccm(c.aes_key(u(key)), tag, u(nonce), u(aad), u(pt), False)
    assert c.ccm(c.aes_key(u(key)), tag, u(nonce), u(aad), rec, True) == u(pt)
    print("ccm:" + h(rec))
''', cases, tmp_path)
    lines = out.split()
    got = {k: [l.split(":", 1)[1] for l in lines if l.startswith(k + ":")] for k in cases}
    assert got["ecdh"] == expect["ecdh"]
    assert got["pub"] == expect["pub"]
    assert got["verify"] == expect["verify"]
    assert got["ccm"] == expect["ccm"]
    assert len(got["sign"]) == 40
    for sig, pub, (priv, digest) in zip(got["sign"], expect["sign_pub"], cases["sign"]):
        sig = bytes.fromhex(sig)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub)
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        key.verify(der, bytes.fromhex(digest), ec.ECDSA(Prehashed(hashes.SHA256())))


def test_backend_selection():
    """DTLS_CRYPTO picks the backend; the CLI's crypto line follows dtls.crypto_backend()."""
    code = "import dtls, dtls.backend as b\nprint(dtls.crypto_backend(), b.native is not None)"
    assert mp.check_code(code, env=backend_env("native")).split() == ["native", "True"]
    assert mp.check_code(code, env=backend_env("python")).split() == ["python", "False"]
    # automatic: the module on the path is used
    env = dict(backend_env("native"))
    env["DTLS_CRYPTO"] = ""
    assert mp.check_code(code, env=env).split() == ["native", "True"]
    # native requested but not on the path: a clear ImportError at import, no fallback
    res = mp.run_code(code, env={"DTLS_CRYPTO": "native"})
    assert res.returncode != 0 and "DTLS_CRYPTO=native" in res.stderr + res.stdout
    res = mp.run_code(code, env={"DTLS_CRYPTO": "fast"})
    assert res.returncode != 0 and "must be 'python' or 'native'" in res.stderr + res.stdout
