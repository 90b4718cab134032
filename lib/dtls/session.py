"""A resumable session (RFC 5246 §7.4.1.2 session IDs, RFC 5077 tickets; RFC 7925 §7) and its
export to bytes, so a device can resume after deep sleep from RTC memory or flash.

The exported blob CONTAINS THE MASTER SECRET: whoever reads it can decrypt the sessions
resumed from it. Keep it where the device keeps its PSK or private key. With `key` the blob is
authenticated (HMAC-SHA256); without, a SHA-256 checksum only detects corruption.

Blob layout (version 1), all integers big-endian:
    b"mdS" | version 1 | flags (bit 0: extended master secret, bit 1: HMAC) | suite u16
    | session_id vec8 | master secret 48 bytes | ticket vec16 | ticket lifetime u32
    | 32-byte tag: HMAC-SHA256(key, everything before) or SHA-256(everything before)
"""
import hashlib
import struct

from .const import SUITES
from .hmac import hmac_sha256
from .keys import equal_ct

_MAGIC = b"mdS"
_VERSION = 1
_FLAG_EMS = 1
_FLAG_HMAC = 2
_TAG_LEN = 32
_MAX_TICKET = 2048  # RFC 5077 allows 64 KB; a device has no room for tickets that large


class Session:
    """suite, session_id (bytes, may be empty with a ticket), master (48 bytes), ems (bool),
    ticket (bytes, empty without RFC 5077), lifetime (seconds, the server's hint)."""

    def __init__(self, suite, session_id, master, ems, ticket=b"", lifetime=0):
        self.suite = suite
        self.session_id = bytes(session_id)
        self.master = bytes(master)
        self.ems = ems
        self.ticket = bytes(ticket)
        self.lifetime = lifetime

    def resumable(self):
        return bool(self.session_id) or bool(self.ticket)

    def to_bytes(self, key=None):
        flags = (_FLAG_EMS if self.ems else 0) | (_FLAG_HMAC if key else 0)
        body = _MAGIC + struct.pack(">BBH", _VERSION, flags, self.suite) + \
            bytes((len(self.session_id),)) + self.session_id + self.master + \
            struct.pack(">H", len(self.ticket)) + self.ticket + struct.pack(">I", self.lifetime)
        return body + _tag(body, key)

    @classmethod
    def from_bytes(cls, blob, key=None):
        """Validates and parses an exported session; ValueError if it is damaged, forged
        (with key), of another version, or names a suite this build does not have."""
        blob = bytes(blob)
        if len(blob) < 3 + 4 + 1 + 48 + 2 + 4 + _TAG_LEN or blob[:3] != _MAGIC:
            raise ValueError("not a session blob")
        body, tag = blob[:-_TAG_LEN], blob[-_TAG_LEN:]
        version, flags, suite = struct.unpack_from(">BBH", body, 3)
        if version != _VERSION:
            raise ValueError("session blob version %d not supported" % version)
        if bool(flags & _FLAG_HMAC) != bool(key):
            raise ValueError("session blob was %s a key" % (
                "exported with" if flags & _FLAG_HMAC else "exported without"))
        if not equal_ct(tag, _tag(body, key)):
            raise ValueError("session blob does not verify")
        pos = 7
        sid_len = body[pos]
        pos += 1
        if sid_len > 32:
            raise ValueError("bad session id")
        session_id = body[pos:pos + sid_len]
        pos += sid_len
        master = body[pos:pos + 48]
        pos += 48
        if pos + 2 > len(body):
            raise ValueError("truncated session blob")
        tlen = struct.unpack_from(">H", body, pos)[0]
        pos += 2
        if tlen > _MAX_TICKET or pos + tlen + 4 != len(body):
            raise ValueError("bad ticket length")
        ticket = body[pos:pos + tlen]
        lifetime = struct.unpack_from(">I", body, pos + tlen)[0]
        if suite not in SUITES or len(master) != 48:
            raise ValueError("bad session contents")
        return cls(suite, session_id, master, bool(flags & _FLAG_EMS), ticket, lifetime)


def _tag(body, key):
    if key:
        return hmac_sha256(key, body)
    return hashlib.sha256(body).digest()
