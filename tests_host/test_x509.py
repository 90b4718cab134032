"""dtls.der / dtls.pem / dtls.x509 against OpenSSL-made certificates.

The PKI is generated at test time by tests_host/certs/make_certs.sh (openssl) into a
temp dir. Expected field values come from CPython `cryptography` and the `openssl`
command, never from our own parser. Parsing and chain validation run inside
MicroPython; chain validation also runs under CPython with a real ECDSA verifier
from `cryptography`. Inside MicroPython the verifier is an oracle: the set of
(public key, tbs, signature) triples that `cryptography` accepted.
"""
import calendar
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from mp import check_code, LIB

cryptography = pytest.importorskip("cryptography")
from cryptography import x509 as cx509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, utils  # noqa: E402

if LIB not in sys.path:
    sys.path.insert(0, LIB)
from dtls import der, x509  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_CERTS = os.path.join(HERE, "certs", "make_certs.sh")
NOW = int(time.time()) + 3600  # certificates are generated after import


@pytest.fixture(scope="module")
def pki():
    if not shutil.which("openssl"):
        pytest.skip("openssl command not available")
    d = tempfile.mkdtemp(prefix="x509_")
    subprocess.run(["sh", MAKE_CERTS, d], check=True, capture_output=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def read(pki, name):
    with open(os.path.join(pki, name), "rb") as f:
        return f.read()


def mutate(data, kind):
    """Tampered copies that stay well-formed DER."""
    b = bytearray(data)
    if kind == "sig":
        b[-1] ^= 0x01  # last octet of the signature's s
    elif kind == "tbs":
        i = b.index(b"localhost")  # first hit: subject commonName, inside tbs
        b[i] ^= 0x01
    else:
        raise ValueError(kind)
    return bytes(b)


def cert_bytes(pki, spec):
    name, _, kind = spec.partition("!")
    data = read(pki, name + ".der")
    return mutate(data, kind) if kind else data


# ---------------------------------------------------------------- field extraction

CERT_NAMES = ["root", "int1", "int1_pathlen0", "int2", "int2_noca", "int2_nokcs", "leaf",
              "leaf_wild", "leaf_nosan", "leaf_crit", "leaf_noncrit", "leaf_client", "leaf_keyenc",
              "leaf_rsa", "leaf_expired", "leaf_future", "leaf_1999", "rsa_root",
              "leaf_under_rsa", "other_root", "same_name_root"]

_KU_BITS = ("digital_signature", "content_commitment", "key_encipherment",
            "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")


def expected_fields(data):
    """What CPython `cryptography` reports for one certificate."""
    c = cx509.load_der_x509_certificate(data)
    spki = c.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    pub = c.public_key()
    point = None
    if isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name == "secp256r1":
        point = pub.public_bytes(serialization.Encoding.X962,
                                 serialization.PublicFormat.UncompressedPoint).hex()

    def cn(name):
        v = name.get_attributes_for_oid(cx509.NameOID.COMMON_NAME)
        return v[0].value if v else None

    out = {
        "version": c.version.value + 1,
        "serial": "%x" % c.serial_number,
        "sig_alg": c.signature_algorithm_oid.dotted_string,
        "signature": c.signature.hex(),
        "tbs": c.tbs_certificate_bytes.hex(),
        "issuer": c.issuer.public_bytes().hex(),
        "subject": c.subject.public_bytes().hex(),
        "issuer_cn": cn(c.issuer),
        "subject_cn": cn(c.subject),
        "not_before": int(c.not_valid_before_utc.timestamp()),
        "not_after": int(c.not_valid_after_utc.timestamp()),
        "spki": spki.hex(),
        "key_alg": c.public_key_algorithm_oid.dotted_string,
        "public_key": point,
        "extensions": [[e.oid.dotted_string, e.critical] for e in c.extensions],
        "ca": None, "path_len": None, "key_usage": None, "eku": None,
        "san_dns": [], "san_ip": [],
    }
    for e in c.extensions:
        v = e.value
        if isinstance(v, cx509.BasicConstraints):
            out["ca"], out["path_len"] = v.ca, v.path_length
        elif isinstance(v, cx509.KeyUsage):
            bits = 0
            for i, attr in enumerate(_KU_BITS):
                if getattr(v, attr):
                    bits |= 1 << i
            out["key_usage"] = bits
        elif isinstance(v, cx509.ExtendedKeyUsage):
            out["eku"] = [o.dotted_string for o in v]
        elif isinstance(v, cx509.SubjectAlternativeName):
            out["san_dns"] = v.get_values_for_type(cx509.DNSName)
            out["san_ip"] = [a.packed.hex() for a in v.get_values_for_type(cx509.IPAddress)]
    return out


MP_DUMP_FIELDS = r"""
import sys, json, binascii
from dtls import x509, der

def h(b):
    return None if b is None else binascii.hexlify(b).decode()

out = {}
d = sys.argv[1]
for name in sys.argv[2:]:
    with open(d + "/" + name + ".der", "rb") as f:
        c = x509.Certificate(f.read())
    out[name] = {
        "version": c.version, "serial": "%x" % c.serial,
        "sig_alg": der.oid_to_str(c.sig_alg), "signature": h(c.signature),
        "tbs": h(c.tbs), "issuer": h(c.issuer), "subject": h(c.subject),
        "issuer_cn": c.issuer_cn, "subject_cn": c.subject_cn,
        "not_before": c.not_before, "not_after": c.not_after,
        "spki": h(c.spki), "key_alg": der.oid_to_str(c.key_alg),
        "public_key": h(c.public_key),
        "extensions": [[der.oid_to_str(o), crit] for o, crit in c.extensions],
        "ca": c.ca, "path_len": c.path_len, "key_usage": c.key_usage,
        "eku": None if c.ext_key_usage is None else [der.oid_to_str(o) for o in c.ext_key_usage],
        "san_dns": c.san_dns, "san_ip": [h(a) for a in c.san_ip],
    }
print(json.dumps(out))
"""


def test_fields_match_cryptography_in_micropython(pki):
    got = json.loads(check_code(MP_DUMP_FIELDS, args=[pki] + CERT_NAMES))
    for name in CERT_NAMES:
        want = expected_fields(read(pki, name + ".der"))
        assert got[name] == want, name


def test_fields_match_openssl_text(pki):
    """Cross-check a few fields with `openssl x509` itself."""
    c = x509.Certificate(read(pki, "leaf.der"))
    res = subprocess.run(["openssl", "x509", "-in", os.path.join(pki, "leaf.pem"), "-noout",
                          "-serial", "-startdate", "-enddate", "-text"],
                         check=True, capture_output=True, text=True).stdout
    assert "serial=%X" % c.serial in res
    assert c.serial == 0xF123456789ABCDEF0123456789ABCDEF01234567
    for line in res.splitlines():
        if line.startswith("notBefore="):
            t = time.strptime(line.split("=", 1)[1].replace(" GMT", ""), "%b %d %H:%M:%S %Y")
            assert c.not_before == calendar.timegm(t)
        if line.startswith("notAfter="):
            t = time.strptime(line.split("=", 1)[1].replace(" GMT", ""), "%b %d %H:%M:%S %Y")
            assert c.not_after == calendar.timegm(t)
    assert "DNS:localhost, IP Address:127.0.0.1" in res
    assert "ASN1 OID: prime256v1" in res
    # UTCTime 99 is 1999, GeneralizedTime 2050 (RFC 5280 §4.1.2.5)
    c = x509.Certificate(read(pki, "leaf_1999.der"))
    assert c.not_before == calendar.timegm((1999, 12, 31, 23, 59, 59))
    assert c.not_after == calendar.timegm((2050, 1, 1, 0, 0, 0))


# ---------------------------------------------------------------- chain validation

LOCALHOST = "localhost"
GOOD = ["leaf", "int2", "int1"]
CHAIN_CASES = [
    # id, chain, anchors, kwargs, expected reason or "ok"
    ("good", GOOD, ["root"], {"host": LOCALHOST}, "ok"),
    ("good_now", GOOD, ["root"], {"host": LOCALHOST, "now": NOW}, "ok"),
    ("good_ip4", GOOD, ["root"], {"ip": "7f000001"}, "ok"),
    ("good_ip6", GOOD, ["root"], {"ip": "00" * 15 + "01"}, "ok"),
    ("good_host_case", GOOD, ["root"], {"host": "DEVICE.example.com."}, "ok"),
    ("good_root_sent", GOOD + ["root"], ["root"], {}, "ok"),
    ("good_bundle", GOOD, ["other_root", "root"], {}, "ok"),
    ("anchor_int1_omitted", ["leaf", "int2"], ["int1"], {}, "ok"),
    ("anchor_int1_sent", GOOD, ["int1"], {}, "ok"),
    ("anchor_int2", ["leaf"], ["int2"], {"host": LOCALHOST}, "ok"),
    ("depth_3_ok", GOOD, ["root"], {"max_depth": 3}, "ok"),
    ("depth_2_too_long", GOOD, ["root"], {"max_depth": 2}, "bad_certificate"),
    ("wrong_anchor", GOOD, ["other_root"], {}, "unknown_ca"),
    ("same_name_other_key", GOOD, ["same_name_root"], {}, "unknown_ca"),
    ("missing_int2", ["leaf", "int1"], ["root"], {}, "unknown_ca"),
    ("leaf_only", ["leaf"], ["root"], {}, "unknown_ca"),
    ("empty_chain", [], ["root"], {}, "bad_certificate"),
    ("int_not_ca", ["leaf", "int2_noca", "int1"], ["root"], {}, "bad_certificate"),
    ("int_no_keycertsign", ["leaf", "int2_nokcs", "int1"], ["root"], {}, "bad_certificate"),
    ("pathlen0_exceeded", ["leaf", "int2", "int1_pathlen0"], ["root"], {}, "bad_certificate"),
    ("expired", ["leaf_expired", "int2", "int1"], ["root"], {"now": NOW}, "expired"),
    ("expired_no_clock", ["leaf_expired", "int2", "int1"], ["root"], {}, "ok"),
    ("not_yet_valid", ["leaf_future", "int2", "int1"], ["root"], {"now": NOW},
     "not_yet_valid"),
    ("valid_1999_2050", ["leaf_1999", "int2", "int1"], ["root"], {"now": NOW}, "ok"),
    # leaf_1999 is valid until 2050, int2 for 10 years from today
    ("anchor_expired", ["leaf_1999"], ["int2"], {"now": NOW + 11 * 365 * 86400}, "expired"),
    ("anchor_valid", ["leaf_1999"], ["int2"], {"now": NOW + 9 * 365 * 86400}, "ok"),
    ("host_mismatch", GOOD, ["root"], {"host": "example.com"}, "name_mismatch"),
    ("host_suffix", GOOD, ["root"], {"host": "host"}, "name_mismatch"),
    ("ip_mismatch", GOOD, ["root"], {"ip": "7f000002"}, "name_mismatch"),
    ("ip_in_host", GOOD, ["root"], {"host": "127.0.0.1"}, "name_mismatch"),
    ("wildcard_rejected", ["leaf_wild", "int2", "int1"], ["root"],
     {"host": "foo.example.com"}, "name_mismatch"),
    ("wildcard_literal", ["leaf_wild", "int2", "int1"], ["root"],
     {"host": "*.example.com"}, "name_mismatch"),
    ("no_san_no_cn_fallback", ["leaf_nosan", "int2", "int1"], ["root"],
     {"host": LOCALHOST}, "name_mismatch"),
    ("no_san_no_host", ["leaf_nosan", "int2", "int1"], ["root"], {}, "ok"),
    ("unknown_critical_ext", ["leaf_crit", "int2", "int1"], ["root"], {},
     "unsupported_certificate"),
    ("unknown_noncritical_ext", ["leaf_noncrit", "int2", "int1"], ["root"], {}, "ok"),
    ("eku_client_only", ["leaf_client", "int2", "int1"], ["root"], {},
     "unsupported_certificate"),
    ("ku_no_digital_signature", ["leaf_keyenc", "int2", "int1"], ["root"], {},
     "unsupported_certificate"),
    ("rsa_leaf_key", ["leaf_rsa", "int2", "int1"], ["root"], {}, "unsupported_certificate"),
    ("rsa_signature", ["leaf_under_rsa"], ["rsa_root"], {}, "unsupported_certificate"),
    ("tampered_leaf_sig", ["leaf!sig", "int2", "int1"], ["root"], {}, "bad_signature"),
    ("tampered_leaf_tbs", ["leaf!tbs", "int2", "int1"], ["root"], {}, "bad_signature"),
    ("tampered_int1_root_sent", ["leaf", "int2", "int1!sig", "root"], ["root"], {},
     "bad_signature"),
    ("tampered_int1_root_omitted", ["leaf", "int2", "int1!sig"], ["root"], {}, "unknown_ca"),
    # Pinning: leaf, leaf_expired and leaf_nosan share subject and key; the configured
    # copy is what counts, the server's copy is unauthenticated.
    ("pinned_leaf", ["leaf"], ["leaf"], {"host": LOCALHOST, "now": NOW}, "ok"),
    ("pinned_leaf_full_chain", GOOD, ["leaf"], {"host": LOCALHOST}, "ok"),
    ("pinned_config_copy_expired", ["leaf"], ["leaf_expired"], {"now": NOW}, "expired"),
    ("pinned_server_copy_ignored", ["leaf_expired"], ["leaf"], {"now": NOW}, "ok"),
    ("pinned_config_copy_no_san", ["leaf"], ["leaf_nosan"], {"host": LOCALHOST},
     "name_mismatch"),
    ("garbage_leaf", ["garbage", "int2", "int1"], ["root"], {}, "bad_certificate"),
    ("garbage_anchor", GOOD, ["garbage"], {}, "unknown_ca"),
]


def chain_material(pki, chain, anchors):
    def load(spec):
        return b"\x30\x03\x02\x01" if spec == "garbage" else cert_bytes(pki, spec)
    return [load(s) for s in chain], [load(s) for s in anchors]


def crypto_verify(pub65, tbs, sig):
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(pub65))
    try:
        key.verify(bytes(sig), bytes(tbs), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def run_case_cpython(pki, chain, anchors, kwargs):
    chain_ders, anchor_ders = chain_material(pki, chain, anchors)
    kw = dict(kwargs)
    if "ip" in kw:
        kw["ip"] = bytes.fromhex(kw["ip"])
    try:
        pub = x509.verify_chain(chain_ders, anchor_ders, crypto_verify, **kw)
    except x509.CertificateError as e:
        return e.reason, None
    return "ok", pub


@pytest.mark.parametrize("case", CHAIN_CASES, ids=[c[0] for c in CHAIN_CASES])
def test_chain_cpython(pki, case):
    _, chain, anchors, kwargs, expected = case
    reason, pub = run_case_cpython(pki, chain, anchors, kwargs)
    assert reason == expected
    if expected == "ok":
        leaf = cx509.load_der_x509_certificate(cert_bytes(pki, chain[0]))
        assert pub == leaf.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def oracle(pki, extra=()):
    """sha256(pub65 + tbs + sig) of every (issuer key, certificate) pair that
    `cryptography` verifies, over all test certificates and tampered copies."""
    certs = [read(pki, n + ".der") for n in CERT_NAMES] + list(extra)
    keys = []
    for data in certs:
        pub = cx509.load_der_x509_certificate(data).public_key()
        if isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name == "secp256r1":
            keys.append(pub)
    valid = []
    for data in certs:
        c = cx509.load_der_x509_certificate(data)
        for k in keys:
            try:
                k.verify(c.signature, c.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            pub65 = k.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)
            valid.append(hashlib.sha256(pub65 + c.tbs_certificate_bytes
                                        + c.signature).hexdigest())
    return valid


MP_CHAIN = r"""
import sys, json, hashlib, binascii
from dtls import x509

with open(sys.argv[1]) as f:
    spec = json.load(f)
VALID = set(spec["valid"])
calls = [0]

def verify(pub, tbs, sig):
    calls[0] += 1
    return binascii.hexlify(hashlib.sha256(pub + tbs + sig).digest()).decode() in VALID

if spec.get("real_ecdsa"):
    try:
        from dtls import ecdsa
    except ImportError:
        print("NO_ECDSA")
        sys.exit(0)
    verify = ecdsa.verify_message_der

out = {}
for case in spec["cases"]:
    chain = [binascii.unhexlify(c) for c in case["chain"]]
    anchors = [binascii.unhexlify(c) for c in case["anchors"]]
    kw = case["kw"]
    if "ip" in kw:
        kw["ip"] = binascii.unhexlify(kw["ip"])
    try:
        pub = x509.verify_chain(chain, anchors, verify, **kw)
        out[case["id"]] = ["ok", binascii.hexlify(pub).decode()]
    except x509.CertificateError as e:
        out[case["id"]] = [e.reason, None]
    except Exception as e:
        out[case["id"]] = ["EXC %r" % e, None]
out["_calls"] = calls[0]
print(json.dumps(out))
"""


def test_chain_micropython(pki, tmp_path):
    tampered = [cert_bytes(pki, s) for s in ("leaf!sig", "leaf!tbs", "int1!sig")]
    cases = []
    for cid, chain, anchors, kwargs, _ in CHAIN_CASES:
        c, a = chain_material(pki, chain, anchors)
        cases.append({"id": cid, "chain": [x.hex() for x in c],
                      "anchors": [x.hex() for x in a], "kw": kwargs})
    spec = tmp_path / "chain.json"
    spec.write_text(json.dumps({"valid": oracle(pki, tampered), "cases": cases}))
    got = json.loads(check_code(MP_CHAIN, args=[str(spec)]))
    assert got.pop("_calls") > len(CHAIN_CASES)  # signatures really were checked
    for cid, chain, anchors, kwargs, expected in CHAIN_CASES:
        assert got[cid][0] == expected, cid
        if expected == "ok":
            want = run_case_cpython(pki, chain, anchors, kwargs)[1]
            assert got[cid][1] == want.hex(), cid


REAL_ECDSA_CASES = ("good", "good_root_sent", "anchor_int2", "same_name_other_key",
                    "tampered_leaf_sig", "tampered_leaf_tbs", "tampered_int1_root_sent",
                    "int_not_ca", "rsa_leaf_key")


def test_chain_micropython_real_ecdsa(pki, tmp_path):
    """The same cases with the project's own verifier, dtls.ecdsa, when present."""
    cases = []
    want = {}
    for cid, chain, anchors, kwargs, expected in CHAIN_CASES:
        if cid in REAL_ECDSA_CASES:
            c, a = chain_material(pki, chain, anchors)
            cases.append({"id": cid, "chain": [x.hex() for x in c],
                          "anchors": [x.hex() for x in a], "kw": kwargs})
            want[cid] = expected
    spec = tmp_path / "chain.json"
    spec.write_text(json.dumps({"valid": [], "cases": cases, "real_ecdsa": True}))
    out = check_code(MP_CHAIN, args=[str(spec)], timeout=120)
    if out.strip() == "NO_ECDSA":
        pytest.skip("dtls.ecdsa not available")
    got = json.loads(out)
    assert {k: v[0] for k, v in got.items() if k != "_calls"} == want


# ---------------------------------------------------------------- hostile input

MP_FUZZ = r"""
import sys
from dtls import x509

def load(n):
    with open(sys.argv[1] + "/" + n + ".der", "rb") as f:
        return f.read()

leaf, int2, int1, root = load("leaf"), load("int2"), load("int1"), load("root")
seed = [12345]

def rnd(n):  # LCG: deterministic across runs and interpreters
    seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return seed[0] % n

def never(pub, tbs, sig):
    return False

counts = {"value_error": 0, "parsed": 0, "chain_checked": 0}

def check(data):
    try:
        x509.Certificate(data)
        counts["parsed"] += 1
    except ValueError:
        counts["value_error"] += 1
    except Exception as e:
        print("FAIL parse", repr(e), data)
        sys.exit(1)
    try:
        x509.verify_chain([data, int2, int1], [root], never, now=1800000000,
                          host="localhost", ip=b"\x7f\x00\x00\x01")
        print("FAIL accepted", data)
        sys.exit(1)
    except ValueError:
        counts["chain_checked"] += 1
    except Exception as e:
        print("FAIL chain", repr(e), data)
        sys.exit(1)

def mutated(base):
    b = bytearray(base)
    kind = rnd(6)
    pos = rnd(len(b))
    if kind == 0:
        b[pos] ^= 1 << rnd(8)
    elif kind == 1:
        b[pos] = rnd(256)
    elif kind == 2:  # length-octet attack: long forms, indefinite, huge
        b[pos] = (0x80, 0x81, 0x84, 0x85, 0xFF, 0x00)[rnd(6)]
    elif kind == 3:
        b[pos:pos] = bytes([rnd(256)])
    elif kind == 4:
        b[pos:pos + 1] = b""
    else:
        b = b[:pos] + bytes([rnd(256) for _ in range(rnd(8))])
    return bytes(b)

# every truncation of the leaf
for n in range(len(leaf)):
    check(leaf[:n])
# random mutations of each certificate
N = int(sys.argv[2])
for base in (leaf, int2, root):
    for _ in range(N):
        check(mutated(base))
# key parsers: only ValueError, whatever the input
key_errors = 0
for name, fn in (("leaf_pkcs8", x509.parse_ec_private_key),
                 ("leaf_sec1", x509.parse_ec_private_key), ("leaf_pub", x509.parse_spki)):
    base = load(name)
    for i in range(N // 3 + len(base)):
        data = base[:i] if i < len(base) else mutated(base)
        try:
            fn(data)
        except ValueError:
            key_errors += 1
        except Exception as e:
            print("FAIL key", name, repr(e), data)
            sys.exit(1)
# garbage
for g in (b"", b"\x30", b"\x30\x00", b"\x30\x80\x00\x00", b"\x30\x84\xff\xff\xff\xff",
          b"\x30\x85\x01\x00\x00\x00\x00", b"\x30\x81\x05\x02\x01\x00\x02\x00",
          b"\x30\x03" * 1000, b"\xff" * 300, bytes(range(256))):
    check(g)
g = b""
for _ in range(200):  # deep but valid nesting: must fail without recursion
    n = len(g)
    if n < 0x80:
        g = bytes([0x30, n]) + g
    elif n < 0x100:
        g = bytes([0x30, 0x81, n]) + g
    else:
        g = bytes([0x30, 0x82, n >> 8, n & 0xFF]) + g
check(g)
print(counts["value_error"], counts["parsed"], counts["chain_checked"], key_errors)
"""


def test_mutations_only_raise_value_error_in_micropython(pki):
    n = 300
    out = check_code(MP_FUZZ, args=[pki, n])
    value_errors, parsed, checked, key_errors = [int(x) for x in out.split()]
    leaf_len = len(read(pki, "leaf.der"))
    total = leaf_len + 3 * n + 11
    assert value_errors + parsed == total
    assert checked == total
    assert value_errors > leaf_len  # the truncations alone
    assert parsed > 0  # some mutations (e.g. inside the signature) still parse
    key_lens = sum(len(read(pki, n + ".der")) for n in ("leaf_pkcs8", "leaf_sec1", "leaf_pub"))
    assert key_lens < key_errors <= key_lens + n  # all truncations fail, most mutations


def test_der_error_messages_cpython():
    """Each rule is enforced by its own check, not only as a side effect of another."""
    cases = [("0480", "indefinite"), ("0485" + "01" * 5, "more than 4"),
             ("04820080" + "00" * 128, "non-minimal length"),
             ("04810500000000", "long form"), ("0403616263"[:-2], "beyond buffer"),
             ("1f0100", "multi-octet tag")]
    for h, msg in cases:
        b = bytes.fromhex(h)
        with pytest.raises(ValueError, match=msg):
            der.read_tlv(b, 0, len(b))


def test_parse_value_errors_cpython(pki):
    leaf = read(pki, "leaf.der")
    for n in range(len(leaf)):
        with pytest.raises(ValueError):
            x509.Certificate(leaf[:n])
    with pytest.raises(ValueError):
        x509.Certificate(leaf + b"\x00")  # trailing data
    with pytest.raises(ValueError):
        x509.Certificate(leaf, max_size=len(leaf) - 1)
    x509.Certificate(bytearray(leaf))
    x509.Certificate(memoryview(leaf))


# ---------------------------------------------------------------- DER primitives

def _vectors():
    """Hand-written encodings from X.690 rules and RFC 5280/5758 OIDs."""
    ok_times = [
        (0x17, b"491231235959Z", (2049, 12, 31, 23, 59, 59)),
        (0x17, b"500101000000Z", (1950, 1, 1, 0, 0, 0)),
        (0x17, b"000229120000Z", (2000, 2, 29, 12, 0, 0)),
        (0x18, b"20500101000000Z", (2050, 1, 1, 0, 0, 0)),
        (0x18, b"19700101000000Z", (1970, 1, 1, 0, 0, 0)),
        (0x18, b"99991231235959Z", (9999, 12, 31, 23, 59, 59)),
        (0x18, b"16010101000000Z", (1601, 1, 1, 0, 0, 0)),
    ]
    bad_times = [
        (0x17, b"491231235959"), (0x17, b"4912312359Z"), (0x17, b"491331235959Z"),
        (0x17, b"490230000000Z"), (0x17, b"010229000000Z"), (0x17, b"491231245959Z"),
        (0x17, b"49123123595aZ"), (0x18, b"20500101000000.5Z"), (0x18, b"2050010100000Z"),
        (0x18, b"19000229000000Z"), (0x17, b"491231235960Z"), (0x17, b"-91231235959Z"),
        (0x17, b"491231235959+"), (0x02, b"491231235959Z"),
    ]
    return ok_times, bad_times


MP_DER = r"""
import sys, json, binascii
from dtls import der

with open(sys.argv[1]) as f:
    spec = json.load(f)
u = binascii.unhexlify

def raises(fn, *a):
    try:
        fn(*a)
    except ValueError:
        return True
    return False

res = {}
res["tlv"] = []
for h in spec["tlv_ok"]:
    b = u(h)
    res["tlv"].append(list(der.read_tlv(b, 0, len(b))))
res["tlv_bad"] = [raises(der.read_tlv, u(h), 0, len(u(h))) for h in spec["tlv_bad"]]
res["int"] = [der.read_integer(u(h), 0, len(u(h))) for h in spec["int_ok"]]
res["int_bad"] = [raises(der.read_integer, u(h), 0, len(u(h))) for h in spec["int_bad"]]
res["uint_neg"] = raises(der.read_uint, b"\xff", 0, 1)
res["bool"] = [der.read_boolean(b"\x00", 0, 1), der.read_boolean(b"\xff", 0, 1)]
res["bool_bad"] = [raises(der.read_boolean, u(h), 0, len(u(h))) for h in ("01", "", "0000")]
res["oid"] = [der.oid_to_str(der.read_oid(u(h), 0, len(u(h)))) for h in spec["oid_ok"]]
res["oid_bad"] = [raises(der.read_oid, u(h), 0, len(u(h))) for h in spec["oid_bad"]]
res["bits"] = [list(der.read_bit_string(u(h), 0, len(u(h)))) for h in spec["bits_ok"]]
res["bits_bad"] = [raises(der.read_bit_string, u(h), 0, len(u(h))) for h in spec["bits_bad"]]
res["time"] = []
for tag, s in spec["time_ok"]:
    b = s.encode()
    t = der.read_time(b, 0, len(b), tag)
    res["time"].append([list(t), der.time_to_seconds(t)])
res["time_bad"] = [raises(der.read_time, s.encode(), 0, len(s), tag)
                   for tag, s in spec["time_bad"]]
res["sig"] = [list(der.read_ecdsa_signature(u(h))) for h in spec["sig_ok"]]
res["sig_bad"] = [raises(der.read_ecdsa_signature, u(h)) for h in spec["sig_bad"]]
kids = u("3009020101020102020103")
res["children"] = [list(c) for c in der.children(kids, 2, len(kids))]
res["children_limit"] = raises(lambda: list(der.children(b"\x05\x00" * 10, 0, 20, 9)))
print(json.dumps(res))
"""


def test_der_primitives_in_micropython(tmp_path):
    ok_times, bad_times = _vectors()
    r = int(0xFFEE) * 2 ** 240 + 5
    s = 2 ** 255 + 7
    sig_ok = [utils.encode_dss_signature(1, 2).hex(), utils.encode_dss_signature(r, s).hex()]
    spec = {
        # (hex encoding, expected (tag, start, end))
        "tlv_ok": ["0400", "0403616263", "047f" + "00" * 127, "048180" + "00" * 128,
                   "04820100" + "00" * 256, "30020500"],
        "tlv_bad": ["04", "0480", "04817f" + "00" * 127, "04820080" + "00" * 128,
                    "04810500000000", "0482007f" + "00" * 127,
                    "0485" + "0000000001" + "00", "0484ffffffff", "04036162", "1f0100",
                    "0401", "04ff"],
        "int_ok": ["00", "7f", "0080", "ff", "80", "ff7f", "0100"],
        "int_bad": ["", "007f", "ff80", "0000"],
        "oid_ok": ["2a8648ce3d040302", "2a8648ce3d030107", "551d13", "2b0601050507030100"],
        "oid_bad": ["", "2a86", "2a80863d", "8001"],
        "bits_ok": ["00", "00ff", "0680", "07ff80"],
        "bits_bad": ["", "08ff", "01", "0101", "07ff81"],
        "time_ok": [[tag, s.decode()] for tag, s, _ in ok_times],
        "time_bad": [[tag, s.decode()] for tag, s in bad_times],
        "sig_ok": sig_ok,
        # r = 0; trailing byte; non-minimal s; negative s; truncated; SET not SEQUENCE
        "sig_bad": ["3006020100020101", "300602010102017f00", "30070201010202007f",
                    "30060201010201ff", "300502010102", "3106020101020101"],
    }
    p = tmp_path / "der.json"
    p.write_text(json.dumps(spec))
    got = json.loads(check_code(MP_DER, args=[str(p)]))
    assert got["tlv"] == [[4, 2, 2], [4, 2, 5], [4, 2, 129], [4, 3, 131], [4, 4, 260],
                          [0x30, 2, 4]]
    assert all(got["tlv_bad"]), got["tlv_bad"]
    assert got["int"] == [0, 127, 128, -1, -128, -129, 256]
    assert all(got["int_bad"]) and got["uint_neg"]
    assert got["bool"] == [False, True] and all(got["bool_bad"])
    assert got["oid"] == ["1.2.840.10045.4.3.2", "1.2.840.10045.3.1.7", "2.5.29.19",
                          "1.3.6.1.5.5.7.3.1.0"]
    assert all(got["oid_bad"]), got["oid_bad"]
    assert got["bits"] == [[0, 1, 1], [0, 1, 2], [6, 1, 2], [7, 1, 3]]
    assert all(got["bits_bad"]), got["bits_bad"]
    assert got["time"] == [[list(t), calendar.timegm(t)] for _, _, t in ok_times]
    assert all(got["time_bad"]), got["time_bad"]
    assert got["sig"] == [[1, 2], [r, s]]
    assert all(got["sig_bad"]), got["sig_bad"]
    assert got["children"] == [[2, 4, 5], [2, 7, 8], [2, 10, 11]]
    assert got["children_limit"]


# ---------------------------------------------------------------- PEM and keys

MP_KEYS = r"""
import sys, json, binascii
from dtls import x509, pem

d = sys.argv[1]
def rd(n, mode="rb"):
    with open(d + "/" + n, mode) as f:
        return f.read()
h = lambda b: binascii.hexlify(b).decode()

def err(fn, *a):
    try:
        fn(*a)
    except ValueError:
        return "ValueError"
    except Exception as e:
        return "EXC %r" % e
    return "accepted"

res = {}
res["bundle"] = [h(x) for x in pem.pem_to_der_list(rd("bundle.pem", "r"))]
res["bundle_bytes"] = [h(x) for x in pem.pem_to_der_list(rd("bundle.pem"), "CERTIFICATE")]
res["der_passthrough"] = [h(x) for x in pem.load_der_or_pem(rd("root.der"))]
res["pem_load"] = [h(x) for x in pem.load_der_or_pem(rd("root.pem"))]
res["priv"] = [h(x509.parse_ec_private_key(rd(n))) for n in
               ("leaf.key", "leaf_sec1.key", "leaf_sec1.der", "leaf_pkcs8.der", "ecparam.key")]
res["priv_str"] = h(x509.parse_ec_private_key(rd("leaf.key", "r")))
res["spki"] = [h(x509.parse_spki(rd(n))) for n in ("leaf_pub.pem", "leaf_pub.der")]
res["spki_cert"] = h(x509.Certificate(rd("leaf.der")).spki) == h(rd("leaf_pub.der"))
res["errors"] = [
    err(x509.parse_spki, rd("p384_pub.pem")),
    err(x509.parse_spki, rd("rsa_pub.pem")),
    err(x509.parse_spki, rd("leaf_pub_compressed.pem")),
    err(x509.parse_spki, rd("leaf_pub.der")[:-1]),
    err(x509.parse_ec_private_key, rd("p384.key")),
    err(x509.parse_ec_private_key, rd("rsa.key")),
    err(x509.parse_ec_private_key, rd("leaf_encrypted.key")),
    err(x509.parse_ec_private_key, rd("leaf_sec1.der")[:-3]),
    err(x509.parse_ec_private_key, rd("leaf.pem")),
    err(pem.pem_to_der_list, rd("root.pem").replace(b"-----END", b"-----XND")),
    err(pem.pem_to_der_list, rd("root.pem").replace(b"END CERTIFICATE", b"END CRL")),
    err(pem.pem_to_der_list, rd("root.pem")[:40] + b"!!!!" + rd("root.pem")[40:]),
    err(pem.pem_to_der_list, rd("root.pem")[:40] + b"QQ==" + rd("root.pem")[40:]),
    err(pem.pem_to_der_list, rd("root.pem")[:40] + b"A" + rd("root.pem")[40:]),
    err(pem.pem_to_der_list, rd("root.pem"), "PRIVATE KEY"),
    err(pem.pem_to_der_list, b"no pem here"),
    err(pem.pem_to_der_list, b"-----BEGIN X-----\n-----END X-----\n"),
    err(pem.pem_to_der_list, b"-----BEGIN X-----\nQUJD\n-----BEGIN X-----\n"),
    err(pem.pem_to_der_list, b"-----BEGIN X-----\nQUJD\n"),
    err(pem.pem_to_der_list, rd("root.pem") * 17),
]
print(json.dumps(res))
"""


def test_pem_and_keys_in_micropython(pki):
    got = json.loads(check_code(MP_KEYS, args=[pki]))
    root, other = read(pki, "root.der").hex(), read(pki, "other_root.der").hex()
    assert got["bundle"] == [root, other]
    assert got["bundle_bytes"] == [root, other]
    assert got["der_passthrough"] == [root] and got["pem_load"] == [root]

    def private_value(name, loader):
        k = loader(read(pki, name), password=None)
        return "%064x" % k.private_numbers().private_value

    leaf_d = private_value("leaf.key", serialization.load_pem_private_key)
    ecparam_d = private_value("ecparam.key", serialization.load_pem_private_key)
    assert leaf_d == private_value("leaf_pkcs8.der", serialization.load_der_private_key)
    assert got["priv"] == [leaf_d] * 4 + [ecparam_d]
    assert got["priv_str"] == leaf_d
    pub = serialization.load_pem_public_key(read(pki, "leaf_pub.pem")).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint).hex()
    assert got["spki"] == [pub, pub]
    assert got["spki_cert"]
    assert got["errors"] == ["ValueError"] * len(got["errors"]), got["errors"]


