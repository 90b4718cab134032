"""Recorded server flights of one genuine PSK handshake, mutations of them, and a replay of
(mutated) flights into the sans-I/O client. Used by tests_host/test_fuzz.py (hypothesis,
and the corpus replayed inside MicroPython) and tools/fuzz.py (atheris). CPython only,
except REPLAY_MP, the MicroPython side of the replay.

Both sides are deterministic (fixed client and server randoms, fixed cookie), so the
server's datagrams of one conversation are valid for every fresh client: the script is
    [HelloVerifyRequest, flight 4, flight 6, one application record]
and a client fed these in order, ignoring what it sends, completes the handshake and gets
the record. A mutated script must end in `connected` or a DTLSError, never anything else.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import psk_server as ps  # noqa: E402
import dtls  # noqa: E402
from dtls.client import Client  # noqa: E402
from dtls.errors import DTLSError  # noqa: E402

CLIENT_RANDOM = bytes(range(1, 33))
APP_DATA = b"application data from the server"


HEARTBEAT_PAYLOAD = b"heartbeat-payload"
# "psk": the plain PSK handshake; "psk-heartbeat": heartbeat negotiated (RFC 6520) and a
# HeartbeatRequest from the server after the handshake.
VARIANTS = ("psk", "psk-heartbeat")


def client_context(variant="psk"):
    return dtls.Context(psk=(ps.PSK_IDENTITY, ps.PSK_KEY), rng=lambda n: CLIENT_RANDOM[:n],
                        handshake_timeout_ms=10000, heartbeat=variant == "psk-heartbeat")


def record_script(variant="psk"):
    """Runs the genuine conversation; returns (server datagrams in order, server core)."""
    client = Client(client_context(variant))
    server = ps.ServerCore(heartbeat_mode=1 if variant == "psk-heartbeat" else None)
    script = []
    client.start(0)
    for _ in range(10):
        out = client.pop_datagrams()
        if not out:
            break
        for d in out:
            for reply in server.receive(d):
                script.append(reply)
                client.receive(reply, 0)
    assert client.connected, "genuine conversation did not complete"
    if variant == "psk-heartbeat":
        assert client.heartbeat_allowed
        request = b"\x01" + struct.pack(">H", len(HEARTBEAT_PAYLOAD)) + HEARTBEAT_PAYLOAD + \
            bytes(16)
        script.append(server.protected(ps.CT_HEARTBEAT, request))
    script.append(server.protected(ps.CT_APP, APP_DATA))
    return script, server


_SCRIPTS = {}


def genuine_script(variant="psk"):
    if variant not in _SCRIPTS:
        _SCRIPTS[variant] = record_script(variant)
    script, server = _SCRIPTS[variant]
    return list(script), server


def replay(script, now_step=0, variant="psk"):
    """Feeds the datagrams to a fresh client. Returns an outcome tuple:
    ("connected", [data received]) / ("open", state) when neither connected nor failed /
    ("error", class name, alert, alert_sent). Exceptions other than DTLSError propagate:
    they are bugs."""
    client = Client(client_context(variant))
    client.start(0)
    client.pop_datagrams()
    now = 0
    try:
        for d in script:
            now += now_step
            client.receive(d, now)
            client.pop_datagrams()
    except DTLSError as e:
        sent = client.pop_datagrams()
        return ("error", type(e).__name__, e.alert, len(sent) > 0)
    data = [ev[1] for ev in client.pop_events() if ev[0] == "data"]
    if client.connected:
        return ("connected", data)
    return ("open", client.state)


# ------------------------------------------------------------------ mutations

def records_of(datagram):
    """[(header 13 bytes, fragment)] of a datagram that parses completely."""
    out = []
    p = 0
    while p + 13 <= len(datagram):
        n = struct.unpack_from(">H", datagram, p + 11)[0]
        out.append((datagram[p:p + 13], datagram[p + 13:p + 13 + n]))
        p += 13 + n
    return out


def with_fragment(header, fragment):
    return header[:11] + struct.pack(">H", len(fragment)) + fragment


def mutate_handshake_body(datagram, record_index, position, value):
    """Sets one byte inside a plaintext handshake message body and fixes the record and
    handshake lengths, so that the change reaches the message parsers."""
    recs = records_of(datagram)
    if not recs:
        return datagram
    i = record_index % len(recs)
    header, frag = recs[i]
    if header[0] != ps.CT_HANDSHAKE or header[3:5] != b"\x00\x00" or len(frag) < 12:
        return datagram
    body = bytearray(frag[12:])
    if not body:
        body = bytearray(1)
    body[position % len(body)] = value
    hs = ps.hs_message(frag[0], struct.unpack_from(">H", frag, 4)[0], bytes(body))
    recs[i] = (header, hs)
    return b"".join(with_fragment(h, f) for h, f in recs)


def resize_handshake_body(datagram, record_index, new_len):
    """Truncates or extends (with zeros) a plaintext handshake body, lengths fixed."""
    recs = records_of(datagram)
    if not recs:
        return datagram
    i = record_index % len(recs)
    header, frag = recs[i]
    if header[0] != ps.CT_HANDSHAKE or header[3:5] != b"\x00\x00" or len(frag) < 12:
        return datagram
    body = frag[12:12 + new_len] + bytes(max(0, new_len - (len(frag) - 12)))
    hs = ps.hs_message(frag[0], struct.unpack_from(">H", frag, 4)[0], body)
    recs[i] = (header, hs)
    return b"".join(with_fragment(h, f) for h, f in recs)


def reseal(server, datagram, record_index, position, value):
    """Changes one plaintext byte of a protected (epoch 1) record and encrypts it again
    with the server's keys, so that the change passes the record layer."""
    recs = records_of(datagram)
    if not recs:
        return datagram
    i = record_index % len(recs)
    header, frag = recs[i]
    epoch = struct.unpack_from(">H", header, 3)[0]
    if epoch != 1:
        return datagram
    s8 = header[3:11]
    plain = _server_side_opener(server).open(s8, header[0], 0xFEFD, frag)
    if plain is None:
        return datagram
    plain = bytearray(plain) or bytearray(1)
    plain[position % len(plain)] = value
    sealed = server.write_cipher.seal(s8, header[0], 0xFEFD, bytes(plain))
    recs[i] = (header, sealed)
    return b"".join(with_fragment(h, f) for h, f in recs)


