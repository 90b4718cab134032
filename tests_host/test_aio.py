"""dtls.aio, the asyncio driver, inside MicroPython (and CPython) against real servers:
data both ways, several connections in one event loop (one through a lossy relay),
retransmission timers that run while the application awaits something else, recv
timeouts and cancellation, and the error semantics of the blocking driver."""
import json
import os
import subprocess
import sys

import pytest

import mp
import peers

sys.path.insert(0, mp.TOOLS)
import udp_proxy  # noqa: E402

# Shared prelude of the scripts run inside MicroPython: a context from argv and a
# millisecond clock that works on both interpreters.
PRELUDE = """
import sys, time
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio
import dtls, dtls.aio

def ms():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)

def make_ctx(identity, key_hex, **kw):
    return dtls.Context(psk=(identity.encode(), bytes.fromhex(key_hex)), **kw)
"""


def run_mp(code, *args, timeout=60):
    res = mp.run_code(PRELUDE + code, args=args, timeout=timeout)
    assert res.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        res.returncode, res.stdout, res.stderr)
    return res.stdout.splitlines()


def run_cpython(code, *args, timeout=60):
    res = subprocess.run([sys.executable, "-c", PRELUDE + code] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, PYTHONPATH=mp.LIB), stdin=subprocess.DEVNULL)
    assert res.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        res.returncode, res.stdout, res.stderr)
    return res.stdout.splitlines()


ECHO = """
async def main(port, ident, key):
    async with await dtls.aio.connect(make_ctx(ident, key), "127.0.0.1", port) as conn:
        print("cipher:", conn.cipher_suite)
        conn.settimeout(5)
        for i in range(3):
            await conn.send(b"record %d" % i)
            print("recv:", (await conn.recv()).decode())
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_echo(tinydtls_peer, interpreter):
    run = run_mp if interpreter == "micropython" else run_cpython
    lines = run(ECHO, tinydtls_peer.port, tinydtls_peer.psk_identity, tinydtls_peer.psk_key_hex)
    assert lines == ["cipher: TLS_PSK_WITH_AES_128_CCM_8", "recv: record 0", "recv: record 1",
                     "recv: record 2"]


OPENSSL = """
async def main(port, ident, key):
    conn = await dtls.aio.connect(make_ctx(ident, key), "127.0.0.1", port)
    print("cipher:", conn.cipher_suite)
    await conn.send(b"hello from aio")
    conn.settimeout(10)
    print("recv:", (await conn.recv()).decode().strip())
    await conn.close()
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def test_openssl_both_ways_and_server_close(openssl_peer, tmp_path):
    """s_server prints our record, sends a line typed on its stdin, and reports DONE
    when our close_notify arrives."""
    script = tmp_path / "aio_openssl.py"
    script.write_text(PRELUDE + OPENSSL)
    proc = subprocess.Popen([mp.micropython_path(), str(script), str(openssl_peer.port),
                             openssl_peer.psk_identity, openssl_peer.psk_key_hex],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=mp.mp_env(), stdin=subprocess.DEVNULL)
    try:
        assert openssl_peer.wait_for("hello from aio", timeout=15), openssl_peer.output()
        openssl_peer.send_line("from-openssl")
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, err)
    assert out.splitlines() == ["cipher: TLS_PSK_WITH_AES_128_CCM_8", "recv: from-openssl"], \
        (out, err)
    assert openssl_peer.wait_for("DONE", timeout=5), openssl_peer.output()


MANY = """
async def echo_session(name, port, ident, key, n):
    ctx = make_ctx(ident, key, trace=None)
    t0 = ms()
    conn = await dtls.aio.connect(ctx, "127.0.0.1", port)
    t_hs = ms() - t0
    conn.settimeout(8)
    got = 0
    for i in range(n):
        msg = b"%s-%d" % (name.encode(), i)
        await conn.send(msg)
        # The lossy path may duplicate or reorder records but not lose them here.
        while True:
            data = await conn.recv()
            if data == msg:
                got += 1
                break
    rt = conn.core.retransmissions
    await conn.close()
    return "%s: handshake_ms=%d echoed=%d retransmissions=%d" % (name, t_hs, got, rt)

async def main(argv):
    tasks = []
    for i in range(0, len(argv), 4):
        name, port, ident, key = argv[i:i + 4]
        tasks.append(echo_session(name, int(port), ident, key, 5))
    for line in await asyncio.gather(*tasks):
        print(line)
asyncio.run(main(sys.argv[1:]))
"""


def _parse(lines):
    out = {}
    for line in lines:
        name, rest = line.split(": ", 1)
        out[name] = dict(kv.split("=") for kv in rest.split())
    return out


