"""TLS_PSK_WITH_AES_128_CCM_8 handshakes and data between the MicroPython client
(tools/dtls_client.py under the unix port) and five independently written servers."""
import os
import subprocess
import sys
import time

import pytest

import mp

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")


def client_cmd(peer, *extra, python=None):
    exe = [python] if python else [mp.micropython_path()]
    return peer.prefix + exe + [CLIENT] + peer.client_args() + [str(a) for a in extra]


def run_client(peer, *extra, timeout=40):
    return subprocess.run(client_cmd(peer, *extra), capture_output=True, text=True,
                          timeout=timeout, env=mp.mp_env(), stdin=subprocess.DEVNULL)


def assert_clean_success(res):
    assert res.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        res.returncode, res.stdout, res.stderr)
    lines = res.stdout.splitlines()
    assert lines[0] == "cipher: TLS_PSK_WITH_AES_128_CCM_8"
    assert lines[1] == "crypto: python"
    assert "Traceback" not in res.stderr
    return lines


def test_openssl_two_way_data_and_close_notify(openssl_peer):
    """s_server prints what it receives and sends what is written to its stdin."""
    proc = subprocess.Popen(client_cmd(openssl_peer, "--send", "hello from microdtls",
                                       "--wait", "6"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=mp.mp_env(), stdin=subprocess.DEVNULL)
    try:
        assert openssl_peer.wait_for("hello from microdtls", timeout=15), openssl_peer.output()
        openssl_peer.send_line("from-openssl")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    lines = assert_clean_success(res)
    assert "recv: from-openssl" in lines
    assert "CIPHER is PSK-AES128-CCM8" in openssl_peer.output()
    # s_server reports DONE when the client's close_notify ends the connection.
    assert openssl_peer.wait_for("DONE", timeout=5), openssl_peer.output()


def test_echo_servers(echo_peer):
    """GnuTLS, tinydtls and Mbed TLS echo each record back."""
    res = run_client(echo_peer, "--send", "first record", "--send-hex", "00ff10",
                     "--send", "third", "--wait", "3")
    lines = assert_clean_success(res)
    assert lines[2:] == ["recv: first record", "recv: 00ff10", "recv: third"], lines


def test_large_record_echo(echo_peer, tmp_path):
    # 900 bytes: many AES blocks. Binary, except for gnutls-serv, whose --echo treats
    # records as text lines in a 1 KiB buffer.
    if echo_peer.name == "gnutls":
        payload = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 25)[:900]
    else:
        payload = (bytes(range(256)) * 4)[:900]
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    res = run_client(echo_peer, "--send-file", str(path), "--hex", "--wait", "3")
    lines = assert_clean_success(res)
    # gnutls-serv echoes in 128-byte pieces: compare the concatenation.
    got = b"".join(bytes.fromhex(line[len("recv: "):]) for line in lines[2:])
    assert got == payload


def coap_get(path, mid, token=b""):
    """A confirmable CoAP GET (RFC 7252 §3) with Uri-Path options."""
    msg = bytes([0x40 | len(token), 0x01]) + mid.to_bytes(2, "big") + token
    last = 0
    for seg in path.strip("/").split("/"):
        seg = seg.encode()
        delta = 11 - last  # Uri-Path is option 11
        assert delta < 13 and len(seg) < 13
        msg += bytes([(delta << 4) | len(seg)]) + seg
        last = 11
    return msg


def parse_coap(data):
    ver_t_tkl, code, mid = data[0], data[1], int.from_bytes(data[2:4], "big")
    tkl = ver_t_tkl & 0x0F
    token = data[4:4 + tkl]
    payload = b""
    if b"\xff" in data[4 + tkl:]:
        payload = data[data.index(b"\xff", 4 + tkl) + 1:]
    return {"version": ver_t_tkl >> 6, "type": (ver_t_tkl >> 4) & 3,
            "code": "%d.%02d" % (code >> 5, code & 31), "mid": mid, "token": token,
            "payload": payload}


def test_libcoap_get_time(coap_peer):
    """A real CoAP GET /time over DTLS to coap-server-openssl; the piggybacked ACK must
    carry 2.05 Content, our message ID and token, and a time string."""
    req = coap_get("time", 0x1234, token=b"\xa1\xb2")
    res = run_client(coap_peer, "--send-hex", req.hex(), "--hex", "--wait", "3")
    lines = assert_clean_success(res)
    assert len(lines) == 3, lines
    rsp = parse_coap(bytes.fromhex(lines[2].split(": ", 1)[1]))
    assert rsp["version"] == 1 and rsp["type"] == 2  # ACK
    assert rsp["code"] == "2.05" and rsp["mid"] == 0x1234 and rsp["token"] == b"\xa1\xb2"
    text = rsp["payload"].decode()
    assert any(m in text for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                   "Sep", "Oct", "Nov", "Dec")), text


def test_fragmented_flight_against_openssl(openssl_peer):
    """With a 64-byte datagram limit every handshake message is split into fragments
    (RFC 6347 §4.2.3) that OpenSSL must reassemble."""
    res = run_client(openssl_peer, "--max-datagram", "64", "--send", "tiny datagrams",
                     "--wait", "1", "-v")
    assert_clean_success(res)
    assert openssl_peer.wait_for("tiny datagrams", timeout=5)


def test_core_runs_under_cpython(openssl_peer):
    """The same client under CPython 3.11 (the cryptolib shim stands in)."""
    proc = subprocess.run(client_cmd(openssl_peer, "--send", "from cpython", "--wait", "1",
                                     python=sys.executable),
                          capture_output=True, text=True, timeout=40, stdin=subprocess.DEVNULL)
    assert_clean_success(proc)
    assert openssl_peer.wait_for("from cpython", timeout=5)