def _server_side_opener(server):
    """An EpochCipher that opens records the server sealed (same keys, server direction)."""
    from dtls.keys import key_block
    from dtls.record import EpochCipher
    ck, sk, civ, siv = key_block(server.master, server.client_random, server.server_random,
                                 16, 4)
    return EpochCipher(sk, siv, ps.TAG_LEN)


MUTATION_KINDS = ("flip", "byte", "truncate", "insert", "duplicate", "drop", "swap",
                  "body_byte", "body_len", "reseal", "splice")


def apply_mutation(script, server, kind, k, pos, val, data=b""):
    """One mutation of the script; k picks the datagram, pos/val the place and value."""
    s = list(script)
    k %= len(s)
    d = s[k]
    if kind == "flip":
        if d:
            b = bytearray(d)
            b[pos % len(b)] ^= 1 << (val % 8)
            s[k] = bytes(b)
    elif kind == "byte":
        if d:
            b = bytearray(d)
            b[pos % len(b)] = val & 0xFF
            s[k] = bytes(b)
    elif kind == "truncate":
        s[k] = d[:pos % (len(d) + 1)]
    elif kind == "insert":
        p = pos % (len(d) + 1)
        s[k] = d[:p] + (data or bytes([val & 0xFF])) + d[p:]
    elif kind == "duplicate":
        s.insert(k, d)
    elif kind == "drop":
        del s[k]
    elif kind == "swap":
        j = (k + 1) % len(s)
        s[k], s[j] = s[j], s[k]
    elif kind == "body_byte":
        s[k] = mutate_handshake_body(d, pos >> 8, pos & 0xFF, val & 0xFF)
    elif kind == "body_len":
        s[k] = resize_handshake_body(d, pos >> 8, val)
    elif kind == "reseal":
        s[k] = reseal(server, d, pos >> 8, pos & 0xFF, val & 0xFF)
    elif kind == "splice":
        s[k] = d + (data or bytes([val & 0xFF]))
    return s


