"""X.509 certificates (RFC 5280) for the certificate mode of RFC 7925 §4.4.

Parses exactly what a DTLS 1.2 client needs to authenticate an ECDHE_ECDSA server:
P-256 keys, ecdsa-with-SHA256 signatures, names, validity, and the extensions that
change the outcome of path validation. Everything else is recorded so validation
fails cleanly instead of being ignored.

The structure of a certificate has a fixed depth, so it is walked explicitly with
dtls.der (no recursion). Sizes and counts are bounded (MAX_* below). Every failure
is a ValueError; verify_chain raises CertificateError (a ValueError) whose `.reason`
names the problem and ALERT_FOR_REASON gives the TLS alert (RFC 5246 §7.2).

Time: validity is checked only when the caller passes `now` (seconds since
1970-01-01 UTC). A device without a trusted clock (no RTC, no NTP yet) should pass
None and accept that an expired or not-yet-valid certificate is not detected.
MicroPython ports differ in their epoch: if time.gmtime(0)[0] == 2000 on the target,
add 946684800 to time.time() before passing it.
"""
from dtls import der, pem
from dtls.der import (TAG_BOOLEAN, TAG_INTEGER, TAG_BIT_STRING, TAG_OCTET_STRING,
                      TAG_OID, TAG_SEQUENCE, TAG_SET, TAG_UTF8_STRING,
                      TAG_PRINTABLE_STRING, TAG_IA5_STRING)

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

# Bounds (module attributes, so an application may lower them).
MAX_CERT_SIZE = 4096
MAX_EXTENSIONS = 24
MAX_SAN_ENTRIES = 16
MAX_NAME_ATTRIBUTES = 24
MAX_EKU_ENTRIES = 16
MAX_ANCHORS = 32

# OIDs as DER content bytes.
OID_ECDSA_WITH_SHA256 = b"\x2a\x86\x48\xce\x3d\x04\x03\x02"  # 1.2.840.10045.4.3.2
OID_EC_PUBLIC_KEY = b"\x2a\x86\x48\xce\x3d\x02\x01"  # 1.2.840.10045.2.1
OID_PRIME256V1 = b"\x2a\x86\x48\xce\x3d\x03\x01\x07"  # 1.2.840.10045.3.1.7
OID_RSA_ENCRYPTION = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"  # 1.2.840.113549.1.1.1
OID_COMMON_NAME = b"\x55\x04\x03"  # 2.5.4.3
OID_SUBJECT_KEY_ID = b"\x55\x1d\x0e"  # 2.5.29.14
OID_KEY_USAGE = b"\x55\x1d\x0f"  # 2.5.29.15
OID_SUBJECT_ALT_NAME = b"\x55\x1d\x11"  # 2.5.29.17
OID_BASIC_CONSTRAINTS = b"\x55\x1d\x13"  # 2.5.29.19
OID_AUTHORITY_KEY_ID = b"\x55\x1d\x23"  # 2.5.29.35
OID_EXT_KEY_USAGE = b"\x55\x1d\x25"  # 2.5.29.37
OID_ANY_EXT_KEY_USAGE = b"\x55\x1d\x25\x00"  # 2.5.29.37.0
OID_SERVER_AUTH = b"\x2b\x06\x01\x05\x05\x07\x03\x01"  # 1.3.6.1.5.5.7.3.1

# Extensions this module understands: a critical extension not in this list makes
# path validation fail (RFC 5280 §4.2). SKI/AKI are informational only.
_KNOWN_EXTENSIONS = (OID_BASIC_CONSTRAINTS, OID_KEY_USAGE, OID_SUBJECT_ALT_NAME,
                     OID_EXT_KEY_USAGE, OID_SUBJECT_KEY_ID, OID_AUTHORITY_KEY_ID)

# KeyUsage named bits (RFC 5280 §4.2.1.3) as bits of Certificate.key_usage.
KU_DIGITAL_SIGNATURE = const(0x01)
KU_KEY_CERT_SIGN = const(0x20)

# GeneralName tags (RFC 5280 §4.2.1.6, IMPLICIT tagging).
_GN_DNS_NAME = const(0x82)
_GN_IP_ADDRESS = const(0x87)

# P-256 group order, for private key range checks (SEC 2 §2.4.2).
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# CertificateError reasons and the TLS alert each maps to (RFC 5246 §7.2).
BAD_CERTIFICATE = "bad_certificate"
UNSUPPORTED_CERTIFICATE = "unsupported_certificate"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
UNKNOWN_CA = "unknown_ca"
BAD_SIGNATURE = "bad_signature"
NAME_MISMATCH = "name_mismatch"

