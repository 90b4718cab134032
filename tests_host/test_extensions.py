"""RFC 6066/6520/8449 extensions against real servers: heartbeat (GnuTLS), max_fragment_length
(OpenSSL), record_size_limit (GnuTLS)."""
import os
import subprocess

import mp

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")


def run_client(peer, args, timeout=40):
    cmd = peer.prefix + [mp.micropython_path(), CLIENT, peer.host, str(peer.port)] + \
        [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=mp.mp_env(), stdin=subprocess.DEVNULL)


def ok(res):
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    return res.stdout.splitlines()


def test_heartbeat_probe_answered_by_gnutls(start_peer):
    peer = start_peer("gnutls", extra_args=["--heartbeat"])
    res = run_client(peer, peer.client_args()[2:] + ["--send", "hi", "--wait", "2",
                                                     "--heartbeat", "-v"])
    lines = ok(res)
    assert "heartbeat: answered" in lines
    assert "recv: hi" in lines
    assert "heartbeat" in res.stderr.split("extensions", 1)[1].splitlines()[0]


def test_heartbeat_not_offered_by_server(start_peer):
    """gnutls-serv without --heartbeat ignores the extension: no probe is sent."""
    peer = start_peer("gnutls")
    lines = ok(run_client(peer, peer.client_args()[2:] + ["--wait", "0.5", "--heartbeat"]))
    assert "heartbeat: refused" in lines


def test_max_fragment_length_with_openssl(openssl_peer, tmp_path):
    """OpenSSL echoes max_fragment_length 512; from then on our records stay within 512
    bytes (a 513-byte message is refused locally) and a 512-byte one gets through."""
    big = tmp_path / "big.bin"
    big.write_bytes(b"B" * 513)
    res = run_client(openssl_peer, openssl_peer.client_args()[2:] +
                     ["--mfl", "512", "--send-file", big, "--wait", "0.5", "-v"])
    assert res.returncode == 1 and "exceeds the 512-byte record limit" in res.stderr, res.stderr
    assert "max_fragment_length" in res.stderr  # negotiated (the ServerHello trace)


def test_max_fragment_length_data_within_limit(start_peer, tmp_path):
    peer = start_peer("openssl")
    fits = tmp_path / "fits.bin"
    fits.write_bytes(b"F" * 512)
    lines = ok(run_client(peer, peer.client_args()[2:] +
                          ["--mfl", "512", "--send-file", fits, "--wait", "0.5"]))
    assert lines[0].startswith("cipher:")
    assert peer.wait_for("F" * 512, timeout=5)


def test_record_size_limit_with_gnutls(gnutls_peer):
    """GnuTLS answers record_size_limit with its own limit; the echo still works. (GnuTLS
    3.7.9 ignores limits below 512, which RFC 8449 allows down to 64.)"""
    res = run_client(gnutls_peer, gnutls_peer.client_args()[2:] +
                     ["--record-size-limit", "512", "--send", "small", "--wait", "2", "-v"])
    lines = ok(res)
    assert "record_size_limit" in res.stderr and "recv: small" in lines


def test_server_heartbeat_request_is_answered(start_peer):
    """gnutls-serv --heartbeat pings the client when it receives "**HEARTBEAT**" (284-byte
    payload): the client answers with a HeartbeatResponse that GnuTLS accepts as its pong."""
    peer = start_peer("gnutls", extra_args=["--heartbeat"])
    res = run_client(peer, peer.client_args()[2:] + ["--send", "**HEARTBEAT**", "--wait", "3",
                                                     "--heartbeat", "-v"])
    ok(res)
    assert "recv HeartbeatRequest (284-byte payload): answered" in res.stderr
    assert peer.wait_for("heartbeat pong message was received", timeout=5), peer.output()
