"""Malicious-server catalogue, ECDHE-ECDSA part (issue 6): the MicroPython client
(tools/dtls_client.py under the unix port, trusting the test PKI's root) against
tests_host/ecdhe_server.py, a scripted TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 server with a real
3-certificate chain, a real signed ServerKeyExchange and real epoch-1 encryption, changed in
exactly one way per attack.

Each attack checks the client's exact reaction: the fatal alert it sends (and in which
epoch), or for messages RFC 6347 §4.1.2.7 / §4.2.3 says to drop, a silent drop ending in a
handshake timeout that says why; and always: no traceback, nothing sent after a fatal alert,
no ClientKeyExchange once the server's credentials failed.

Already covered elsewhere and not repeated here: bad certificates from OpenSSL (anchor,
name, validity, critical extension), forged ServerKeyExchange contents (signature,
off-curve, invalid-curve, infinity, unreduced, compressed points, other curve or hash),
a P-384 leaf and max_chain_depth (tests_host/test_ecdhe_negative.py)."""
import os
import struct
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import mp
import psk_server as ps
from ecdhe_server import (CERTIFICATE, EXT_SERVER_CERTIFICATE_TYPE, EcdheServerCore,
                          certificate_body, der, vec)

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")
FATAL = 2
# alert descriptions (RFC 5246 §7.2)
UNEXPECTED_MESSAGE, BAD_CERTIFICATE, ILLEGAL_PARAMETER = 10, 42, 47
DECODE_ERROR, DECRYPT_ERROR, UNSUPPORTED_EXTENSION = 50, 51, 110
SERVER_HELLO, SKE, CERT_REQUEST, SHD = (ps.SERVER_HELLO, ps.SERVER_KEY_EXCHANGE,
                                        ps.CERTIFICATE_REQUEST, ps.SERVER_HELLO_DONE)
FRAGMENT = 1000     # handshake fragment size of our flights (the chain needs several)


@pytest.fixture(scope="module")
def material(pki):
    def cert(name):
        return der(x509.load_pem_x509_certificate((pki / name).read_bytes()))
    key = serialization.load_pem_private_key((pki / "leaf.key").read_bytes(), None)
    return {"chain": [cert(n) for n in ("leaf.pem", "int2.pem", "int1.pem")],
            "key": key, "root": pki / "root.pem",
            "spki": key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)}


class Attack(EcdheServerCore):
    """EcdheServerCore whose flight 4 messages pass through `edit(core, msgs) -> msgs` and
    whose flight 6 can be replaced; messages are sent in fragments of FRAGMENT bytes."""

    def __init__(self, m, edit=None, flight6=None):
        super().__init__([(m["chain"], m["key"], None)], cached_info=False,
                         trusted_ca_keys=False, cert_url=False)
        self.m = m
        self.edit = edit
        self.flight6_hook = flight6

    def flight4_messages(self):
        msgs = super().flight4_messages()
        return self.edit(self, msgs) if self.edit else msgs

    def flight4(self):
        out = []
        for msg_type, body in self.flight4_messages():
            seq = self.next_hs_seq()
            self.transcript += ps.hs_message(msg_type, seq, body)
            for off in range(0, max(len(body), 1), FRAGMENT):
                n = min(FRAGMENT, len(body) - off)
                frag = ps.hs_header(msg_type, len(body), seq, off, n) + body[off:off + n]
                out.append(self.record(ps.CT_HANDSHAKE, frag, 0))
        return out

    def flight6(self):
        if self.flight6_hook:
            return self.flight6_hook(self)
        return super().flight6()


# ------------------------------------------------------------------ flight edits

def replace(msg_type, body_fn):
    """The message of that type gets body_fn(core, old_body)."""
    def edit(core, msgs):
        return [(t, body_fn(core, b) if t == msg_type else b) for t, b in msgs]
    return edit


def certificate(body_fn):
    return replace(CERTIFICATE, body_fn)


