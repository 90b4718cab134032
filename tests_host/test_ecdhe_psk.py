"""ECDHE_PSK with AES-128-CCM (RFC 5489 key exchange, RFC 8442 suites 0xD003/0xD005): PSK
with forward secrecy, against Botan 2.19 (the only installable peer with these suites)."""
import os
import struct
import subprocess

import pytest

import mp
from scripted import ScriptedServer, handshake, parse_client_hello, parse_records, record, \
    server_hello

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")


@pytest.mark.parametrize("suite,code", [
    ("TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256", "0xd003"),
    ("TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256", "0xd005"),
])
def test_botan(start_peer, suite, code):
    peer = start_peer("botan")
    res = subprocess.run([mp.micropython_path(), CLIENT] + peer.client_args() +
                         ["--cipher", suite, "--send", "forward secret", "--wait", "1"],
                         capture_output=True, text=True, timeout=40, env=mp.mp_env(),
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "cipher: " + suite
    assert "recv: forward secret" in lines
    assert peer.wait_for(code, timeout=5), peer.output()


def _first_hello_and_alerts(flight):
    def handler(data, index):
        recs = parse_records(data)
        if index == 0 and recs and recs[0][0] == 22:
            return [flight]
        return []

    with ScriptedServer(handler) as srv:
        res = subprocess.run([mp.micropython_path(), CLIENT, "127.0.0.1", str(srv.port),
                              "--psk-identity", "id", "--psk-key", "00" * 16, "--cipher",
                              "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256", "--timeout", "3",
                              "--wait", "0"],
                             capture_output=True, text=True, timeout=30, env=mp.mp_env(),
                             stdin=subprocess.DEVNULL)
        return res, srv


def test_offer_and_off_curve_point():
    """The offer carries supported_groups and ec_point_formats but no signature_algorithms
    (nothing is signed); an off-curve server point gets illegal_parameter and no
    ClientKeyExchange follows."""
    bad_point = b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")
    ske = struct.pack(">H", 4) + b"hint" + struct.pack(">BHB", 3, 23, 65) + bad_point
    flight = record(22, handshake(2, server_hello(suite=0xD003), seq=0) +
                    handshake(12, ske, seq=1) + handshake(14, b"", seq=2), seq=1)
    res, srv = _first_hello_and_alerts(flight)
    ch = parse_client_hello(parse_records(srv.received[0])[0][2])
    assert ch["suites"] == [0xD003]
    assert ch["extensions"][10] == bytes.fromhex("00020017")
    assert ch["extensions"][11] == bytes.fromhex("0100")
    assert 13 not in ch["extensions"]
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert (2, 47) in srv.alerts(), (srv.alerts(), res.stderr)
    sent = [body[0] for d in srv.received for ctype, _, body in parse_records(d) if ctype == 22]
    assert 16 not in sent
