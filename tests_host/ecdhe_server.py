"""A scripted DTLS 1.2 ECDHE_ECDSA server (CPython only) that also implements, byte for byte
from the RFC layouts, the size-saving extensions no installed peer has: cached_info
(RFC 7924), trusted_ca_keys and client_certificate_url (RFC 6066 §5-§6).

It extends tests_host/psk_server.ServerCore (cookie exchange, transcript, epoch-1 records with
the project's own AES-CCM `dtls.record.EpochCipher` and key schedule `dtls.keys`); the ECDHE
and ECDSA operations, certificates and hashes are pyca/cryptography and hashlib, and every
message and extension is built and parsed here from the RFC structures, independently of
lib/dtls:

    RFC 8422 §5.4 ServerKeyExchange (named_curve secp256r1, ecdsa_secp256r1_sha256)
    RFC 5246 §7.4.2/§7.4.4/§7.4.8 Certificate, CertificateRequest, CertificateVerify
    RFC 7250 §3 raw public key Certificate
    RFC 7924 §3-§5 cached_info: ClientHello CachedObjects {type, hash_value<1..255>}, the
        ServerHello list of types, the Certificate message replaced by hash_value<1..255>,
        the fingerprint = SHA-256 over the TLS-form Certificate message (Appendix A)
    RFC 6066 §6 trusted_ca_keys (picks the chain whose anchor the client names, answers
        with an empty extension), §5 client_certificate_url (empty answer; CertificateURL
        {CertChainType, URLAndHash {url<1..2^16-1>, padding 0x01, SHA1Hash[20]}<1..2^16-1>}
        resolved through `url_store`, hashes checked, certificate_unobtainable /
        bad_certificate_hash_value alerts)

What the client sent is kept: `.client_ext` (extension type -> data of the last ClientHello),
`.client_cert_chain` (DER list from Certificate or CertificateURL), `.certificate_url` (the raw
body), `.cert_verify_ok`, `.flight4_bytes` (bytes of the last flight 4), `.sent_alerts`.
"""
import hashlib
import struct

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import psk_server
from psk_server import (CERTIFICATE, CERTIFICATE_REQUEST, CLIENT_HELLO, CLIENT_KEY_EXCHANGE,
                        CT_ALERT, CT_HANDSHAKE, EXT_EMS, EXT_RENEGOTIATION_INFO, FINISHED,
                        SERVER_HELLO, SERVER_HELLO_DONE, SERVER_KEY_EXCHANGE, hs_message,
                        server_hello_body)

from dtls import keys  # noqa: E402  (psk_server put lib/ on sys.path)
from dtls.record import EpochCipher  # noqa: E402

SUITE_ECDHE_CCM_8 = 0xC0AE  # TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 7251)
CERTIFICATE_VERIFY = 15
CERTIFICATE_URL = 21  # RFC 6066 §5
EXT_CLIENT_CERTIFICATE_URL = 2
EXT_TRUSTED_CA_KEYS = 3
EXT_SERVER_CERTIFICATE_TYPE = 20
EXT_CACHED_INFO = 25
CACHED_CERT = 1
CERTIFICATE_UNOBTAINABLE = 111
BAD_CERTIFICATE_HASH_VALUE = 114
MAX_DATAGRAM = 1400


def vec(n, data):
    return len(data).to_bytes(n, "big") + data


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def point(public_key):
    return public_key.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)


def certificate_body(chain_ders):
    """RFC 5246 §7.4.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>."""
    return vec(3, b"".join(vec(3, d) for d in chain_ders))


def fingerprint(cert_body):
    """RFC 7924 §5 / Appendix A: SHA-256 of the Certificate message from its type byte."""
    return hashlib.sha256(bytes([CERTIFICATE]) + vec(3, cert_body)).digest()


def anchor_identifiers(anchor):
    """{IdentifierType: identifier} of a trust anchor for RFC 6066 §6."""
    return {1: x509.SubjectKeyIdentifier.from_public_key(anchor.public_key()).digest,
            2: anchor.subject.public_bytes(),
            3: hashlib.sha1(der(anchor)).digest()}


def parse_extensions(body):
    """ClientHello body (RFC 5246 §7.4.1.2, RFC 6347 §4.2.1) -> {type: data}."""
    p = 34
    p += 1 + body[p]                               # session_id
    p += 1 + body[p]                               # cookie
    p += 2 + struct.unpack_from(">H", body, p)[0]  # cipher_suites
    p += 1 + body[p]                               # compression_methods
    out = {}
    if p == len(body):
        return out
    end = p + 2 + struct.unpack_from(">H", body, p)[0]
    assert end == len(body), "extensions length"
    p += 2
    while p < end:
        t, n = struct.unpack_from(">HH", body, p)
        out[t] = bytes(body[p + 4:p + 4 + n])
        p += 4 + n
    assert p == end
    return out


