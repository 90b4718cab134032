"""AES-CCM authenticated encryption (RFC 3610, NIST SP 800-38C).

Used by the DTLS 1.2 CCM cipher suites (RFC 6655, RFC 7251): 12-byte nonce
(so L = 3) and an 8-byte (CCM_8) or 16-byte tag.

    ccm = AesCcm(key, tag_len=8)
    record = ccm.seal(nonce, aad, plaintext)   # ciphertext || tag
    plaintext = ccm.open(nonce, aad, record)   # None if authentication fails

Speed under MicroPython comes from doing every per-byte step in C:
- CBC-MAC is ONE CBC-mode `encrypt` over all formatted blocks; the last
  output block is the MAC.
- CTR fills a reused buffer with all counter blocks and encrypts them with ONE
  ECB-mode `encrypt`.
- Keystream and data are XORed as two big integers.
Both encrypt calls work in place on one per-instance buffer, which grows to
the largest message seen; blocks are formatted straight into it, so the only
sizeable allocations are the big integers and the result. An AesCcm object
is therefore not reentrant: use one per task if calls may interleave.

AES-192 keys work only where the AES backend has them (MicroPython's
cryptolib does not); the constructor then raises ValueError.

With the C module (dtls.backend.native) seal/open are single calls into
constant-time C (bitsliced AES, all key sizes); the checks above stay here so
both backends raise and refuse alike.
"""

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

from dtls.aes import aes
from dtls.backend import native as _native

_MODE_ECB = const(1)
_MODE_CBC = const(2)
_ZEROS = bytes(16)  # zero IV, and zero padding for a whole block
_TAG_LENGTHS = (4, 6, 8, 10, 12, 14, 16)  # RFC 3610 2.1: M
_AAD_LEN_2 = const(0xFF00)  # l(a) below this is encoded in 2 bytes (RFC 3610 2.2)


def _length_field_size(nonce):
    """L, the size of the message length field: 15 - len(nonce) (RFC 3610 2.1)."""
    n = len(nonce)
    if n < 7 or n > 13:
        raise ValueError("CCM nonce must be 7..13 bytes")
    return 15 - n