# ------------------------------------------------------------------ MicroPython replay

# argv: corpus file [free bytes [variant]]. Reads the corpus case by case (u16 count of datagrams, then
# u16 length + bytes each; cases back to back), after leaving only `free bytes` of heap, and
# prints one outcome line per case plus the heap figures.
REPLAY_MP = r"""
import gc, sys, struct
import dtls
from dtls.client import Client
from dtls.errors import DTLSError
RANDOM = bytes(range(1, 33))
ctx = dtls.Context(psk=(b"Client_identity", bytes.fromhex("000102030405060708090a0b0c0d0e0f")),
                   rng=lambda n: RANDOM[:n], handshake_timeout_ms=10000,
                   heartbeat=len(sys.argv) > 3 and sys.argv[3] == "psk-heartbeat")
def outcome(script):
    c = Client(ctx)
    c.start(0)
    c.pop_datagrams()
    try:
        for d in script:
            c.receive(d, 0)
            c.pop_datagrams()
    except DTLSError as e:
        sent = c.pop_datagrams()
        return "error %s %s %s" % (type(e).__name__, e.alert, len(sent) > 0)
    except MemoryError:
        return "memoryerror"
    except Exception as e:
        return "CRASH %s %s" % (type(e).__name__, e)
    if c.connected:
        n = 0
        for ev in c.pop_events():
            if ev[0] == "data":
                n += 1
        return "connected %d" % n
    return "open %d" % c.state
def leave_free(limit):
    # Fill every free heap block except one contiguous region of `limit` bytes: on a board
    # the code is frozen in flash, here it sits in the heap, so this bounds what the
    # connections themselves may use whatever the size of the imported code.
    gc.collect()
    reserve = bytearray(limit - 64)
    ballast = [None] * 4096
    i = 0
    n = 1 << 20
    while n >= 16 and i < len(ballast):
        try:
            ballast[i] = bytearray(n)
            i += 1
        except MemoryError:
            n //= 2
    reserve = None
    gc.collect()
    return ballast
f = open(sys.argv[1], "rb")
ballast = leave_free(int(sys.argv[2])) if len(sys.argv) > 2 else None
gc.collect()
free_at_start = gc.mem_free()
base = gc.mem_alloc()
worst = 0
first = None
cases = 0
while True:
    head = f.read(2)
    if len(head) < 2:
        break
    script = []
    for i in range(struct.unpack(">H", head)[0]):
        m = struct.unpack(">H", f.read(2))[0]
        script.append(f.read(m))
    print(outcome(script))
    script = None
    gc.collect()
    kept = gc.mem_alloc() - base
    cases += 1
    if first is None:
        first = kept
    worst = max(worst, kept)
f.close()
print("heap free %d retained_first %d retained_max %d last %d cases %d" % (
    free_at_start, first, worst, kept, cases))
"""


def encode_corpus(cases):
    out = b""
    for script in cases:
        out += struct.pack(">H", len(script))
        for d in script:
            out += struct.pack(">H", len(d)) + d
    return out


def outcome_line(outcome):
    """The CPython outcome in REPLAY_MP's line format."""
    if outcome[0] == "error":
        return "error %s %s %s" % (outcome[1], outcome[2], outcome[3])
    if outcome[0] == "connected":
        return "connected %d" % len(outcome[1])
    return "open %d" % outcome[1]
