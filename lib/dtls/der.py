"""Minimal, strict DER reader (ITU-T X.690 §8 and §10) for certificates and keys.

Positions, not objects: every reader takes (buf, start, end) and returns offsets into
`buf`, so nothing is copied until the caller asks for bytes. Callers walk the fixed
structure of a certificate explicitly; nothing here recurses. Every malformed input
raises ValueError and nothing else (the DTLS client maps that to bad_certificate).

Only what X.509 and EC keys need: single-octet tags, definite lengths of at most 4
octets, INTEGER, BOOLEAN, OID, BIT STRING, OCTET STRING, NULL, UTCTime and
GeneralizedTime.
"""
try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

# Universal tags (X.680 §8.4); constructed SEQUENCE/SET carry bit 0x20.
TAG_BOOLEAN = const(0x01)
TAG_INTEGER = const(0x02)
TAG_BIT_STRING = const(0x03)
TAG_OCTET_STRING = const(0x04)
TAG_NULL = const(0x05)
TAG_OID = const(0x06)
TAG_UTF8_STRING = const(0x0C)
TAG_PRINTABLE_STRING = const(0x13)
TAG_IA5_STRING = const(0x16)
TAG_UTC_TIME = const(0x17)
TAG_GENERALIZED_TIME = const(0x18)
TAG_SEQUENCE = const(0x30)
TAG_SET = const(0x31)


def context(n, constructed=True):
    """Tag octet of a context-specific [n] element (n < 31)."""
    return (0xA0 if constructed else 0x80) | n


def read_tlv(buf, pos, end):
    """Read the element at buf[pos:end].

    Returns (tag, content_start, content_end); the next element starts at content_end.
    X.690 §10.1: lengths must be definite and in the minimal number of octets.
    """
    if pos < 0 or pos + 2 > end or end > len(buf):
        raise ValueError("DER: truncated element")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("DER: multi-octet tags not supported")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0:
            raise ValueError("DER: indefinite length")
        if n > 4:
            raise ValueError("DER: length of more than 4 octets")
        if pos + n > end:
            raise ValueError("DER: truncated length")
        if buf[pos] == 0:
            raise ValueError("DER: non-minimal length")
        length = 0
        for i in range(n):
            length = (length << 8) | buf[pos + i]
        pos += n
        if length < 0x80:
            raise ValueError("DER: long form for a short length")
    if length > end - pos:
        raise ValueError("DER: length beyond buffer")
    return tag, pos, pos + length


def expect(buf, pos, end, tag):
    """Read an element that must carry `tag`; returns (content_start, content_end)."""
    t, s, e = read_tlv(buf, pos, end)
    if t != tag:
        raise ValueError("DER: expected tag 0x%02x, got 0x%02x" % (tag, t))
    return s, e


def expect_sequence(buf, pos, end):
    return expect(buf, pos, end, TAG_SEQUENCE)


def expect_end(pos, end):
    """Fail if anything is left after the last expected element."""
    if pos != end:
        raise ValueError("DER: unexpected trailing data")


def children(buf, start, end, limit=64):
    """Yield (tag, content_start, content_end) for each element in buf[start:end].

    `limit` bounds the number of children (a hostile SEQUENCE of empty elements
    would otherwise cost work proportional to its length for nothing).
    """
    count = 0
    while start < end:
        count += 1
        if count > limit:
            raise ValueError("DER: too many elements")
        tag, s, e = read_tlv(buf, start, end)
        yield tag, s, e
        start = e


def element_bytes(buf, pos, end):
    """The full TLV encoding (tag, length, content) at pos as bytes, and its end."""
    _, _, e = read_tlv(buf, pos, end)
    return bytes(buf[pos:e]), e


def read_integer(buf, start, end, max_len=33):
    """Decode INTEGER contents (two's complement, X.690 §8.3) of buf[start:end].

    Rejects empty and non-minimal encodings (§8.3.2) and contents longer than max_len.
    """
    n = end - start
    if n <= 0:
        raise ValueError("DER: empty INTEGER")
    if n > max_len:
        raise ValueError("DER: INTEGER too long")
    b0 = buf[start]
    if n > 1:
        b1 = buf[start + 1]
        if (b0 == 0 and b1 < 0x80) or (b0 == 0xFF and b1 >= 0x80):
            raise ValueError("DER: non-minimal INTEGER")
    value = int.from_bytes(bytes(buf[start:end]), "big")
    if b0 >= 0x80:
        value -= 1 << (8 * n)
    return value


def read_uint(buf, start, end, max_len=33):
    """INTEGER contents that must be >= 0."""
    if end > start and buf[start] >= 0x80:
        raise ValueError("DER: negative INTEGER")
    return read_integer(buf, start, end, max_len)


def read_boolean(buf, start, end):
    """BOOLEAN contents; DER allows only 0x00 and 0xFF (X.690 §11.1)."""
    if end - start != 1:
        raise ValueError("DER: bad BOOLEAN length")
    v = buf[start]
    if v == 0:
        return False
    if v == 0xFF:
        return True
    raise ValueError("DER: BOOLEAN not 0x00/0xFF")


