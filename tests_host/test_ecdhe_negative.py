"""ECDHE-ECDSA failure paths: bad certificates from a real OpenSSL server, and forged
ServerKeyExchange contents from a scripted server (its flight is plaintext, signed here with
pyca/cryptography). Each: the right fatal alert, nothing sent after it, a clean error."""
import os
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import mp
import peers
from scripted import ScriptedServer, handshake, parse_records, record, server_hello
from test_interop_ecdhe import openssl_cert_server

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF


def run_client(port, args, timeout=30):
    return subprocess.run([mp.micropython_path(), CLIENT, "127.0.0.1", str(port)] +
                          [str(a) for a in args] + ["--timeout", "5", "-v"],
                          capture_output=True, text=True, timeout=timeout, env=mp.mp_env(),
                          stdin=subprocess.DEVNULL)


def assert_alert(res, alert_name):
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "cipher:" not in res.stdout
    assert "send fatal alert " + alert_name in res.stderr, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: ")


# --- certificates from a real server -------------------------------------------------

def cert_server(pki, leaf="leaf.pem", chain="chain.pem", key="leaf.key"):
    port = peers.free_port()
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port,
           "-cert", pki / leaf, "-cert_chain", pki / chain, "-key", pki / key,
           "-cipher", "ECDHE-ECDSA-AES128-CCM8"]
    return peers.Peer("openssl", peers._line_buffered(cmd), port, "", b"", stdin=True)


@pytest.mark.parametrize("leaf,key,args,alert", [
    ("leaf.pem", "leaf.key", ["--ca", "other_root.pem"], "unknown_ca"),
    ("leaf.pem", "leaf.key", ["--ca", "same_name_root.pem"], "unknown_ca"),
    ("leaf.pem", "leaf.key", ["--ca", "root.pem", "--sni", "wrong.example"], "bad_certificate"),
    ("leaf_expired.pem", "leaf.key", ["--ca", "root.pem"], "certificate_expired"),
    ("leaf_future.pem", "leaf.key", ["--ca", "root.pem"], "bad_certificate"),
    ("leaf_wild.pem", "leaf.key", ["--ca", "root.pem", "--sni", "a.example.com"],
     "bad_certificate"),
    ("leaf_crit.pem", "leaf.key", ["--ca", "root.pem"], "unsupported_certificate"),
], ids=["wrong-anchor", "same-name-other-key", "name-mismatch", "expired", "not-yet-valid",
        "wildcard", "unknown-critical-ext"])
def test_bad_server_certificate(pki, leaf, key, args, alert):
    args = [pki / a if a.endswith(".pem") else a for a in args]
    with cert_server(pki, leaf=leaf, key=key) as peer:
        res = run_client(peer.port, args)
        assert_alert(res, alert)


def test_chain_deeper_than_allowed(pki):
    """Context(max_chain_depth=2): the 3-deep chain is refused."""
    with cert_server(pki) as peer:
        code = """
import dtls
ctx = dtls.Context(ca=%r, max_chain_depth=2)
try:
    ctx.connect("127.0.0.1", %d)
except dtls.DTLSError as e:
    print("error", e.alert, e)
""" % (str(pki / "root.pem"), peer.port)
        out = mp.check_code(code, timeout=30)
        assert out.startswith("error 42 ") and "longer than 2" in out, out


# --- forged ServerKeyExchange from a scripted server -----------------------------------

def _load_leaf(pki):
    key = serialization.load_pem_private_key((pki / "leaf.key").read_bytes(), None)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, spki


def _vec(n, data):
    return len(data).to_bytes(n, "big") + data


def _ske(client_random, server_random, point, key, curve=23, alg=0x0403, tamper=False):
    params = struct.pack(">BH", 3, curve) + _vec(1, point)
    sig = key.sign(client_random + server_random + params, ec.ECDSA(hashes.SHA256()))
    if tamper:
        sig = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
    return params + struct.pack(">H", alg) + _vec(2, sig)


def _invalid_curve_point():
    """A point on y^2 = x^3 - 3x + 1 (not P-256): the invalid-curve attack's input."""
    x = 5
    while True:
        rhs = (x ** 3 - 3 * x + 1) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs:
            return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
        x += 1