ALERT_FOR_REASON = {
    BAD_CERTIFICATE: 42,  # bad_certificate
    UNSUPPORTED_CERTIFICATE: 43,  # unsupported_certificate
    EXPIRED: 45,  # certificate_expired
    NOT_YET_VALID: 42,  # bad_certificate (as OpenSSL does)
    UNKNOWN_CA: 48,  # unknown_ca
    BAD_SIGNATURE: 42,  # bad_certificate: a forged certificate is a bad one
    NAME_MISMATCH: 42,  # bad_certificate
}


class CertificateError(ValueError):
    """Path validation failure; `reason` is one of the constants above."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def _algorithm_identifier(buf, pos, end):
    """AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }.

    Returns (oid, parameters TLV bytes or None, next_pos)."""
    s, e = der.expect_sequence(buf, pos, end)
    os_, oe = der.expect(buf, s, e, TAG_OID)
    oid = der.read_oid(buf, os_, oe)
    params = None
    if oe < e:
        params, pe = der.element_bytes(buf, oe, e)
        der.expect_end(pe, e)
    return oid, params, e


def _decode_string(buf, s, e, tag):
    """Text of a DirectoryString/IA5String, or None for types not decoded here."""
    raw = bytes(buf[s:e])
    if tag == TAG_UTF8_STRING:
        return raw.decode("utf-8")  # UnicodeError is a ValueError
    if tag == TAG_PRINTABLE_STRING or tag == TAG_IA5_STRING:
        for b in raw:
            if b >= 0x80:
                raise ValueError("x509: non-ASCII character in ASCII string")
        return raw.decode()
    return None


def _parse_name(buf, pos, end):
    """Name ::= SEQUENCE OF RelativeDistinguishedName (RFC 5280 §4.1.2.4).

    Returns (raw Name DER bytes, first commonName or None, next_pos). Names chain
    by exact byte equality of the raw DER."""
    raw, next_pos = der.element_bytes(buf, pos, end)
    s, e = der.expect_sequence(buf, pos, end)
    cn = None
    count = 0
    for tag, rs, re in der.children(buf, s, e, MAX_NAME_ATTRIBUTES):
        if tag != TAG_SET or rs == re:
            raise ValueError("x509: bad RDN")
        for atag, as_, ae in der.children(buf, rs, re, MAX_NAME_ATTRIBUTES):
            count += 1
            if atag != TAG_SEQUENCE or count > MAX_NAME_ATTRIBUTES:
                raise ValueError("x509: bad name attribute")
            ts, te = der.expect(buf, as_, ae, TAG_OID)
            oid = der.read_oid(buf, ts, te)
            vtag, vs, ve = der.read_tlv(buf, te, ae)
            der.expect_end(ve, ae)
            if cn is None and oid == OID_COMMON_NAME:
                cn = _decode_string(buf, vs, ve, vtag)
    return raw, cn, next_pos


def _parse_spki(buf, pos, end):
    """SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 5480 §2).

    Returns (raw SPKI bytes, key algorithm OID, curve OID or None,
    65-byte uncompressed P-256 point or None, next_pos)."""
    raw, next_pos = der.element_bytes(buf, pos, end)
    s, e = der.expect_sequence(buf, pos, end)
    key_alg, params, p = _algorithm_identifier(buf, s, e)
    bs, be = der.expect(buf, p, e, TAG_BIT_STRING)
    der.expect_end(be, e)
    unused, ks, ke = der.read_bit_string(buf, bs, be)
    curve = None
    point = None
    if key_alg == OID_EC_PUBLIC_KEY and params:
        # ECParameters ::= CHOICE { namedCurve OID, ... } (RFC 5480 §2.1.1)
        ptag, ps, pe = der.read_tlv(params, 0, len(params))
        if ptag == TAG_OID:
            curve = der.read_oid(params, ps, pe)
        # RFC 7925 §4.4 / RFC 8422: uncompressed points only.
        if (curve == OID_PRIME256V1 and unused == 0 and ke - ks == 65
                and buf[ks] == 0x04):
            point = bytes(buf[ks:ke])
    return raw, key_alg, curve, point, next_pos


def _key_usage_bits(buf, s, e):
    """KeyUsage BIT STRING -> int where bit n is named bit n (bit 0 = MSB)."""
    unused, ds, de = der.read_bit_string(buf, s, e)
    if de - ds > 2:
        raise ValueError("x509: keyUsage too long")
    bits = 0
    for i in range(ds, de):
        b = buf[i]
        for k in range(8):
            if b & (0x80 >> k):
                bits |= 1 << ((i - ds) * 8 + k)
    return bits


def _ascii_lower(text):
    out = []
    for c in text:
        if "A" <= c <= "Z":
            c = chr(ord(c) + 32)
        out.append(c)
    return "".join(out)


class Certificate:
    """A parsed certificate. Fields (all set by the constructor):

    der, tbs (exact TBSCertificate bytes that the signature covers), version (1..3),
    serial (int), sig_alg (OID bytes), sig_alg_params (TLV bytes or None),
    signature (BIT STRING contents: the DER Ecdsa-Sig-Value for ECDSA),
    issuer, subject (raw Name DER), issuer_cn, subject_cn (str or None),
    not_before, not_after (seconds since 1970-01-01 UTC),
    spki (raw SubjectPublicKeyInfo DER), key_alg, key_curve (OID bytes or None),
    public_key (65-byte uncompressed P-256 point, or None for any other key),
    extensions (list of (oid, critical)), unknown_critical (list of OIDs),
    ca (True/False, None without basicConstraints), path_len (int or None),
    key_usage (int of KU_* bits or None), ext_key_usage (list of OIDs or None),
    san_dns (list of str), san_ip (list of 4- or 16-byte bytes).
    """

    def __init__(self, data, max_size=None):
        if max_size is None:
            max_size = MAX_CERT_SIZE
        if len(data) > max_size:
            raise ValueError("x509: certificate larger than %d bytes" % max_size)
        buf = bytes(data)
        self.der = buf
        n = len(buf)
        # Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        cs, ce = der.expect_sequence(buf, 0, n)
        der.expect_end(ce, n)
        ts, te = der.expect_sequence(buf, cs, ce)
        self.tbs = buf[cs:te]
        self.sig_alg, self.sig_alg_params, p = _algorithm_identifier(buf, te, ce)
        ss, se = der.expect(buf, p, ce, TAG_BIT_STRING)
        der.expect_end(se, ce)
        unused, ss, se = der.read_bit_string(buf, ss, se)
        if unused:
            raise ValueError("x509: signature has unused bits")
        self.signature = buf[ss:se]
        self._parse_tbs(buf, ts, te)
        # RFC 5280 §4.1.1.2: the outer algorithm must equal TBSCertificate.signature.
        if self._tbs_sig_alg != (self.sig_alg, self.sig_alg_params):
            raise ValueError("x509: signature algorithm mismatch")

    def _parse_tbs(self, buf, p, end):
        tag, s, e = der.read_tlv(buf, p, end)
        self.version = 1
        if tag == der.context(0):
            vs, ve = der.expect(buf, s, e, TAG_INTEGER)
            der.expect_end(ve, e)
            v = der.read_uint(buf, vs, ve, 1)
            if v > 2:
                raise ValueError("x509: unknown version")
            self.version = v + 1
            p = e
        s, e = der.expect(buf, p, end, TAG_INTEGER)
        # RFC 5280 §4.1.2.2: at most 20 octets; tolerate what CAs actually issued.
        self.serial = der.read_integer(buf, s, e, 21)
        alg, params, p = _algorithm_identifier(buf, e, end)
        self._tbs_sig_alg = (alg, params)
        self.issuer, self.issuer_cn, p = _parse_name(buf, p, end)
        # Validity ::= SEQUENCE { notBefore Time, notAfter Time }
        vs, ve = der.expect_sequence(buf, p, end)
        self.not_before, q = der.read_time_seconds(buf, vs, ve)
        self.not_after, q = der.read_time_seconds(buf, q, ve)
        der.expect_end(q, ve)
        self.subject, self.subject_cn, p = _parse_name(buf, ve, end)
        (self.spki, self.key_alg, self.key_curve, self.public_key,
         p) = _parse_spki(buf, p, end)
        self.extensions = []
        self.unknown_critical = []
        self.ca = None
        self.path_len = None
        self.key_usage = None
        self.ext_key_usage = None
        self.san_dns = []
        self.san_ip = []
        # issuerUniqueID [1], subjectUniqueID [2] (IMPLICIT BIT STRING), then
        # extensions [3] EXPLICIT; each at most once and in this order.
        last = 0
        while p < end:
            tag, s, e = der.read_tlv(buf, p, end)
            num = tag & 0x1F
            if tag & 0xC0 != 0x80 or num <= last or num > 3:
                raise ValueError("x509: unexpected field in TBSCertificate")
            if self.version == 1 or (num == 3 and self.version != 3):
                raise ValueError("x509: field not allowed in this version")
            last = num
            if num == 3:
                if tag != der.context(3):
                    raise ValueError("x509: bad extensions tag")
                xs, xe = der.expect_sequence(buf, s, e)
                der.expect_end(xe, e)
                self._parse_extensions(buf, xs, xe)
            p = e

    def _parse_extensions(self, buf, s, e):
        """Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 §4.1)."""
        if s == e:
            raise ValueError("x509: empty extensions")
        seen = []
        for tag, es, ee in der.children(buf, s, e, MAX_EXTENSIONS):
            if tag != TAG_SEQUENCE:
                raise ValueError("x509: bad extension")
            os_, oe = der.expect(buf, es, ee, TAG_OID)
            oid = der.read_oid(buf, os_, oe)
            if oid in seen:
                raise ValueError("x509: duplicate extension")
            seen.append(oid)
            critical = False
            tag, vs, ve = der.read_tlv(buf, oe, ee)
            if tag == TAG_BOOLEAN:
                critical = der.read_boolean(buf, vs, ve)
                tag, vs, ve = der.read_tlv(buf, ve, ee)
            if tag != TAG_OCTET_STRING:
                raise ValueError("x509: bad extnValue")
            der.expect_end(ve, ee)
            self.extensions.append((oid, critical))
            if oid == OID_BASIC_CONSTRAINTS:
                self._parse_basic_constraints(buf, vs, ve)
            elif oid == OID_KEY_USAGE:
                bs, be = der.expect(buf, vs, ve, TAG_BIT_STRING)
                der.expect_end(be, ve)
                self.key_usage = _key_usage_bits(buf, bs, be)
            elif oid == OID_SUBJECT_ALT_NAME:
                self._parse_san(buf, vs, ve)
            elif oid == OID_EXT_KEY_USAGE:
                ks, ke = der.expect_sequence(buf, vs, ve)
                der.expect_end(ke, ve)
                self.ext_key_usage = []
                for t, os_, oe in der.children(buf, ks, ke, MAX_EKU_ENTRIES):
                    if t != TAG_OID:
                        raise ValueError("x509: bad extKeyUsage")
                    self.ext_key_usage.append(der.read_oid(buf, os_, oe))
            elif critical and oid not in _KNOWN_EXTENSIONS:
                self.unknown_critical.append(oid)
            else:
                # Not interpreted; still required to be one well-formed element.
                der.expect_end(der.read_tlv(buf, vs, ve)[2], ve)

    def _parse_basic_constraints(self, buf, s, e):
        """BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE,
        pathLenConstraint INTEGER (0..MAX) OPTIONAL } (RFC 5280 §4.2.1.9)."""
        bs, be = der.expect_sequence(buf, s, e)
        der.expect_end(be, e)
        self.ca = False
        p = bs
        if p < be:
            tag, vs, ve = der.read_tlv(buf, p, be)
            if tag == TAG_BOOLEAN:
                self.ca = der.read_boolean(buf, vs, ve)
                p = ve
        if p < be:
            vs, ve = der.expect(buf, p, be, TAG_INTEGER)
            der.expect_end(ve, be)
            self.path_len = der.read_uint(buf, vs, ve, 4)

    def _parse_san(self, buf, s, e):
        """GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (RFC 5280 §4.2.1.6)."""
        gs, ge = der.expect_sequence(buf, s, e)
        der.expect_end(ge, e)
        if gs == ge:
            raise ValueError("x509: empty subjectAltName")
        for tag, ns, ne in der.children(buf, gs, ge, MAX_SAN_ENTRIES):
            if tag == _GN_DNS_NAME:
                if ns == ne:
                    raise ValueError("x509: empty dNSName")
                for i in range(ns, ne):
                    if buf[i] <= 0x20 or buf[i] >= 0x7F:
                        raise ValueError("x509: bad character in dNSName")
                self.san_dns.append(bytes(buf[ns:ne]).decode())
            elif tag == _GN_IP_ADDRESS:
                if ne - ns != 4 and ne - ns != 16:
                    raise ValueError("x509: bad iPAddress length")
                self.san_ip.append(bytes(buf[ns:ne]))

    def is_self_issued(self):
        return self.subject == self.issuer

    def same_entity(self, other):
        """Same subject name and same key: how an anchor is recognised in a chain."""
        return self.subject == other.subject and self.spki == other.spki


def parse_spki(data):
    """Bare SubjectPublicKeyInfo (DER, or PEM "PUBLIC KEY") -> 65-byte P-256 point.

    For RFC 7250 raw public keys. Raises ValueError for anything but id-ecPublicKey
    on prime256v1 with an uncompressed point."""
    buf = pem.load_der_or_pem(data, "PUBLIC KEY")[0]
    if len(buf) > MAX_CERT_SIZE:
        raise ValueError("x509: public key too large")
    _, key_alg, curve, point, p = _parse_spki(buf, 0, len(buf))
    der.expect_end(p, len(buf))
    if point is None:
        raise ValueError("x509: public key is not an uncompressed P-256 key")
    return point


def _sec1_private_key(buf, s, e, curve_known):
    """ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING,
    parameters [0] ECParameters OPTIONAL, publicKey [1] BIT STRING OPTIONAL }
    (RFC 5915 §3). Returns the 32-byte scalar."""
    vs, ve = der.expect(buf, s, e, TAG_INTEGER)
    if der.read_uint(buf, vs, ve, 1) != 1:
        raise ValueError("x509: bad ECPrivateKey version")
    ks, ke = der.read_octet_string(buf, ve, e)
    # RFC 5915 §3: exactly ceiling(log2(n)/8) octets, i.e. 32 for P-256.
    if ke - ks != 32:
        raise ValueError("x509: bad private key length")
    d = int.from_bytes(bytes(buf[ks:ke]), "big")
    p = ke
    last = -1
    while p < e:
        tag, ts, te = der.read_tlv(buf, p, e)
        num = tag - 0xA0
        if num <= last or num > 1:
            raise ValueError("x509: unexpected field in ECPrivateKey")
        last = num
        if num == 0:
            os_, oe = der.expect(buf, ts, te, TAG_OID)
            der.expect_end(oe, te)
            if der.read_oid(buf, os_, oe) != OID_PRIME256V1:
                raise ValueError("x509: private key is not on P-256")
            curve_known = True
        p = te
    if not curve_known:
        raise ValueError("x509: private key curve not given")
    if d < 1 or d >= _P256_N:
        raise ValueError("x509: private key out of range")
    return d.to_bytes(32, "big")


def parse_ec_private_key(data):
    """SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY" (DER or PEM) -> 32-byte P-256
    scalar. Encrypted keys and other curves raise ValueError."""
    if isinstance(data, str) or (len(data) and data[0] != 0x30):
        buf = None
        for label, block in pem.pem_blocks(data):
            if label == "EC PRIVATE KEY" or label == "PRIVATE KEY":
                buf = block
                break
            if label == "ENCRYPTED PRIVATE KEY":
                raise ValueError("x509: encrypted private keys are not supported")
        if buf is None:
            raise ValueError("x509: no private key block")
    else:
        buf = bytes(data)
    n = len(buf)
    if n > MAX_CERT_SIZE:
        raise ValueError("x509: private key too large")
    s, e = der.expect_sequence(buf, 0, n)
    der.expect_end(e, n)
    vs, ve = der.expect(buf, s, e, TAG_INTEGER)
    tag = der.read_tlv(buf, ve, e)[0]
    if tag == TAG_OCTET_STRING:
        return _sec1_private_key(buf, s, e, False)
    # PrivateKeyInfo / OneAsymmetricKey (RFC 5208 §5, RFC 5958 §2):
    # SEQUENCE { version 0|1, AlgorithmIdentifier, privateKey OCTET STRING, ... }
    if der.read_uint(buf, vs, ve, 1) > 1:
        raise ValueError("x509: bad PKCS#8 version")
    alg, params, p = _algorithm_identifier(buf, ve, e)
    if alg != OID_EC_PUBLIC_KEY or params != b"\x06\x08" + OID_PRIME256V1:
        raise ValueError("x509: PKCS#8 key is not an EC key on P-256")
    ks, ke = der.read_octet_string(buf, p, e)
    for _ in der.children(buf, ke, e, 2):
        pass  # attributes [0], publicKey [1]: well-formed, otherwise ignored
    is_, ie = der.expect_sequence(buf, ks, ke)
    der.expect_end(ie, ke)
    return _sec1_private_key(buf, is_, ie, True)


def _fail(reason, message):
    raise CertificateError(reason, message)


def _as_certificate(item, max_size, what):
    if isinstance(item, Certificate):
        return item
    try:
        return Certificate(item, max_size)
    except CertificateError:
        raise
    except ValueError as e:
        _fail(BAD_CERTIFICATE if what == "chain" else UNKNOWN_CA,
              "%s certificate: %s" % (what, e))


def _check_cert(cert, now, name):
    """Checks every certificate on the path gets, anchors included."""
    if cert.unknown_critical:
        _fail(UNSUPPORTED_CERTIFICATE, "%s: unknown critical extension %s"
              % (name, der.oid_to_str(cert.unknown_critical[0])))
    if now is not None:
        if now < cert.not_before:
            _fail(NOT_YET_VALID, "%s: not valid yet" % name)
        if now > cert.not_after:
            _fail(EXPIRED, "%s: expired" % name)


def _check_issuer(cert, below, name):
    """RFC 5280 §6.1.4 (k), (l), (n): a certificate that signs others must be a CA
    allowed to sign certificates, with `below` non-self-issued CA certificates
    beneath it on the path."""
    if cert.ca is not True:
        _fail(BAD_CERTIFICATE, "%s: not a CA (basicConstraints cA)" % name)
    if cert.key_usage is not None and not cert.key_usage & KU_KEY_CERT_SIGN:
        _fail(BAD_CERTIFICATE, "%s: keyUsage lacks keyCertSign" % name)
    if cert.path_len is not None and below > cert.path_len:
        _fail(BAD_CERTIFICATE, "%s: pathLenConstraint exceeded" % name)


def _check_anchor(anchor, below, name):
    """An anchor is trusted by configuration (RFC 5280 §6.1.1 (d)); constraints it
    does carry are still honoured, but a v1 root without any is accepted."""
    if anchor.ca is not None or anchor.key_usage is not None:
        _check_issuer(anchor, below, name)


def _signed_by(cert, issuer, verify_sig):
    """True if issuer's key verifies cert's signature. Unsupported algorithms fail
    with unsupported_certificate; a malformed signature is a bad signature."""
    if cert.sig_alg != OID_ECDSA_WITH_SHA256:
        _fail(UNSUPPORTED_CERTIFICATE, "signature algorithm %s not supported"
              % der.oid_to_str(cert.sig_alg))
    if cert.sig_alg_params is not None:
        # RFC 5758 §3.2: ecdsa-with-SHA256 has absent parameters.
        _fail(BAD_CERTIFICATE, "ecdsa-with-SHA256 with parameters")
    if issuer.public_key is None:
        _fail(UNSUPPORTED_CERTIFICATE, "issuer key is not P-256")
    try:
        der.read_ecdsa_signature(cert.signature)
        return bool(verify_sig(issuer.public_key, cert.tbs, cert.signature))
    except CertificateError:
        raise
    except ValueError:
        return False


def verify_chain(chain_ders, trust_anchor_ders, verify_sig, now=None, host=None,
                 ip=None, max_depth=4, max_cert_size=None):
    """Validate a server certificate chain (RFC 5280 §6.1, profiled by RFC 7925 §4.4)
    and return the leaf's 65-byte P-256 public key.

    chain_ders: certificates as sent in the Certificate message, leaf first, each
      certified by the next (RFC 5246 §7.4.2); the root may be omitted.
    trust_anchor_ders: DER bytes or parsed Certificate objects: self-signed roots or
      any CA (e.g. an intermediate) the user trusts, recognised as the issuer
      (subject name + verifying key) of a chain certificate; certificates the
      server sends above that point are ignored. A leaf with the subject and SPKI
      of an anchor is trusted directly (pinning). Anchors' validity and any
      constraints they carry are checked like those of CAs on the path.
    verify_sig(pub65, tbs_bytes, der_sig) -> bool: ECDSA P-256/SHA-256 verifier.
      It must reject points that are not on the curve.
    now: seconds since 1970-01-01 UTC, or None to skip validity-period checks.
    host: DNS name the leaf must carry as a subjectAltName dNSName (ASCII
      case-insensitive, exact: no wildcards, no CN fallback, RFC 7925 §4.4.1).
    ip: 4- or 16-byte address the leaf must carry as an iPAddress SAN.
    max_depth: most certificates allowed below the anchor (leaf included).
    Raises CertificateError (a ValueError) with .reason on any failure.
    """
    if max_cert_size is None:
        max_cert_size = MAX_CERT_SIZE
    if not chain_ders:
        _fail(BAD_CERTIFICATE, "empty certificate chain")
    if len(trust_anchor_ders) > MAX_ANCHORS:
        _fail(UNKNOWN_CA, "too many trust anchors")
    anchors = [_as_certificate(a, max_cert_size, "trust anchor")
               for a in trust_anchor_ders]
    if not anchors:
        _fail(UNKNOWN_CA, "no trust anchors")
    leaf = _as_certificate(chain_ders[0], max_cert_size, "chain")
    # A leaf the user trusts directly (same subject and key as an anchor). The
    # server's copy is unauthenticated, so the configured copy is what is checked.
    for a in anchors:
        if a.same_entity(leaf):
            _check_cert(a, now, "leaf (trust anchor)")
            _check_leaf(a, host, ip)
            return a.public_key
    cert = leaf
    i = 0
    below = 0  # non-self-issued CA certificates between `cert` and the leaf
    while True:
        # An anchor sent by the server is never reached here: the anchor itself
        # verifies the certificate below it first (or the chain is rejected).
        name = "leaf" if i == 0 else "intermediate %d" % i
        _check_cert(cert, now, name)
        if i > 0:
            _check_issuer(cert, below, name)
        trusted = False
        if i + 1 > max_depth:
            _fail(BAD_CERTIFICATE, "chain longer than %d below the anchor" % max_depth)
        if i > 0 and not cert.is_self_issued():
            below += 1
        # Signed directly by an anchor? (A name match alone is not enough.)
        name_matched = False
        for a in anchors:
            if a.subject == cert.issuer:
                name_matched = True
                if _signed_by(cert, a, verify_sig):
                    _check_cert(a, now, "trust anchor")
                    _check_anchor(a, below, "trust anchor")
                    trusted = True
                    break
        if trusted:
            break
        if i + 1 >= len(chain_ders):
            # A same-name anchor whose key does not verify is most likely a re-keyed
            # CA, so this is reported as an unknown CA rather than a forgery.
            if name_matched:
                _fail(UNKNOWN_CA, "%s: no trust anchor key verifies its signature" % name)
            _fail(UNKNOWN_CA, "%s: issuer not found among trust anchors" % name)
        nxt = _as_certificate(chain_ders[i + 1], max_cert_size, "chain")
        if nxt.subject != cert.issuer:
            _fail(UNKNOWN_CA, "%s: next certificate is not its issuer" % name)
        if not _signed_by(cert, nxt, verify_sig):
            _fail(BAD_SIGNATURE, "%s: signature does not verify" % name)
        cert = nxt
        i += 1
    _check_leaf(leaf, host, ip)
    return leaf.public_key


def _check_leaf(leaf, host, ip):
    """What an ECDHE_ECDSA server certificate must carry (RFC 8422 §5.3, RFC 7925 §4.4)."""
    if leaf.public_key is None:
        _fail(UNSUPPORTED_CERTIFICATE, "leaf key is not an uncompressed P-256 key")
    if leaf.key_usage is not None and not leaf.key_usage & KU_DIGITAL_SIGNATURE:
        _fail(UNSUPPORTED_CERTIFICATE, "leaf keyUsage lacks digitalSignature")
    eku = leaf.ext_key_usage
    if eku is not None and OID_SERVER_AUTH not in eku and OID_ANY_EXT_KEY_USAGE not in eku:
        _fail(UNSUPPORTED_CERTIFICATE, "leaf extKeyUsage lacks serverAuth")
    if host is not None:
        if isinstance(host, bytes):
            host = host.decode()
        want = _ascii_lower(host)
        if want.endswith("."):
            want = want[:-1]
        found = False
        if want and "*" not in want:
            for name in leaf.san_dns:
                name = _ascii_lower(name)
                if name.endswith("."):
                    name = name[:-1]
                if name == want:
                    found = True
                    break
        if not found:
            _fail(NAME_MISMATCH, "no subjectAltName dNSName matches %s" % host)
    if ip is not None:
        if bytes(ip) not in leaf.san_ip:
            _fail(NAME_MISMATCH, "no subjectAltName iPAddress matches")