def parse_cached_info(data):
    """RFC 7924 §3 client CachedInformation -> [(type, hash_value)]."""
    n = struct.unpack_from(">H", data, 0)[0]
    assert n == len(data) - 2 and n >= 1, "cached_info list length"
    out, p = [], 2
    while p < len(data):
        t, hl = data[p], data[p + 1]
        assert 1 <= hl <= 255
        out.append((t, data[p + 2:p + 2 + hl]))
        p += 2 + hl
    assert p == len(data)
    return out


def parse_trusted_ca_keys(data):
    """RFC 6066 §6 TrustedAuthorities -> [(IdentifierType, identifier)]."""
    n = struct.unpack_from(">H", data, 0)[0]
    assert n == len(data) - 2, "trusted_authorities_list length"
    out, p = [], 2
    while p < len(data):
        t = data[p]
        p += 1
        if t == 0:
            ident = b""
        elif t in (1, 3):
            ident = data[p:p + 20]
            p += 20
        elif t == 2:
            dn_len = struct.unpack_from(">H", data, p)[0]
            assert dn_len >= 1
            ident = data[p + 2:p + 2 + dn_len]
            p += 2 + dn_len
        else:
            raise AssertionError("IdentifierType %d" % t)
        out.append((t, ident))
    assert p == len(data)
    return out


def parse_certificate_url(body):
    """RFC 6066 §5 CertificateURL -> (CertChainType, [(url, padding, SHA1Hash)])."""
    chain_type = body[0]
    n = struct.unpack_from(">H", body, 1)[0]
    assert n >= 1 and n == len(body) - 3, "url_and_hash_list length"
    out, p = [], 3
    while p < len(body):
        ul = struct.unpack_from(">H", body, p)[0]
        assert ul >= 1
        url = body[p + 2:p + 2 + ul]
        p += 2 + ul
        out.append((url, body[p], body[p + 1:p + 21]))
        p += 21
    assert p == len(body)
    return chain_type, out


def parse_pkipath(data):
    """PkiPath (SEQUENCE OF Certificate, root end first) -> DER list, leaf first."""
    certs = []
    assert data[0] == 0x30
    p, end = _der_header(data, 0)
    assert end == len(data)
    while p < end:
        s, e = _der_header(data, p)
        certs.append(data[p:e])
        p = e
    return certs[::-1]


def _der_header(data, p):
    n = data[p + 1]
    if n < 0x80:
        return p + 2, p + 2 + n
    k = n & 0x7F
    length = int.from_bytes(data[p + 2:p + 2 + k], "big")
    return p + 2 + k, p + 2 + k + length


