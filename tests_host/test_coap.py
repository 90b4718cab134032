"""The CoAP client (lib/coap, tools/coap_client.py) inside MicroPython.

Interop against libcoap's example server (coap-server-openssl and coap-server-gnutls,
both over DTLS-PSK): GET /time, PUT then GET /example_data, the 1500-byte default
/example_data (Block2), a 4000-byte PUT (Block1) read back by libcoap's own client,
a separate response (/async), NON requests, CON retransmission and deduplication with
a real server, the asyncio client with concurrent requests on two connections.
Message-layer rules (RFC 7252 §4.2/§4.8 timing, RST, dedup, critical options,
ETag changes in block-wise transfers) run against the sans-I/O endpoint with a fake
clock, also inside MicroPython.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

import mp
import peers

CLI = os.path.join(mp.TOOLS, "coap_client.py")
TIME_RE = re.compile(r"^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d$")   # "Nov 26 16:32:11"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def coap_gnutls_server():
    """coap-server-gnutls on 127.0.0.1 (it binds the -A address, unlike gnutls-serv)."""
    exe = shutil.which("coap-server-gnutls")
    if not exe:
        raise peers.PeerUnavailable("coap-server-gnutls not found: run `make setup`")
    port = peers.free_port(count=2)
    cmd = peers._line_buffered([exe, "-A", peers.HOST, "-p", str(port), "-k",
                                peers.COAP_PSK_KEY.decode(), "-h", peers.COAP_PSK_HINT,
                                "-v", "7"])
    peer = peers.Peer("libcoap-gnutls", cmd, port + 1, peers.PSK_IDENTITY,
                      peers.COAP_PSK_KEY, peers.COAP_PSK_HINT)
    peer.coap_port = port
    return peer


@pytest.fixture(params=["openssl", "gnutls"])
def libcoap(request, start_peer):
    """libcoap's example server, built with OpenSSL and with GnuTLS."""
    if request.param == "openssl":
        return start_peer("libcoap")
    try:
        peer = coap_gnutls_server()
    except peers.PeerUnavailable as exc:
        if IN_CI:
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    request.addfinalizer(peer.stop)
    return peer


def cli(peer, path, *args, timeout=40):
    cmd = [mp.micropython_path(), CLI, "coaps://%s:%d/%s" % (peer.host, peer.port, path),
           "--psk-identity", peer.psk_identity, "--psk-key", peer.psk_key.hex()]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=mp.mp_env(), stdin=subprocess.DEVNULL)


def ok(res, code="2.05 Content"):
    """The payload printed after a success code; code may be a tuple of accepted ones."""
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stdout.split("\n")
    codes = code if isinstance(code, tuple) else (code,)
    assert lines[0] in ["code: " + c for c in codes], res.stdout
    return "\n".join(lines[1:])