def test_three_connections_one_loop_one_lossy(start_peer):
    """Three connections in one event loop at the same time: to Mbed TLS, to tinydtls,
    and to tinydtls through a relay that drops the HelloVerifyRequest and our
    ClientHello with the cookie, and duplicates/reorders the server's datagrams at
    random (seeded). Client datagrams are not duplicated: the python-mbedtls echo
    server gives up when flight 5 repeats after its handshake, and tinydtls stalls
    when a ClientHello and flight 5 both arrive twice."""
    tiny = start_peer("tinydtls")
    mbed = start_peer("mbedtls")
    lossy = udp_proxy.UdpProxy(
        tiny.port, seed=7,
        client_to_server=udp_proxy.Impairment(drop={3}),
        server_to_client=udp_proxy.Impairment(drop={1}, duplicate=0.3, reorder=0.3))
    with lossy:
        args = []
        for name, port, peer in (("mbedtls", mbed.port, mbed), ("tinydtls", tiny.port, tiny),
                                 ("lossy", lossy.port, tiny)):
            args += [name, port, peer.psk_identity, peer.psk_key_hex]
        lines = run_mp(MANY, *args)
        stats = lossy.stats()
    res = _parse(lines)
    assert set(res) == {"mbedtls", "tinydtls", "lossy"}, lines
    for name in res:
        assert res[name]["echoed"] == "5", lines
    assert int(res["lossy"]["retransmissions"]) >= 2, lines
    assert stats["server_to_client"]["dropped"] >= 1 and stats["client_to_server"]["dropped"] >= 1


WHILE_AWAITING = """
import socket

async def main(port, ident, key):
    events = []
    t0 = ms()
    def trace(line):
        events.append((ms() - t0, line))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    conn = dtls.aio.Connection(sock, make_ctx(ident, key, trace=trace))
    hs = asyncio.create_task(conn.do_handshake())
    # The application awaits something unrelated; the handshake must progress anyway.
    await asyncio.sleep(2)
    print("connected_before_app_awaited_it:", conn.core.connected)
    await hs
    for t, line in events:
        if line.startswith("timeout"):
            print("retransmit_at_ms:", t)
    print("retransmissions:", conn.core.retransmissions)
    await conn.close()
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_retransmission_runs_while_app_awaits(tinydtls_peer, interpreter):
    """The relay drops our first ClientHello. The application starts the handshake as a
    task and sleeps 2 s; the pump must retransmit at 1 s (RFC 6347 §4.2.4.1) and
    finish the handshake before the application looks at the connection again."""
    run = run_mp if interpreter == "micropython" else run_cpython
    with udp_proxy.UdpProxy(tinydtls_peer.port,
                            client_to_server=udp_proxy.Impairment(drop={1})) as proxy:
        lines = run(WHILE_AWAITING, proxy.port, tinydtls_peer.psk_identity,
                    tinydtls_peer.psk_key_hex)
    assert lines[0] == "connected_before_app_awaited_it: True", lines
    retransmits = [int(x.split(": ")[1]) for x in lines if x.startswith("retransmit_at_ms")]
    assert len(retransmits) == 1, lines
    assert 950 <= retransmits[0] <= 1400, lines
    assert lines[-1] == "retransmissions: 1"


TIMEOUTS = """
async def main(port, ident, key):
    conn = await dtls.aio.connect(make_ctx(ident, key), "127.0.0.1", port)
    conn.settimeout(0.3)
    t = ms()
    try:
        await conn.recv()
        print("no timeout")
    except OSError as e:
        print("timeout errno:", e.args[0] if e.args else e.errno, "after_ms:", ms() - t)
    conn.settimeout(None)
    # Cancel a recv that is waiting: nothing may be lost afterwards.
    try:
        await asyncio.wait_for(conn.recv(), 0.2)
        print("no cancel")
    except asyncio.TimeoutError:
        print("cancelled")
    await conn.send(b"after cancel")
    await conn.send(b"second")
    print("recv:", await conn.recv(), await conn.recv())
    await conn.close()
    try:
        await conn.send(b"x")
    except dtls.ConnectionClosed:
        print("send after close: ConnectionClosed")
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def test_recv_timeout_cancel_and_closed(tinydtls_peer):
    lines = run_mp(TIMEOUTS, tinydtls_peer.port, tinydtls_peer.psk_identity,
                   tinydtls_peer.psk_key_hex)
    words = lines[0].split()
    assert words[:3] == ["timeout", "errno:", "110"], lines
    assert 280 <= int(words[4]) <= 800, lines
    assert lines[1:] == ["cancelled", "recv: b'after cancel' b'second'",
                         "send after close: ConnectionClosed"], lines


