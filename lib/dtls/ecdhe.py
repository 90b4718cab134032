"""ECDHE_ECDSA key exchange and authentication (RFC 8422, RFC 7250, RFC 7925 §4.3-4.4).

Imported only when an ECDHE suite is negotiated, so a PSK-only device never loads P-256,
ECDSA or X.509 code. Every failure raises DTLSError carrying the alert to send.
"""
import hashlib
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from . import ecdsa, p256, x509
from .const import (BAD_CERTIFICATE, DECODE_ERROR, DECRYPT_ERROR, EXT_CLIENT_CERTIFICATE_TYPE,
                    EXT_EC_POINT_FORMATS, EXT_SERVER_CERTIFICATE_TYPE,
                    EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS, ILLEGAL_PARAMETER,
                    UNSUPPORTED_CERTIFICATE, UNSUPPORTED_EXTENSION)
from .errors import DTLSError
from .handshake import Reader, vec8, vec16

_NAMED_CURVE = const(3)  # ECCurveType named_curve (RFC 8422 §5.4)
_SECP256R1 = const(23)  # NamedCurve / supported group (RFC 8422 §5.1.1)
_UNCOMPRESSED = const(0)  # ECPointFormat (RFC 8422 §5.1.2)
# SignatureAndHashAlgorithm sha256(4), ecdsa(3) (RFC 5246 §7.4.1.4.1)
_ECDSA_SHA256 = const(0x0403)
_ECDSA_SIGN = const(64)  # ClientCertificateType ecdsa_sign (RFC 8422 §5.5)
CERT_TYPE_X509 = const(0)  # RFC 7250 §3
CERT_TYPE_RPK = const(2)

# SubjectPublicKeyInfo prefix of an uncompressed P-256 key (RFC 5480 §2): SEQUENCE { SEQUENCE
# { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) 04 || x || y }.
_SPKI_P256_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def spki_from_public(pub65):
    return _SPKI_P256_PREFIX + pub65


def hello_extensions(ctx):
    """ClientHello extensions an ECDHE_ECDSA offer needs: one group, one point format, one
    signature algorithm (RFC 7925 §4.3), and the certificate types of RFC 7250."""
    out = struct.pack(">HHHH", EXT_SUPPORTED_GROUPS, 4, 2, _SECP256R1)
    out += struct.pack(">HHBB", EXT_EC_POINT_FORMATS, 2, 1, _UNCOMPRESSED)
    out += struct.pack(">HHHH", EXT_SIGNATURE_ALGORITHMS, 4, 2, _ECDSA_SHA256)
    types = server_cert_types(ctx)
    if types != (CERT_TYPE_X509,):
        out += struct.pack(">HH", EXT_SERVER_CERTIFICATE_TYPE, 1 + len(types)) + vec8(bytes(types))
    if ctx.client_rpk:
        out += struct.pack(">HHBB", EXT_CLIENT_CERTIFICATE_TYPE, 2, 1, CERT_TYPE_RPK)
    return out


def server_cert_types(ctx):
    """Certificate types we accept from the server, by preference: a pinned raw public key
    and/or X.509 under trust anchors."""
    types = ()
    if ctx.server_spki is not None or ctx.server_spki_sha256 is not None:
        types += (CERT_TYPE_RPK,)
    if ctx.trust_anchors:
        types += (CERT_TYPE_X509,)
    return types


def check_server_hello_extension(ctx, etype, data):
    """Validates an ECDHE-related ServerHello extension. Returns ("server"|"client", type)
    for a certificate type choice, else None. Raises for anything we did not offer."""
    if etype == EXT_EC_POINT_FORMATS:
        r = Reader(data)
        formats = bytes(r.vec8())
        r.end()
        # RFC 8422 §5.2: if sent, the list must contain uncompressed.
        if _UNCOMPRESSED not in formats:
            raise DTLSError("server does not accept uncompressed points", ILLEGAL_PARAMETER)
        return None
    if etype == EXT_SERVER_CERTIFICATE_TYPE or etype == EXT_CLIENT_CERTIFICATE_TYPE:
        if len(data) != 1:
            raise DTLSError("bad certificate type extension", DECODE_ERROR)
        chosen = data[0]
        if etype == EXT_SERVER_CERTIFICATE_TYPE:
            if chosen not in server_cert_types(ctx):
                raise DTLSError("server chose certificate type %d we did not offer" % chosen,
                                UNSUPPORTED_CERTIFICATE)
            return ("server", chosen)
        if not ctx.client_rpk or chosen != CERT_TYPE_RPK:
            raise DTLSError("server chose client certificate type %d we did not offer"
                            % chosen, UNSUPPORTED_CERTIFICATE)
        return ("client", chosen)
    raise DTLSError("server sent unrequested extension %d" % etype, UNSUPPORTED_EXTENSION)


