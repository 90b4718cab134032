"""The Mbed TLS 3.6 Connection ID peer (tests_host/servers/mbedtls_cid_server.c) checked with
an independent client: the Mbed TLS 3.6 reference client mbedtls_cid_client.c, and OpenSSL
s_client. These tests prove the peer, so that a failure of our client against it means our
client, not the server (RFC 9146 Connection ID, source-port change, resumption, PSK, ECDHE).
"""
import re
import socket
import subprocess
import time

import pytest

import peers


def client(peer, *args, timeout=20):
    cmd = [peers.mbedtls36_client_path(), peer.host, str(peer.port)] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def ok(res):
    assert res.returncode == 0, "exit %d\n%s\n%s" % (res.returncode, res.stdout, res.stderr)
    return res.stdout.splitlines()


def wait_count(peer, text, n, timeout=5.0):
    """True once `text` appears n times in the server's output."""
    deadline = time.monotonic() + timeout
    while peer.output().count(text) < n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def server_lines(peer, prefix):
    return [l[len(prefix):] for l in peer.output().splitlines() if l.startswith(prefix)]


@pytest.fixture
def mbedtls36(start_peer):
    """start_peer for the 3.6 server, skipping (failing under CI) if it is not built."""
    def start(**options):
        peer = start_peer("mbedtls36", **options)
        try:
            peers.mbedtls36_client_path()
        except peers.PeerUnavailable as exc:
            pytest.skip(str(exc))
        return peer
    return start


@pytest.fixture(scope="module")
def fullchain(pki, tmp_path_factory):
    """leaf + int2 + int1 in one PEM: Mbed TLS sends the whole file as the chain."""
    path = tmp_path_factory.mktemp("mbedtls36") / "fullchain.pem"
    path.write_bytes(b"".join((pki / n).read_bytes() for n in ("leaf.pem", "int2.pem",
                                                                 "int1.pem")))
    return path


def test_psk_cid_survives_source_port_change(mbedtls36):
    """CID negotiated (server 4 bytes, client empty); after two records the client moves to a
    new UDP socket; the server follows it only once a CID record from there authenticated."""
    peer = mbedtls36()
    res = client(peer, "--send", "one", "--send", "two", "--send", "three", "--send", "four",
                 "--rebind-after", "2")
    lines = ok(res)
    assert "cipher: TLS-PSK-WITH-AES-128-CCM-8" in lines
    cid = [l for l in lines if l.startswith("cid: negotiated /")]
    assert len(cid) == 1 and re.fullmatch(r"cid: negotiated /[0-9a-f]{8}", cid[0]), lines
    server_cid = cid[0].split("/")[1]
    new_port = int([l for l in lines if l.startswith("rebound: ")][0].split()[1])
    assert [l for l in lines if l.startswith("recv: ")] == \
        ["recv: one", "recv: two", "recv: three", "recv: four"]

    assert peer.wait_for("closed: close_notify"), peer.output()
    assert server_lines(peer, "cid: negotiated ") == [server_cid + "/"]
    moves = server_lines(peer, "peer: ")
    assert len(moves) == 2 and moves[1] == "127.0.0.1:%d" % new_port, peer.output()
    assert moves[0] != moves[1]
    assert server_lines(peer, "recv: ") == ["one", "two", "three", "four"]
    # the move is reported after the first record from the new port
    out = peer.output()
    assert out.index("recv: two") < out.index("peer: " + moves[1]) < out.index("recv: three")


def test_without_cid_a_moved_client_is_dropped(mbedtls36):
    """The control: with --no-cid, records from the new port are not CID records, so the
    server drops them and the client times out. (Shows the test above can fail.)"""
    peer = mbedtls36(cid=False)
    res = client(peer, "--send", "one", "--send", "two", "--rebind-after", "1",
                 "--timeout", "1.5")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "cid: none" in res.stdout and "recv: one" in res.stdout
    assert "recv: two" not in res.stdout
    assert len(server_lines(peer, "peer: ")) == 1
    assert server_lines(peer, "cid: ") == ["none"]
    assert server_lines(peer, "recv: ") == ["one"]


def test_client_cid_both_directions(mbedtls36):
    """A non-empty client CID: the server's records to us carry it too."""
    peer = mbedtls36(cid_len=6)
    lines = ok(client(peer, "--cid", "a1b2c3", "--send", "x", "--send", "y",
                      "--rebind-after", "1"))
    (cid,) = [l for l in lines if l.startswith("cid: ")]
    assert re.fullmatch(r"cid: negotiated a1b2c3/[0-9a-f]{12}", cid), lines
    assert peer.wait_for("closed: close_notify")
    assert server_lines(peer, "cid: negotiated ") == [cid.split("/")[1] + "/a1b2c3"]
    assert len(server_lines(peer, "peer: ")) == 2