def reference_get(peer, path, tmp_path):
    """libcoap's own client: an independent reading of the resource (-o writes the
    payload to a file exactly; on stdout it appends a newline)."""
    exe = shutil.which("coap-client-openssl")
    if not exe:
        pytest.skip("coap-client-openssl not found")
    out = tmp_path / "reference.out"
    res = subprocess.run([exe, "-B", "5", "-m", "get", "-u", "reference", "-k",
                          peer.psk_key.decode(), "-o", str(out),
                          "coaps://%s:%d/%s" % (peer.host, peer.port, path)],
                         capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res
    return out.read_bytes()


# ------------------------------------------------------------------ CLI against libcoap

def test_get_time(libcoap):
    out = ok(cli(libcoap, "time"))
    assert TIME_RE.match(out.strip()), out


def test_put_then_get_example_data(libcoap, tmp_path):
    # libcoap answers the first PUT with 2.01 Created (it replaces the resource).
    out = ok(cli(libcoap, "example_data", "-m", "put", "-e", "written by microdtls",
                 "-t", "text"), ("2.01 Created", "2.04 Changed"))
    assert out == "", out
    assert ok(cli(libcoap, "example_data")) == "written by microdtls\n"
    assert reference_get(libcoap, "example_data", tmp_path) == b"written by microdtls"


def test_blockwise_get_default_example_data(libcoap, tmp_path):
    """/example_data starts as 1500 bytes: more than one 1024-byte block (RFC 7959)."""
    res = cli(libcoap, "example_data", "-v")
    body = ok(res)
    expected = reference_get(libcoap, "example_data", tmp_path)
    assert len(expected) == 1500
    assert body == expected.decode() + "\n"
    requests = [line for line in res.stderr.splitlines() if "coap send CON 0.01" in line]
    assert len(requests) == 2, res.stderr       # blocks 0 and 1 of 1024 bytes


def test_blockwise_small_blocks_early_negotiation(libcoap, tmp_path):
    """-b 64 asks for 64-byte blocks in the first request (RFC 7959 §2.4)."""
    res = cli(libcoap, "example_data", "-b", "64", "-v")
    assert ok(res) == reference_get(libcoap, "example_data", tmp_path).decode() + "\n"
    requests = [line for line in res.stderr.splitlines() if "coap send CON 0.01" in line]
    assert len(requests) == 24, len(requests)  # ceil(1500 / 64)


def test_blockwise_put_4000_bytes(libcoap, tmp_path):
    """A payload larger than a datagram goes out as Block1 blocks; libcoap's own client
    reads back exactly what we sent."""
    payload = "".join("%04d:%s\n" % (i, "abcdefghij") for i in range(250)).encode()
    assert len(payload) == 4000
    path = tmp_path / "big.txt"
    path.write_bytes(payload)
    res = cli(libcoap, "example_data", "-m", "put", "-f", path, "-t", "text", "-v")
    ok(res, ("2.01 Created", "2.04 Changed"))
    blocks = [line for line in res.stderr.splitlines() if "coap send CON 0.03" in line]
    assert len(blocks) == 4, res.stderr
    assert reference_get(libcoap, "example_data", tmp_path) == payload


def test_separate_response(libcoap):
    """/async?1 answers with an empty ACK, then a CON 2.05 one second later (RFC 7252
    §5.2.2), which we must acknowledge."""
    res = cli(libcoap, "async?1", "-v")
    assert ok(res) == "done\n"
    log = res.stderr
    assert re.search(r"coap recv ACK 0\.00 mid=(\d+)", log), log
    m = re.search(r"coap recv CON 2\.05 mid=(\d+)", log)
    assert m, log
    assert "coap send ACK 0.00 mid=%s " % m.group(1) in log, log


def test_non_request(libcoap):
    """A NON request gets a NON response. NON messages are never retransmitted (RFC 7252
    §4.3), so a datagram lost on a busy host loses the exchange: one retry absorbs that,
    and the response timeout keeps a loss from hanging the test."""
    for _ in range(2):
        res = cli(libcoap, "time", "-N", "-v", "--response-timeout", "5")
        if res.returncode == 0:
            break
        print("NON attempt failed:", res.stdout, res.stderr)
    assert TIME_RE.match(ok(res).strip())
    assert "coap send NON 0.01" in res.stderr and "coap recv NON 2.05" in res.stderr, \
        res.stderr


def test_not_found_and_query(libcoap):
    res = cli(libcoap, "no/such/resource?x=1")
    assert res.returncode == 3, res
    assert res.stdout.startswith("code: 4.04 Not Found"), res.stdout


def test_wrong_key_is_a_clean_error(libcoap):
    cmd = [mp.micropython_path(), CLI, "coaps://%s:%d/time" % (libcoap.host, libcoap.port),
           "--psk-identity", "x", "--psk-key", "00" * 9, "--timeout", "3"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=mp.mp_env())
    assert res.returncode == 1, res
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr, res.stderr


@pytest.mark.parametrize("args,message", [
    ([], "coaps:// URI is required"),
    (["coap://127.0.0.1/x", "--psk-identity", "a", "--psk-key", "00"], "only coaps://"),
    (["coaps://127.0.0.1/x", "-m", "fetch", "--psk-identity", "a", "--psk-key", "00"],
     "method must be"),
    (["coaps://127.0.0.1/x", "--send", "x", "--psk-identity", "a", "--psk-key", "00"],
     "not a coap_client option"),
    (["coaps://127.0.0.1/x", "-b", "100", "--psk-identity", "a", "--psk-key", "00"],
     "--block-size"),
    (["coaps://127.0.0.1/x#frag", "--psk-identity", "a", "--psk-key", "00"], "fragment"),
    (["coaps://127.0.0.1/x"], "no credentials"),
])
def test_usage_errors(args, message):
    res = subprocess.run([mp.micropython_path(), CLI] + args, capture_output=True, text=True,
                         timeout=30, env=mp.mp_env())
    assert res.returncode == 2 and message in res.stderr, res
    assert "Traceback" not in res.stderr


# ------------------------------------------------------------------ library against libcoap

LOSSY = """
import sys, dtls, coap
from coap.message import Message, TYPE_NAMES

class Lossy:
    # Drops chosen datagrams in each direction, numbering CoAP datagrams from 1.
    def __init__(self, conn, drop_out=(), drop_in=()):
        self.conn, self.core = conn, conn.core
        self.drop_out, self.drop_in = drop_out, drop_in
        self.n_out = self.n_in = 0
        self.log = []
    def send(self, d):
        self.n_out += 1
        m = Message.decode(d)
        dropped = self.n_out in self.drop_out
        self.log.append("out %s %d.%02d%s" % (TYPE_NAMES[m.mtype], m.code >> 5, m.code & 31,
                                              " dropped" if dropped else ""))
        if not dropped:
            self.conn.send(d)
    def recv(self):
        while True:
            d = self.conn.recv()
            if not d:
                return d
            self.n_in += 1
            m = Message.decode(d)
            dropped = self.n_in in self.drop_in
            self.log.append("in %s %d.%02d%s" % (TYPE_NAMES[m.mtype], m.code >> 5, m.code & 31,
                                                 " dropped" if dropped else ""))
            if not dropped:
                return d
    def settimeout(self, s):
        self.conn.settimeout(s)
    def close(self):
        self.conn.close()

port = int(sys.argv[1])
drop_out = [int(x) for x in sys.argv[2].split(",") if x]
drop_in = [int(x) for x in sys.argv[3].split(",") if x]
paths = sys.argv[4].split(",")
ctx = dtls.Context(psk=(b"Client_identity", b"secretPSK"))
link = Lossy(ctx.connect("127.0.0.1", port), drop_out, drop_in)
client = coap.Client(link, ack_timeout_ms=500)
for p in paths:
    r = client.get(p)
    print("result", p, r.code_text, r.payload.decode())
print("retransmissions", client.endpoint.retransmissions)
print("duplicates", client.endpoint.duplicates)
for line in link.log:
    print("log", line)
client.close()
"""


def run_lossy(peer, drop_out, drop_in, paths):
    res = mp.run_code(LOSSY, args=[peer.port, ",".join(map(str, drop_out)),
                                   ",".join(map(str, drop_in)), ",".join(paths)], timeout=60)
    assert res.returncode == 0, (res.stdout, res.stderr)
    out = {}
    for line in res.stdout.splitlines():
        key, _, rest = line.partition(" ")
        out.setdefault(key, []).append(rest)
    return out


def test_con_retransmitted_when_request_lost(coap_peer):
    """Our first CON is lost: it is retransmitted after ACK_TIMEOUT (RFC 7252 §4.2)."""
    out = run_lossy(coap_peer, [1], [], ["time"])
    assert out["retransmissions"] == ["1"]
    assert out["log"] == ["out CON 0.01 dropped", "out CON 0.01", "in ACK 2.05"], out
    assert TIME_RE.match(out["result"][0].split(" ", 2)[2])


def test_con_retransmitted_when_response_lost(coap_peer):
    """The piggybacked response is lost: our retransmission reaches the server, which
    recognises the duplicate Message ID and repeats its response."""
    out = run_lossy(coap_peer, [], [1], ["time"])
    assert out["retransmissions"] == ["1"]
    assert out["log"] == ["out CON 0.01", "in ACK 2.05 dropped", "out CON 0.01",
                          "in ACK 2.05"], out
    assert TIME_RE.match(out["result"][0].split(" ", 2)[2])


def test_duplicate_separate_response_is_acked_not_delivered(coap_peer):
    """Our ACK of the separate response to /async?1 is lost, so libcoap retransmits
    its CON response (after 2-3 s). While we wait for the next request (/async?4), the
    duplicate arrives: it is acknowledged again and not delivered twice (§4.5)."""
    # CoAP datagrams we send: 1 = GET async?1, 2 = ACK of its separate response.
    out = run_lossy(coap_peer, [2], [], ["async?1", "async?4"])
    assert out["result"] == ["async?1 2.05 done", "async?4 2.05 done"], out
    assert out["duplicates"] == ["1"], out
    acks = [x for x in out["log"] if x.startswith("out ACK")]
    assert acks == ["out ACK 0.00 dropped", "out ACK 0.00", "out ACK 0.00"], out["log"]


AIO = """
import sys
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio
import dtls, dtls.aio, coap, coap.aio

async def session(name, port, paths):
    ctx = dtls.Context(psk=(b"Client_identity", b"secretPSK"))
    async with coap.aio.Client(await dtls.aio.connect(ctx, "127.0.0.1", port),
                               nstart=3) as client:
        rs = await asyncio.gather(*[client.get(p) for p in paths])
    return ["%s %s %s %d %s" % (name, p, r.code_text, len(r.payload), r.separate)
            for p, r in zip(paths, rs)]

async def main(port):
    for lines in await asyncio.gather(
            session("one", port, ["time", "example_data", "async?1"]),
            session("two", port, ["async?1", "time"])):
        for line in lines:
            print(line)
asyncio.run(main(int(sys.argv[1])))
"""


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_asyncio_concurrent_requests_two_connections(coap_peer, interpreter):
    if interpreter == "micropython":
        res = mp.run_code(AIO, args=[coap_peer.port], timeout=60)
    else:
        res = subprocess.run([sys.executable, "-c", AIO, str(coap_peer.port)],
                             capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=mp.LIB))
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert res.stdout.splitlines() == [
        "one time 2.05 15 False", "one example_data 2.05 1500 False",
        "one async?1 2.05 4 True", "two async?1 2.05 4 True", "two time 2.05 15 False"], \
        res.stdout


