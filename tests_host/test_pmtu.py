"""Path MTU: retransmission back-off to smaller datagrams (RFC 6347 §4.1.1.1) and a heartbeat
probe (RFC 6520 §5.1), through tools/udp_proxy.py dropping datagrams above a size."""
import os
import subprocess
import sys
import time

import mp
from test_interop_ecdhe import openssl_cert_server

sys.path.insert(0, mp.TOOLS)
from udp_proxy import Impairment, UdpProxy  # noqa: E402

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")


def test_flight_backs_off_to_smaller_datagrams(pki):
    """Our flight 5 with a client certificate chain needs a ~1.2 KB datagram; a path that
    drops datagrams above 600 bytes stalls it until the client falls back to 548."""
    with openssl_cert_server(pki, extra=["-Verify", "4", "-CAfile", pki / "root.pem"]) as peer, \
            UdpProxy(upstream_port=peer.port,
                     client_to_server=Impairment(max_size=600)) as proxy:
        res = subprocess.run(
            [mp.micropython_path(), CLIENT, "127.0.0.1", str(proxy.port), "--ca",
             pki / "root.pem", "--cert", pki / "client_chain.pem", "--key", pki / "leaf.key",
             "--send", "through a small path", "--wait", "1", "--timeout", "20", "-v"],
            capture_output=True, text=True, timeout=60, env=mp.mp_env(),
            stdin=subprocess.DEVNULL)
        stats = proxy.stats()
    assert res.returncode == 0, res.stdout + res.stderr
    assert "backing off to 548-byte datagrams" in res.stderr
    assert stats["client_to_server"]["too_big"] >= 1
    assert peer.wait_for("through a small path", timeout=5)


def test_heartbeat_path_mtu_probe(start_peer):
    """gnutls-serv --heartbeat answers padded requests; the relay (in the server's network
    namespace) drops client datagrams above 1000 bytes, so 1472/1400/1232 go unanswered and
    548 is the probed size."""
    peer = start_peer("gnutls", extra_args=["--heartbeat"])
    proxy = subprocess.Popen(peer.prefix + [sys.executable, os.path.join(mp.TOOLS, "udp_proxy.py"),
                                            "--upstream", "5684", "--listen", "5700",
                                            "--max-size-c2s", "1000"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "listening" in proxy.stdout.readline()
        t0 = time.monotonic()
        res = subprocess.run(
            peer.prefix + [mp.micropython_path(), CLIENT, "127.0.0.1", "5700"] +
            peer.client_args()[2:] + ["--max-datagram", "1472", "--heartbeat", "--probe-mtu",
                                      "--send", "after probe", "--wait", "1"],
            capture_output=True, text=True, timeout=60, env=mp.mp_env(),
            stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
    finally:
        proxy.terminate()
        proxy.wait(5)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "path mtu: 548" in lines, lines
    assert "recv: after probe" in lines
    assert elapsed < 20
