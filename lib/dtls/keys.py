"""TLS 1.2 key schedule as DTLS 1.2 uses it (RFC 5246 §8.1, §6.3, §7.4.9; RFC 7627 §4;
RFC 4279 §2 for the PSK premaster secret)."""
import struct

from .prf import prf

_MASTER_LEN = 48
_VERIFY_LEN = 12


def psk_premaster(psk):
    """RFC 4279 §2: other_secret is len(psk) zero bytes for plain PSK. Returned as a
    bytearray so the caller can zero it after use."""
    n = len(psk)
    pms = bytearray(4 + 2 * n)
    struct.pack_into(">H", pms, 0, n)
    struct.pack_into(">H", pms, 2 + n, n)
    pms[4 + n:] = psk
    return pms


def master_secret(premaster, client_random, server_random, session_hash=None):
    """With extended master secret (RFC 7627 §4) the secret is bound to the handshake
    transcript up to ClientKeyExchange; without it, to the two randoms only."""
    if session_hash is not None:
        return prf(premaster, b"extended master secret", session_hash, _MASTER_LEN)
    return prf(premaster, b"master secret", client_random + server_random, _MASTER_LEN)


def key_block(master, client_random, server_random, key_len, iv_len):
    """Returns (client_write_key, server_write_key, client_write_IV, server_write_IV).
    AEAD suites have no MAC keys (RFC 5246 §6.3); CCM's IV is the 4-byte salt."""
    n = 2 * (key_len + iv_len)
    block = prf(master, b"key expansion", server_random + client_random, n)
    ck = block[0:key_len]
    sk = block[key_len:2 * key_len]
    civ = block[2 * key_len:2 * key_len + iv_len]
    siv = block[2 * key_len + iv_len:n]
    return ck, sk, civ, siv


def finished_verify_data(master, label, handshake_hash):
    """RFC 5246 §7.4.9: label is b"client finished" or b"server finished"."""
    return prf(master, label, handshake_hash, _VERIFY_LEN)


def equal_ct(a, b):
    """Compares two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


def wipe(buf):
    """Overwrites a bytearray holding a secret we no longer need."""
    if isinstance(buf, bytearray):
        for i in range(len(buf)):
            buf[i] = 0
