"""ECDHE_PSK key exchange (RFC 5489, suites of RFC 8442): a PSK handshake with forward
secrecy. The PSK authenticates both sides; an ephemeral P-256 exchange protects past sessions
if the PSK leaks later (seed slide "PSK Ciphersuite & PFS").

Loaded only when such a suite is negotiated: it needs P-256 but no ECDSA or X.509.
"""
import struct

from . import p256
from .const import DECODE_ERROR, EXT_EC_POINT_FORMATS, EXT_SUPPORTED_GROUPS, ILLEGAL_PARAMETER
from .errors import DTLSError
from .handshake import Reader, vec8, vec16

_NAMED_CURVE = 3  # RFC 8422 §5.4
_SECP256R1 = 23


def hello_extensions():
    """supported_groups (secp256r1) and ec_point_formats (uncompressed), RFC 8422 §5.1."""
    return struct.pack(">HHHH", EXT_SUPPORTED_GROUPS, 4, 2, _SECP256R1) + \
        struct.pack(">HHBB", EXT_EC_POINT_FORMATS, 2, 1, 0)


def check_point_formats(data):
    r = Reader(data)
    formats = bytes(r.vec8())
    r.end()
    if 0 not in formats:
        raise DTLSError("server does not accept uncompressed points", ILLEGAL_PARAMETER)


def parse_server_key_exchange(body):
    """RFC 5489 §2: psk_identity_hint, then ServerECDHParams (not signed: the PSK
    authenticates the exchange through the Finished messages). Returns (hint, point)."""
    r = Reader(body)
    hint = bytes(r.vec16())
    curve_type = r.u8()
    curve = r.u16()
    point = bytes(r.vec8())
    r.end()
    if curve_type != _NAMED_CURVE or curve != _SECP256R1:
        raise DTLSError("server chose a curve we did not offer", ILLEGAL_PARAMETER)
    try:
        p256.decode_point(point)
    except ValueError as e:
        raise DTLSError("server ECDH point invalid: %s" % e, ILLEGAL_PARAMETER)
    return hint, point


def key_exchange(rng, identity, psk, server_point):
    """Returns (ClientKeyExchange body, premaster). ClientKeyExchange: psk_identity and our
    ephemeral point; premaster (RFC 5489 §2): other_secret = the ECDH shared secret Z,
    so uint16 len(Z) || Z || uint16 len(psk) || psk."""
    priv, pub = p256.generate_keypair(rng)
    try:
        z = p256.ecdh(priv, server_point)
    except ValueError as e:
        raise DTLSError("ECDH failed: %s" % e, ILLEGAL_PARAMETER)
    premaster = bytearray(struct.pack(">H", len(z)) + z + struct.pack(">H", len(psk)) + psk)
    if len(identity) == 0:
        raise DTLSError("empty PSK identity", DECODE_ERROR)
    return vec16(identity) + vec8(pub), premaster
