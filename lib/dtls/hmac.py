"""HMAC-SHA-256 (RFC 2104) on top of hashlib.sha256.

MicroPython has no `hmac` module, and its sha256 objects have no copy(), so
the keyed inner/outer states cannot be cached: every MAC hashes the padded
key blocks again (two extra 64-byte compressions, done in C).

    hmac_sha256(key, data)              # data: bytes, bytearray or memoryview
    hmac_sha256(key, (part1, part2))    # MAC of part1 || part2, without joining

With the C module (dtls.backend.native) the "pads" are the keyed inner and
outer SHA-256 states themselves, copied per MAC, so a reused key costs no
compression at all; treat pads as opaque either way.
"""

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

from hashlib import sha256

from dtls.backend import native as _native

_BLOCK_SIZE = const(64)  # SHA-256 block size, B in RFC 2104
# ipad / opad (RFC 2104 section 2) as 512-bit integers, so that "key XOR pad"
# is one big-integer XOR in C instead of a 64-step Python loop.
_IPAD = int.from_bytes(b"\x36" * 64, "big")
_OPAD = int.from_bytes(b"\x5c" * 64, "big")


def hmac_sha256_pads(key):
    """(K XOR ipad, K XOR opad) for `key`; reuse them for many MACs with one key."""
    if len(key) > _BLOCK_SIZE:
        key = sha256(key).digest()  # RFC 2104: hash keys longer than B first
    # K padded with zeros to B bytes, as an integer: shift the key to the left.
    k = int.from_bytes(key, "big") << (8 * (_BLOCK_SIZE - len(key)))
    ipad, opad = (k ^ _IPAD).to_bytes(_BLOCK_SIZE, "big"), (k ^ _OPAD).to_bytes(_BLOCK_SIZE, "big")
    if _native is not None:
        return _keyed_state(ipad), _keyed_state(opad)
    return ipad, opad


def _keyed_state(pad):
    state = bytearray(_native.SHA256_STATE_SIZE)
    _native.sha256_init(state)
    _native.sha256_update(state, pad)
    return state


def hmac_sha256_with_pads(pads, data):
    """HMAC-SHA-256 with pads from hmac_sha256_pads(); data as in hmac_sha256()."""
    if _native is not None:
        inner = bytearray(pads[0])  # copy: the keyed state is reused
        if isinstance(data, (list, tuple)):
            for part in data:
                _native.sha256_update(inner, part)
        else:
            _native.sha256_update(inner, data)
        outer = bytearray(pads[1])
        _native.sha256_update(outer, _native.sha256_digest(inner))
        return _native.sha256_digest(outer)
    inner = sha256(pads[0])
    if isinstance(data, (list, tuple)):
        for part in data:
            inner.update(part)
    else:
        inner.update(data)
    outer = sha256(pads[1])
    outer.update(inner.digest())
    return outer.digest()


def hmac_sha256(key, data):
    """HMAC-SHA-256(key, data) -> 32 bytes. data may be a list/tuple of parts."""
    if _native is not None and not isinstance(data, (list, tuple)):
        return _native.hmac_sha256(key, data)
    return hmac_sha256_with_pads(hmac_sha256_pads(key), data)