ERRORS = """
async def attempt(label, port, ident, key):
    t = ms()
    try:
        await dtls.aio.connect(make_ctx(ident, key, handshake_timeout_ms=2500), "127.0.0.1", port)
        print(label, "connected?!")
    except dtls.DTLSError as e:
        print(label, type(e).__name__, "after_ms=%d" % (ms() - t), str(e))

async def main(free, port, ident, key):
    await asyncio.gather(
        attempt("none:", free, "a", "00" * 16),
        attempt("identity:", port, "nobody-knows-me", key),
        attempt("key:", port, ident, "5a" * 16))
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


def test_errors_match_blocking_driver(tinydtls_peer):
    """No server (ICMP port unreachable noted), an unknown identity (tinydtls answers
    with a fatal alert) and a wrong key (silence after our Finished), concurrently."""
    lines = run_mp(ERRORS, peers.free_port(), tinydtls_peer.port, tinydtls_peer.psk_identity,
                   tinydtls_peer.psk_key_hex)
    res = {line.split(" ", 1)[0]: line for line in lines}
    assert "HandshakeTimeout" in res["none:"] and "no answer" in res["none:"], lines
    assert "ICMP port unreachable" in res["none:"], lines
    assert "AlertReceived" in res["identity:"], lines
    assert "HandshakeTimeout" in res["key:"] and "wrong PSK" in res["key:"], lines
    for line in lines:
        if "HandshakeTimeout" in line:
            ms = int(line.split("after_ms=")[1].split()[0])
            assert 2400 <= ms <= 3500, line


RESUME = """
async def main(port, ident, key):
    ctx = make_ctx(ident, key)
    conn = await dtls.aio.connect(ctx, "127.0.0.1", port)
    session = conn.session
    await conn.send(b"first")
    await conn.close()
    blob = session.to_bytes()      # what a device keeps across deep sleep
    conn = await dtls.aio.connect(ctx, "127.0.0.1", port,
                                  session=dtls.Session.from_bytes(blob))
    print("resumed:", conn.resumed)
    await conn.send(b"second")
    await conn.close()
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def test_session_resumption(start_peer):
    """Session-ID resumption (RFC 5246 §7.4.1.2) through the asyncio driver."""
    peer = start_peer("openssl", naccept=2, extra_args=["-no_ticket"])
    lines = run_mp(RESUME, peer.port, peer.psk_identity, peer.psk_key_hex)
    assert lines == ["resumed: True"], lines
    assert peer.wait_for("second", timeout=5), peer.output()


ECDHE = """
async def main(port, d):
    def rd(name):
        with open(d + "/" + name, "rb") as f:
            return f.read()
    ctx = dtls.Context(ca=[rd("ca-cert.der")], cert=rd("device-cert.der"),
                       key=rd("device-key.der"))
    conn = await dtls.aio.connect(ctx, "127.0.0.1", port, server_hostname="localhost")
    print("cipher:", conn.cipher_suite)
    await conn.send(b"over ecdhe")
    await conn.close()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def test_ecdhe_with_client_certificate(tmp_path):
    """ECDHE-ECDSA with mutual authentication (credentials from tools/credentials.py)
    against openssl s_server: the P-256 work runs in the pump task as well."""
    port = peers.free_port()
    res = subprocess.run([sys.executable, os.path.join(mp.TOOLS, "credentials.py"), "pki",
                          "--out", str(tmp_path), "--port", str(port), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    cmd = json.loads(res.stdout)["commands"]["openssl-cert"]
    with peers.Peer("openssl", peers._line_buffered(cmd), port, "-", b"-", stdin=True) as srv:
        lines = run_mp(ECDHE, port, str(tmp_path / "device"))
        assert lines == ["cipher: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"], lines
        assert srv.wait_for("over ecdhe", timeout=5), srv.output()


PENDING = """
import socket

async def main(port, ident, key):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    conn = dtls.aio.Connection(sock, make_ctx(ident, key), max_pending=2)
    await conn.do_handshake()
    for i in range(5):
        await conn.send(b"r%d" % i)
    await asyncio.sleep(0.5)        # the echoes arrive while nobody calls recv()
    conn.settimeout(0.2)
    got = []
    try:
        while True:
            got.append(await conn.recv())
    except OSError:
        pass
    print(got, conn.dropped_records)
    await conn.close()
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def test_unread_records_are_bounded(tinydtls_peer):
    lines = run_mp(PENDING, tinydtls_peer.port, tinydtls_peer.psk_identity,
                   tinydtls_peer.psk_key_hex)
    assert lines == ["[b'r0', b'r1'] 3"], lines


HEARTBEAT = """
async def main(port, ident, key):
    ctx = make_ctx(ident, key, heartbeat=True)
    async with await dtls.aio.connect(ctx, "127.0.0.1", port) as conn:
        print("heartbeat:", await conn.heartbeat(timeout=3))
        print("mtu:", await conn.probe_path_mtu(sizes=(1232, 548)))
        await conn.send(b"still here")
        conn.settimeout(3)
        print("echo:", (await conn.recv()).decode())
asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def test_heartbeat_and_path_mtu_probe(start_peer, tmp_path):
    """RFC 6520 heartbeat and the padded path-MTU probe against gnutls-serv --heartbeat
    (inside its network namespace)."""
    peer = start_peer("gnutls", extra_args=["--heartbeat"])
    script = tmp_path / "heartbeat.py"
    script.write_text(PRELUDE + HEARTBEAT)
    res = mp.run_script(str(script), [peer.port, peer.psk_identity, peer.psk_key_hex],
                        prefix=peer.prefix)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert res.stdout.splitlines() == ["heartbeat: True", "mtu: 1232", "echo: still here"], \
        res.stdout
