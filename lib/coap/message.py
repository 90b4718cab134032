"""CoAP messages (RFC 7252 §3): encoding, strict decoding, options and Block options.

    msg = Message(CON, GET, mid=0x1234, token=b"\\x01\\x02")
    msg.add_option(URI_PATH, "time")
    data = msg.encode()
    back = Message.decode(data)          # MessageFormatError if malformed
"""
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# Message types (RFC 7252 §3)
CON = const(0)
NON = const(1)
ACK = const(2)
RST = const(3)
TYPE_NAMES = ("CON", "NON", "ACK", "RST")

# Method codes (class 0) and the empty code (RFC 7252 §12.1.1)
EMPTY = const(0)
GET = const(1)
POST = const(2)
PUT = const(3)
DELETE = const(4)
METHODS = {"get": GET, "post": POST, "put": PUT, "delete": DELETE}

# Response codes used by the client logic (RFC 7252 §12.1.2, RFC 7959 §2.9)
CONTINUE = const(0x5F)       # 2.31
REQUEST_ENTITY_INCOMPLETE = const(0x88)   # 4.08
REQUEST_ENTITY_TOO_LARGE = const(0x8D)    # 4.13

_CODE_NAMES = {
    0x41: "Created", 0x42: "Deleted", 0x43: "Valid", 0x44: "Changed", 0x45: "Content",
    0x5F: "Continue",
    0x80: "Bad Request", 0x81: "Unauthorized", 0x82: "Bad Option", 0x83: "Forbidden",
    0x84: "Not Found", 0x85: "Method Not Allowed", 0x86: "Not Acceptable",
    0x88: "Request Entity Incomplete", 0x8C: "Precondition Failed",
    0x8D: "Request Entity Too Large", 0x8F: "Unsupported Content-Format",
    0xA0: "Internal Server Error", 0xA1: "Not Implemented", 0xA2: "Bad Gateway",
    0xA3: "Service Unavailable", 0xA4: "Gateway Timeout", 0xA5: "Proxying Not Supported",
}

# Option numbers (RFC 7252 §5.10, RFC 7641, RFC 7959)
IF_MATCH = const(1)
URI_HOST = const(3)
ETAG = const(4)
IF_NONE_MATCH = const(5)
OBSERVE = const(6)
URI_PORT = const(7)
LOCATION_PATH = const(8)
URI_PATH = const(11)
CONTENT_FORMAT = const(12)
MAX_AGE = const(14)
URI_QUERY = const(15)
ACCEPT = const(17)
LOCATION_QUERY = const(20)
BLOCK2 = const(23)
BLOCK1 = const(27)
SIZE2 = const(28)
PROXY_URI = const(35)
PROXY_SCHEME = const(39)
SIZE1 = const(60)
KNOWN_OPTIONS = (IF_MATCH, URI_HOST, ETAG, IF_NONE_MATCH, OBSERVE, URI_PORT, LOCATION_PATH,
                 URI_PATH, CONTENT_FORMAT, MAX_AGE, URI_QUERY, ACCEPT, LOCATION_QUERY,
                 BLOCK2, BLOCK1, SIZE2, PROXY_URI, PROXY_SCHEME, SIZE1)

# Content-Format numbers (RFC 7252 §12.3, RFC 8949)
TEXT_PLAIN = const(0)
LINK_FORMAT = const(40)
XML = const(41)
OCTET_STREAM = const(42)
JSON = const(50)
CBOR = const(60)
CONTENT_FORMATS = {"text": TEXT_PLAIN, "link": LINK_FORMAT, "xml": XML,
                   "octet": OCTET_STREAM, "json": JSON, "cbor": CBOR}

_PAYLOAD_MARKER = const(0xFF)


class CoAPError(Exception):
    """A CoAP exchange failed (no answer, reset, malformed or unusable response)."""


class MessageFormatError(CoAPError):
    """A datagram is not a well-formed CoAP message (RFC 7252 §3, §4.2)."""


def code_text(code):
    """'2.05' for 0x45 (class.detail, RFC 7252 §3)."""
    return "%d.%02d" % (code >> 5, code & 31)


def code_name(code):
    """'2.05 Content' for 0x45; unknown codes get only their number."""
    name = _CODE_NAMES.get(code)
    return code_text(code) + (" " + name if name else "")


def is_critical(number):
    """Odd option numbers are critical (RFC 7252 §5.4.1)."""
    return number & 1


def uint_bytes(value):
    """An option uint in the fewest bytes (RFC 7252 §3.2): 0 is the empty string."""
    if value < 0:
        raise ValueError("negative option value")
    out = b""
    while value:
        out = bytes((value & 0xFF,)) + out
        value >>= 8
    return out


def uint_value(data):
    if len(data) > 4:
        raise MessageFormatError("uint option longer than 4 bytes")
    v = 0
    for b in data:
        v = (v << 8) | b
    return v


def block_value(num, more, szx):
    """Block1/Block2 option value (RFC 7959 §2.2): NUM, M bit, SZX (size 2**(SZX+4))."""
    if not 0 <= szx <= 6:
        raise ValueError("SZX must be 0..6")
    if not 0 <= num < (1 << 20):
        raise ValueError("block number out of range")
    return uint_bytes((num << 4) | (8 if more else 0) | szx)