class AesCcm:
    def __init__(self, key, tag_len=8):
        if len(key) not in (16, 24, 32):
            raise ValueError("AES key must be 16, 24 or 32 bytes")
        if tag_len not in _TAG_LENGTHS:
            raise ValueError("CCM tag must be 4, 6, 8, 10, 12, 14 or 16 bytes")
        key = bytes(key)
        self._tag_len = tag_len
        if _native is not None:
            self._schedule = _native.aes_key(key)
            return
        # A cryptolib.aes object costs a key schedule and ~300 bytes, so both
        # are made once. ECB has no state. The CBC object continues from the
        # last block it produced, which _chain keeps (see _cbc_mac).
        self._ecb = aes(key, _MODE_ECB)
        self._cbc = aes(key, _MODE_CBC, _ZEROS)
        self._chain = bytearray(16)  # last CBC output: X_{n+1} of the last MAC
        self._mask = bytearray(16)  # S_0, saved by open() across _cbc_mac
        self._buf = bytearray(0)
        self._view = memoryview(self._buf)

    def seal(self, nonce, aad, plaintext):
        """Encrypt and authenticate; returns ciphertext || tag."""
        size_len = _length_field_size(nonce)
        plen = len(plaintext)
        if plen >> (8 * size_len):
            raise ValueError("plaintext too long for this nonce size")
        if aad is None:
            aad = b""
        if _native is not None:
            return _native.ccm(self._schedule, self._tag_len, nonce, aad, plaintext, False)
        tag_len = self._tag_len
        self._cbc_mac(nonce, size_len, aad, plaintext)
        stream = self._keystream(nonce, size_len, plen)
        # RFC 3610 2.4: U = first-M-bytes(T XOR S_0)
        chain = self._chain
        tag = bytearray(tag_len)
        for i in range(tag_len):
            tag[i] = chain[i] ^ stream[i]
        if not plen:
            return bytes(tag)
        cipher = int.from_bytes(plaintext, "big") ^ int.from_bytes(stream[16:16 + plen], "big")
        return cipher.to_bytes(plen, "big") + tag

    def open(self, nonce, aad, data):
        """Check and decrypt ciphertext || tag; returns the plaintext or None."""
        size_len = _length_field_size(nonce)
        tag_len = self._tag_len
        clen = len(data) - tag_len
        if clen < 0 or clen >> (8 * size_len):
            return None  # cannot have been produced by seal()
        if aad is None:
            aad = b""
        if _native is not None:
            return _native.ccm(self._schedule, tag_len, nonce, aad, data, True)
        data = memoryview(data)
        stream = self._keystream(nonce, size_len, clen)
        mask = self._mask
        mask[0:16] = stream[0:16]  # _cbc_mac reuses the buffer
        if clen:
            plain = int.from_bytes(data[0:clen], "big") ^ \
                int.from_bytes(stream[16:16 + clen], "big")
            plaintext = plain.to_bytes(clen, "big")
        else:
            plaintext = b""
        self._cbc_mac(nonce, size_len, aad, plaintext)
        # Received tag XOR S_0 must equal T. Accumulate over every byte with no
        # early exit, so timing does not tell how much of a forged tag matched.
        chain = self._chain
        diff = 0
        for i in range(tag_len):
            diff |= data[clen + i] ^ mask[i] ^ chain[i]
        if diff:
            return None  # RFC 3610 2.5: reveal nothing of the plaintext
        return plaintext

    def _work(self, size):
        """A view of `size` bytes of the reused work buffer."""
        if len(self._buf) < size:
            self._buf = bytearray((size + 63) & ~63)
            self._view = memoryview(self._buf)
        return self._view[0:size]

    def _cbc_mac(self, nonce, size_len, aad, message):
        """RFC 3610 2.2: CBC-MAC over B_0, encoded AAD and message, into _chain."""
        plen = len(message)
        alen = len(aad)
        if not alen:
            head = 0
        elif alen < _AAD_LEN_2:
            head = 2
        elif alen < 0x100000000:
            head = 6
        else:
            head = 10
        aad_end = 16 + head + alen
        msg_start = (aad_end + 15) & ~15
        msg_end = msg_start + plen
        total = msg_start + ((plen + 15) & ~15)
        work = self._work(total)
        # B_0 = Flags | Nonce | l(m), Flags = 64*Adata + 8*((M-2)/2) + (L-1)
        work[0] = (0x40 if alen else 0) | ((self._tag_len - 2) << 2) | (size_len - 1)
        work[1:16 - size_len] = nonce
        n = plen
        for i in range(15, 15 - size_len, -1):
            work[i] = n & 0xFF
            n >>= 8
        if alen:
            # Zero the last AAD block first: what the AAD leaves is its padding.
            work[msg_start - 16:msg_start] = _ZEROS
            if head == 2:
                work[16] = alen >> 8
                work[17] = alen & 0xFF
            elif head == 6:
                work[16:22] = b"\xff\xfe" + alen.to_bytes(4, "big")
            else:
                work[16:26] = b"\xff\xff" + alen.to_bytes(8, "big")
            work[16 + head:aad_end] = aad
        if plen:
            work[total - 16:total] = _ZEROS  # padding of the last message block
            work[msg_start:msg_end] = message
        # The CBC object goes on from the last block it produced (_chain), so
        # XOR that into B_0: E(K, B_0 ^ chain ^ chain) = E(K, B_0), as if the
        # IV were zero.
        chain = self._chain
        for i in range(16):
            work[i] ^= chain[i]
        # One CBC call, in place (documented for cryptolib): X_{i+1} = E(K, X_i ^ B_i).
        self._cbc.encrypt(work, work)
        chain[0:16] = work[total - 16:total]  # T = first M bytes of X_{n+1}

    def _keystream(self, nonce, size_len, length):
        """RFC 3610 2.3: S_0 || S_1 || ... covering `length` bytes, in the work buffer."""
        blocks = 1 + ((length + 15) >> 4)
        total = blocks << 4
        work = self._work(total)
        # A_i = Flags | Nonce | i, Flags = L - 1. Write A_0, copy it into every
        # block by doubling (C-speed slice copies), then set the counters.
        work[0:16] = _ZEROS
        work[0] = size_len - 1
        work[1:16 - size_len] = nonce
        done = 16
        while done < total:
            n = min(done, total - done)
            work[done:done + n] = work[0:n]
            done += n
        # L >= 2, so the last two bytes always belong to the counter.
        small = min(blocks, 0x100)
        last = 31  # last byte of block 1
        for i in range(1, small):
            work[last] = i
            last += 16
        for i in range(small, min(blocks, 0x10000)):
            work[last - 1] = i >> 8
            work[last] = i & 0xFF
            last += 16
        for i in range(0x10000, blocks):  # messages of 1 MiB or more
            work[last + 1 - size_len:last + 1] = i.to_bytes(size_len, "big")
            last += 16
        self._ecb.encrypt(work, work)
        return work
