"""Known-answer tests for dtls.hmac (HMAC-SHA-256) and dtls.prf (TLS 1.2 PRF),
run inside MicroPython, and once under CPython.

- RFC 4231 test cases 1-7, typed from the RFC (case 5 is truncated to 128 bits);
  the typing is checked against cryptography_vectors' copy of the RFC cases.
- The widely published TLS 1.2 PRF (P_SHA256) vector: secret
  9bbe436ba940f017b17652849a71db35, label "test label", seed
  a0ba9f936cda311827a6f796ffd5198c, 100 bytes.
- Random inputs checked against an independent implementation built here on
  CPython's stdlib hmac (RFC 2104 / RFC 5246 section 5).
One MicroPython process runs every case from a JSON-lines file.
"""
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys

import cryptography_vectors  # data-only PyPI package
import pytest

from mp import LIB, run_script
from native import BACKENDS, backend_env

RFC4231_FILE = os.path.join(os.path.dirname(cryptography_vectors.__file__),
                            "HMAC", "rfc-4231-sha256.txt")

# RFC 4231 section 4: (key, data, HMAC-SHA-256). Case 5 gives only the first
# 128 bits of the output.
RFC4231 = [
    ("0b" * 20, b"Hi There".hex(),
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe".hex(), b"what do ya want for nothing?".hex(),
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    ("aa" * 20, "dd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    ("0102030405060708090a0b0c0d0e0f10111213141516171819", "cd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    ("0c" * 20, b"Test With Truncation".hex(),
     "a3b6167473100ee06e0c796c2955552b"),
    ("aa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First".hex(),
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ("aa" * 131, (b"This is a test using a larger than block-size key and a larger t"
                  b"han block-size data. The key needs to be hashed before being use"
                  b"d by the HMAC algorithm.").hex(),
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]

# TLS 1.2 PRF test vector (P_SHA256), as circulated on the IETF TLS list.
PRF_SECRET = "9bbe436ba940f017b17652849a71db35"
PRF_SEED = "a0ba9f936cda311827a6f796ffd5198c"
PRF_LABEL = b"test label".hex()
PRF_OUTPUT = ("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
              "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
              "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
              "87347b66")

# Runs inside MicroPython (and CPython). argv[1]: JSON-lines file of
#   ["hmac", name, key, [part, ...], form, expected]   form: bytes|bytearray|memoryview|parts
#   ["prf", name, secret, label, seed, length, expected]
# (hex strings). The result is compared on the first len(expected) bytes.
SCRIPT = r'''
import sys, json, binascii
from dtls.hmac import hmac_sha256
from dtls.prf import prf

unhex = binascii.unhexlify
counts = {}  # kind -> [run, failures]

def run(v):
    kind, name = v[0], v[1]
    c = counts.setdefault(kind, [0, 0])
    c[0] += 1
    if kind == "hmac":
        key, parts, form, want = unhex(v[2]), [unhex(p) for p in v[3]], v[4], unhex(v[5])
        whole = b"".join(parts)
        if form == "parts":
            data = tuple(parts)
        elif form == "bytearray":
            data = bytearray(whole)
        elif form == "memoryview":
            data = memoryview(bytearray(b"xx" + whole + b"yy"))[2:2 + len(whole)]
        else:
            data = whole
        got = hmac_sha256(key, data)
        ok = len(got) == 32 and got[:len(want)] == want
    else:
        secret, label, seed, length, want = unhex(v[2]), unhex(v[3]), unhex(v[4]), v[5], unhex(v[6])
        got = prf(secret, label, seed, length)
        ok = got == want
    if not ok:
        c[1] += 1
        print("FAIL", kind, name, binascii.hexlify(got).decode())

with open(sys.argv[1]) as f:
    for line in f:
        if line.strip():
            run(json.loads(line))
try:
    prf(b"k", b"l", b"s", -1)
    print("FAIL prf negative length accepted")
except ValueError:
    pass
for kind in sorted(counts):
    print("COUNT", kind, counts[kind][0], counts[kind][1])
print("DONE")
'''


def reference_p_sha256(secret, seed, length):
    """RFC 5246 section 5 P_SHA256, on CPython's stdlib hmac (independent of dtls)."""
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:length]


def rfc4231_from_package():
    """(key, data, md) hex triples from cryptography_vectors' RFC 4231 SHA-256 file."""
    cases, cur = [], {}
    with open(RFC4231_FILE) as f:
        for line in f:
            line = line.strip()
            if " = " in line and not line.startswith("#"):
                k, v = line.split(" = ", 1)
                cur[k] = v
                if k == "MD":
                    cases.append((cur["Key"], cur["Msg"], v))
                    cur = {}
    return cases


def test_typed_rfc4231_matches_package_copy():
    # The package omits the truncation case 5; every other case must match.
    typed = [c for i, c in enumerate(RFC4231) if i != 4]
    assert rfc4231_from_package() == typed


def test_vectors_are_consistent_with_stdlib():
    # Guards the typed values themselves (not our code).
    for key, data, md in RFC4231:
        full = hmac.new(bytes.fromhex(key), bytes.fromhex(data), hashlib.sha256).hexdigest()
        assert full.startswith(md)
    out = reference_p_sha256(bytes.fromhex(PRF_SECRET),
                             bytes.fromhex(PRF_LABEL) + bytes.fromhex(PRF_SEED), 100)
    assert out.hex() == PRF_OUTPUT


def build_vectors():
    vectors = []
    for i, (key, data, md) in enumerate(RFC4231):
        raw = bytes.fromhex(data)
        split = [raw[:3].hex(), raw[3:7].hex(), raw[7:].hex()]
        for form in ("bytes", "bytearray", "memoryview"):
            vectors.append(["hmac", "rfc4231-%d-%s" % (i + 1, form), key, [data], form, md])
        vectors.append(["hmac", "rfc4231-%d-parts" % (i + 1), key, split, "parts", md])
    rfc_hmac = len(vectors)
    vectors.append(["prf", "tls12-prf-sha256", PRF_SECRET, PRF_LABEL, PRF_SEED, 100, PRF_OUTPUT])

    rng = random.Random(5246)
    for i, klen in enumerate((0, 1, 20, 32, 63, 64, 65, 100, 200, 1000)):
        key = rng.randbytes(klen)
        for dlen in (0, 1, 55, 56, 64, 119, 120, 300):
            data = rng.randbytes(dlen)
            md = hmac.new(key, data, hashlib.sha256).hexdigest()
            cut = sorted(rng.randint(0, dlen) for _ in range(2))
            parts = [data[:cut[0]].hex(), data[cut[0]:cut[1]].hex(), data[cut[1]:].hex()]
            form = ("bytes", "bytearray", "memoryview", "parts")[(i + dlen) % 4]
            vectors.append(["hmac", "random-k%d-d%d" % (klen, dlen), key.hex(), parts, form, md])
    random_hmac = len(vectors) - rfc_hmac - 1

    prf_random = 0
    for slen in (0, 16, 48, 64, 65, 100):
        for length in (0, 1, 12, 31, 32, 33, 48, 64, 100, 104, 136):
            secret = rng.randbytes(slen)
            label = rng.choice((b"master secret", b"key expansion", b"client finished",
                                b"server finished", b""))
            seed = rng.randbytes(rng.choice((0, 32, 64, 200)))
            want = reference_p_sha256(secret, label + seed, length)
            vectors.append(["prf", "random-s%d-n%d" % (slen, length), secret.hex(),
                            label.hex(), seed.hex(), length, want.hex()])
            prf_random += 1
    return vectors, rfc_hmac + random_hmac, 1 + prf_random


@pytest.fixture(scope="module")
def vector_file(tmp_path_factory):
    vectors, n_hmac, n_prf = build_vectors()
    path = tmp_path_factory.mktemp("hmac_prf") / "vectors.jsonl"
    with open(path, "w") as f:
        for v in vectors:
            f.write(json.dumps(v) + "\n")
    script = path.parent / "hmac_prf_kat.py"
    script.write_text(SCRIPT)
    return str(script), str(path), n_hmac, n_prf


def check_output(stdout, n_hmac, n_prf):
    lines = stdout.splitlines()
    assert lines and lines[-1] == "DONE", stdout[-3000:]
    failures = [l for l in lines if l.startswith("FAIL")]
    assert failures == [], "\n".join(failures[:50])
    assert "COUNT hmac %d 0" % n_hmac in lines
    assert "COUNT prf %d 0" % n_prf in lines


@pytest.mark.parametrize("backend", BACKENDS)
def test_hmac_prf_micropython(vector_file, backend):
    script, path, n_hmac, n_prf = vector_file
    assert n_hmac == 7 * 4 + 80 and n_prf == 1 + 66
    res = run_script(script, [path], timeout=120, env=backend_env(backend))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    check_output(res.stdout, n_hmac, n_prf)


def test_hmac_prf_cpython(vector_file):
    script, path, n_hmac, n_prf = vector_file
    env = dict(os.environ, PYTHONPATH=LIB)
    res = subprocess.run([sys.executable, script, path], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    check_output(res.stdout, n_hmac, n_prf)
