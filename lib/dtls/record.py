"""DTLS 1.2 record layer (RFC 6347 §4.1) with AES-CCM protection (RFC 6655, RFC 5246 §6.2.3.3).

Only epochs 0 (plaintext) and 1 (the negotiated keys) exist: the client never renegotiates
(RFC 7925 §17), and resumption starts a new connection at epoch 0.
"""
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from .ccm import AesCcm
from .const import CT_TLS12_CID, DTLS_1_2, MAX_CIPHERTEXT, RECORD_HEADER_LEN
from .errors import DTLSError

_EXPLICIT_NONCE_LEN = const(8)
_REPLAY_WINDOW = const(64)
_WINDOW_MASK = const(0xFFFFFFFFFFFFFFFF)
_MAX_SEQ = const(0xFFFFFFFFFFFF)  # 48-bit sequence numbers


class ReplayWindow:
    """64-entry sliding window of accepted record sequence numbers (RFC 6347 §4.1.2.6).

    Only records that authenticated are marked, so forged records cannot move it."""

    def __init__(self):
        self.top = -1
        self.bits = 0

    def seen(self, seq):
        if seq > self.top:
            return False
        diff = self.top - seq
        if diff >= _REPLAY_WINDOW:
            return True  # too old to tell: treat as a replay
        return (self.bits >> diff) & 1 == 1

    def mark(self, seq):
        if seq > self.top:
            shift = seq - self.top
            self.bits = ((self.bits << shift) | 1) & _WINDOW_MASK if shift < _REPLAY_WINDOW else 1
            self.top = seq
        else:
            self.bits |= 1 << (self.top - seq)


class EpochCipher:
    """AES-CCM keys of one direction of one epoch.

    Nonce = 4-byte salt (client/server_write_IV) || 8-byte explicit nonce, and the explicit
    nonce we send is epoch||seq (RFC 6655 §3). AAD = epoch||seq || type || version || length
    of the plaintext (RFC 5246 §6.2.3.3 with the DTLS sequence number, RFC 6347 §4.1.2.1)."""

    def __init__(self, key, salt, tag_len):
        self._ccm = AesCcm(key, tag_len)
        self.tag_len = tag_len
        self._nonce = bytearray(12)
        self._nonce[0:4] = salt
        self._aad = bytearray(13)

    def overhead(self):
        return _EXPLICIT_NONCE_LEN + self.tag_len

    def seal(self, seq8, ctype, version, plaintext):
        """Returns the record fragment: explicit nonce || ciphertext || tag."""
        return bytes(seq8) + self.seal_body(seq8, ctype, version, plaintext)

    def seal_body(self, seq8, ctype, version, plaintext):
        """ciphertext || tag only (RecordLayer.protect writes the explicit nonce)."""
        self._nonce[4:12] = seq8
        aad = self._aad
        aad[0:8] = seq8
        struct.pack_into(">BHH", aad, 8, ctype, version, len(plaintext))
        return self._ccm.seal(self._nonce, aad, plaintext)

    def open(self, seq8, ctype, version, fragment):
        """Returns the plaintext, or None if the fragment does not authenticate."""
        plen = len(fragment) - _EXPLICIT_NONCE_LEN - self.tag_len
        if plen < 0:
            return None
        self._nonce[4:12] = fragment[0:_EXPLICIT_NONCE_LEN]
        aad = self._aad
        aad[0:8] = seq8
        struct.pack_into(">BHH", aad, 8, ctype, version, plen)
        return self._ccm.open(self._nonce, aad, fragment[_EXPLICIT_NONCE_LEN:])

    # RFC 9146 §5: a tls12_cid record authenticates a placeholder, the content type twice,
    # the CID and its length, and the length of the inner plaintext (content || type || pad).

    def _cid_aad(self, seq8, version, cid, inner_len):
        return b"\xff" * 8 + bytes((CT_TLS12_CID, len(cid), CT_TLS12_CID)) + \
            struct.pack(">H", version) + bytes(seq8) + bytes(cid) + struct.pack(">H", inner_len)

    def seal_cid(self, seq8, version, cid, inner):
        """As seal_body(), for a tls12_cid record."""
        self._nonce[4:12] = seq8
        return self._ccm.seal(self._nonce, self._cid_aad(seq8, version, cid, len(inner)), inner)

    def open_cid(self, seq8, version, cid, fragment):
        ilen = len(fragment) - _EXPLICIT_NONCE_LEN - self.tag_len
        if ilen < 0:
            return None
        self._nonce[4:12] = fragment[0:_EXPLICIT_NONCE_LEN]
        return self._ccm.open(self._nonce, self._cid_aad(seq8, version, cid, ilen),
                              fragment[_EXPLICIT_NONCE_LEN:])


