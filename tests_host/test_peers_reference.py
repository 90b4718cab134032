"""The test harness itself: every DTLS peer fixture completes a real PSK handshake
with TLS_PSK_WITH_AES_128_CCM_8 and carries application data, driven by an
independent reference client (OpenSSL, GnuTLS, libcoap, python-mbedtls).

If these fail, client tests against the same peers say nothing about our client.
"""
import json
import os
import subprocess
import sys

import pytest

import peers

sys.path.insert(0, os.path.join(peers.ROOT, "tools"))
import udp_proxy  # noqa: E402

pytestmark = pytest.mark.timeout(60)

MBEDTLS_CLIENT = os.path.join(peers.SERVERS, "mbedtls_client.py")
WAIT = 5.0


def openssl_client(peer, cipher=peers.OPENSSL_CIPHER, extra=()):
    """A running `openssl s_client -dtls1_2` with PSK; write to it, read its output."""
    cmd = ["openssl", "s_client", "-dtls1_2", "-connect", "%s:%d" % (peer.host, peer.port),
           "-psk", peer.psk_key_hex, "-psk_identity", peer.psk_identity,
           "-cipher", cipher] + list(extra)
    return peers.Process(peer.prefix + cmd, stdin=True)


def mbedtls_client(peer, text, key_hex=None, timeout=5.0):
    return peer.run([peers._python(), MBEDTLS_CLIENT, peer.host, peer.port,
                     "--psk-identity", peer.psk_identity,
                     "--psk-key", key_hex or peer.psk_key_hex,
                     "--send", text, "--timeout", timeout], timeout=timeout + 10)


def finish(client):
    """Close the client's stdin (s_client/gnutls-cli then close the session)."""
    try:
        client.proc.stdin.close()
    except OSError:
        pass
    try:
        client.proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        pass
    return client.stop()


def test_openssl_server_psk_ccm8_both_directions(openssl_peer):
    client = openssl_client(openssl_peer)
    try:
        assert openssl_peer.wait_for("CIPHER is PSK-AES128-CCM8", WAIT), client.output()
        openssl_peer.send_line("hello from openssl server")
        assert client.wait_for("hello from openssl server", WAIT), client.output()
        client.write(b"hello from reference client\n")
        assert openssl_peer.wait_for("hello from reference client", WAIT)
    finally:
        finish(client)
    out = client.output()
    assert "Protocol  : DTLSv1.2" in out
    assert "Cipher is PSK-AES128-CCM8" in out


def test_openssl_server_rejects_wrong_key(openssl_peer):
    client = openssl_client(openssl_peer, extra=["-psk", "ff" * 16])    # the later -psk wins
    try:
        # The server drops the client's Finished (bad MAC): no session, ever.
        assert not client.wait_for("Cipher is PSK-AES128-CCM8", 2.0), client.output()
    finally:
        client.stop()       # it would go on retransmitting its last flight
    assert "CIPHER is" not in openssl_peer.output()


def test_gnutls_server_echoes_in_its_namespace(gnutls_peer):
    assert gnutls_peer.prefix[:1] == ["nsenter"]
    cmd = ["gnutls-cli", "--udp", "-p", gnutls_peer.port, gnutls_peer.host,
           "--pskusername", gnutls_peer.psk_identity, "--pskkey", gnutls_peer.psk_key_hex,
           "--priority", peers.GNUTLS_PSK_PRIORITY]
    client = peers.Process(gnutls_peer.prefix + cmd, stdin=True)
    try:
        assert client.wait_for("Handshake was completed", WAIT), client.output()
        client.write(b"hello gnutls\n")
        assert client.wait_for("hello gnutls", WAIT), client.output()
    finally:
        finish(client)
    assert "(DTLS1.2-X.509)-(PSK)-(AES-128-CCM-8)" in client.output()
    assert "hello gnutls" in gnutls_peer.output()


def test_gnutls_server_unreachable_outside_namespace(gnutls_peer):
    """The namespace really isolates: the same command without the prefix fails."""
    res = subprocess.run(
        ["gnutls-cli", "--udp", "-p", str(gnutls_peer.port), gnutls_peer.host,
         "--pskusername", gnutls_peer.psk_identity, "--pskkey", gnutls_peer.psk_key_hex,
         "--priority", peers.GNUTLS_PSK_PRIORITY],
        input="", capture_output=True, text=True, timeout=30)
    assert "Handshake was completed" not in res.stdout


def test_libcoap_server_coap_get(coap_peer):
    res = coap_peer.run(["coap-client-openssl", "-B", "5", "-m", "get",
                         "-u", coap_peer.psk_identity, "-k", coap_peer.psk_key.decode(),
                         "coaps://%s:%d/time" % (coap_peer.host, coap_peer.port)])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip(), "no /time payload"
    assert coap_peer.wait_for("session connected", WAIT)


def test_libcoap_server_speaks_ccm8(coap_peer):
    """A CoAP GET /time (RFC 7252 3) over PSK-AES128-CCM8 gets a piggybacked 2.05."""
    client = openssl_client(coap_peer)
    try:
        assert client.wait_for("Cipher is PSK-AES128-CCM8", WAIT), client.output()
        # ver 1, CON, token length 0; code 0.01 GET; message id 0x1234;
        # option 11 (Uri-Path) of length 4: "time"
        client.write(bytes([0x40, 0x01, 0x12, 0x34, 0xB4]) + b"time")
        # ver 1, ACK; code 2.05 Content; the same message id
        assert client.wait_for("\x60\x45\x12\x34", WAIT), client.output()
    finally:
        finish(client)