def test_alert_mapping():
    # RFC 5246 §7.2: bad_certificate(42), unsupported_certificate(43),
    # certificate_expired(45), unknown_ca(48)
    a = x509.ALERT_FOR_REASON
    assert a["bad_certificate"] == 42 and a["unsupported_certificate"] == 43
    assert a["expired"] == 45 and a["unknown_ca"] == 48
    e = x509.CertificateError("expired", "leaf: expired")
    assert isinstance(e, ValueError) and e.reason == "expired" and str(e) == "leaf: expired"


# ---------------------------------------------------------------- hand-built edge cases

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_OID = bytes.fromhex("2a8648ce3d030107")  # RFC 5480 §2.1.1.1
P384_OID = bytes.fromhex("2b81040022")


def _tlv(tag, content):
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def _sec1(d_bytes, curve=P256_OID):
    """ECPrivateKey (RFC 5915 §3) built by hand, for values no library will emit."""
    body = _tlv(0x02, b"\x01") + _tlv(0x04, d_bytes)
    if curve is not None:
        body += _tlv(0xA0, _tlv(0x06, curve))
    return _tlv(0x30, body)


MP_EDGE = r"""
import sys, json, binascii
from dtls import x509
with open(sys.argv[1]) as f:
    spec = json.load(f)
out = {"keys": [], "certs": []}
for h in spec["keys"]:
    try:
        d = x509.parse_ec_private_key(binascii.unhexlify(h))
        out["keys"].append(binascii.hexlify(d).decode())
    except ValueError:
        out["keys"].append("ValueError")
for h in spec["certs"]:
    try:
        x509.Certificate(binascii.unhexlify(h))
        out["certs"].append("parsed")
    except ValueError:
        out["certs"].append("ValueError")
print(json.dumps(out))
"""


