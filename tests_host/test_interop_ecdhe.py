"""TLS_ECDHE_ECDSA_WITH_AES_128_CCM(_8) between the MicroPython client and independent
servers: X.509 chains (RFC 7925 §4.4), raw public keys (RFC 7250), client authentication."""
import os
import subprocess

import pytest

import mp
import peers

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")
GNUTLS_EC = ("NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-CCM-8:"
             "-MAC-ALL:+AEAD")


def openssl_cert_server(pki, cipher="ECDHE-ECDSA-AES128-CCM8", extra=()):
    port = peers.free_port()
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port,
           "-cert", pki / "leaf.pem", "-cert_chain", pki / "chain.pem",
           "-key", pki / "leaf.key", "-cipher", cipher] + list(extra)
    return peers.Peer("openssl", peers._line_buffered(cmd), port, "", b"", stdin=True)


def gnutls_server(args, priority=GNUTLS_EC):
    ns = peers.NetNamespace()
    cmd = ["gnutls-serv", "--udp", "--echo", "-p", "5684", "--priority", priority] + args
    return peers.Peer("gnutls", peers._line_buffered(cmd), 5684, "", b"", netns=ns)


def run_client(peer, args, timeout=40):
    cmd = peer.prefix + [mp.micropython_path(), CLIENT, peer.host, str(peer.port)] + \
        [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=mp.mp_env(), stdin=subprocess.DEVNULL)


def assert_ok(res, suite="TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"):
    assert res.returncode == 0, "exit %d\n%s\n%s" % (res.returncode, res.stdout, res.stderr)
    lines = res.stdout.splitlines()
    assert lines[0] == "cipher: " + suite
    assert "Traceback" not in res.stderr
    return lines


