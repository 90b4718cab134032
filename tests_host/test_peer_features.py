"""What the installed peers support beyond the basic handshake, each shown with a reference
client (openssl s_client, gnutls-cli, Botan) and, where the client cannot tell, a tshark
decode of the capture: max_fragment_length (RFC 6066), record_size_limit (RFC 8449),
resumption by session ID and by ticket (RFC 5077), heartbeat (RFC 6520), HelloRequest,
DHE_PSK/ECDHE_PSK with CCM (RFC 6655, RFC 8442). tests_host/PEER_FEATURES.md has the
commands and the findings; test_peer_mbedtls36.py covers the Mbed TLS 3.6 peer.
"""
import os
import subprocess
import time

import pytest

import capture
import peers

KEY = peers.PSK_KEY.hex()
ID = peers.PSK_IDENTITY
OPENSSL_PSK = ["-psk", KEY, "-psk_identity", ID]
EXT_MAX_FRAGMENT_LENGTH, EXT_HEARTBEAT, EXT_RECORD_SIZE_LIMIT = 1, 15, 28
CLIENT_HELLO, SERVER_HELLO, HELLO_REQUEST = 1, 2, 0


def s_client(port, *args, text="hello", prefix=(), timeout=20):
    cmd = list(prefix) + ["openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:%d" % port,
                          "-no_ign_eof"] + [str(a) for a in args]
    return subprocess.run(cmd, input=text + "\n", capture_output=True, text=True,
                          timeout=timeout)


def gnutls_cli(port, *args, prefix=(), priority=peers.GNUTLS_PSK_PRIORITY, timeout=20):
    """gnutls-cli with stdin closed: handshake (and --resume's second one), then exit."""
    cmd = list(prefix) + ["gnutls-cli", "--udp", "-p", str(port), "127.0.0.1", "--pskusername",
                          ID, "--pskkey", KEY, "--priority", priority] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def hellos(cap, port, keylog=None):
    """[(handshake types, extension types, {field: values})] of the ClientHello/ServerHello
    packets, in order."""
    names = ["dtls.handshake.type", "dtls.handshake.extension.type",
             "dtls.handshake.max_fragment_length", "dtls.record_size_limit",
             "dtls.handshake.ciphersuite", "dtls.handshake.extension.heartbeat.mode"]
    out = []
    for types, exts, mfl, rsl, suite, hb in capture.fields(cap.pcap, port, names, keylog):
        types = [int(t) for t in types]
        if CLIENT_HELLO in types or SERVER_HELLO in types:
            out.append((types, [int(e) for e in exts],
                        {"mfl": mfl, "rsl": rsl, "suite": suite, "hb": hb}))
    return out


def server_hello(cap, port):
    shs = [h for h in hellos(cap, port) if SERVER_HELLO in h[0]]
    assert shs, capture.summary(cap.pcap, port)
    return shs[-1]


def client_hello(cap, port):
    return [h for h in hellos(cap, port) if CLIENT_HELLO in h[0]][-1]


# ---- max_fragment_length and record_size_limit ----

def test_openssl_max_fragment_length(start_peer, start_capture):
    """s_server answers max_fragment_length 512 (code 1) from `s_client -maxfraglen 512`."""
    peer = start_peer("openssl")
    cap = start_capture(peer.port)
    res = s_client(peer.port, *OPENSSL_PSK, "-cipher", "PSK-AES128-CCM8", "-maxfraglen", 512)
    assert peer.wait_for("hello", timeout=10), res.stdout + res.stderr
    cap.stop()
    exts, fields = server_hello(cap, peer.port)[1:]
    assert EXT_MAX_FRAGMENT_LENGTH in exts and fields["mfl"] == ["1"]