def move_before(msg_type, other):
    """Moves the message of type `msg_type` just before the one of type `other`."""
    def edit(core, msgs):
        msg = [x for x in msgs if x[0] == msg_type][0]
        rest = [x for x in msgs if x[0] != msg_type]
        i = [t for t, _ in rest].index(other)
        return rest[:i] + [msg] + rest[i:]
    return edit


def duplicate_certificate(core, msgs):
    i = [t for t, _ in msgs].index(CERTIFICATE)
    return msgs[:i + 1] + [msgs[i]] + msgs[i + 1:]


def certificate_request_before_ske(core, msgs):
    i = [t for t, _ in msgs].index(SKE)
    return msgs[:i] + [(CERT_REQUEST, vec(1, b"\x40") + vec(2, b"\x04\x03") + vec(2, b""))] + \
        msgs[i:]


def oversized_certificate(core, body):
    """The genuine chain plus a 9,000-byte certificate: the message exceeds the client's
    max_handshake_message (8192)."""
    return certificate_body(core.m["chain"] + [b"\x30\x82\x23\x24" + bytes(9000)])


def nine_certificates(core, body):
    """leaf, int2, int1 and six more copies of int1: 9 well-formed certificates."""
    return certificate_body(core.m["chain"] + [core.m["chain"][2]] * 6)


def list_length_past_end(core, body):
    """certificate_list<0..2^24-1> claims 2^24-1 bytes; the message holds the real chain."""
    return b"\xff\xff\xff" + body[3:]


def cert_length_past_end(core, body):
    """The leaf's ASN.1Cert length claims 2^24-1 bytes inside a correctly sized list."""
    return body[:3] + b"\xff\xff\xff" + body[6:]


def empty_certificate(core, body):
    return vec(3, b"")


def zero_length_certificate(core, body):
    return vec(3, vec(3, b"") + b"".join(vec(3, d) for d in core.m["chain"]))


def raw_public_key(core, body):
    """RFC 7250 §3 layout (ASN.1_subjectPublicKeyInfo<1..2^24-1>) without the server having
    negotiated server_certificate_type."""
    return vec(3, core.m["spki"])


def spki_as_certificate(core, body):
    """The SubjectPublicKeyInfo placed in the X.509 certificate_list as if it were one."""
    return certificate_body([core.m["spki"]])


def server_certificate_type_unoffered(core, msgs):
    """ServerHello announces server_certificate_type RawPublicKey (RFC 7250 §4), which a
    client with only a CA did not offer, and sends the raw public key."""
    t, b = msgs[0]
    hello = ps.server_hello_body(suite=0xC0AE, extensions=struct.pack(">HH", ps.EXT_EMS, 0) +
                                 struct.pack(">HHB", ps.EXT_RENEGOTIATION_INFO, 1, 0) +
                                 struct.pack(">HHB", EXT_SERVER_CERTIFICATE_TYPE, 1, 2))
    return [(t, hello)] + [(mt, vec(3, core.m["spki"]) if mt == CERTIFICATE else mb)
                           for mt, mb in msgs[1:]]


def suite(number):
    """ServerHello with another cipher suite; the rest of the flight unchanged."""
    def edit(core, msgs):
        t, b = msgs[0]
        # RFC 5246 §7.4.1.3 layout: version 2, random 32, session_id vec8, suite 2
        p = 2 + 32 + 1 + b[34]
        return [(t, b[:p] + struct.pack(">H", number) + b[p + 2:])] + msgs[1:]
    return edit


def forged_finished(core):
    verify = bytearray(core.server_finished())
    verify[0] ^= 1
    fin = ps.hs_message(ps.FINISHED, core.next_hs_seq(), bytes(verify))
    return [core.record(ps.CT_CCS, b"\x01", 0) + core.protected(ps.CT_HANDSHAKE, fin)]