class EcdheServerCore(psk_server.ServerCore):
    """chains: [(chain DER list leaf first, cryptography private key of the leaf, trust
    anchor certificate or None)]; the first is sent unless trusted_ca_keys names another's
    anchor. rpk: send the first key as a raw public key (RFC 7250).
    cached_info / trusted_ca_keys / cert_url: implement RFC 7924 / RFC 6066 §6 / §5.
    url_store: {url bytes: bytes served}; request_client_cert: send a CertificateRequest.
    Hooks for failure tests: sh_extra_ext (bytes added to ServerHello extensions),
    certificate_override(body) -> body actually sent."""

    def __init__(self, chains, rpk=False, cached_info=True, trusted_ca_keys=True,
                 cert_url=True, url_store=None, request_client_cert=False, **kw):
        super().__init__(**kw)
        self.chains = chains
        self.rpk = rpk
        self.do_cached_info = cached_info
        self.do_trusted_ca_keys = trusted_ca_keys
        self.do_cert_url = cert_url
        self.url_store = url_store or {}
        self.request_client_cert = request_client_cert
        self.sh_extra_ext = b""
        self.certificate_override = None
        self.client_ext = {}
        self.chosen_chain = None
        self.cached_info_hit = False
        self.full_certificate = None     # the Certificate body a server normally sends
        self.sent_certificate = None
        self.client_cert_chain = None
        self.certificate_url = None
        self.cert_verify_ok = None
        self.flight4_bytes = 0
        self.sent_alerts = []
        self._eph = None
        self._client_pub = None
        self._seen = set()

    # --------------------------------------------------------------- flight 4

    def _certificate_body(self, chain_ders, key):
        if self.rpk:
            return vec(3, key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        return certificate_body(chain_ders)

    def _choose_chain(self):
        ext = self.client_ext
        if self.do_trusted_ca_keys and EXT_TRUSTED_CA_KEYS in ext:
            wanted = parse_trusted_ca_keys(ext[EXT_TRUSTED_CA_KEYS])
            for chain in self.chains:
                if chain[2] is None:
                    continue
                ids = anchor_identifiers(chain[2])
                if any(t == 0 or ids.get(t) == ident for t, ident in wanted):
                    return chain, True
        return self.chains[0], False

    def flight4_messages(self):
        ext = self.client_ext
        (chain_ders, key, _anchor), used_ca_keys = self._choose_chain()
        self.chosen_chain = chain_ders
        self._sign_key = key
        full = self._certificate_body(chain_ders, key)
        self.full_certificate = full
        exts = b""
        if self.ems and EXT_EMS in ext:
            exts += struct.pack(">HH", EXT_EMS, 0)
        exts += struct.pack(">HHB", EXT_RENEGOTIATION_INFO, 1, 0)
        if self.rpk:
            exts += struct.pack(">HHB", EXT_SERVER_CERTIFICATE_TYPE, 1, 2)
        cert = full
        self.cached_info_hit = False
        if self.do_cached_info and EXT_CACHED_INFO in ext:
            objects = parse_cached_info(ext[EXT_CACHED_INFO])
            if any(t == CACHED_CERT for t, _ in objects):
                # RFC 7924 §4: the server supports 'cert'; §4.1: a hash that matches the
                # Certificate it would send replaces the message, a stale one gets it in full.
                exts += struct.pack(">HH", EXT_CACHED_INFO, 3) + vec(2, bytes([CACHED_CERT]))
                mine = fingerprint(full)
                if any(t == CACHED_CERT and h == mine for t, h in objects):
                    cert = vec(1, mine)
                    self.cached_info_hit = True
        if used_ca_keys:
            exts += struct.pack(">HH", EXT_TRUSTED_CA_KEYS, 0)  # RFC 6066 §6: empty
        if self.do_cert_url and EXT_CLIENT_CERTIFICATE_URL in ext:
            exts += struct.pack(">HH", EXT_CLIENT_CERTIFICATE_URL, 0)  # RFC 6066 §5: empty
        exts += self.sh_extra_ext
        if self.certificate_override is not None:
            cert = self.certificate_override(cert)
        self.sent_certificate = cert
        # RFC 8422 §5.4: ServerECDHParams {named_curve, secp256r1, point}, signed over both
        # randoms and the params with ecdsa_secp256r1_sha256 (RFC 5246 §7.4.3).
        self._eph = ec.generate_private_key(ec.SECP256R1())
        params = struct.pack(">BH", 3, 23) + vec(1, point(self._eph.public_key()))
        sig = key.sign(self.client_random + self.server_random + params,
                       ec.ECDSA(hashes.SHA256()))
        msgs = [(SERVER_HELLO, server_hello_body(suite=SUITE_ECDHE_CCM_8, extensions=exts,
                                                 session_id=self.session_id)),
                (CERTIFICATE, cert),
                (SERVER_KEY_EXCHANGE, params + struct.pack(">H", 0x0403) + vec(2, sig))]
        if self.request_client_cert:
            # ClientCertificateType ecdsa_sign(64); ecdsa_secp256r1_sha256; no CA names.
            msgs.append((CERTIFICATE_REQUEST, vec(1, bytes([64])) + vec(2, b"\x04\x03") +
                         vec(2, b"")))
        msgs.append((SERVER_HELLO_DONE, b""))
        return msgs

    def flight4(self):
        """Records packed into datagrams of at most MAX_DATAGRAM bytes."""
        out, dgram = [], b""
        for msg_type, body in self.flight4_messages():
            rec = self.record(CT_HANDSHAKE, self.add_message(msg_type, body), 0)
            if dgram and len(dgram) + len(rec) > MAX_DATAGRAM:
                out.append(dgram)
                dgram = b""
            dgram += rec
        out.append(dgram)
        self.flight4_bytes = sum(len(d) for d in out)
        return out

    # --------------------------------------------------------------- client messages

    def alert(self, desc):
        self.sent_alerts.append(desc)
        self.events.append("sent alert %d" % desc)
        return [self.record(CT_ALERT, bytes([2, desc]), 0)]

    def _handshake(self, plain, epoch):
        """As ServerCore, plus reassembly of fragmented client messages (our client
        fragments a long certificate chain)."""
        out = []
        p = 0
        while p + 12 <= len(plain):
            msg_type = plain[p]
            length = int.from_bytes(plain[p + 1:p + 4], "big")
            mseq = struct.unpack_from(">H", plain, p + 4)[0]
            off = int.from_bytes(plain[p + 6:p + 9], "big")
            flen = int.from_bytes(plain[p + 9:p + 12], "big")
            frag = plain[p + 12:p + 12 + flen]
            p += 12 + flen
            if off == 0 and flen == length:
                out += self._message(msg_type, mseq, frag, epoch)
                continue
            buf = self._partial = getattr(self, "_partial", {})
            entry = buf.setdefault((mseq, epoch), [msg_type, length, bytearray(length), set()])
            entry[2][off:off + flen] = frag
            entry[3].update(range(off, off + flen))
            if len(entry[3]) == length:
                del buf[(mseq, epoch)]
                out += self._message(msg_type, mseq, bytes(entry[2]), epoch)
        return out

    def _message(self, msg_type, mseq, body, epoch):
        if msg_type == CLIENT_HELLO:
            if self.state != "wait_finished":
                self.client_ext = parse_extensions(body)
            return super()._message(msg_type, mseq, body, epoch)
        if msg_type in (CERTIFICATE, CERTIFICATE_URL, CLIENT_KEY_EXCHANGE,
                        CERTIFICATE_VERIFY) and self.state == "wait_finished":
            if (msg_type, mseq) in self._seen:
                return []                 # a retransmitted flight 5
            self._seen.add((msg_type, mseq))
            full = hs_message(msg_type, mseq, body)
            if msg_type == CERTIFICATE_VERIFY:
                self._check_certificate_verify(body)
                self.transcript += full
                return []
            self.transcript += full
            if msg_type == CERTIFICATE:
                p, chain = 3, []
                while p < len(body):
                    n = int.from_bytes(body[p:p + 3], "big")
                    chain.append(bytes(body[p + 3:p + 3 + n]))
                    p += 3 + n
                self.client_cert_chain = chain
                return []
            if msg_type == CERTIFICATE_URL:
                return self._certificate_url(body)
            return self._client_key_exchange(body)
        if msg_type == FINISHED and epoch == 1 and self.state == "wait_finished" \
                and self.master is not None:
            self._client_finished_expected = keys.finished_verify_data(
                self.master, b"client finished", hashlib.sha256(self.transcript).digest())
        return super()._message(msg_type, mseq, body, epoch)

    def _certificate_url(self, body):
        self.certificate_url = bytes(body)
        if not self.do_cert_url:
            self.events.append("CertificateURL without the extension")
            return self.alert(10)  # unexpected_message
        chain_type, entries = parse_certificate_url(body)
        objects = []
        for url, padding, sha1 in entries:
            if padding != 1:
                self.events.append("URLAndHash padding %d" % padding)
                return self.alert(50)  # decode_error
            data = self.url_store.get(bytes(url))
            if data is None:
                return self.alert(CERTIFICATE_UNOBTAINABLE)
            if hashlib.sha1(data).digest() != sha1:
                return self.alert(BAD_CERTIFICATE_HASH_VALUE)
            objects.append(data)
        if chain_type == 1:
            assert len(objects) == 1
            self.client_cert_chain = parse_pkipath(objects[0])
        else:
            self.client_cert_chain = objects
        return []

    def _client_key_exchange(self, body):
        client_point = bytes(body[1:1 + body[0]])
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), client_point)
        pms = self._eph.exchange(ec.ECDH(), peer)
        use_ems = self.ems and EXT_EMS in self.client_ext
        session_hash = hashlib.sha256(self.transcript).digest() if use_ems else None
        self.master = bytes(keys.master_secret(pms, self.client_random, self.server_random,
                                               session_hash))
        ck, sk, civ, siv = keys.key_block(self.master, self.client_random,
                                          self.server_random, 16, 4)
        self.read_cipher = EpochCipher(ck, civ, psk_server.TAG_LEN)
        self.write_cipher = EpochCipher(sk, siv, psk_server.TAG_LEN)
        return []

    def _check_certificate_verify(self, body):
        """RFC 5246 §7.4.8: ecdsa_secp256r1_sha256 over all handshake messages so far,
        checked with the key of the client certificate (sent or fetched by URL)."""
        self.cert_verify_ok = False
        if not self.client_cert_chain or struct.unpack_from(">H", body, 0)[0] != 0x0403:
            return
        sig = bytes(body[4:4 + struct.unpack_from(">H", body, 2)[0]])
        pub = x509.load_der_x509_certificate(self.client_cert_chain[0]).public_key()
        try:
            pub.verify(sig, self.transcript, ec.ECDSA(hashes.SHA256()))
            self.cert_verify_ok = True
        except InvalidSignature:
            self.events.append("CertificateVerify does not verify")