def test_openssl_ignores_record_size_limit(start_peer, start_capture):
    """gnutls-cli always offers record_size_limit; OpenSSL 3.0 does not answer it."""
    peer = start_peer("openssl")
    cap = start_capture(peer.port)
    res = gnutls_cli(peer.port)
    assert "Handshake was completed" in res.stdout, res.stdout + res.stderr
    cap.stop()
    assert EXT_RECORD_SIZE_LIMIT in client_hello(cap, peer.port)[1]
    assert EXT_RECORD_SIZE_LIMIT not in server_hello(cap, peer.port)[1]


def test_gnutls_max_fragment_length(start_peer, start_capture):
    """gnutls-serv answers max_fragment_length when the client sends it alone."""
    peer = start_peer("gnutls")
    cap = start_capture(peer.port, prefix=peer.prefix)
    res = s_client(peer.port, *OPENSSL_PSK, "-cipher", "PSK-AES128-CCM8", "-maxfraglen", 512,
                   prefix=peer.prefix)
    assert "CIPHER is PSK-AES128-CCM8" in res.stdout + res.stderr or "hello" in peer.output()
    cap.stop()
    exts, fields = server_hello(cap, peer.port)[1:]
    assert EXT_MAX_FRAGMENT_LENGTH in exts and fields["mfl"] == ["1"]


@pytest.mark.parametrize("server_args,limit", [([], "16384"), (["--recordsize=512"], "512")])
def test_gnutls_record_size_limit(start_peer, start_capture, server_args, limit):
    """gnutls-serv answers record_size_limit with its own limit (--recordsize)."""
    peer = start_peer("gnutls", extra_args=server_args)
    cap = start_capture(peer.port, prefix=peer.prefix)
    res = gnutls_cli(peer.port, prefix=peer.prefix)
    assert "Handshake was completed" in res.stdout, res.stdout + res.stderr
    cap.stop()
    exts, fields = server_hello(cap, peer.port)[1:]
    assert EXT_RECORD_SIZE_LIMIT in exts and fields["rsl"] == [limit]


def test_gnutls_prefers_record_size_limit(start_peer, start_capture):
    """A ClientHello with both (gnutls-cli --recordsize=512): the server answers only
    record_size_limit (RFC 8449 §5)."""
    peer = start_peer("gnutls")
    cap = start_capture(peer.port, prefix=peer.prefix)
    res = gnutls_cli(peer.port, "--recordsize=512", prefix=peer.prefix)
    assert "Handshake was completed" in res.stdout, res.stdout + res.stderr
    cap.stop()
    ch_exts, ch = client_hello(cap, peer.port)[1:]
    assert {EXT_MAX_FRAGMENT_LENGTH, EXT_RECORD_SIZE_LIMIT} <= set(ch_exts)
    assert ch["mfl"] == ["1"] and ch["rsl"] == ["512"]
    exts = server_hello(cap, peer.port)[1]
    assert EXT_RECORD_SIZE_LIMIT in exts and EXT_MAX_FRAGMENT_LENGTH not in exts


# ---- resumption ----

@pytest.mark.parametrize("server_args,ticket,resumed", [
    ([], True, True),                           # ticket and session ID
    (["-no_ticket"], False, True),              # session ID (server cache) only
    (["-no_cache"], True, True),                # ticket only
    (["-no_cache", "-no_ticket"], False, False),
])
def test_openssl_resumption(start_peer, tmp_path, server_args, ticket, resumed):
    peer = start_peer("openssl", naccept=2, extra_args=server_args)
    sess = tmp_path / "session.pem"
    first = s_client(peer.port, *OPENSSL_PSK, "-cipher", "PSK-AES128-CCM8", "-sess_out", sess)
    assert "New, TLSv1.2, Cipher is PSK-AES128-CCM8" in first.stdout, first.stdout
    assert ("TLS session ticket:" in first.stdout) == ticket
    if not resumed:         # nothing to resume: no session ID, no ticket, no file
        assert "Session-ID: \n" in first.stdout and not sess.exists()
        return
    second = s_client(peer.port, *OPENSSL_PSK, "-cipher", "PSK-AES128-CCM8", "-sess_in", sess)
    assert "Reused, TLSv1.2, Cipher is PSK-AES128-CCM8" in second.stdout, second.stdout
    assert peer.wait_for("Reused session-id", timeout=5)