def parse_block(data):
    """(num, more, szx) from a Block option value; SZX 7 is reserved (RFC 7959 §2.2)."""
    if len(data) > 3:
        raise MessageFormatError("block option longer than 3 bytes")
    v = uint_value(data)
    szx = v & 7
    if szx == 7:
        raise MessageFormatError("reserved block size (SZX 7)")
    return v >> 4, bool(v & 8), szx


def _option_bytes(value):
    if isinstance(value, int):
        return uint_bytes(value)
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def _nibble(n):
    """(nibble, extended bytes) for an option delta or length (RFC 7252 §3.1)."""
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes((n - 13,))
    if n < 65805:
        n -= 269
        return 14, bytes((n >> 8, n & 0xFF))
    raise ValueError("option delta/length too large")


class Message:
    """One CoAP message. options: list of (number, bytes) in the order added; encode()
    sorts them by number, keeping the order of repeated options (RFC 7252 §3.1)."""

    def __init__(self, mtype=CON, code=EMPTY, mid=0, token=b"", options=None, payload=b""):
        self.mtype = mtype
        self.code = code
        self.mid = mid
        self.token = token
        self.options = options if options is not None else []
        self.payload = payload

    def add_option(self, number, value=b""):
        self.options.append((number, _option_bytes(value)))

    def remove_option(self, number):
        self.options = [o for o in self.options if o[0] != number]

    def option(self, number, default=None):
        """The first value of an option (bytes), or default."""
        for n, v in self.options:
            if n == number:
                return v
        return default

    def option_values(self, number):
        return [v for n, v in self.options if n == number]

    def uint_option(self, number, default=None):
        v = self.option(number)
        return default if v is None else uint_value(v)

    def encode(self):
        if not 0 <= self.mid <= 0xFFFF:
            raise ValueError("message ID out of range")
        if len(self.token) > 8:
            raise ValueError("token longer than 8 bytes")
        out = bytearray((0x40 | (self.mtype << 4) | len(self.token), self.code,
                         self.mid >> 8, self.mid & 0xFF))
        out += self.token
        # Stable sort by number (insertion sort: option lists are short, and
        # MicroPython's sort is not guaranteed stable).
        opts = []
        for item in self.options:
            i = len(opts)
            while i and opts[i - 1][0] > item[0]:
                i -= 1
            opts.insert(i, item)
        last = 0
        for number, value in opts:
            dn, dx = _nibble(number - last)
            ln, lx = _nibble(len(value))
            out.append((dn << 4) | ln)
            out += dx
            out += lx
            out += value
            last = number
        if self.payload:
            out.append(_PAYLOAD_MARKER)
            out += self.payload
        return bytes(out)

    @staticmethod
    def decode(data):
        """Parses a datagram; raises MessageFormatError for anything RFC 7252 §3 does not
        allow (the caller answers a malformed CON with RST, §4.2)."""
        n = len(data)
        if n < 4:
            raise MessageFormatError("shorter than the 4-byte header")
        b0 = data[0]
        if b0 >> 6 != 1:
            raise MessageFormatError("not CoAP version 1")
        tkl = b0 & 0x0F
        if tkl > 8:
            raise MessageFormatError("token length %d is reserved" % tkl)
        msg = Message((b0 >> 4) & 3, data[1], (data[2] << 8) | data[3])
        pos = 4 + tkl
        if pos > n:
            raise MessageFormatError("truncated token")
        msg.token = bytes(data[4:pos])
        if msg.code == EMPTY:
            # RFC 7252 §4.1: nothing may follow the Message ID of an Empty message.
            if tkl or n != 4:
                raise MessageFormatError("empty message with token, options or payload")
            return msg
        number = 0
        options = msg.options
        while pos < n:
            b = data[pos]
            pos += 1
            if b == _PAYLOAD_MARKER:
                if pos == n:
                    raise MessageFormatError("payload marker without payload")
                msg.payload = bytes(data[pos:])
                break
            delta = b >> 4
            length = b & 0x0F
            delta, pos = _extended(data, pos, delta, "delta")
            length, pos = _extended(data, pos, length, "length")
            if pos + length > n:
                raise MessageFormatError("option runs past the end of the message")
            number += delta
            options.append((number, bytes(data[pos:pos + length])))
            pos += length
        return msg

    def __repr__(self):
        return "<Message %s %s mid=%d token=%s options=%r payload=%d bytes>" % (
            TYPE_NAMES[self.mtype], code_text(self.code), self.mid, self.token.hex(),
            self.options, len(self.payload))


def _extended(data, pos, nibble, what):
    if nibble < 13:
        return nibble, pos
    if nibble == 13:
        if pos + 1 > len(data):
            raise MessageFormatError("truncated option " + what)
        return data[pos] + 13, pos + 1
    if nibble == 14:
        if pos + 2 > len(data):
            raise MessageFormatError("truncated option " + what)
        return ((data[pos] << 8) | data[pos + 1]) + 269, pos + 2
    raise MessageFormatError("option %s nibble 15 is reserved" % what)
