"""The client's reaction to a bad first server flight (RFC 5246 §7.4.1.3, RFC 6347 §4.1,
RFC 7925 §3): a fatal alert with the right description, a clean error, no traceback."""
import os
import struct

import pytest

import mp
from scripted import ScriptedServer, handshake, parse_client_hello, parse_records, record, \
    server_hello

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")
PSK_ARGS = ["--psk-identity", "Client_identity", "--psk-key", "000102030405060708090a0b0c0d0e0f"]


def run_against(flight_for_client_hello, timeout_s=4):
    """Answers the first ClientHello with the given records; returns (result, server)."""
    def handler(data, index):
        recs = parse_records(data)
        if recs and recs[0][0] == 22 and recs[0][2][0] == 1 and index == 0:
            return [flight_for_client_hello]
        return []

    with ScriptedServer(handler) as srv:
        res = mp.run_script(CLIENT, ["127.0.0.1", srv.port] + PSK_ARGS +
                            ["--timeout", str(timeout_s), "--wait", "0"], timeout=30)
        return res, srv


def sh_flight(**kw):
    return record(22, handshake(2, server_hello(**kw)), seq=1)


RENEG_EMPTY = struct.pack(">HHB", 0xFF01, 1, 0)

CASES = [
    # (id, flight, alert description expected from the client)
    ("dtls1.0", sh_flight(version=0xFEFF), 70),           # protocol_version
    ("tls1.2-version", sh_flight(version=0x0303), 70),
    ("suite-not-offered", sh_flight(suite=0xC0AE), 47),   # illegal_parameter
    ("null-suite", sh_flight(suite=0x0000), 47),
    ("compression", sh_flight(compression=1), 47),
    ("unrequested-ext", sh_flight(extensions=struct.pack(">HHB", 15, 1, 1)), 110),
    ("renegotiation-info-not-empty",
     sh_flight(extensions=struct.pack(">HHBB", 0xFF01, 2, 1, 7)), 40),
    ("duplicate-ext", sh_flight(extensions=RENEG_EMPTY + RENEG_EMPTY), 47),
    ("truncated", record(22, handshake(2, server_hello()[:20]), seq=1), 50),
    ("ext-length-overrun",
     record(22, handshake(2, server_hello() + struct.pack(">HHH", 40, 0xFF01, 1)), seq=1), 50),
    ("session-id-33", sh_flight(session_id=bytes(33)), 47),
    ("finished-first", record(22, handshake(20, bytes(12))), 10),  # unexpected_message
]


@pytest.mark.parametrize("flight,alert", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_server_hello_gets_fatal_alert(flight, alert):
    res, srv = run_against(flight)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("error: "), res.stderr
    assert (2, alert) in srv.alerts(), (srv.alerts(), res.stderr)
    assert "cipher:" not in res.stdout


def test_server_fatal_alert_is_reported_not_answered():
    res, srv = run_against(record(21, bytes([2, 40])))
    assert res.returncode == 1
    assert "handshake_failure" in res.stderr and "Traceback" not in res.stderr
    assert srv.alerts() == []  # no alert in reply to an alert (RFC 5246 §7.2.2)


def test_client_hello_is_rfc_shaped():
    """The first ClientHello: DTLS 1.2, fresh random, no session, empty cookie, only the
    offered CCM_8 suite, null compression, EMS and empty renegotiation_info."""
    res, srv = run_against(b"", timeout_s=2.5)
    assert res.returncode == 1 and "timed out" in res.stderr
    hellos = [parse_client_hello(parse_records(d)[0][2]) for d in srv.received]
    assert len(hellos) >= 2  # the timer resent it
    ch = hellos[0]
    assert ch["version"] == 0xFEFD and ch["session_id"] == b"" and ch["cookie"] == b""
    assert ch["suites"] == [0xC0A8]
    assert ch["compression"] == b"\x00"
    assert ch["extensions"][23] == b"" and ch["extensions"][0xFF01] == b"\x00"
    assert 0 not in ch["extensions"]  # no SNI for an IP literal (RFC 6066 §3)
    assert ch["message_seq"] == 0
    assert hellos[1]["random"] == ch["random"]  # a retransmission, not a new hello
    assert len(set(parse_client_hello(parse_records(d)[0][2])["random"]
                   for d in srv.received)) == 1


def first_client_hello(args):
    with ScriptedServer(lambda data, index: []) as srv:
        res = mp.run_script(CLIENT, ["127.0.0.1", srv.port] + args +
                            ["--timeout", "0.5", "--wait", "0"], timeout=30)
        assert res.returncode == 1 and "timed out" in res.stderr, res.stderr
        return parse_client_hello(parse_records(srv.received[0])[0][2])


def test_sni_sent_for_a_name():
    """RFC 6066 §3: server_name_list with one host_name."""
    ch = first_client_hello(PSK_ARGS + ["--sni", "coap.example.com"])
    name = b"coap.example.com"
    assert ch["extensions"][0] == struct.pack(">HBH", len(name) + 3, 0, len(name)) + name


def test_ecdhe_offer(pki):
    """RFC 7925 §4.3 / RFC 8422: the ECDHE_ECDSA suite with secp256r1, uncompressed points
    and ecdsa_secp256r1_sha256; with a pinned raw public key also server_certificate_type
    (RFC 7250); with PSK credentials too, PSK offered after ECDHE."""
    ch = first_client_hello(["--ca", str(pki / "root.pem"), "--sni", "localhost"])
    assert ch["suites"] == [0xC0AE]
    ext = ch["extensions"]
    assert ext[10] == bytes.fromhex("00020017")   # supported_groups: secp256r1
    assert ext[11] == bytes.fromhex("0100")       # ec_point_formats: uncompressed
    assert ext[13] == bytes.fromhex("00020403")   # signature_algorithms
    assert 20 not in ext and 19 not in ext        # X.509 is the default type
    ch = first_client_hello(["--server-rpk", str(pki / "leaf_pub.pem")] + PSK_ARGS)
    assert ch["suites"] == [0xC0AE, 0xC0A8]
    assert ch["extensions"][20] == bytes.fromhex("0102")  # server_certificate_type: RPK