def test_openssl_restarted_server_does_a_full_handshake(start_peer, tmp_path):
    """A session offered to a server that no longer knows it: a clean full handshake."""
    sess = tmp_path / "session.pem"
    first = start_peer("openssl", extra_args=["-no_ticket"])
    s_client(first.port, *OPENSSL_PSK, "-cipher", "PSK-AES128-CCM8", "-sess_out", sess)
    first.stop()
    second = start_peer("openssl", extra_args=["-no_ticket"])
    res = s_client(second.port, *OPENSSL_PSK, "-cipher", "PSK-AES128-CCM8", "-sess_in", sess)
    assert "New, TLSv1.2, Cipher is PSK-AES128-CCM8" in res.stdout, res.stdout


@pytest.mark.parametrize("server_args,resumed", [
    ([], True),                                 # tickets (and the session database)
    (["--noticket"], True),                     # session ID from the database
    (["--nodb"], True),                         # tickets only
    (["--noticket", "--nodb"], False),
])
def test_gnutls_udp_resumption(start_peer, server_args, resumed):
    """gnutls-serv --udp resumes; gnutls-cli --resume reconnects from a new port."""
    peer = start_peer("gnutls", extra_args=server_args)
    res = gnutls_cli(peer.port, "--resume", prefix=peer.prefix)
    assert res.stdout.count("Handshake was completed") == 2, res.stdout + res.stderr
    assert ("*** This is a resumed session" in res.stdout) == resumed, res.stdout


# ---- heartbeat ----

def heartbeat_session(peer, tmp_path, start_capture):
    """gnutls-cli --heartbeat sends "**HEARTBEAT**" as data; returns the decoded packets."""
    keylog = tmp_path / "keys.log"
    cap = start_capture(peer.port, prefix=peer.prefix)
    cmd = peer.prefix + ["gnutls-cli", "--udp", "-p", str(peer.port), "127.0.0.1", "--heartbeat",
                         "--pskusername", ID, "--pskkey", KEY, "--priority",
                         peers.GNUTLS_PSK_PRIORITY]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, SSLKEYLOGFILE=str(keylog)))
    try:
        assert peer.wait_for("Accepted connection", timeout=10), peer.output()
        time.sleep(0.3)
        proc.stdin.write("**HEARTBEAT**\n")
        proc.stdin.flush()
        assert peer.wait_for("Processing 14 bytes command", timeout=10), peer.output()
        time.sleep(0.3)
    finally:
        proc.kill()
        proc.communicate()
    cap.stop()
    rows = capture.fields(cap.pcap, peer.port, ["udp.srcport", "dtls.heartbeat_message.type",
                                               "dtls.heartbeat_message.payload_length",
                                               "dtls.record.length"], keylog)
    return cap, [(int(r[0][0]), r[1], r[2], r[3]) for r in rows if r[1]]


def test_gnutls_heartbeat_server_pings_on_command(start_peer, start_capture, tmp_path):
    """gnutls-serv --heartbeat pings only when a client sends the application data
    "**HEARTBEAT**": one HeartbeatRequest (payload_length 284, 319-byte record), which
    gnutls-cli answers. It also advertises peer_allowed_to_send (mode 1)."""
    peer = start_peer("gnutls", extra_args=["--heartbeat"])
    cap, beats = heartbeat_session(peer, tmp_path, start_capture)
    assert beats == [(peer.port, ["1"], ["284"], ["319"]), (beats[1][0], ["2"], ["284"], ["319"])]
    assert beats[1][0] != peer.port
    exts, fields = server_hello(cap, peer.port)[1:]
    assert EXT_HEARTBEAT in exts and fields["hb"] == ["1"]


