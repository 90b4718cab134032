"""Connection ID (RFC 9146) against Mbed TLS 3.6: the client keeps its session when a NAT
rebinding moves it to another source port mid-session (tools/udp_proxy.py rebind())."""
import os
import subprocess
import sys

import pytest

import mp

sys.path.insert(0, mp.TOOLS)
from udp_proxy import UdpProxy  # noqa: E402

SCRIPT = """
import dtls, sys, time
ctx = dtls.Context(psk=(%(identity)r, bytes.fromhex(%(key)r)), connection_id=%(cid)r)
with ctx.connect("127.0.0.1", %(port)d) as c:
    print("cid", c.core.connection_id)
    for i in range(4):
        msg = b"message %%d" %% i
        c.send(msg)
        c.settimeout(2)
        try:
            print("echo", c.recv() == msg)
        except OSError:
            print("echo lost")
        sys.stdout.flush() if hasattr(sys.stdout, "flush") else None
        if i == 1:
            print("rebind now")
            time.sleep(0.5)
"""


def run_with_rebind(peer, cid):
    with UdpProxy(upstream_port=peer.port) as proxy:
        code = SCRIPT % {"identity": peer.psk_identity, "key": peer.psk_key_hex,
                         "port": proxy.port, "cid": cid}
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "cid_%d.py" % os.getpid())
        with open(path, "w") as f:
            f.write(code)
        proc = subprocess.Popen([mp.micropython_path(), path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=mp.mp_env())
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line.strip())
                if line.startswith("rebind now"):
                    proxy.rebind()
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
            os.unlink(path)
        return lines, proc.stderr.read()


def test_session_survives_source_port_change(start_peer):
    peer = start_peer("mbedtls36")
    lines, err = run_with_rebind(peer, cid=True)
    assert lines[0].startswith("cid b'") and lines[0] != "cid b''", lines
    assert lines.count("echo True") == 4, (lines, err)
    # the server saw the client move and kept the session
    out = peer.output()
    assert out.count("peer: ") >= 2, out


def test_without_cid_the_moved_client_is_lost(start_peer):
    """Control: the same move without a CID: the server cannot tell the records are ours."""
    peer = start_peer("mbedtls36")
    lines, err = run_with_rebind(peer, cid=False)
    assert lines[0] == "cid None"
    assert lines[1:3] == ["echo True", "echo True"]
    assert "echo True" not in lines[4:], lines


def test_renegotiation_refused_with_warning(start_peer):
    """Mbed TLS 3.6 sends a HelloRequest after the first record: the client answers with a
    warning no_renegotiation (RFC 7925 §17, RFC 5746 §4.2), never a ClientHello, and the
    connection goes on."""
    peer = start_peer("mbedtls36", renegotiate_after=1)
    cmd = [mp.micropython_path(), os.path.join(mp.TOOLS, "dtls_client.py")] + \
        peer.client_args() + ["--send", "one", "--send", "two", "--wait", "2", "-v"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=40, env=mp.mp_env(),
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "refusing renegotiation" in res.stderr
    assert "send warning alert no_renegotiation" in res.stderr
    assert res.stderr.count("send ClientHello") == 2  # the initial one and its cookie retry
    assert peer.wait_for("alert: 1:100", timeout=5), peer.output()