def test_forged_cid_datagram_does_not_move_the_session(mbedtls36):
    """A datagram from another port with the session's CID but a bad MAC is handed to
    Mbed TLS (it looks like a CID record), fails authentication, and the replies stay on
    the client's real address: the client still gets its second record back."""
    peer = mbedtls36()
    proc = subprocess.Popen([peers.mbedtls36_client_path(), peer.host, str(peer.port),
                             "--send", "before", "--send", "after", "--interval", "1.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert peer.wait_for("recv: before", timeout=10), peer.output()
        (cid,) = server_lines(peer, "cid: negotiated ")
        server_cid = bytes.fromhex(cid.split("/")[0])
        payload = b"\x00" * 24      # explicit nonce + ciphertext + tag: all wrong
        # tls12_cid record: type 25, DTLS 1.2, epoch 1, a high sequence number, CID, length
        record = bytes([25, 0xFE, 0xFD, 0, 1]) + (1000).to_bytes(6, "big") + server_cid + \
            len(payload).to_bytes(2, "big") + payload
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
            attacker.sendto(record, (peer.host, peer.port))
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert "recv: after" in out
    assert peer.wait_for("closed: close_notify")
    assert len(server_lines(peer, "peer: ")) == 1, peer.output()


@pytest.mark.parametrize("server_opts,client_opts,resumed,how", [
    ({}, [], "yes", "ticket"),
    ({"tickets": False}, [], "yes", "session-id"),
    ({}, ["--no-tickets"], "yes", "session-id"),
    ({"tickets": False, "cache": False}, [], "no", None),
])
def test_resumption(mbedtls36, server_opts, client_opts, resumed, how):
    """--reconnect: a second connection from a new socket offers the saved session."""
    peer = mbedtls36(**server_opts)
    lines = ok(client(peer, "--send", "hi", "--reconnect", *client_opts))
    assert [l for l in lines if l.startswith("resumed: ")] == ["resumed: no",
                                                               "resumed: " + resumed]
    assert wait_count(peer, "closed: close_notify", 2), peer.output()
    assert server_lines(peer, "resumed: ") == ["no", resumed]
    assert server_lines(peer, "resumed-from: ") == ([how] if how else [])
    assert server_lines(peer, "recv: ") == ["hi", "hi"]


def test_ecdhe_ecdsa_cid_and_port_change(mbedtls36, pki, fullchain):
    """ECDHE-ECDSA with a 3-deep chain, verified by the client against the root; CID and
    the port change work as with PSK, and a resumed session keeps the suite."""
    peer = mbedtls36(cert=fullchain, key=pki / "leaf.key")
    lines = ok(client(peer, "--ca", pki / "root.pem", "--send", "ec1", "--send", "ec2",
                      "--rebind-after", "1", "--reconnect"))
    assert lines.count("cipher: TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8") == 2
    assert [l for l in lines if l.startswith("resumed: ")] == ["resumed: no", "resumed: yes"]
    assert wait_count(peer, "closed: close_notify", 2), peer.output()
    assert len(server_lines(peer, "peer: ")) == 4       # two sessions, each moved once
    assert server_lines(peer, "recv: ") == ["ec1", "ec2", "ec1", "ec2"]


def test_psk_still_offered_with_a_certificate(mbedtls36, pki, fullchain):
    peer = mbedtls36(cert=fullchain, key=pki / "leaf.key")
    lines = ok(client(peer, "--send", "psk"))
    assert "cipher: TLS-PSK-WITH-AES-128-CCM-8" in lines and "recv: psk" in lines


def test_max_fragment_length(mbedtls36):
    """RFC 6066 max_fragment_length 512: both sides report the limit."""
    peer = mbedtls36()
    lines = ok(client(peer, "--mfl", "512", "--send", "small"))
    assert "max_fragment_length: 512" in lines
    assert peer.wait_for("closed: close_notify")
    assert server_lines(peer, "max_fragment_length: ") == ["512"]


def test_renegotiation_refused_by_client(mbedtls36):
    """--renegotiate-after 1: the server sends HelloRequest; Mbed TLS's client (renegotiation
    off) answers with a warning no_renegotiation alert, which the server reports."""
    peer = mbedtls36(renegotiate_after=1)
    lines = ok(client(peer, "--send", "a", "--send", "b", "--send", "c"))
    assert "recv: c" in lines
    assert peer.wait_for("renegotiation: refused by the client", timeout=5), peer.output()
    assert "alert: 1:100" in peer.output()


def test_openssl_client_without_cid(mbedtls36):
    """A client that does not offer connection_id gets plain records; cookie exchange first."""
    peer = mbedtls36()
    res = subprocess.run(
        ["openssl", "s_client", "-dtls1_2", "-connect", "%s:%d" % (peer.host, peer.port),
         "-psk", peer.psk_key_hex, "-psk_identity", peer.psk_identity,
         "-cipher", "PSK-AES128-CCM8", "-quiet", "-no_ign_eof"],
        input="from-openssl\n", capture_output=True, text=True, timeout=20)
    assert peer.wait_for("recv: from-openssl", timeout=10), peer.output() + res.stderr
    out = peer.output()
    assert "hello-verify-request sent" in out and "cid: none" in out
    assert "resumed: no" in out


def test_wrong_psk_fails(mbedtls36):
    peer = mbedtls36()
    res = client(peer, "--psk-key", "00" * 16, "--send", "x", "--timeout", "3")
    assert res.returncode == 1 and "error: handshake" in res.stderr
    assert "connected" not in res.stdout