# ------------------------------------------------------------------ sans-I/O, fake clock

UNITS = r"""
from coap.endpoint import Endpoint, CoAPTimeout, CoAPReset
from coap.message import *
from coap.message import block_value, parse_block
import coap

def zeros(n):
    return bytes(n)

def ones(n):
    return b"\xff" * n

def check(name, cond):
    print(name, "ok" if cond else "FAIL")

# RFC 7252 §4.8.2: with ACK_TIMEOUT 2 s, factor 1.5 and MAX_RETRANSMIT 4, the last
# retransmission is at most MAX_TRANSMIT_SPAN = 45 s after the first transmission and
# the sender gives up after MAX_TRANSMIT_WAIT = 93 s (largest random initial timeout);
# with the smallest initial timeout (2 s) the instants are 0, 2, 6, 14, 30 s, end 62 s.
for rng, sends, end in ((zeros, [0, 2000, 6000, 14000, 30000], 62000),
                        (ones, [0, 3000, 9000, 21000, 45000], 93000)):
    ep = Endpoint(rng=rng)
    ex = ep.request(GET, "x", now=0)
    times = []
    t = 0
    while not ex.done:
        if ep.pop_datagrams():
            times.append(t)
        t = ep.next_deadline()
        ep.handle_timer(t)
    check("timing %s" % rng.__name__, times == sends and t == end
          and isinstance(ex.error, CoAPTimeout))

# Piggybacked response: ACK with our MID and token.
ep = Endpoint(rng=zeros)
ex = ep.request(GET, "a/b", query="k=v", now=0)
req = Message.decode(ep.pop_datagrams()[0])
check("request options", req.option_values(URI_PATH) == [b"a", b"b"]
      and req.option_values(URI_QUERY) == [b"k=v"] and req.mtype == CON and req.code == GET)
ack = Message(ACK, 0x45, req.mid, req.token, payload=b"hi")
ack.add_option(CONTENT_FORMAT, TEXT_PLAIN)
ep.receive(ack.encode(), 10)
r = ex.result()
check("piggybacked", r.payload == b"hi" and r.code_text == "2.05" and not r.separate
      and r.content_format == 0)

# A piggybacked ACK with the wrong token is not our response (§5.3.2).
ex = ep.request(GET, "x", now=0)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(Message(ACK, 0x45, req.mid, b"zzzz", payload=b"no").encode(), 5)
check("wrong token ignored", not ex.done)
ep.receive(Message(RST, 0, req.mid).encode(), 6)
check("reset", isinstance(ex.error, CoAPReset))

# Separate response: empty ACK, then CON with our token -> empty ACK with its MID; a
# duplicate of it gets the same ACK again and is not delivered twice.
ep = Endpoint(rng=zeros, response_timeout_ms=5000)
ex = ep.request(GET, "slow", now=0)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(Message(ACK, 0, req.mid).encode(), 100)
check("empty ack stops retransmission", ep.next_deadline() == 5100)
sep = Message(CON, 0x45, 0x7777, req.token, payload=b"late").encode()
ep.receive(sep, 200)
out = ep.pop_datagrams()
check("separate acked", out == [Message(ACK, 0, 0x7777).encode()] and ex.result().separate)
ep.receive(sep, 300)
check("duplicate re-acked", ep.pop_datagrams() == out and ep.duplicates == 1)

# No separate response in time.
ex = ep.request(GET, "slow", now=1000)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(Message(ACK, 0, req.mid).encode(), 1100)
ep.handle_timer(6100)
check("separate timeout", isinstance(ex.error, CoAPTimeout))

# Unknown token in a CON response, a CoAP ping and a CON request all get RST.
for m in (Message(CON, 0x45, 0x100, b"nope", payload=b"x"), Message(CON, 0, 0x101),
          Message(CON, GET, 0x102, b"")):
    ep.receive(m.encode(), 7000)
    check("rst %d" % m.mid, ep.pop_datagrams() == [Message(RST, 0, m.mid).encode()])
# A NON with unknown token is ignored; a malformed CON is rejected with RST (§4.2).
ep.receive(Message(NON, 0x45, 0x103, b"nope", payload=b"x").encode(), 7000)
check("non ignored", ep.pop_datagrams() == [])
ep.receive(bytes([0x40, 0x45, 0x01, 0x04, 0xF1]), 7000)     # option delta nibble 15
check("malformed con", ep.pop_datagrams() == [Message(RST, 0, 0x104).encode()])

# Unrecognized critical option (odd number) in a response: the request fails (§5.4.1).
ex = ep.request(GET, "x", now=8000)
req = Message.decode(ep.pop_datagrams()[0])
bad = Message(ACK, 0x45, req.mid, req.token)
bad.add_option(9, b"?")
ep.receive(bad.encode(), 8001)
check("critical option", ex.error is not None and "critical option 9" in str(ex.error))

# Block2: reassembly, next-block requests, ETag change detected.
def block_response(req, num, more, szx, data, etag=b"e1"):
    m = Message(ACK, 0x45, req.mid, req.token, payload=data)
    m.add_option(ETAG, etag)
    m.add_option(BLOCK2, block_value(num, more, szx))
    return m.encode()

ep = Endpoint(rng=zeros)
ex = ep.request(GET, "big", now=0)
body = bytes(range(256)) * 2 + b"tail"
nums = []
while not ex.done:
    req = Message.decode(ep.pop_datagrams()[0])
    b2 = req.option(BLOCK2)
    num = parse_block(b2)[0] if b2 is not None else 0
    nums.append(num)
    chunk = body[num * 128:(num + 1) * 128]
    ep.receive(block_response(req, num, (num + 1) * 128 < len(body), 3, chunk), 1)
check("block2", ex.result().payload == body and nums == [0, 1, 2, 3, 4])

ex = ep.request(GET, "big", now=0)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(block_response(req, 0, True, 3, body[:128]), 1)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(block_response(req, 1, True, 3, body[128:256], etag=b"e2"), 2)
check("etag change", ex.error is not None and "ETag" in str(ex.error))

ep = Endpoint(rng=zeros, max_body=200)
ex = ep.request(GET, "big", now=0)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(block_response(req, 0, True, 3, body[:128]), 1)
req = Message.decode(ep.pop_datagrams()[0])
ep.receive(block_response(req, 1, True, 3, body[128:256]), 2)
check("max_body", ex.error is not None and "max_body" in str(ex.error))

# Block1: a 300-byte payload with max_message 128 goes out in 64-byte blocks; the
# server asks for 32-byte blocks after the first (late negotiation, RFC 7959 §2.5).
ep = Endpoint(rng=zeros, max_message=128)
payload = bytes(range(150)) * 2
ex = ep.request(PUT, "up", payload, now=0)
got = b""
while not ex.done:
    req = Message.decode(ep.pop_datagrams()[0])
    num, more, szx = parse_block(req.option(BLOCK1))
    check("block1 offset %d" % num, len(got) == num * (16 << szx))
    got += req.payload
    if more:
        rsp = Message(ACK, CONTINUE, req.mid, req.token)
        rsp.add_option(BLOCK1, block_value(num, True, min(szx, 1)))
    else:
        rsp = Message(ACK, 0x44, req.mid, req.token)
    ep.receive(rsp.encode(), 1)
check("block1", got == payload and ex.result().code_text == "2.04")

# NSTART=1: the second request waits until the first is done.
ep = Endpoint(rng=zeros)
a = ep.request(GET, "a", now=0)
b = ep.request(GET, "b", now=0)
out = ep.pop_datagrams()
check("nstart queued", len(out) == 1)
req = Message.decode(out[0])
ep.receive(Message(ACK, 0x45, req.mid, req.token).encode(), 1)
check("nstart next", a.done and len(ep.pop_datagrams()) == 1 and not b.done)

# Message IDs increase by one; tokens differ.
ep = Endpoint(nstart=3)
ep.request(GET, "a")
m1 = Message.decode(ep.pop_datagrams()[0])
ep.request(GET, "b")
m2 = Message.decode(ep.pop_datagrams()[0])
check("mid sequence", m2.mid == (m1.mid + 1) & 0xFFFF and m1.token != m2.token
      and len(m1.token) == 4)
"""


