"""DTLS handshake message framing (RFC 6347 §4.2.2-§4.2.3): headers, fragmentation on
send, reassembly on receive, and a bounds-checked reader for message bodies."""
import struct

from .const import DECODE_ERROR, HS_HEADER_LEN, INTERNAL_ERROR, UNEXPECTED_MESSAGE
from .errors import DTLSError


class Reader:
    """Bounds-checked reader over a message body; every overrun is decode_error."""

    def __init__(self, data):
        self.buf = memoryview(data)
        self.pos = 0

    def remaining(self):
        return len(self.buf) - self.pos

    def take(self, n):
        if n > len(self.buf) - self.pos:
            raise DTLSError("truncated message", DECODE_ERROR)
        v = self.buf[self.pos:self.pos + n]
        self.pos += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        b = self.take(2)
        return (b[0] << 8) | b[1]

    def u32(self):
        b = self.take(4)
        return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]

    def u24(self):
        b = self.take(3)
        return (b[0] << 16) | (b[1] << 8) | b[2]

    def vec8(self):
        return self.take(self.u8())

    def vec16(self):
        return self.take(self.u16())

    def vec24(self):
        return self.take(self.u24())

    def end(self):
        if self.pos != len(self.buf):
            raise DTLSError("trailing bytes in message", DECODE_ERROR)


def vec8(data):
    return bytes((len(data),)) + data


def vec16(data):
    return struct.pack(">H", len(data)) + data


def header(msg_type, length, seq, frag_off, frag_len):
    return struct.pack(">BBHHBHBH", msg_type, length >> 16, length & 0xFFFF, seq,
                       frag_off >> 16, frag_off & 0xFFFF, frag_len >> 16, frag_len & 0xFFFF)


def full_message(msg_type, seq, body):
    """The message as one unfragmented piece: what is sent when it fits and what enters the
    handshake hash (RFC 6347 §4.2.6)."""
    return header(msg_type, len(body), seq, 0, len(body)) + body


def fragments(msg_type, seq, body, max_fragment):
    """Splits a message into fragments of at most max_fragment body bytes (RFC 6347 §4.2.3)."""
    if max_fragment < 1:
        raise DTLSError("maximum record size too small for a handshake fragment", INTERNAL_ERROR)
    n = len(body)
    if n <= max_fragment:
        return [full_message(msg_type, seq, body)]
    out = []
    off = 0
    while off < n:
        chunk = body[off:off + max_fragment]
        out.append(header(msg_type, n, seq, off, len(chunk)) + chunk)
        off += len(chunk)
    return out


def parse_fragments(payload):
    """Yields (msg_type, length, seq, frag_off, frag_body) for each fragment in a handshake
    record. Several fragments may share a record. Raises decode_error on framing faults
    (the caller drops such records silently before the handshake is authenticated)."""
    mv = memoryview(payload)
    pos = 0
    end = len(mv)
    out = []
    while pos < end:
        if end - pos < HS_HEADER_LEN:
            raise DTLSError("truncated handshake header", DECODE_ERROR)
        t, l_hi, l_lo, seq, o_hi, o_lo, f_hi, f_lo = struct.unpack_from(">BBHHBHBH", mv, pos)
        length = (l_hi << 16) | l_lo
        off = (o_hi << 16) | o_lo
        flen = (f_hi << 16) | f_lo
        pos += HS_HEADER_LEN
        if flen > end - pos or off + flen > length:
            raise DTLSError("bad handshake fragment", DECODE_ERROR)
        out.append((t, length, seq, off, mv[pos:pos + flen]))
        pos += flen
    return out


class _Partial:
    """One message being reassembled: body buffer and the sorted, merged ranges received."""

    def __init__(self, msg_type, length):
        self.msg_type = msg_type
        self.body = bytearray(length)
        self.ranges = []

    def add(self, off, frag):
        end = off + len(frag)
        self.body[off:end] = frag
        merged = []
        for a, b in self.ranges:
            if b < off or a > end:
                merged.append((a, b))
            else:
                off = min(a, off)
                end = max(b, end)
        merged.append((off, end))
        merged.sort()
        self.ranges = merged

    def complete(self):
        return self.ranges == [(0, len(self.body))]


class Reassembler:
    """Collects fragments of the peer's handshake messages and releases whole messages in
    message_seq order (RFC 6347 §4.2.2). Memory is bounded: at most `window` messages ahead
    of the next expected one are kept, each at most `max_length` bytes, all together at most
    `budget` bytes (default twice max_length)."""

    def __init__(self, max_length, window=8, budget=0):
        self.next_seq = 0
        self.max_length = max_length
        self.budget = budget or 2 * max_length
        self.window = window
        self._partial = {}
        self.oversize = 0

    def reset(self, next_seq):
        self.next_seq = next_seq
        self._partial = {}

    def add(self, msg_type, length, seq, off, frag):
        """Stores a fragment. Returns False for fragments of messages already released
        (a retransmission by the peer), True otherwise."""
        if seq < self.next_seq:
            return False
        if seq >= self.next_seq + self.window:
            return True  # too far ahead: drop, the peer will retransmit
        # Nothing here is authenticated yet, so anything odd is dropped rather than fatal:
        # one spoofed datagram must not end a handshake (RFC 6347 §4.1.2.7). An oversized
        # message is remembered so that a timeout can say why.
        if length > self.max_length:
            self.oversize = length
            return True
        part = self._partial.get(seq)
        if part is not None and (part.msg_type != msg_type or len(part.body) != length):
            # Fragments that disagree on the message: one of them is forged. Keep the newer,
            # so a genuine retransmission always replaces a forged partial message instead
            # of being dropped behind it for the rest of the handshake.
            del self._partial[seq]
            part = None
        if part is None:
            held = 0
            for p in self._partial.values():
                held += len(p.body)
            if held + length > self.budget:
                return True
            part = _Partial(msg_type, length)
            self._partial[seq] = part
        part.add(off, frag)
        return True

    def pop(self):
        """Returns (msg_type, seq, body) of the next complete message in order, or None."""
        part = self._partial.get(self.next_seq)
        if part is None or not part.complete():
            return None
        del self._partial[self.next_seq]
        seq = self.next_seq
        self.next_seq += 1
        return part.msg_type, seq, bytes(part.body)


def expect(msg_type, allowed, what):
    if msg_type not in allowed:
        raise DTLSError("unexpected handshake message %d while waiting for %s" % (msg_type, what),
                        UNEXPECTED_MESSAGE)