def read_null(buf, start, end):
    if end != start:
        raise ValueError("DER: NULL with content")


def read_oid(buf, start, end, max_len=32):
    """OBJECT IDENTIFIER contents as bytes, checked for well-formed base-128 arcs.

    OIDs are compared as raw content bytes against the constants callers hold.
    """
    n = end - start
    if n <= 0 or n > max_len:
        raise ValueError("DER: bad OID length")
    if buf[end - 1] & 0x80:
        raise ValueError("DER: truncated OID arc")
    prev = 0
    for i in range(start, end):
        b = buf[i]
        # X.690 §8.19.2: an arc must not start with the padding octet 0x80.
        if b == 0x80 and not (prev & 0x80):
            raise ValueError("DER: non-minimal OID arc")
        prev = b
    return bytes(buf[start:end])


def oid_to_str(oid):
    """Dotted form of OID content bytes, for messages only."""
    arcs = []
    value = 0
    for b in oid:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            if not arcs:
                first = 0 if value < 40 else (1 if value < 80 else 2)
                arcs.append(first)
                value -= first * 40
            arcs.append(value)
            value = 0
    return ".".join([str(a) for a in arcs])


def read_bit_string(buf, start, end):
    """BIT STRING contents: returns (unused_bits, data_start, data_end).

    X.690 §11.2: unused bits are 0..7, zero when empty, and must be zero-valued.
    """
    if end - start < 1:
        raise ValueError("DER: empty BIT STRING")
    unused = buf[start]
    if unused > 7:
        raise ValueError("DER: bad BIT STRING unused count")
    if unused:
        if end - start == 1:
            raise ValueError("DER: unused bits in empty BIT STRING")
        if buf[end - 1] & ((1 << unused) - 1):
            raise ValueError("DER: non-zero unused bits")
    return unused, start + 1, end


def read_octet_string(buf, pos, end):
    """Read an OCTET STRING element at pos; returns (content_start, content_end)."""
    return expect(buf, pos, end, TAG_OCTET_STRING)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _digits(buf, start, count):
    value = 0
    for i in range(start, start + count):
        d = buf[i] - 0x30
        if d < 0 or d > 9:
            raise ValueError("DER: non-digit in time")
        value = value * 10 + d
    return value


def read_time(buf, start, end, tag):
    """UTCTime or GeneralizedTime contents -> (year, month, day, hour, minute, second).

    RFC 5280 §4.1.2.5: UTCTime is YYMMDDHHMMSSZ, YY >= 50 means 19YY, else 20YY;
    GeneralizedTime is YYYYMMDDHHMMSSZ with no fractional seconds. Both in UTC.
    """
    n = end - start
    if tag == TAG_UTC_TIME:
        if n != 13:
            raise ValueError("DER: bad UTCTime length")
        year = _digits(buf, start, 2)
        year += 1900 if year >= 50 else 2000
        pos = start + 2
    elif tag == TAG_GENERALIZED_TIME:
        if n != 15:
            raise ValueError("DER: bad GeneralizedTime length")
        year = _digits(buf, start, 4)
        pos = start + 4
    else:
        raise ValueError("DER: not a time")
    if buf[end - 1] != 0x5A:  # 'Z'
        raise ValueError("DER: time not in UTC")
    month = _digits(buf, pos, 2)
    day = _digits(buf, pos + 2, 2)
    hour = _digits(buf, pos + 4, 2)
    minute = _digits(buf, pos + 6, 2)
    second = _digits(buf, pos + 8, 2)
    if month < 1 or month > 12 or day < 1 or hour > 23 or minute > 59 or second > 59:
        raise ValueError("DER: time field out of range")
    dim = _DAYS_IN_MONTH[month - 1]
    if month == 2 and _is_leap(year):
        dim = 29
    if day > dim:
        raise ValueError("DER: day out of range")
    return (year, month, day, hour, minute, second)


def _is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (no time module: the
    epoch of time.mktime differs between MicroPython ports)."""
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def time_to_seconds(t):
    """(y, m, d, H, M, S) in UTC -> seconds since 1970-01-01T00:00:00Z."""
    return ((days_from_civil(t[0], t[1], t[2]) * 24 + t[3]) * 60 + t[4]) * 60 + t[5]


def read_time_seconds(buf, pos, end):
    """Read a Time element (either type) at pos; returns (seconds, next_pos)."""
    tag, s, e = read_tlv(buf, pos, end)
    return time_to_seconds(read_time(buf, s, e, tag)), e


def read_ecdsa_signature(sig, max_int_len=33):
    """Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 §2.2 /
    RFC 5758 §3.2) -> (r, s), both required to be positive. Range checks against
    the group order belong to the verifier."""
    end = len(sig)
    s0, e0 = expect_sequence(sig, 0, end)
    expect_end(e0, end)
    rs, re = expect(sig, s0, e0, TAG_INTEGER)
    ss, se = expect(sig, re, e0, TAG_INTEGER)
    expect_end(se, e0)
    r = read_uint(sig, rs, re, max_int_len)
    s = read_uint(sig, ss, se, max_int_len)
    if r == 0 or s == 0:
        raise ValueError("DER: zero in ECDSA signature")
    return r, s
