"""A scripted DTLS 'server' for tests: raw bytes on 127.0.0.1, built with struct from the
RFC layouts (independently of lib/dtls), to check the client's reaction to exact messages."""
import socket
import struct
import threading


def record(ctype, body, epoch=0, seq=0, version=0xFEFD):
    return struct.pack(">BHHHIH", ctype, version, epoch, seq >> 32, seq & 0xFFFFFFFF,
                       len(body)) + body


def handshake(msg_type, body, seq=0):
    n = len(body)
    return struct.pack(">B", msg_type) + n.to_bytes(3, "big") + struct.pack(">H", seq) + \
        (0).to_bytes(3, "big") + n.to_bytes(3, "big") + body


def server_hello(version=0xFEFD, suite=0xC0A8, compression=0, extensions=None,
                 session_id=b""):
    body = struct.pack(">H", version) + bytes(range(32)) + bytes([len(session_id)]) + \
        session_id + struct.pack(">HB", suite, compression)
    if extensions is not None:
        body += struct.pack(">H", len(extensions)) + extensions
    return body


def parse_records(datagram):
    out = []
    pos = 0
    while pos + 13 <= len(datagram):
        ctype, version, epoch, shi, slo, length = struct.unpack_from(">BHHHIH", datagram, pos)
        out.append((ctype, epoch, datagram[pos + 13:pos + 13 + length]))
        pos += 13 + length
    return out


def parse_client_hello(rec_body):
    """Returns a dict of the ClientHello fields (RFC 5246 §7.4.1.2, RFC 6347 §4.2.1)."""
    msg_type = rec_body[0]
    assert msg_type == 1
    length = int.from_bytes(rec_body[1:4], "big")
    body = rec_body[12:12 + length]
    p = 0
    version = struct.unpack_from(">H", body, p)[0]
    p += 2
    random = body[p:p + 32]
    p += 32
    sid = body[p + 1:p + 1 + body[p]]
    p += 1 + body[p]
    cookie = body[p + 1:p + 1 + body[p]]
    p += 1 + body[p]
    n = struct.unpack_from(">H", body, p)[0]
    suites = [struct.unpack_from(">H", body, p + 2 + 2 * i)[0] for i in range(n // 2)]
    p += 2 + n
    comps = body[p + 1:p + 1 + body[p]]
    p += 1 + body[p]
    exts = {}
    if p < len(body):
        total = struct.unpack_from(">H", body, p)[0]
        p += 2
        end = p + total
        while p < end:
            t, n = struct.unpack_from(">HH", body, p)
            exts[t] = body[p + 4:p + 4 + n]
            p += 4 + n
        assert p == len(body)
    return {"version": version, "random": random, "session_id": sid, "cookie": cookie,
            "suites": suites, "compression": comps, "extensions": exts,
            "message_seq": struct.unpack_from(">H", rec_body, 4)[0]}


class UdpThreadServer:
    """A UDP socket on 127.0.0.1 (any free port) served by a daemon thread: every datagram
    is answered with the datagrams self.answer(data, addr) returns. Subclasses set their
    own attributes before calling this __init__, which starts the thread."""

    def __init__(self, poll_s=0.1):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(poll_s)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def answer(self, data, addr):
        raise NotImplementedError

    def _run(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            for out in self.answer(data, addr) or ():
                self.sock.sendto(out, addr)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ScriptedServer(UdpThreadServer):
    """Answers each datagram with handler(datagram, index) -> list of datagrams.
    Every datagram received is kept in .received."""

    def __init__(self, handler):
        self.handler = handler
        self.received = []
        super().__init__()

    def answer(self, data, addr):
        self.received.append(data)
        return self.handler(data, len(self.received) - 1)

    def alerts(self):
        """(level, description) of every plaintext alert record received."""
        out = []
        for d in self.received:
            for ctype, epoch, body in parse_records(d):
                if ctype == 21 and epoch == 0 and len(body) == 2:
                    out.append((body[0], body[1]))
        return out