def parse_datagram(datagram):
    """Splits a datagram into records (RFC 6347 §4.1: several records may share a datagram).

    Returns a list of (ctype, version, epoch, seq, seq8, fragment) with memoryview slices.
    A record whose length runs past the datagram ends parsing: the rest cannot be framed
    and is discarded silently (RFC 6347 §4.1.2.7)."""
    mv = memoryview(datagram)
    out = []
    pos = 0
    end = len(mv)
    while end - pos >= RECORD_HEADER_LEN:
        ctype, version, epoch, seq_hi, seq_lo, length = struct.unpack_from(">BHHHIH", mv, pos)
        body = pos + RECORD_HEADER_LEN
        if length > MAX_CIPHERTEXT or body + length > end:
            break
        out.append((ctype, version, epoch, (seq_hi << 32) | seq_lo, mv[pos + 3:pos + 11],
                    mv[body:body + length]))
        pos = body + length
    return out


def _record(ctype, seq8, cid, explicit_nonce, body):
    """One record in one allocation: header (with the CID of a tls12_cid record), the
    explicit nonce of a protected record (epoch||seq again, RFC 6655 §3) and the body."""
    head = RECORD_HEADER_LEN + len(cid)
    length = len(explicit_nonce) + len(body)
    rec = bytearray(head + length)
    struct.pack_into(">BH", rec, 0, ctype, DTLS_1_2)
    rec[3:11] = seq8
    rec[11:head - 2] = cid
    struct.pack_into(">H", rec, head - 2, length)
    rec[head:head + len(explicit_nonce)] = explicit_nonce
    rec[head + len(explicit_nonce):] = body
    return rec


class RecordLayer:
    """Per-connection record state: the read epoch with its replay window, and write
    sequence numbers per epoch (flight retransmissions in epoch 0 continue epoch 0's
    numbering after epoch 1 has started, RFC 6347 §4.1)."""

    def __init__(self):
        self.read_epoch = 0
        self.read_cipher = None
        self.window = ReplayWindow()
        self.write_epoch = 0
        self.write_seq = [0, 0]
        self.write_ciphers = [None, None]
        self._seq8 = bytearray(8)
        # RFC 9146: the CID the server asked us to put in protected records (None: no CID).
        # Ours is always empty, so the server's records keep the plain format.
        self.write_cid = None

    def set_write_cipher(self, epoch, cipher):
        self.write_ciphers[epoch] = cipher

    def start_read_epoch(self, epoch, cipher):
        self.read_epoch = epoch
        self.read_cipher = cipher
        self.window = ReplayWindow()

    def overhead(self, epoch):
        cipher = self.write_ciphers[epoch]
        if cipher is None:
            return RECORD_HEADER_LEN
        extra = 0
        if epoch and self.write_cid is not None:
            extra = len(self.write_cid) + 1  # the CID, and the inner content type byte
        return RECORD_HEADER_LEN + cipher.overhead() + extra

    def protect(self, ctype, payload, epoch=None):
        """Builds one record of `payload` in `epoch` (default: the current write epoch)."""
        if epoch is None:
            epoch = self.write_epoch
        seq = self.write_seq[epoch]
        if seq > _MAX_SEQ:
            # RFC 6347 §4.1: a sequence number must not wrap; the connection must end.
            raise DTLSError("record sequence numbers exhausted")
        self.write_seq[epoch] = seq + 1
        seq8 = self._seq8
        struct.pack_into(">HHI", seq8, 0, epoch, seq >> 32, seq & 0xFFFFFFFF)
        cipher = self.write_ciphers[epoch]
        cid = self.write_cid
        if cipher is None:
            return _record(ctype, seq8, b"", b"", payload)
        if epoch and cid is not None:
            return _record(CT_TLS12_CID, seq8, cid, seq8, cipher.seal_cid(
                seq8, DTLS_1_2, cid, payload + bytes((ctype,))))
        return _record(ctype, seq8, b"", seq8, cipher.seal_body(seq8, ctype, DTLS_1_2, payload))

    def unprotect(self, ctype, version, epoch, seq, seq8, fragment):
        """Returns (content type, plaintext) of a record of the current read epoch, or None
        when the record must be dropped: wrong epoch, replayed, or failing authentication
        (RFC 6347 §4.1.2.1, §4.1.2.6, §4.1.2.7). The replay window covers only protected
        epochs: epoch-0 records carry no MAC, so marking them would let a forger block
        genuine ones; the handshake deduplicates those by message_seq."""
        if epoch != self.read_epoch:
            return None
        cipher = self.read_cipher
        if cipher is None:
            return None if ctype == CT_TLS12_CID else (ctype, fragment)
        if self.window.seen(seq):
            return None
        if ctype == CT_TLS12_CID:
            # Our CID is empty, so the record carries none (RFC 9146 §3). The real type is
            # the last non-zero byte of the inner plaintext (§4).
            inner = cipher.open_cid(seq8, version, b"", fragment)
            if inner is None:
                return None
            end = len(inner)
            while end and inner[end - 1] == 0:
                end -= 1
            if not end:
                return None
            ctype, plaintext = inner[end - 1], inner[:end - 1]
        else:
            plaintext = cipher.open(seq8, ctype, version, fragment)
            if plaintext is None:
                return None
        self.window.mark(seq)
        return ctype, plaintext
