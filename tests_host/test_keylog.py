"""--keylog: a loopback capture of a real session is decrypted by tshark (Debian 4.0.17) with
the client's NSS key log, and is not without it (or with a wrong key).

dumpcap runs from before the client starts until after it exits (tests_host/capture.py);
tshark is an independent implementation of the DTLS record layer and key schedule, so
these tests also check our key log lines (CLIENT_RANDOM <client_random> <master_secret>).
"""
import os
import re
import subprocess

import pytest

import capture
import mp
import peers

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")
KEYLOG_LINE = re.compile(r"CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}")


def client_cmd(peer, *args):
    return peer.prefix + [mp.micropython_path(), CLIENT, peer.host, str(peer.port)] + \
        [str(a) for a in args]


def talk_to_openssl(peer, client_args, secret, reply):
    """Run the client with `--send secret`; once s_server printed it, s_server sends
    `reply`; returns the client's CompletedProcess."""
    proc = subprocess.Popen(client_cmd(peer, "--send", secret, "--wait", "1", *client_args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=mp.mp_env(), stdin=subprocess.DEVNULL)
    try:
        assert peer.wait_for(secret, timeout=20), peer.output()
        peer.send_line(reply)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert "recv: " + reply in out.splitlines(), out
    return out


def check_decryption(cap, port, keylog, secret, reply, tmp_path):
    """tshark decrypts both directions with the key log, nothing without or with a wrong
    master secret, and the plaintext is nowhere in the raw capture."""
    lines = open(keylog).read().splitlines()
    assert len(lines) == 1 and KEYLOG_LINE.fullmatch(lines[0]), lines

    data = capture.application_data(cap.pcap, port, keylog)
    texts = [d for _, d in data]
    assert secret.encode() in texts, capture.summary(cap.pcap, port, keylog)
    assert reply.encode() + b"\n" in texts           # s_server sends the line with \n
    sources = {src for src, d in data}
    assert port in sources and len(sources) == 2     # one record from each side

    assert capture.application_data(cap.pcap, port) == []
    view = capture.summary(cap.pcap, port)
    assert "Application Data" in view                  # tshark saw the records, encrypted

    # the same client random with one bit of the master secret flipped
    wrong = tmp_path / "wrong.log"
    label, random, secret_hex = lines[0].split()
    flipped = "%02x" % (int(secret_hex[:2], 16) ^ 1) + secret_hex[2:]
    wrong.write_text("%s %s %s\n" % (label, random, flipped))
    assert capture.application_data(cap.pcap, port, wrong) == []

    raw = open(cap.pcap, "rb").read()
    assert secret.encode() not in raw and reply.encode() not in raw


@pytest.mark.parametrize("openssl_cipher,suite", [
    ("PSK-AES128-CCM8", "TLS_PSK_WITH_AES_128_CCM_8"),
    ("PSK-AES128-CCM", "TLS_PSK_WITH_AES_128_CCM"),
])
def test_psk_openssl(start_peer, start_capture, tmp_path, openssl_cipher, suite):
    peer = start_peer("openssl", cipher=openssl_cipher)
    cap = start_capture(peer.port)
    keylog = tmp_path / "keys.log"
    secret, reply = "psk-secret-" + os.urandom(6).hex(), "psk-reply-" + os.urandom(6).hex()
    out = talk_to_openssl(peer, peer.client_args()[2:] + ["--cipher", suite, "--keylog", keylog],
                          secret, reply)
    assert out.startswith("cipher: " + suite)
    cap.stop()
    check_decryption(cap, peer.port, keylog, secret, reply, tmp_path)


def test_ecdhe_ecdsa_openssl_certificate(start_peer, start_capture, pki, tmp_path):
    """ECDHE: the master secret comes from an ephemeral key, so only the key log opens it."""
    port = peers.free_port()
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port,
           "-cert", pki / "leaf.pem", "-cert_chain", pki / "chain.pem",
           "-key", pki / "leaf.key", "-cipher", "ECDHE-ECDSA-AES128-CCM8"]
    with peers.Peer("openssl", peers._line_buffered(cmd), port, "", b"", stdin=True) as peer:
        cap = start_capture(port)
        keylog = tmp_path / "keys.log"
        secret, reply = "ec-secret-" + os.urandom(6).hex(), "ec-reply-" + os.urandom(6).hex()
        out = talk_to_openssl(peer, ["--ca", pki / "root.pem", "--keylog", keylog],
                              secret, reply)
        assert out.startswith("cipher: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8")
        cap.stop()
        check_decryption(cap, port, keylog, secret, reply, tmp_path)


def test_two_sessions_gnutls_in_netns(start_peer, start_capture, tmp_path):
    """Two sessions against gnutls-serv (which echoes) in its network namespace, captured
    there: the key log gets one line per handshake and tshark decrypts both sessions."""
    peer = start_peer("gnutls")
    cap = start_capture(peer.port, prefix=peer.prefix)
    keylog = tmp_path / "keys.log"
    texts = ["first-" + os.urandom(4).hex(), "second-" + os.urandom(4).hex()]
    for text in texts:
        res = subprocess.run(client_cmd(peer, *peer.client_args()[2:], "--send", text,
                                        "--wait", "0.5", "--keylog", keylog),
                             capture_output=True, text=True, timeout=30, env=mp.mp_env(),
                             stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "recv: " + text in res.stdout.splitlines()
    cap.stop()
    lines = open(keylog).read().splitlines()
    assert len(lines) == 2 and all(KEYLOG_LINE.fullmatch(l) for l in lines), lines
    assert lines[0].split()[1] != lines[1].split()[1]
    data = [d for _, d in capture.application_data(cap.pcap, peer.port, keylog)]
    assert data == [texts[0].encode()] * 2 + [texts[1].encode()] * 2   # sent and echoed
    assert capture.application_data(cap.pcap, peer.port) == []


def test_harness_decrypts_cid_records(start_peer, start_capture, tmp_path):
    """The harness itself on RFC 9146 records, with the Mbed TLS 3.6 reference client (its
    --keylog) against the 3.6 server: tshark 4.0 decrypts tls12_cid records (type 25),
    also after the client moved to a new source port. For our client's --cid later."""
    peer = start_peer("mbedtls36")
    try:
        ref = peers.mbedtls36_client_path()
    except peers.PeerUnavailable as exc:
        pytest.skip(str(exc))
    cap = start_capture(peer.port)
    keylog = tmp_path / "keys.log"
    res = subprocess.run([ref, peer.host, str(peer.port), "--send", "cid-one", "--send",
                          "cid-two", "--rebind-after", "1", "--keylog", keylog],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    server_cid = re.search(r"cid: negotiated /([0-9a-f]+)", res.stdout).group(1)
    cap.stop()
    recs = capture.records(cap.pcap, peer.port, keylog)
    cid_recs = [r for r in recs if r["special"] == [25]]
    assert cid_recs and all(r["cids"] == [server_cid] and r["src"] != peer.port
                            for r in cid_recs), recs
    data = [(r["src"], d) for r in cid_recs for d in r["data"]]
    assert [d for _, d in data] == [b"cid-one", b"cid-two"]
    assert data[0][0] != data[1][0]                   # the second came from the new port
    assert capture.application_data(cap.pcap, peer.port) == []