def test_tinydtls_server_echoes(tinydtls_peer):
    res = mbedtls_client(tinydtls_peer, "hello tinydtls")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "cipher: TLS-PSK-WITH-AES-128-CCM-8" in res.stdout
    assert "recv: hello tinydtls" in res.stdout
    assert tinydtls_peer.wait_for("recv: hello tinydtls", WAIT)


def test_mbedtls_server_cookie_and_echo(mbedtls_peer):
    for text in ("first session", "second session"):
        res = mbedtls_client(mbedtls_peer, text)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "recv: " + text in res.stdout
    assert mbedtls_peer.wait_for("closed: close_notify", WAIT)
    out = mbedtls_peer.output()
    assert out.count("hello-verify-request sent") == 2
    assert "cipher: TLS-PSK-WITH-AES-128-CCM-8" in out


def test_mbedtls_server_rejects_wrong_key(mbedtls_peer):
    res = mbedtls_client(mbedtls_peer, "nope", key_hex="ff" * 16, timeout=1.0)
    assert res.returncode != 0
    assert "recv:" not in res.stdout
    assert "recv: nope" not in mbedtls_peer.output()


def test_udp_proxy_counts_both_directions(mbedtls_peer, tmp_path):
    with udp_proxy.UdpProxy(mbedtls_peer.port) as proxy:
        res = mbedtls_client(_via(mbedtls_peer, proxy.port), "via proxy")
        assert res.returncode == 0, res.stdout + res.stderr
        assert mbedtls_peer.wait_for("closed: close_notify", WAIT)
        stats = proxy.stats()
        proxy.write_stats(str(tmp_path / "stats.json"))
    c2s, s2c = stats["client_to_server"], stats["server_to_client"]
    # ClientHello, ClientHello+cookie, client flight, data, close_notify (>= 5);
    # HelloVerifyRequest, server flight(s), echo (>= 3).
    assert c2s["datagrams"] >= 5 and s2c["datagrams"] >= 3
    assert c2s["bytes"] > 0 and s2c["bytes"] > 0
    assert c2s["dropped"] == s2c["dropped"] == 0
    assert c2s["forwarded"] == c2s["datagrams"]
    assert stats["clients"] == 1
    # From the first ClientHello to the echo: a few round trips, well under the test's time.
    assert 0 < stats["span_ms"] < 1000 * WAIT
    assert json.loads((tmp_path / "stats.json").read_text()) == stats


def test_udp_proxy_drops_listed_datagram(mbedtls_peer):
    lossy = udp_proxy.Impairment(drop={1})
    with udp_proxy.UdpProxy(mbedtls_peer.port, client_to_server=lossy) as proxy:
        res = mbedtls_client(_via(mbedtls_peer, proxy.port), "lost", timeout=1.0)
        stats = proxy.stats()
    assert res.returncode != 0      # the reference client does not retransmit
    assert stats["client_to_server"]["dropped"] == 1
    assert stats["server_to_client"]["datagrams"] == 0
    assert stats["span_ms"] is None  # the server never answered


def test_udp_proxy_impairment_is_seeded():
    """Same seed, same traffic: the same datagrams are lost, duplicated, reordered."""
    def pattern(seed):
        d = udp_proxy.Direction("x", udp_proxy.Impairment(loss=0.3, duplicate=0.2,
                                                          reorder=0.2),
                                udp_proxy.random.Random(seed))
        sent = []
        for i in range(200):
            d.handle(bytes([i]), sent.append)
        d.release_held()
        return sent, d.counts
    a, b, c = pattern(7), pattern(7), pattern(8)
    assert a == b
    assert a != c
    sent, counts = a
    assert 0 < counts["dropped"] < 200 and counts["duplicated"] > 0
    assert counts["reordered"] > 0 and sent != sorted(sent)
    assert counts["forwarded"] == len(sent) == 200 - counts["dropped"] + counts["duplicated"]


def test_udp_proxy_cli_writes_json(mbedtls_peer, tmp_path):
    out = tmp_path / "stats.json"
    proxy = peers.Process([sys.executable, os.path.join(peers.ROOT, "tools", "udp_proxy.py"),
                           "--upstream", mbedtls_peer.port, "--stats-json", out])
    try:
        assert proxy.wait_for("listening on", WAIT), proxy.output()
        port = int(proxy.output().split("listening on 127.0.0.1:")[1].split()[0])
        res = mbedtls_client(_via(mbedtls_peer, port), "cli proxy")
        assert res.returncode == 0, res.stdout + res.stderr
    finally:
        proxy.stop()
    stats = json.loads(out.read_text())
    assert stats["client_to_server"]["datagrams"] >= 5


class _via:
    """The peer's attributes, but reached through a proxy port."""

    def __init__(self, peer, port):
        self.host, self.port, self.prefix = peer.host, port, peer.prefix
        self.psk_identity, self.psk_key_hex = peer.psk_identity, peer.psk_key_hex
        self.run = peer.run