def test_endpoint_rules_inside_micropython():
    out = mp.check_code(UNITS)
    lines = out.splitlines()
    assert lines and all(line.endswith(" ok") for line in lines), out
    assert len(lines) >= 30, out


MESSAGES = r"""
from coap.message import *
from coap.message import block_value, parse_block, uint_bytes
import coap

def check(name, cond):
    print(name, "ok" if cond else "FAIL")

# Header (RFC 7252 §3): Ver=1, T=CON, TKL=2, Code=0.01, MID=0x1234, token, then one
# Uri-Path "time": delta 11, length 4.
m = Message(CON, GET, 0x1234, b"\xa1\xb2")
m.add_option(URI_PATH, "time")
check("get time", m.encode() == b"\x42\x01\x12\x34\xa1\xb2\xb4time")

# Extended delta/length (§3.1): delta 13 -> one extra byte minus 13, 14 -> two bytes
# minus 269. Option 300 after Uri-Path (11) with a 300-byte value: delta 289 and
# length 300, nibbles 14/14, then 289-269 = 0x0014 and 300-269 = 0x001f.
m = Message(NON, POST, 1)
m.add_option(300, b"v" * 300)
m.add_option(URI_PATH, "p")          # added later, encoded first (sorted)
enc = m.encode()
check("extended", enc[4:6] == b"\xb1p" and enc[6:11] == b"\xee\x00\x14\x00\x1f"
      and Message.decode(enc).option(300) == b"v" * 300)
m = Message(CON, GET, 2)
m.add_option(URI_QUERY, "x" * 20)    # delta 15 < 269 -> nibble 13, extra byte 2;
enc = m.encode()                       # length 20 -> nibble 13, extra byte 7
check("ext13", enc[4:7] == b"\xdd\x02\x07")

# Repeated options keep their order; payload after 0xFF.
m = Message(CON, PUT, 3, options=[(URI_PATH, b"a"), (URI_PATH, b"b")], payload=b"x")
d = Message.decode(m.encode())
check("repeat", d.option_values(URI_PATH) == [b"a", b"b"] and d.payload == b"x")

# uint options are minimal (§3.2).
check("uint", uint_bytes(0) == b"" and uint_bytes(255) == b"\xff"
      and uint_bytes(256) == b"\x01\x00")
# Block option (RFC 7959 §2.2): NUM << 4 | M << 3 | SZX.
check("block", block_value(0, False, 6) == b"\x06" and block_value(1, True, 2) == b"\x1a"
      and parse_block(b"\x1a") == (1, True, 2))

def bad(data):
    try:
        Message.decode(data)
    except MessageFormatError:
        return True
    return False

check("reserved tkl", bad(b"\x49\x01\x00\x01" + b"t" * 9))
check("version 2", bad(b"\x80\x01\x00\x01"))
check("short", bad(b"\x40\x01\x00"))
check("marker no payload", bad(b"\x40\x45\x00\x01\xff"))
check("empty with token", bad(b"\x41\x00\x00\x01\x00"))
check("length 15", bad(b"\x40\x45\x00\x01\x1f"))
check("option past end", bad(b"\x40\x45\x00\x01\x14ab"))
check("truncated token", bad(b"\x44\x45\x00\x01ab"))
check("block szx 7", not bad(b"\x40\x45\x00\x01\xd1\x0a\x07"))  # decodes; parse_block refuses
try:
    parse_block(b"\x07")
    check("szx7", False)
except MessageFormatError:
    check("szx7", True)

# URIs (RFC 7252 §6.4).
check("uri", coap.split_uri("coaps://example.com/a/b%20c?x=1&y") ==
      ("coaps", "example.com", 5684, ["a", "b c"], ["x=1", "y"]))
check("uri v6", coap.split_uri("coaps://[::1]:7000") == ("coaps", "::1", 7000, [], []))
check("uri default coap", coap.split_uri("coap://h/") == ("coap", "h", 5683, [], []))
for u in ("http://h/", "coaps://h/#f", "coaps://", "coaps://h:99999/", "coaps://h/%zz"):
    try:
        coap.split_uri(u)
        check("bad uri " + u, False)
    except ValueError:
        check("bad uri " + u, True)
check("code name", code_name(0x45) == "2.05 Content" and code_text(0x84) == "4.04")
"""


def test_message_encoding_inside_micropython():
    out = mp.check_code(MESSAGES)
    lines = out.splitlines()
    assert lines and all(line.endswith(" ok") for line in lines), out
    assert len(lines) >= 24, out
