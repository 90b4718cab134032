"""Session resumption (RFC 5246 §7.3 abbreviated handshake, RFC 5077 tickets, RFC 7925 §7)
against real servers, and a session carried across processes as an exported blob (what a
device keeps in RTC memory over deep sleep)."""
import os
import subprocess
import sys

import pytest

import mp
from test_interop_ecdhe import openssl_cert_server

sys.path.insert(0, mp.TOOLS)
from udp_proxy import Impairment, UdpProxy  # noqa: E402

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")


def run_client(peer, args, port=None, timeout=60):
    cmd = peer.prefix + [mp.micropython_path(), CLIENT, peer.host, str(port or peer.port)] + \
        [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=mp.mp_env(), stdin=subprocess.DEVNULL)


def resumed_lines(res):
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    return [line for line in res.stdout.splitlines() if line.startswith("resumed:")]


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_openssl_psk(start_peer, tickets):
    extra = [] if tickets else ["-no_ticket"]
    peer = start_peer("openssl", naccept=2, extra_args=extra)
    args = peer.client_args()[2:] + ["--send", "hi", "--wait", "0.5", "--reconnect", "-v"]
    if tickets:
        args.append("--tickets")
    res = run_client(peer, args)
    assert resumed_lines(res) == ["resumed: no", "resumed: yes"], res.stdout
    assert "Reused session-id" in peer.output() or "session cache hits" in peer.output()
    if tickets:
        assert "recv NewSessionTicket" in res.stderr
    # The abbreviated handshake: no ServerHelloDone, no ClientKeyExchange the second time.
    second = res.stderr.split("resumed", 1)[1] if "resumed" in res.stderr else res.stderr
    assert "ClientKeyExchange" not in second


def test_openssl_ecdhe_certificate_ticket(pki):
    """A resumed ECDHE session skips the certificate chain and all P-256 work."""
    with openssl_cert_server(pki, extra=["-naccept", "2"]) as peer:
        res = run_client(peer, ["--ca", pki / "root.pem", "--send", "x", "--wait", "0.5",
                                "--reconnect", "--tickets", "-v"])
        assert resumed_lines(res) == ["resumed: no", "resumed: yes"]
        assert res.stderr.count("recv Certificate:") == 1


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_gnutls_psk(gnutls_peer, tickets):
    args = gnutls_peer.client_args()[2:] + ["--send", "hi", "--wait", "1", "--reconnect"]
    if tickets:
        args.append("--tickets")
    res = run_client(gnutls_peer, args)
    assert resumed_lines(res) == ["resumed: no", "resumed: yes"]
    assert res.stdout.count("recv: hi") == 2


def test_server_without_session_cache_gets_full_handshakes(mbedtls_peer):
    """python-mbedtls keeps no sessions: the offer is declined and a clean full handshake
    follows, with data both times."""
    args = mbedtls_peer.client_args()[2:] + ["--send", "hi", "--wait", "1", "--reconnect",
                                             "--tickets"]
    res = run_client(mbedtls_peer, args)
    assert resumed_lines(res) == ["resumed: no", "resumed: no"]
    assert res.stdout.count("recv: hi") == 2


def test_lost_final_flight_is_resent(start_peer):
    """In an abbreviated handshake the client sends the last flight. The proxy drops it; the
    server repeats its Finished and the client must send its flight again (RFC 6347 §4.2.4)."""
    peer = start_peer("openssl", naccept=2, extra_args=["-no_ticket"])
    # Client datagrams: 1st connection CH, CH+cookie, flight 5, data, close_notify (5);
    # 2nd: CH (6), CH+cookie (7), CCS+Finished (8) <- dropped.
    with UdpProxy(upstream_port=peer.port,
                  client_to_server=Impairment(drop={8})) as proxy:
        args = peer.client_args()[2:] + ["--send", "hi", "--wait", "3", "--reconnect", "-v"]
        res = run_client(peer, args, port=proxy.port)
        stats = proxy.stats()
    assert resumed_lines(res) == ["resumed: no", "resumed: yes"]
    assert stats["client_to_server"]["dropped"] == 1
    assert "resending our final flight" in res.stderr, res.stderr
    assert peer.output().count("CIPHER is") == 2


EXPORT = """
import dtls, sys
ctx = dtls.Context(psk=(%(identity)r, bytes.fromhex(%(key)r)), session_tickets=%(tickets)r)
blob_path, mode = sys.argv[1], sys.argv[2]
key = b"device-secret-key" if mode == "hmac" else None
if mode == "export" or mode == "hmac":
    with ctx.connect("127.0.0.1", %(port)d) as c:
        blob = c.session.to_bytes(key)
    open(blob_path, "wb").write(blob)
    print("exported", len(blob), c.resumed)
else:
    blob = open(blob_path, "rb").read()
    try:
        session = dtls.Session.from_bytes(blob, b"device-secret-key" if mode == "import-hmac" else None)
    except ValueError as e:
        print("rejected:", e)
        sys.exit(0)
    with ctx.connect("127.0.0.1", %(port)d, session=session) as c:
        print("resumed", c.resumed)
"""


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_session_survives_process_restart(start_peer, tmp_path, tickets):
    """Deep sleep: one process exports the session, a new one imports it and resumes."""
    peer = start_peer("openssl", naccept=3, extra_args=[] if tickets else ["-no_ticket"])
    code = EXPORT % {"identity": peer.psk_identity, "key": peer.psk_key_hex,
                     "port": peer.port, "tickets": tickets}
    blob = tmp_path / "session.bin"
    out = mp.check_code(code, args=[blob, "hmac"])
    assert out.startswith("exported")
    data = blob.read_bytes()
    assert data[:3] == b"mdS"
    # Without the key, with a flipped bit, or cut short: refused before any packet is sent.
    assert "rejected" in mp.check_code(code, args=[blob, "import"])
    bad = tmp_path / "bad.bin"
    bad.write_bytes(data[:20] + bytes([data[20] ^ 1]) + data[21:])
    assert "rejected" in mp.check_code(code, args=[bad, "import-hmac"])
    bad.write_bytes(data[:-1])
    assert "rejected" in mp.check_code(code, args=[bad, "import-hmac"])
    out = mp.check_code(code, args=[blob, "import-hmac"])
    assert out.strip() == "resumed True", out