def test_edge_cases_in_micropython(pki, tmp_path):
    def sec1_from_cryptography(d):
        k = ec.derive_private_key(d, ec.SECP256R1())
        return k.private_bytes(serialization.Encoding.DER,
                               serialization.PrivateFormat.TraditionalOpenSSL,
                               serialization.NoEncryption())

    keys = [
        (sec1_from_cryptography(1), "%064x" % 1),
        (sec1_from_cryptography(P256_N - 1), "%064x" % (P256_N - 1)),
        (_sec1(b"\x05" * 31), "ValueError"),  # short scalar (RFC 5915 §3: 32 octets)
        (_sec1(b"\x00" * 32), "ValueError"),  # d = 0
        (_sec1(P256_N.to_bytes(32, "big")), "ValueError"),  # d = n
        (_sec1(b"\x01" * 33), "ValueError"),  # longer than the group
        (_sec1(b"\x01" * 32, curve=None), "ValueError"),  # curve unknown
        (_sec1(b"\x01" * 32, curve=P384_OID), "ValueError"),
    ]
    for der_key, want in keys[:2]:  # sanity: cryptography agrees on the valid ones
        k = serialization.load_der_private_key(der_key, password=None)
        assert "%064x" % k.private_numbers().private_value == want

    leaf = read(pki, "leaf.der")
    sha256_alg = b"\x06\x08" + bytes.fromhex("2a8648ce3d040302")
    outer = leaf.rindex(sha256_alg)  # signatureAlgorithm after tbsCertificate
    assert outer > len(x509.Certificate(leaf).tbs)
    mismatch = bytearray(leaf)
    mismatch[outer + len(sha256_alg) - 1] = 0x03  # ecdsa-with-SHA384 outside only
    certs = [(leaf, "parsed"), (bytes(mismatch), "ValueError"),
             (leaf + b"\x00", "ValueError"), (leaf[:-1], "ValueError")]
    spec = tmp_path / "edge.json"
    spec.write_text(json.dumps({"keys": [k.hex() for k, _ in keys],
                                "certs": [c.hex() for c, _ in certs]}))
    got = json.loads(check_code(MP_EDGE, args=[str(spec)]))
    assert got["keys"] == [w for _, w in keys]
    assert got["certs"] == [w for _, w in certs]
