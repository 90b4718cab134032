"""ECDHE_ECDSA key exchange and authentication (RFC 8422, RFC 7250, RFC 7925 §4.3-4.4), and
the extensions that shrink a certificate handshake: cached information (RFC 7924), trusted CA
indication and client certificate URLs (RFC 6066 §5-§6).

Imported only when an ECDHE suite is offered, so a PSK-only device never loads P-256,
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
from .hmac import hmac_sha256
from .keys import equal_ct

_NAMED_CURVE = const(3)  # ECCurveType named_curve (RFC 8422 §5.4)
_SECP256R1 = const(23)  # NamedCurve / supported group (RFC 8422 §5.1.1)
_UNCOMPRESSED = const(0)  # ECPointFormat (RFC 8422 §5.1.2)
# SignatureAndHashAlgorithm sha256(4), ecdsa(3) (RFC 5246 §7.4.1.4.1)
_ECDSA_SHA256 = const(0x0403)
_ECDSA_SIGN = const(64)  # ClientCertificateType ecdsa_sign (RFC 8422 §5.5)
CERT_TYPE_X509 = const(0)  # RFC 7250 §3
CERT_TYPE_RPK = const(2)

# Size-saving extensions and the message they add.
EXT_CLIENT_CERTIFICATE_URL = const(2)  # RFC 6066 §5
EXT_TRUSTED_CA_KEYS = const(3)  # RFC 6066 §6
EXT_CACHED_INFO = const(25)  # RFC 7924 §3 (IANA)
HS_CERTIFICATE = const(11)
HS_CERTIFICATE_URL = const(21)  # RFC 6066 §5
_CACHED_CERT = const(1)  # CachedInformationType cert (RFC 7924 §3)
# RFC 6066 §6 IdentifierType
TRUSTED_CA_IDENTIFIERS = {"key_sha1_hash": 1, "x509_name": 2, "cert_sha1_hash": 3}
# RFC 6066 §5 CertChainType
CERT_CHAIN_TYPES = {"individual_certs": 0, "pkipath": 1}

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
        # Offered only when not X.509 alone (hello_extensions); an answer to an extension we
        # did not send is unsupported_extension (RFC 5246 §7.4.1.4).
        offered = server_cert_types(ctx) != (CERT_TYPE_X509,) \
            if etype == EXT_SERVER_CERTIFICATE_TYPE else ctx.client_rpk
        if not offered:
            raise DTLSError("server sent unrequested extension %d" % etype,
                            UNSUPPORTED_EXTENSION)
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


def authenticate_server(ctx, certs, cert_type, host, ip, verify=None):
    """Checks the server's credentials; returns its 65-byte P-256 public key. verify:
    the ECDSA verifier for the chain (default ecdsa.verify_message_der)."""
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
        return x509.verify_chain(certs, ctx.trust_anchors, verify or ecdsa.verify_message_der,
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



# ------------------------------------------------------------- size-saving extensions

def certificate_fingerprint(body):
    """RFC 7924 §5: the SHA-256 of the Certificate message as the server sends it without
    the extension. RFC 7924 Appendix A hashes the message from its type byte on ("starts
    with 0b 00 02"): msg_type, the 24-bit length, then the body. DTLS adds message_seq and
    fragment fields to the header (RFC 6347 §4.2.2); they change from one connection to the
    next and are not part of the fingerprint."""
    n = len(body)
    h = hashlib.sha256(struct.pack(">BBH", HS_CERTIFICATE, n >> 16, n & 0xFFFF))
    h.update(body)
    return h.digest()


def _signature_digest(pub, msg, sig):
    # Names one verified (key, signed bytes, signature) triple; the lengths keep the fields
    # apart (the key is always 65 bytes).
    h = hashlib.sha256(bytes(pub))
    h.update(struct.pack(">I", len(msg)))
    h.update(msg)
    h.update(sig)
    return h.digest()


def _verifier(log, known=()):
    """An ECDSA verifier for x509.verify_chain that appends the digest of every signature
    that verifies to `log`. Digests in `known` (recorded when the same chain was validated
    before) stand for the verification itself: it is deterministic, so a trusted record of
    its result is as good as running it again."""
    def verify(pub, msg, sig):
        d = _signature_digest(pub, msg, sig)
        if d in known or ecdsa.verify_message_der(pub, msg, sig):
            log.append(d)
            return True
        return False
    return verify


def _norm_host(host):
    if not host:
        return ""
    if isinstance(host, bytes):
        host = host.decode()
    return host.lower().rstrip(".")


_CACHE_MAGIC = b"mdC"
_CACHE_VERSION = 1
_CACHE_FLAG_HMAC = 2  # the bit the session blob uses for the same thing
_CACHE_MAX_SIGNATURES = 16
_TAG_LEN = 32


class CachedInfo:
    """A server's certificate information kept for RFC 7924 cached_info.

    cert_type: 0 (X.509) or 2 (raw public key); body: the server's Certificate message body
    as it was received; host, ip: the identity it was checked against (a host name, and/or
    the 4/16 address bytes); signatures: digests of the signatures that verified when the
    chain was validated; hash: the 32-byte RFC 7924 §5 fingerprint offered in cached_info.

    A connection whose server authenticated with a certificate offers one after the
    handshake (conn.core.cached_info); Context(cached_info=...) offers it to that server
    again. When the server then sends only the fingerprint, the chain is checked once more
    (trust anchors still configured, validity periods when the clock is known, the name),
    and the recorded signature digests stand for the ECDSA verifications when `trusted`:
    entries from a connection, and blobs read back with the key they were exported with.
    Other blobs have their signatures verified again (bytes are still saved, time is not).

    The exported blob holds no secret, but whoever can change it can make the device trust
    another server key: store it like the trust anchors, or export it with a device key.
    Layout (version 1): b"mdC" | version | flags (bit 1: HMAC) | cert_type | host vec8 |
    ip vec8 | count u8 | count 32-byte signature digests | body vec24 | 32-byte tag:
    HMAC-SHA256(key, everything before) or SHA-256(everything before).
    """

    def __init__(self, cert_type, body, host=None, ip=None, signatures=(), trusted=False):
        if cert_type not in (CERT_TYPE_X509, CERT_TYPE_RPK):
            raise ValueError("unknown certificate type %d" % cert_type)
        self.cert_type = cert_type
        self.body = bytes(body)
        self.host = _norm_host(host)
        self.ip = bytes(ip) if ip else b""
        self.signatures = [bytes(d) for d in signatures][:_CACHE_MAX_SIGNATURES]
        self.trusted = trusted
        self.hash = certificate_fingerprint(self.body)

    def matches(self, host, ip):
        """Whether this is the information of the server we connect to now."""
        return self.host == _norm_host(host) and self.ip == (bytes(ip) if ip else b"")

    def to_bytes(self, key=None):
        host = self.host.encode()
        n = len(self.body)
        blob = _CACHE_MAGIC + bytes((_CACHE_VERSION, _CACHE_FLAG_HMAC if key else 0,
                                     self.cert_type)) + vec8(host) + vec8(self.ip) + \
            bytes((len(self.signatures),)) + b"".join(self.signatures) + \
            struct.pack(">BH", n >> 16, n & 0xFFFF) + self.body
        return blob + _cache_tag(blob, key)

    @classmethod
    def from_bytes(cls, blob, key=None):
        """Parses an exported entry; ValueError if it is damaged, forged (with key), of
        another version, or not a Certificate body of its type."""
        blob = bytes(blob)
        if len(blob) < 3 + 3 + 3 + 3 + _TAG_LEN or blob[:3] != _CACHE_MAGIC:
            raise ValueError("not a cached_info blob")
        body, tag = blob[:-_TAG_LEN], blob[-_TAG_LEN:]
        if body[3] != _CACHE_VERSION:
            raise ValueError("cached_info blob version %d not supported" % body[3])
        flags = body[4]
        if bool(flags & _CACHE_FLAG_HMAC) != bool(key):
            raise ValueError("cached_info blob was %s a key" % (
                "exported with" if flags & _CACHE_FLAG_HMAC else "exported without"))
        if not equal_ct(tag, _cache_tag(body, key)):
            raise ValueError("cached_info blob does not verify")
        try:
            r = Reader(body)
            r.take(5)
            cert_type = r.u8()
            host = bytes(r.vec8()).decode()
            ip = bytes(r.vec8())
            sigs = []
            for _ in range(r.u8()):
                sigs.append(bytes(r.take(32)))
            msg = bytes(r.vec24())
            r.end()
            parse_certificate(msg, cert_type, len(msg))
        except DTLSError as e:
            raise ValueError("bad cached_info blob: %s" % e)
        if len(sigs) > _CACHE_MAX_SIGNATURES or len(ip) not in (0, 4, 16):
            raise ValueError("bad cached_info blob")
        return cls(cert_type, msg, host, ip, sigs, trusted=bool(key))


def _cache_tag(body, key):
    if key:
        return hmac_sha256(key, body)
    return hashlib.sha256(body).digest()


def load_cached_info(items):
    """Context(cached_info=...): CachedInfo objects or exported blobs (read without a key,
    so their signatures are verified again on use), one or a list."""
    if not isinstance(items, (list, tuple)):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            item = CachedInfo.from_bytes(item)
        elif not isinstance(item, CachedInfo):
            raise TypeError("cached_info takes CachedInfo objects or their bytes")
        out.append(item)
    return out


def trusted_authorities(ctx):
    """The TrustedAuthority list of trusted_ca_keys (RFC 6066 §6) for our anchors, in the
    form ctx.trusted_ca_keys names. Anchors without a P-256 key are left out: they cannot
    verify a chain here. key_sha1_hash is the SHA-1 of the subjectPublicKey BIT STRING value
    (the 65-byte point, as the RFC 5280 §4.2.1.2 key identifier takes it); x509_name the
    DER subject Name; cert_sha1_hash the SHA-1 of the DER certificate."""
    kind = TRUSTED_CA_IDENTIFIERS[ctx.trusted_ca_keys]
    out = b""
    for a in ctx.trust_anchors:
        if a.public_key is None:
            continue
        if kind == 1:
            ident = hashlib.sha1(a.public_key).digest()
        elif kind == 2:
            ident = vec16(a.subject)
        else:
            ident = hashlib.sha1(a.der).digest()
        out += bytes((kind,)) + ident
    return out


def _der_length(n):
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    if n < 0x10000:
        return struct.pack(">BH", 0x82, n)
    return struct.pack(">BBH", 0x83, n >> 16, n & 0xFFFF)


def pkipath(chain):
    """PkiPath DER (RFC 6066 §5: SEQUENCE OF Certificate, the root end first: the reverse
    of the Certificate message order) of a chain given leaf first."""
    inner = b"".join(reversed(chain))
    return b"\x30" + _der_length(len(inner)) + inner


def certificate_urls(cert_urls, chain_type, chain):
    """Context(cert_urls=...): [(url, sha1 or None)] -> [(url bytes, 20-byte SHA-1)]. RFC 6066
    §5 makes the hash mandatory; None takes it from our configured chain (the DER
    certificate at that position, or the whole chain's PkiPath)."""
    if chain_type not in CERT_CHAIN_TYPES:
        raise ValueError("cert_url_type must be individual_certs or pkipath")
    if not cert_urls or (chain_type == "pkipath" and len(cert_urls) != 1):
        raise ValueError("cert_urls needs one URL per certificate, or one for a pkipath")
    out = []
    for i, item in enumerate(cert_urls):
        url, sha1 = item
        if isinstance(url, str):
            url = url.encode()
        if not 0 < len(url) < 0x10000:
            raise ValueError("certificate URL must be 1..65535 bytes")
        if sha1 is None:
            if chain_type == "pkipath" and chain:
                sha1 = hashlib.sha1(pkipath(chain)).digest()
            elif chain_type == "individual_certs" and i < len(chain):
                sha1 = hashlib.sha1(chain[i]).digest()
            else:
                raise ValueError("certificate URL %r needs its SHA-1 hash (RFC 6066 §5)"
                                 % url.decode())
        if len(sha1) != 20:
            raise ValueError("a certificate URL hash is a 20-byte SHA-1")
        out.append((bytes(url), bytes(sha1)))
    return out


def certificate_url_body(ctx):
    """CertificateURL (RFC 6066 §5): CertChainType, then url_and_hash_list of URLAndHash
    { url<1..2^16-1>; padding, which MUST be 0x01; SHA1Hash[20] }."""
    entries = b""
    for url, sha1 in ctx.cert_urls:
        entries += vec16(url) + b"\x01" + sha1
    return bytes((CERT_CHAIN_TYPES[ctx.cert_url_type],)) + vec16(entries)


class State:
    """One connection's ECDHE negotiation beyond the key exchange itself: the size-saving
    extensions offered and accepted, the server's authentication (from its Certificate
    message or from cached information) and our client certificate message.

    host, ip: the server identity checked in its certificate (ip as 4/16 bytes)."""

    def __init__(self, ctx, host, ip):
        self.ctx = ctx
        self.host = host
        self.ip = ip
        types = server_cert_types(ctx)
        self.offered_cache = [e for e in ctx.cached_info
                              if e.cert_type in types and e.matches(host, ip)]
        self.trusted_authorities = b""
        if ctx.trusted_ca_keys and ctx.trust_anchors:
            self.trusted_authorities = trusted_authorities(ctx)
        self.cache_acknowledged = False  # RFC 7924 §4: the server supports 'cert'
        self.trusted_ca_acknowledged = False
        self.cert_url_acknowledged = False
        self.cache_hit = False  # the server sent only the fingerprint
        self.bytes_saved = 0  # Certificate bytes the server did not send
        self.entry = None  # CachedInfo of this handshake's server certificate

    def hello_extensions(self):
        """cached_info (RFC 7924 §3: CachedObject type cert(1), hash_value<1..255>),
        trusted_ca_keys (RFC 6066 §6) and client_certificate_url (RFC 6066 §5, empty)."""
        out = b""
        if self.offered_cache:
            objects = b""
            for e in self.offered_cache:
                objects += bytes((_CACHED_CERT,)) + vec8(e.hash)
            out += struct.pack(">HH", EXT_CACHED_INFO, 2 + len(objects)) + vec16(objects)
        if self.trusted_authorities:
            out += struct.pack(">HH", EXT_TRUSTED_CA_KEYS, 2 + len(self.trusted_authorities)) \
                + vec16(self.trusted_authorities)
        if self.ctx.cert_urls:
            out += struct.pack(">HH", EXT_CLIENT_CERTIFICATE_URL, 0)
        return out

    def server_hello_extension(self, etype, data):
        """Validates an ECDHE-related ServerHello extension; returns what
        check_server_hello_extension returns for certificate types, else None."""
        if etype == EXT_CACHED_INFO and self.offered_cache:
            # RFC 7924 §3/§4: the server's CachedObjects carry only a type, and only types
            # the client offered.
            r = Reader(data)
            types = bytes(r.vec16())
            r.end()
            if not types:
                raise DTLSError("empty cached_info list", DECODE_ERROR)
            for t in types:
                if t != _CACHED_CERT:
                    raise DTLSError("server confirmed cached information type %d we did not "
                                    "offer" % t, ILLEGAL_PARAMETER)
            self.cache_acknowledged = True
            return None
        if etype == EXT_TRUSTED_CA_KEYS and self.trusted_authorities:
            # RFC 6066 §6: the server's extension_data SHALL be empty.
            if len(data):
                raise DTLSError("trusted_ca_keys extension not empty", DECODE_ERROR)
            self.trusted_ca_acknowledged = True
            return None
        if etype == EXT_CLIENT_CERTIFICATE_URL and self.ctx.cert_urls:
            if len(data):  # RFC 6066 §5: empty
                raise DTLSError("client_certificate_url extension not empty", DECODE_ERROR)
            self.cert_url_acknowledged = True
            return None
        return check_server_hello_extension(self.ctx, etype, data)

    def server_certificate(self, body, cert_type):
        """Authenticates the server from its Certificate message; returns (its 65-byte
        public key, number of certificates). After cached_info was confirmed, a body that
        is a hash_value<1..255> (RFC 7924 §4.1; a full message starts with the zero high
        byte of its 24-bit length, §4 tells them apart by length) names cached information
        we offered."""
        ctx = self.ctx
        if self.cache_acknowledged and len(body) and body[0] != 0:
            r = Reader(body)
            fingerprint = bytes(r.vec8())
            r.end()
            entry = None
            for e in self.offered_cache:
                if e.hash == fingerprint:
                    entry = e
            if entry is None:
                raise DTLSError("server refers to cached certificate information we do not "
                                "have", ILLEGAL_PARAMETER)
            if entry.cert_type != cert_type:
                raise DTLSError("cached certificate information is of another certificate "
                                "type", ILLEGAL_PARAMETER)
            full = entry.body
            known = entry.signatures if entry.trusted else ()
        else:
            full = body
            known = ()
        certs = parse_certificate(full, cert_type, ctx.max_handshake_message)
        log = []
        key = authenticate_server(ctx, certs, cert_type, self.host, self.ip,
                                  _verifier(log, known))
        if full is not body:
            self.cache_hit = True
            self.bytes_saved = len(full) - len(body)
        self.entry = CachedInfo(cert_type, full, self.host, self.ip, log, trusted=True)
        return key, len(certs)

    def client_certificate(self, cert_type, usable):
        """Our answer to a CertificateRequest: (handshake type, body, whether we sign a
        CertificateVerify). CertificateURL (RFC 6066 §5) replaces Certificate when the server
        accepted client_certificate_url; otherwise our chain, raw public key, or an empty
        Certificate when we have nothing the server accepts (RFC 5246 §7.4.6)."""
        ctx = self.ctx
        if usable and ctx.private_key is not None and self.cert_url_acknowledged \
                and cert_type == CERT_TYPE_X509:
            return HS_CERTIFICATE_URL, certificate_url_body(ctx), True
        can_sign = usable and ctx.private_key is not None and \
            (bool(ctx.cert_chain) or cert_type == CERT_TYPE_RPK)
        return HS_CERTIFICATE, client_certificate_body(ctx, cert_type, can_sign), can_sign