def test_gnutls_without_heartbeat_does_not_ping(start_peer, start_capture, tmp_path):
    peer = start_peer("gnutls")
    cap, beats = heartbeat_session(peer, tmp_path, start_capture)
    assert beats == []
    assert "No heartbeat in this session" in peer.output()
    assert EXT_HEARTBEAT not in server_hello(cap, peer.port)[1]


# ---- HelloRequest (renegotiation) ----

def test_openssl_sends_hello_request_on_r(start_peer, start_capture, tmp_path):
    """A line "r" on s_server's stdin sends HelloRequest; s_client renegotiates."""
    peer = start_peer("openssl")
    cap = start_capture(peer.port)
    keylog = tmp_path / "keys.log"
    proc = subprocess.Popen(["openssl", "s_client", "-dtls1_2", "-connect",
                             "127.0.0.1:%d" % peer.port, "-no_ign_eof", "-keylogfile", keylog,
                             "-cipher", "PSK-AES128-CCM8"] + OPENSSL_PSK,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        proc.stdin.write("before-renegotiation\n")   # a unique text: s_server also prints
        proc.stdin.flush()                            # base64 session data
        assert peer.wait_for("before-renegotiation", timeout=10), peer.output()
        peer.send_line("r")
        assert peer.wait_for("SSL_do_handshake -> 1", timeout=10), peer.output()
        proc.communicate(timeout=10)        # stdin closed: close_notify, key log flushed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    cap.stop()
    types = [t for h in capture.fields(cap.pcap, peer.port, ["dtls.handshake.type"], keylog)
             for t in h[0]]
    assert str(HELLO_REQUEST) in types and types.count(str(CLIENT_HELLO)) >= 3, \
        (types, open(keylog).read(), capture.summary(cap.pcap, peer.port, keylog))


def test_gnutls_sends_hello_request_on_command(start_peer):
    """The application data "**REHANDSHAKE**" makes gnutls-serv send HelloRequest."""
    peer = start_peer("gnutls")
    cmd = peer.prefix + ["gnutls-cli", "--udp", "-p", str(peer.port), "127.0.0.1",
                         "--pskusername", ID, "--pskkey", KEY, "--priority",
                         peers.GNUTLS_PSK_PRIORITY]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert peer.wait_for("Accepted connection", timeout=10)
        time.sleep(0.3)
        proc.stdin.write("**REHANDSHAKE**\n")
        proc.stdin.flush()
        assert peer.wait_for("*** Sending rehandshake request", timeout=10), peer.output()
    finally:
        proc.kill()
        proc.communicate()


def test_gnutls_keeps_session_after_no_renegotiation(start_peer):
    """Mbed TLS 3.6's client refuses the HelloRequest (no_renegotiation warning); gnutls-serv
    takes that silently and echoes the next record."""
    peer = start_peer("gnutls")
    try:
        client = peers.mbedtls36_client_path()
    except peers.PeerUnavailable as exc:
        pytest.skip(str(exc))
    res = peer.run([client, "127.0.0.1", peer.port, "--no-cid", "--send", "**REHANDSHAKE**",
                    "--send", "after-refusal", "--timeout", "1", "--debug", "2"])
    # the command itself is not echoed (exit 1, reported), the next record is
    assert res.returncode == 1 and "read after record 1" in res.stderr, res.stderr
    assert "recv: after-refusal" in res.stdout.splitlines()
    # Mbed TLS's refusal: an alert sent while it waited for the first echo
    assert res.stderr.index("send alert message") < res.stderr.index("read after record 1")
    assert peer.wait_for(": after-refusal", timeout=5), peer.output()
    out = peer.output()
    assert out.index("*** Sending rehandshake request") < out.index(": after-refusal"), out


# ---- PSK with forward secrecy and CCM ----

def test_openssl_and_gnutls_have_no_ecdhe_psk_ccm():
    """RFC 8442 0xD001-0xD005 are in neither OpenSSL 3.0 nor GnuTLS 3.7."""
    ossl = subprocess.run(["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL"],
                          capture_output=True, text=True).stdout
    assert "ECDHE-PSK-CHACHA20-POLY1305" in ossl
    assert "0xD0,0x0" not in ossl.upper().replace(" ", "")
    gnu = subprocess.run(["gnutls-cli", "-l"], capture_output=True, text=True).stdout
    assert "TLS_ECDHE_PSK_CHACHA20_POLY1305" in gnu
    assert "0xd0, 0x0" not in gnu.lower()


@pytest.mark.parametrize("kind", ["openssl", "gnutls"])
def test_dhe_psk_aes_128_ccm_8(start_peer, kind):
    """TLS_PSK_DHE_WITH_AES_128_CCM_8 (0xC0AA, RFC 6655): PSK with (finite-field) forward
    secrecy and CCM_8, in OpenSSL and GnuTLS (and Mbed TLS, Botan)."""
    if kind == "openssl":
        peer = start_peer("openssl", cipher="DHE-PSK-AES128-CCM8")
        s_client(peer.port, *OPENSSL_PSK, "-cipher", "DHE-PSK-AES128-CCM8")
        assert peer.wait_for("CIPHER is DHE-PSK-AES128-CCM8", timeout=10), peer.output()
    else:   # gnutls-cli 3.7.9 itself crashes (SIGSEGV) with DHE-PSK: s_client instead
        priority = peers.GNUTLS_PSK_PRIORITY.replace("+PSK", "+DHE-PSK")
        peer = start_peer("gnutls", priority=priority)
        res = s_client(peer.port, *OPENSSL_PSK, "-cipher", "DHE-PSK-AES128-CCM8",
                       text="dhe-psk", prefix=peer.prefix)
        assert "Cipher is DHE-PSK-AES128-CCM8" in res.stdout, res.stdout + res.stderr
        assert peer.wait_for("dhe-psk", timeout=10), peer.output()


def botan_client(peer, *args):
    cmd = [peers.botan_peer_path(), "client", peer.host, str(peer.port)] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("cipher,line,code", [
    ("AES-128/CCM(8)", "ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 0xd003", "0xd003"),
    ("AES-128/CCM", "ECDHE_PSK_WITH_AES_128_CCM_SHA256 0xd005", "0xd005"),
])
def test_botan_ecdhe_psk_ccm(start_peer, start_capture, cipher, line, code):
    """Botan server and client negotiate the RFC 8442 suites (checked on the wire)."""
    peer = start_peer("botan")
    cap = start_capture(peer.port)
    res = botan_client(peer, "--kex", "ECDHE_PSK", "--ciphers", cipher, "--send", "pfs-psk")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == ["cipher: " + line, "recv: pfs-psk"]
    assert peer.wait_for("recv: pfs-psk", timeout=5)
    cap.stop()
    assert server_hello(cap, peer.port)[2]["suite"] == [code]


@pytest.mark.parametrize("openssl_cipher,line", [
    ("ECDHE-PSK-CHACHA20-POLY1305", "ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 0xccac"),
    ("DHE-PSK-AES128-CCM8", "PSK_DHE_WITH_AES_128_CCM_8 0xc0aa"),
    ("PSK-AES128-CCM8", "PSK_WITH_AES_128_CCM_8 0xc0a8"),
])
def test_botan_server_with_openssl_client(start_peer, openssl_cipher, line):
    """OpenSSL cross-checks the Botan peer's parts: its ECDHE_PSK key exchange (with
    ChaCha20, the only ECDHE_PSK AEAD OpenSSL has) and its CCM_8 record layer."""
    peer = start_peer("botan", ciphers=("AES-128/CCM(8)", "ChaCha20Poly1305"))
    s_client(peer.port, *OPENSSL_PSK, "-cipher", openssl_cipher, text="from-openssl")
    assert peer.wait_for("recv: from-openssl", timeout=10), peer.output()
    assert "cipher: " + line in peer.output()