@pytest.mark.parametrize("openssl_cipher,suite", [
    ("ECDHE-ECDSA-AES128-CCM8", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    ("ECDHE-ECDSA-AES128-CCM", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
])
def test_openssl_x509_chain_of_three(pki, openssl_cipher, suite):
    """leaf <- int2 <- int1 <- root (the anchor): three certificates below the anchor."""
    with openssl_cert_server(pki, openssl_cipher) as peer:
        res = run_client(peer, ["--ca", pki / "root.pem", "--cipher", suite,
                                "--send", "hello over ecdhe", "--wait", "1"])
        assert_ok(res, suite)
        assert peer.wait_for("hello over ecdhe", timeout=5), peer.output()
        assert peer.wait_for("DONE", timeout=5)


def test_openssl_requires_client_certificate(pki):
    """s_server -Verify: our chain (leaf_client <- int2 <- int1) and CertificateVerify are
    checked by OpenSSL against the root."""
    with openssl_cert_server(pki, extra=["-Verify", "4", "-CAfile", pki / "root.pem"]) as peer:
        res = run_client(peer, ["--ca", pki / "root.pem", "--cert", pki / "client_chain.pem",
                                "--key", pki / "leaf.key", "--send", "authenticated",
                                "--wait", "1"])
        assert_ok(res)
        assert peer.wait_for("authenticated", timeout=5), peer.output()
        out = peer.output()
        assert "verify error" not in out and out.count("verify return:1") == 4, out


def test_openssl_client_certificate_missing(pki):
    """A server that requires a client certificate and gets an empty Certificate sends a
    fatal alert; the client reports it cleanly."""
    with openssl_cert_server(pki, extra=["-Verify", "4", "-CAfile", pki / "root.pem"]) as peer:
        res = run_client(peer, ["--ca", pki / "root.pem", "--timeout", "5"])
        assert res.returncode == 1 and "Traceback" not in res.stderr
        assert res.stderr.startswith("error: ") and "alert" in res.stderr, res.stderr


def test_gnutls_x509_intermediate_as_anchor(pki):
    """gnutls-serv sends only the leaf; the device trusts the issuing intermediate."""
    with gnutls_server(["-a", "--x509certfile", pki / "leaf.pem",
                        "--x509keyfile", pki / "leaf.key"]) as peer:
        res = run_client(peer, ["--ca", pki / "int2.pem", "--send", "x509 gnutls",
                                "--wait", "2"])
        lines = assert_ok(res)
        assert "recv: x509 gnutls" in lines


def test_gnutls_raw_public_keys_both_ways(pki):
    """RFC 7250 on both sides: the server's key pinned, ours sent as a raw public key and
    proven by CertificateVerify (gnutls-serv --require-client-cert)."""
    with gnutls_server(["--require-client-cert", "--rawpkkeyfile", pki / "leaf.key",
                        "--rawpkfile", pki / "leaf_pub.pem"],
                       priority=GNUTLS_EC + ":+CTYPE-ALL") as peer:
        res = run_client(peer, ["--server-rpk", pki / "leaf_pub.pem", "--key",
                                pki / "int1.key", "--rpk", "--send", "rpk both ways",
                                "--wait", "2", "-v"])
        lines = assert_ok(res)
        assert "recv: rpk both ways" in lines
        assert "raw public key" in res.stderr and "CertificateVerify" in res.stderr


def test_gnutls_raw_public_key_wrong_pin(pki):
    with gnutls_server(["-a", "--rawpkkeyfile", pki / "leaf.key", "--rawpkfile",
                        pki / "leaf_pub.pem"], priority=GNUTLS_EC + ":+CTYPE-ALL") as peer:
        other = pki / "other_pub.pem"
        subprocess.run(["openssl", "pkey", "-in", pki / "int1.key", "-pubout", "-out", other],
                       check=True)
        res = run_client(peer, ["--server-rpk", other, "--timeout", "5", "-v"])
        assert res.returncode == 1 and "Traceback" not in res.stderr
        assert "does not match the pinned key" in res.stderr
        assert "send fatal alert bad_certificate" in res.stderr


def test_libcoap_gnutls_raw_public_key_coap_get(pki):
    """coap-server-gnutls -M (RPK; it also asks for ours): a real CoAP GET /time."""
    coap_port = peers.free_port(count=2)
    cmd = ["coap-server-gnutls", "-A", "127.0.0.1", "-p", str(coap_port), "-M",
           str(pki / "leaf_sec1.key"), "-n", "-v", "7"]
    with peers.Peer("libcoap-gnutls", peers._line_buffered(cmd), coap_port + 1, "", b"") as peer:
        req = bytes([0x40, 0x01, 0x12, 0x34, 0xB4]) + b"time"  # CON GET, MID 0x1234, Uri-Path
        res = run_client(peer, ["--server-rpk", pki / "leaf_pub.pem", "--key", pki / "int1.key",
                                "--rpk", "--send-hex", req.hex(), "--hex", "--wait", "2"])
        lines = assert_ok(res)
        rsp = bytes.fromhex(lines[2].split(": ", 1)[1])
        assert rsp[0] == 0x60 and rsp[1] == 0x45 and rsp[2:4] == b"\x12\x34"  # ACK 2.05
        assert b"\xff" in rsp and len(rsp.split(b"\xff", 1)[1]) > 5


def test_mbedtls_certificate(pki):
    port = peers.free_port()
    cmd = [peers._python(), os.path.join(peers.SERVERS, "mbedtls_echo.py"), "--host",
           "127.0.0.1", "--port", str(port), "--cert", str(pki / "leaf.pem"), "--chain",
           str(pki / "int2.pem"), "--chain", str(pki / "int1.pem"), "--key",
           str(pki / "leaf.key")]
    with peers.Peer("mbedtls", cmd, port, "", b"") as peer:
        res = run_client(peer, ["--ca", pki / "root.pem", "--sni", "localhost",
                                "--send", "mbed cert", "--wait", "2"])
        lines = assert_ok(res)
        assert "recv: mbed cert" in lines
        assert peer.wait_for("TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8", timeout=5)


def test_datagram_larger_than_receive_buffer_is_named(pki):
    """python-mbedtls sends its whole certificate flight in one ~2 KB datagram: with a
    1500-byte receive buffer it is cut, and the timeout says which setting to raise."""
    port = peers.free_port()
    cmd = [peers._python(), os.path.join(peers.SERVERS, "mbedtls_echo.py"), "--host",
           "127.0.0.1", "--port", str(port), "--cert", str(pki / "leaf.pem"), "--chain",
           str(pki / "int2.pem"), "--chain", str(pki / "int1.pem"), "--key",
           str(pki / "leaf.key")]
    with peers.Peer("mbedtls", cmd, port, "", b"") as peer:
        out = mp.check_code("""
import dtls
ctx = dtls.Context(ca=%r, max_recv_datagram=1500, handshake_timeout_ms=4000)
try:
    ctx.connect("127.0.0.1", %d, server_hostname="localhost")
except dtls.HandshakeTimeout as e:
    print("timeout:", e)
""" % (str(pki / "root.pem"), peer.port), timeout=30)
        assert "filled the 1500-byte receive buffer: raise max_recv_datagram" in out, out