def fatal(epoch, alert, says=None):
    return ("fatal", epoch, alert, says)


def dropped(says):
    return ("timeout", says)


PSK_AND_ECDHE = ["--psk-identity", ps.PSK_IDENTITY.decode(), "--psk-key", ps.PSK_KEY.hex(),
                 "--cipher", "TLS_PSK_WITH_AES_128_CCM_8",
                 "--cipher", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"]

# (id, edit of flight 4, flight 6, extra client arguments, expected reaction)
ATTACKS = [
    ("forged-finished-after-ecdhe", None, forged_finished, [], fatal(1, DECRYPT_ERROR)),
    ("certificate-over-max-handshake-message", certificate(oversized_certificate), None, [],
     dropped("max_handshake_message is 8192")),
    ("chain-of-9-certificates", certificate(nine_certificates), None, [],
     fatal(0, BAD_CERTIFICATE, "too long")),
    ("certificate-list-length-past-end", certificate(list_length_past_end), None, [],
     fatal(0, DECODE_ERROR)),
    ("certificate-length-past-end", certificate(cert_length_past_end), None, [],
     fatal(0, DECODE_ERROR)),
    ("server-key-exchange-before-certificate", move_before(SKE, CERTIFICATE), None, [],
     fatal(0, UNEXPECTED_MESSAGE)),
    ("server-hello-done-before-certificate", move_before(SHD, CERTIFICATE), None, [],
     fatal(0, UNEXPECTED_MESSAGE)),
    ("duplicate-certificate", duplicate_certificate, None, [], fatal(0, UNEXPECTED_MESSAGE)),
    ("certificate-request-before-server-key-exchange", certificate_request_before_ske, None,
     [], fatal(0, UNEXPECTED_MESSAGE)),
    ("empty-certificate-list", certificate(empty_certificate), None, [],
     fatal(0, BAD_CERTIFICATE)),
    ("zero-length-certificate-in-list", certificate(zero_length_certificate), None, [],
     fatal(0, DECODE_ERROR)),
    ("raw-public-key-when-x509-negotiated", certificate(raw_public_key), None, [],
     fatal(0, DECODE_ERROR)),
    ("spki-in-x509-certificate-list", certificate(spki_as_certificate), None, [],
     fatal(0, BAD_CERTIFICATE)),
    # RFC 5246 §7.4.1.4: an extension the client did not offer gets unsupported_extension
    # (found by this catalogue: the client used to answer unsupported_certificate).
    ("server-certificate-type-not-offered", server_certificate_type_unoffered, None, [],
     fatal(0, UNSUPPORTED_EXTENSION)),
    ("downgrade-psk-ecdhe-offer-to-ecdhe-ccm", suite(0xC0AC), None, PSK_AND_ECDHE,
     fatal(0, ILLEGAL_PARAMETER)),
    ("downgrade-psk-ecdhe-offer-to-ecdhe-psk", suite(0xD003), None, PSK_AND_ECDHE,
     fatal(0, ILLEGAL_PARAMETER)),
    ("downgrade-psk-ecdhe-offer-to-ecdhe-gcm", suite(0xC02B), None, PSK_AND_ECDHE,
     fatal(0, ILLEGAL_PARAMETER)),
]


def client_messages(core):
    """(epoch, handshake type) of every handshake message the client sent that the server
    could read, and the index in core.client_records of each record."""
    out = []
    for i, (ctype, epoch, plain) in enumerate(core.client_records):
        if ctype != ps.CT_HANDSHAKE or plain is None:
            continue
        p = 0
        while p + 12 <= len(plain):
            out.append((i, epoch, plain[p]))
            p += 12 + int.from_bytes(plain[p + 9:p + 12], "big")
    return out


def run_attack(core, root, extra, timeout_s):
    with ps.UdpServer(core) as srv:
        t0 = time.monotonic()
        res = mp.run_script(CLIENT, ["127.0.0.1", srv.port, "--ca", str(root), "--send", "ping",
                                     "--timeout", timeout_s, "--wait", 0.3, "-v"] + list(extra),
                            timeout=60)
        elapsed = time.monotonic() - t0
        n = -1
        while n != len(srv.received):      # let the server thread take the last datagram
            n = len(srv.received)
            time.sleep(0.1)
        assert srv.error is None, srv.error
    return res, elapsed


def _params():
    out = []
    for a in ATTACKS:
        if hasattr(a, "marks"):     # a pytest.param (itself a tuple)
            out.append(pytest.param(*a.values[1:], id=a.values[0], marks=a.marks))
        else:
            out.append(pytest.param(*a[1:], id=a[0]))
    return out


@pytest.mark.parametrize("edit,flight6,extra,expect", _params())
def test_attack(material, edit, flight6, extra, expect):
    core = Attack(material, edit, flight6)
    kind = expect[0]
    res, elapsed = run_attack(core, material["root"], extra, 2 if kind == "timeout" else 6)
    out = res.stdout + res.stderr
    info = "exit %d\n%s\n%s\nserver: alerts %s events %s" % (
        res.returncode, res.stdout, res.stderr, core.alerts, core.events)
    assert "Traceback" not in out and "FATAL" not in out, info
    assert res.returncode == 1 and "cipher:" not in res.stdout, info
    assert res.stderr.strip().splitlines()[-1].startswith("error: "), info
    sent = client_messages(core)
    if kind == "fatal":
        _, epoch, alert, says = expect
        assert [(e, d) for e, level, d in core.alerts] == [(epoch, alert)], info
        assert all(level == FATAL for _, level, _ in core.alerts), info
        # nothing after the fatal alert: it is the client's last record
        last = core.client_records[-1]
        assert last[0] == ps.CT_ALERT and last[1] == epoch, (core.client_records, info)
        if says:
            assert says in res.stderr, info
        if epoch == 0:
            # the server's credentials or flight were refused: no ClientKeyExchange (16),
            # Certificate or Finished of ours went out
            assert [t for _, e, t in sent if t != ps.CLIENT_HELLO] == [], (sent, info)
    else:
        _, says = expect
        assert "timed out" in res.stderr and says in res.stderr, info
        assert core.alerts == [], info
        assert [t for _, e, t in sent if t != ps.CLIENT_HELLO] == [], (sent, info)
        assert elapsed < 2 + 4, elapsed


def test_honest_scripted_server_completes(material):
    """Control: the same server, unchanged, completes the handshake and echoes a record,
    so each attack above fails only because of its one change."""
    core = Attack(material)
    res, _ = run_attack(core, material["root"], [], 6)
    assert res.returncode == 0, (res.stdout, res.stderr, core.events)
    assert "cipher: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" in res.stdout
    assert "recv: ping" in res.stdout and core.app_data == [b"ping"]
    assert len(core._flight4_cache) > 2     # the chain arrived in several fragments


def test_honest_server_with_psk_and_ecdhe_offer(material):
    """Control for the downgrade cases: with both suites offered, the genuine ECDHE answer
    is accepted."""
    core = Attack(material)
    res, _ = run_attack(core, material["root"], PSK_AND_ECDHE, 6)
    assert res.returncode == 0, (res.stdout, res.stderr, core.events)
    assert "cipher: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" in res.stdout


def test_catalogue_size():
    assert len(ATTACKS) >= 10


def test_timeout_after_finished_does_not_blame_a_psk(material):
    """An ECDHE server that never answers our Finished: the timeout must not suggest a wrong
    PSK (found by this catalogue)."""
    core = Attack(material, flight6=lambda core: [])
    res, _ = run_attack(core, material["root"], [], 2)
    assert "timed out" in res.stderr and "no answer to our Finished" in res.stderr
    assert "PSK" not in res.stderr, res.stderr
