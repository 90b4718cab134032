"""SHA-256 whose running state can be copied (the handshake transcript hash).

MicroPython's hashlib.sha256 has no copy() and cannot update after digest(), but DTLS needs
the hash of the transcript so far (Finished, CertificateVerify, extended master secret) while
the transcript keeps growing.

    h = Sha256()
    h.update(b"ClientHello...")
    snapshot = h.digest()       # does not end h
    h2 = h.copy()

With the C module (dtls.backend.native) the state is a small bytearray that copies in C.
Without it, the fallback keeps hashlib's copy() where it exists (CPython) and otherwise the
messages themselves, hashing them at each digest(). They are kept as a list of chunks, not
one growing buffer, so no large contiguous block is needed on a fragmented heap.
"""
import hashlib

from dtls.backend import native as _native


class Sha256:
    def __init__(self, data=None):
        if _native is not None:
            self._state = bytearray(_native.SHA256_STATE_SIZE)
            _native.sha256_init(self._state)
        elif hasattr(hashlib.sha256(), "copy"):
            self._hash = hashlib.sha256()
        else:
            self._chunks = []
        if data is not None:
            self.update(data)

    def update(self, data):
        if _native is not None:
            _native.sha256_update(self._state, data)
        elif hasattr(self, "_hash"):
            self._hash.update(data)
        else:
            self._chunks.append(bytes(data))

    def digest(self):
        """Hash of everything so far; the object stays usable."""
        if _native is not None:
            return _native.sha256_digest(self._state)
        if hasattr(self, "_hash"):
            return self._hash.copy().digest()
        h = hashlib.sha256()
        for chunk in self._chunks:
            h.update(chunk)
        return h.digest()

    def copy(self):
        other = Sha256()
        if _native is not None:
            other._state = bytearray(self._state)
        elif hasattr(self, "_hash"):
            other._hash = self._hash.copy()
        else:
            other._chunks = list(self._chunks)
        return other