def parse_certificate(body, cert_type, max_total):
    """Certificate message (RFC 5246 §7.4.2; RFC 7250 §3 for raw public keys): returns the
    list of DER certificates, leaf first, or [SPKI] for a raw public key."""
    r = Reader(body)
    if cert_type == CERT_TYPE_RPK:
        spki = bytes(r.vec24())
        r.end()
        return [spki]
    chain = Reader(r.vec24())
    r.end()
    certs = []
    while chain.remaining():
        der = chain.vec24()
        if not len(der):
            raise DTLSError("empty certificate in chain", DECODE_ERROR)
        certs.append(bytes(der))
        if len(certs) > 8:
            raise DTLSError("certificate chain too long", BAD_CERTIFICATE)
    if not certs:
        raise DTLSError("server sent no certificate", BAD_CERTIFICATE)
    return certs


def authenticate_server(ctx, certs, cert_type, host, ip):
    """Checks the server's credentials; returns its 65-byte P-256 public key."""
    if cert_type == CERT_TYPE_RPK:
        spki = certs[0]
        if ctx.server_spki is not None and spki != ctx.server_spki:
            raise DTLSError("server raw public key does not match the pinned key",
                            BAD_CERTIFICATE)
        if ctx.server_spki_sha256 is not None and \
                hashlib.sha256(spki).digest() != ctx.server_spki_sha256:
            raise DTLSError("server raw public key does not match the pinned fingerprint",
                            BAD_CERTIFICATE)
        try:
            return x509.parse_spki(spki)
        except ValueError as e:
            raise DTLSError("server raw public key: %s" % e, UNSUPPORTED_CERTIFICATE)
    try:
        return x509.verify_chain(certs, ctx.trust_anchors, ecdsa.verify_message_der,
                                 now=ctx.now(), host=host, ip=ip,
                                 max_depth=ctx.max_chain_depth)
    except x509.CertificateError as e:
        raise DTLSError("server certificate: %s" % e,
                        x509.ALERT_FOR_REASON.get(e.reason, BAD_CERTIFICATE))
    except ValueError as e:
        raise DTLSError("server certificate: %s" % e, BAD_CERTIFICATE)


def verify_server_key_exchange(body, server_pub, client_random, server_random):
    """ServerKeyExchange for ECDHE_ECDSA (RFC 8422 §5.4): checks the curve, validates the
    ephemeral point and verifies the signature over both randoms and the parameters.
    Returns the server's 65-byte ephemeral point."""
    r = Reader(body)
    curve_type = r.u8()
    curve = r.u16()
    if curve_type != _NAMED_CURVE or curve != _SECP256R1:
        raise DTLSError("server chose a curve we did not offer", ILLEGAL_PARAMETER)
    point = bytes(r.vec8())
    params_len = r.pos
    alg = r.u16()
    sig = bytes(r.vec16())
    r.end()
    if alg != _ECDSA_SHA256:
        raise DTLSError("server signed with algorithm 0x%04x we did not offer" % alg,
                        ILLEGAL_PARAMETER)
    signed = client_random + server_random + bytes(body[:params_len])
    if not ecdsa.verify_message_der(server_pub, signed, sig):
        raise DTLSError("ServerKeyExchange signature does not verify", DECRYPT_ERROR)
    try:
        p256.decode_point(point)
    except ValueError as e:
        # RFC 8422 §5.4 / §5.11: an invalid point is a fatal error.
        raise DTLSError("server ECDH point invalid: %s" % e, ILLEGAL_PARAMETER)
    return point


def parse_certificate_request(body):
    """CertificateRequest (RFC 5246 §7.4.4). We can answer only ecdsa_sign with
    ecdsa_secp256r1_sha256; returns True if the server allows that."""
    r = Reader(body)
    types = bytes(r.vec8())
    algs = r.vec16()
    r.vec16()  # certificate_authorities: we have one credential, so no choice to make
    r.end()
    ok_alg = False
    for i in range(0, len(algs) - 1, 2):
        if (algs[i] << 8) | algs[i + 1] == _ECDSA_SHA256:
            ok_alg = True
    return _ECDSA_SIGN in types and ok_alg


def client_certificate_body(ctx, cert_type, usable):
    """Our Certificate message: the configured chain, our raw public key, or an empty list
    when we have nothing the server accepts (RFC 5246 §7.4.6)."""
    if usable and cert_type == CERT_TYPE_RPK:
        return struct.pack(">I", len(ctx.own_spki))[1:] + ctx.own_spki
    chain = b""
    if usable:
        for der in ctx.cert_chain:
            chain += struct.pack(">I", len(der))[1:] + der
    return struct.pack(">I", len(chain))[1:] + chain


def certificate_verify_body(priv, handshake_hash):
    """CertificateVerify (RFC 5246 §7.4.8): an ECDSA signature over the SHA-256 of all
    handshake messages so far."""
    r, s = ecdsa.sign(priv, handshake_hash)
    return struct.pack(">H", _ECDSA_SHA256) + vec16(ecdsa.encode_der_signature(r, s))


def key_exchange(rng, server_point):
    """Our ephemeral key pair and the premaster secret (the shared x-coordinate,
    RFC 8422 §5.10). Returns (ClientKeyExchange body, premaster)."""
    priv, pub = p256.generate_keypair(rng)
    try:
        shared = p256.ecdh(priv, server_point)
    except ValueError as e:
        raise DTLSError("ECDH failed: %s" % e, ILLEGAL_PARAMETER)
    return vec8(pub), bytearray(shared)