def scripted_ecdhe(pki, point_fn, certificate=None, **ske_kw):
    """Answers the ClientHello with ServerHello (ECDHE_ECDSA CCM_8), Certificate (the
    leaf's raw public key, or the given X.509 Certificate body), ServerKeyExchange built by
    point_fn and ServerHelloDone."""
    key, spki = _load_leaf(pki)
    server_random = bytes(range(32))

    def handler(data, index):
        recs = parse_records(data)
        if not recs or recs[0][0] != 22 or recs[0][2][0] != 1:
            return []
        client_random = recs[0][2][12 + 2:12 + 34]
        if certificate is None:
            exts = struct.pack(">HHB", 20, 1, 2)  # server_certificate_type: RawPublicKey
            flight = handshake(2, server_hello(suite=0xC0AE, extensions=exts), seq=0)
            flight += handshake(11, _vec(3, spki), seq=1)
        else:
            flight = handshake(2, server_hello(suite=0xC0AE), seq=0)
            flight += handshake(11, certificate, seq=1)
        flight += handshake(12, _ske(client_random, server_random, point_fn(key), key,
                                     **ske_kw), seq=2)
        flight += handshake(14, b"", seq=3)
        return [record(22, flight, seq=index + 1)]

    return ScriptedServer(handler), spki


def _pin_args(pki, tmp_path, spki):
    path = tmp_path / "pin.der"
    path.write_bytes(spki)
    return ["--server-rpk", path]


def _good_point(_key):
    eph = ec.generate_private_key(ec.SECP256R1())
    return eph.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


def _off_curve(key):
    pt = _good_point(key)
    y = (int.from_bytes(pt[33:], "big") + 1) % P
    return pt[:33] + y.to_bytes(32, "big")


def _x_out_of_range(key):
    pt = _good_point(key)
    x = int.from_bytes(pt[1:33], "big")
    if x + P < 2 ** 256:
        return b"\x04" + (x + P).to_bytes(32, "big") + pt[33:]
    return b"\x04" + P.to_bytes(32, "big") + pt[33:]


SKE_CASES = [
    ("tampered-signature", _good_point, {"tamper": True}, "decrypt_error"),
    ("off-curve-point", _off_curve, {}, "illegal_parameter"),
    ("invalid-curve-point", lambda k: _invalid_curve_point(), {}, "illegal_parameter"),
    ("point-at-infinity", lambda k: b"\x00", {}, "illegal_parameter"),
    ("coordinate-not-reduced", _x_out_of_range, {}, "illegal_parameter"),
    ("compressed-point", lambda k: b"\x02" + _good_point(k)[1:33], {}, "illegal_parameter"),
    ("secp384r1-curve", _good_point, {"curve": 24}, "illegal_parameter"),
    ("sha384-signature", _good_point, {"alg": 0x0503}, "illegal_parameter"),
]


@pytest.mark.parametrize("point_fn,kw,alert", [c[1:] for c in SKE_CASES],
                         ids=[c[0] for c in SKE_CASES])
def test_forged_server_key_exchange(pki, tmp_path, point_fn, kw, alert):
    srv, spki = scripted_ecdhe(pki, point_fn, **kw)
    with srv:
        res = run_client(srv.port, _pin_args(pki, tmp_path, spki))
        assert_alert(res, alert)
        # Nothing of ours follows the alert: no ClientKeyExchange reached the server.
        sent_types = [body[0] for d in srv.received for ctype, _, body in parse_records(d)
                      if ctype == 22]
        assert 16 not in sent_types, sent_types


def test_scripted_server_is_accepted_when_honest(pki, tmp_path):
    """Control: the same scripted flight with a valid point and signature gets as far as
    our ClientKeyExchange (then the server has nothing more to say and we time out)."""
    srv, spki = scripted_ecdhe(pki, _good_point)
    with srv:
        res = run_client(srv.port, _pin_args(pki, tmp_path, spki))
        assert res.returncode == 1 and "timed out" in res.stderr, res.stderr
        sent_types = [body[0] for d in srv.received for ctype, _, body in parse_records(d)
                      if ctype == 22]
        assert 16 in sent_types


def test_server_certificate_with_p384_key(pki):
    """A CA-valid chain whose leaf key is P-384 (RFC 7925 §4.4 profiles P-256 only); OpenSSL
    will not serve it for our offer, so the scripted server does."""
    from cryptography import x509

    ders = [x509.load_pem_x509_certificate((pki / name).read_bytes()).public_bytes(
        serialization.Encoding.DER) for name in ("leaf_p384.pem", "int2.pem", "int1.pem")]
    body = _vec(3, b"".join(_vec(3, d) for d in ders))
    srv, _ = scripted_ecdhe(pki, _good_point, certificate=body)
    with srv:
        res = run_client(srv.port, ["--ca", pki / "root.pem"])
        assert_alert(res, "unsupported_certificate")
