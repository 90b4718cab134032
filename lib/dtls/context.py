"""Client settings and credentials, shared by connections (shaped like tls.SSLContext)."""
from ._io import connected_udp_socket
from .const import (KX_ECDHE_ECDSA, KX_ECDHE_PSK, KX_PSK, SUITES,
                    TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CCM_8,
                    suite_by_name)

# RFC 6347 §4.2.4.1: start at 1 s, double on each retransmission, at most 60 s.
TIMERS_RFC6347 = (1000, 60000)
# RFC 7925 §11: constrained radio links (slow, duty-cycled) use an initial timer of 9 s.
TIMERS_RFC7925 = (9000, 60000)

# 1280 (IPv6 minimum MTU) - 40 (IPv6 header) - 8 (UDP header): a datagram this size crosses
# any IPv6 path, and IPv4 paths of ordinary Ethernet/WiFi MTU, without IP fragmentation.
DEFAULT_MAX_DATAGRAM = 1232


class Context:
    """What a client needs before connecting: credentials, cipher suites, timers, limits.

    psk:            (identity, key) as bytes/str; the key as raw bytes (RFC 4279 §5.4).
    ciphers:        IANA suite names or numbers, in preference order; default: the suites
                    the credentials allow (PSK: TLS_PSK_WITH_AES_128_CCM_8 only, RFC 7925 §4.2).
    timers:         (initial_ms, max_ms) retransmission timer; TIMERS_RFC6347 (default) or
                    TIMERS_RFC7925.
    handshake_timeout_ms: give up a handshake after this long (default 60 s).
    max_datagram:   largest datagram we send; handshake messages are fragmented to fit.
    max_handshake_message: largest handshake message accepted from the server.
    max_recv_datagram: receive buffer per datagram (default 2048; a larger
                    datagram is cut, dropped, and named in the timeout error).
    require_ems:    refuse servers that do not negotiate extended master secret (RFC 7627).
    rng:            callable(n) -> n random bytes; default: one health-checked HMAC-DRBG
                    per process (dtls.rng), seeded from os.urandom (the hardware RNG on
                    ESP32/RP2040).
    trace:          callable(str) receiving a line per protocol event (flights, alerts).

    Certificates and raw public keys (TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, RFC 7925 §4.3/4.4).
    Each value is bytes (PEM or DER), a file path (str), or a list of those:
    ca:             trust anchors for the server's X.509 chain (a CA bundle may hold several).
    server_rpk:     the server's pinned raw public key (RFC 7250): its SubjectPublicKeyInfo,
                    or the 32-byte SHA-256 of it.
    cert, key:      our certificate chain (leaf first) and P-256 private key, sent when the
                    server asks for client authentication.
    client_rpk:     authenticate with the raw public key of `key` instead of a certificate.
    clock:          "auto" (default): check certificate validity periods when time.time()
                    reports a year >= 2024, skip them when the device clock is plainly unset;
                    None: never check (a device without a clock); or a callable returning
                    seconds since 1970-01-01 UTC.
    max_chain_depth: most certificates accepted below the trust anchor (default 4).

    Size-saving extensions for certificate handshakes (all off by default):
    cached_info:    what an earlier connection learned of the server (conn.core.cached_info,
                    a dtls.ecdhe.CachedInfo, or its to_bytes()), or a list of those: offered
                    in RFC 7924 cached_info to the same server name/address, so the server
                    may send a 33-byte fingerprint instead of its Certificate message. The
                    cached chain is checked again (anchors, validity when the clock is
                    known, name) without repeating signature verifications it recorded.
    trusted_ca_keys: "key_sha1_hash", "x509_name" or "cert_sha1_hash": name our trust
                    anchors in RFC 6066 §6 trusted_ca_keys, so a server holding several
                    chains can pick one we can verify (21 bytes per anchor with SHA-1).
    cert_urls:      [(url, sha1 or None), ...]: offer RFC 6066 §5 client_certificate_url;
                    a server that accepts it gets a CertificateURL message (the URLs and the
                    SHA-1 of what each one holds) instead of our certificate chain, still
                    followed by CertificateVerify with `key`. `cert` may then be left out;
                    a None hash is computed from `cert`.
    cert_url_type:  "individual_certs" (default: one URL per DER certificate, leaf first) or
                    "pkipath" (one URL for the whole chain as a PkiPath).
    Truncated HMAC (RFC 6066 §7) is never offered: every suite here is AEAD (RFC 7925 §13).

    heartbeat:      negotiate RFC 6520 heartbeat: answer the server's requests and, if it
                    agrees, send our own as keep-alive/liveness probes (conn.heartbeat()).
    max_fragment_length: 512, 1024, 2048 or 4096 (RFC 6066 §4): ask the server to send
                    records no larger; ours are kept to it too.
    record_size_limit: the largest record plaintext we accept, 64..16384 (RFC 8449); the
                    server's own limit is respected when it sends one.
    connection_id:  negotiate RFC 9146 Connection ID (ours empty), so the session survives a
                    NAT rebinding or a change of our address/port.
    session_tickets: ask servers for RFC 5077 session tickets (4 more bytes per ClientHello);
                    resumption by session ID works without them.
    keylog:         a path or callable(str): receives an NSS key-log line ("CLIENT_RANDOM
                    <client random> <master secret>", hex) per handshake, so Wireshark or
                    tshark can decrypt a capture. It exposes the session keys: debugging only.
    """

    def __init__(self, psk=None, ciphers=None, timers=TIMERS_RFC6347,
                 handshake_timeout_ms=60000, max_datagram=DEFAULT_MAX_DATAGRAM,
                 max_handshake_message=8192, require_ems=False, rng=None, trace=None,
                 max_recv_datagram=2048,
                 ca=None, server_rpk=None, cert=None, key=None, client_rpk=False,
                 clock="auto", max_chain_depth=4, keylog=None, session_tickets=False,
                 heartbeat=False, max_fragment_length=None, record_size_limit=None,
                 connection_id=False, cached_info=None, trusted_ca_keys=None, cert_urls=None,
                 cert_url_type="individual_certs"):
        self.psk_identity = None
        self.psk_key = None
        if psk is not None:
            self.set_psk(psk[0], psk[1])
        self.ciphers = None
        if ciphers is not None:
            self.set_ciphers(ciphers)
        self.initial_timeout_ms, self.max_timeout_ms = timers
        self.handshake_timeout_ms = handshake_timeout_ms
        if max_datagram < 64:
            raise ValueError("max_datagram too small")
        self.max_datagram = max_datagram
        self.max_handshake_message = max_handshake_message
        if max_recv_datagram < 256:
            raise ValueError("max_recv_datagram too small")
        self.max_recv_datagram = max_recv_datagram
        self.require_ems = require_ems
        if rng is None:  # one health-tested HMAC-DRBG per process, loaded on first use
            from .rng import default_generator
            rng = default_generator()
        self.rng = rng
        self.trace = trace
        self.trust_anchors = []
        self.server_spki = None
        self.server_spki_sha256 = None
        self.cert_chain = []
        self.private_key = None
        self.own_spki = None
        self.client_rpk = False
        self.clock = clock
        self.max_chain_depth = max_chain_depth
        self.keylog = keylog
        self.session_tickets = session_tickets
        self.heartbeat = heartbeat
        if max_fragment_length not in (None, 512, 1024, 2048, 4096):
            raise ValueError("max_fragment_length must be 512, 1024, 2048 or 4096")
        self.max_fragment_length = max_fragment_length
        if record_size_limit is not None and not 64 <= record_size_limit <= 16384:
            raise ValueError("record_size_limit must be 64..16384")
        self.record_size_limit = record_size_limit
        self.connection_id = connection_id
        if ca is not None:
            self.load_verify_locations(ca)
        if server_rpk is not None:
            self.set_server_rpk(server_rpk)
        if key is not None or cert is not None:
            self.load_cert_chain(cert, key, client_rpk, url_only=bool(cert_urls))
        elif client_rpk:
            raise ValueError("client_rpk needs key")
        self.cached_info = []
        if cached_info is not None:
            from .ecdhe import load_cached_info
            self.cached_info = load_cached_info(cached_info)
        if trusted_ca_keys is not None:
            from .ecdhe import TRUSTED_CA_IDENTIFIERS
            if trusted_ca_keys not in TRUSTED_CA_IDENTIFIERS:
                raise ValueError("trusted_ca_keys must be key_sha1_hash, x509_name or "
                                 "cert_sha1_hash")
            if not self.trust_anchors:
                raise ValueError("trusted_ca_keys needs ca")
        self.trusted_ca_keys = trusted_ca_keys
        self.cert_urls = None
        self.cert_url_type = cert_url_type
        if cert_urls:
            if self.private_key is None or self.client_rpk:
                raise ValueError("cert_urls needs key (and a certificate, not client_rpk)")
            from .ecdhe import certificate_urls
            self.cert_urls = certificate_urls(cert_urls, cert_url_type, self.cert_chain)

    def set_psk(self, identity, key):
        if isinstance(identity, str):
            identity = identity.encode()
        if isinstance(key, str):
            key = key.encode()
        # RFC 4279 §5.3/§5.4: identities up to 128 octets and keys up to 64 octets must be
        # supported; the wire format allows 2^16-1, which no device needs.
        if not 0 < len(identity) <= 128:
            raise ValueError("PSK identity must be 1..128 bytes")
        if not 0 < len(key) <= 64:
            raise ValueError("PSK key must be 1..64 bytes")
        self.psk_identity = bytes(identity)
        self.psk_key = bytes(key)

    def set_ciphers(self, ciphers):
        codes = []
        for c in ciphers:
            code = suite_by_name(c) if isinstance(c, str) else c
            if code not in SUITES:
                raise ValueError("unsupported cipher suite: %r" % (c,))
            if code not in codes:
                codes.append(code)
        if not codes:
            raise ValueError("no cipher suites")
        self.ciphers = codes

    def load_verify_locations(self, ca):
        """Adds trust anchors (PEM/DER bytes, a path, or a list of those)."""
        from . import x509
        for der in _load_ders(ca):
            self.trust_anchors.append(x509.Certificate(der))

    def set_server_rpk(self, spki):
        """Pins the server's raw public key: SPKI (PEM/DER bytes or a path) or its SHA-256."""
        if isinstance(spki, (bytes, bytearray)) and len(spki) == 32 and spki[0] != 0x30:
            self.server_spki_sha256 = bytes(spki)
            return
        from . import x509
        der = _load_ders(spki)[0]
        x509.parse_spki(der)  # a P-256 key, or ValueError now rather than at handshake time
        self.server_spki = der

    def load_cert_chain(self, cert, key, client_rpk=False, url_only=False):
        """Our credentials for client authentication: a certificate chain (leaf first) and
        its P-256 private key, or only a key with client_rpk=True (RFC 7250) or, with
        url_only=True, when the certificate is only sent as a URL (RFC 6066 §5)."""
        from . import ecdhe, p256, x509
        if key is None:
            raise ValueError("a client certificate needs its private key")
        self.private_key = x509.parse_ec_private_key(_read(key))
        pub = p256.public_key(self.private_key)
        self.own_spki = ecdhe.spki_from_public(pub)
        self.client_rpk = client_rpk
        if not client_rpk:
            if cert is None:
                if url_only:
                    return
                raise ValueError("key without cert: pass cert, or client_rpk=True")
            self.cert_chain = _load_ders(cert)
            if x509.Certificate(self.cert_chain[0]).public_key != pub:
                raise ValueError("the certificate does not match the private key")

    def log_keys(self, client_random, master):
        """Writes the NSS key-log line for a handshake (only when keylog is set)."""
        if self.keylog is None:
            return
        line = "CLIENT_RANDOM %s %s" % (client_random.hex(), bytes(master).hex())
        if callable(self.keylog):
            self.keylog(line)
        else:
            with open(self.keylog, "a") as f:
                f.write(line + "\n")

    def now(self):
        """Seconds since 1970 for certificate validity checks, or None to skip them."""
        clock = self.clock
        if clock is None:
            return None
        if clock != "auto":
            return clock()
        import time
        t = time.time()
        # Ports whose epoch is 2000 (older MicroPython) report 1970 as year 2000 + n.
        if time.gmtime(0)[0] == 2000:
            t += 946684800
        if t < 1704067200:  # 2024-01-01: the clock has not been set
            return None
        return int(t)

    def offered_suites(self):
        """The suites a ClientHello offers: the configured ones the credentials can use.
        Default: ECDHE_ECDSA (forward secrecy, RFC 7925 §4.3) when the server can be
        authenticated by certificate or pinned key, then PSK when a PSK is set."""
        if self.ciphers is None:
            wanted = [TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CCM_8]
        else:
            wanted = self.ciphers
        usable = []
        for code in wanted:
            kx = SUITES[code][1]
            if (kx == KX_PSK or kx == KX_ECDHE_PSK) and self.psk_key is not None:
                usable.append(code)
            elif kx == KX_ECDHE_ECDSA and self.can_authenticate_server():
                usable.append(code)
        if not usable:
            raise ValueError("no offered cipher suite matches the configured credentials")
        return usable

    def can_authenticate_server(self):
        return bool(self.trust_anchors) or self.server_spki is not None or \
            self.server_spki_sha256 is not None

    def wrap_socket(self, sock, server_hostname=None, do_handshake=True, server_ip=None,
                    session=None):
        """Runs DTLS over a connected UDP socket; returns a Connection. server_hostname is
        sent as SNI and, in certificate mode, must be in the server certificate's
        subjectAltName; server_ip (an address string) is checked against its iPAddress
        entries instead when there is no name. session: a dtls.Session (conn.session of an
        earlier connection, or Session.from_bytes) to resume."""
        from .connection import Connection
        return Connection(sock, self, server_hostname=server_hostname,
                          do_handshake=do_handshake, server_ip=server_ip, session=session)

    def connect(self, host, port, server_hostname=None, do_handshake=True, session=None):
        """Resolves host, opens a UDP socket, connects it and wraps it."""
        sock, server_hostname, server_ip = connected_udp_socket(host, port, server_hostname)
        try:
            return self.wrap_socket(sock, server_hostname=server_hostname,
                                    do_handshake=do_handshake, server_ip=server_ip,
                                    session=session)
        except BaseException:
            sock.close()
            raise


def _read(item):
    """bytes as given; a str is a file path (devices keep credentials in flash files)."""
    if isinstance(item, str):
        with open(item, "rb") as f:
            return f.read()
    return item


def _load_ders(items):
    from .pem import load_der_or_pem
    if not isinstance(items, (list, tuple)):
        items = [items]
    out = []
    for item in items:
        out += load_der_or_pem(_read(item))
    if not out:
        raise ValueError("no certificate or key found")
    return out


def ip_address_bytes(text):
    """4 or 16 bytes of an IPv4/IPv6 literal (for iPAddress subjectAltName checks)."""
    if ":" not in text:
        parts = text.split(".")
        return bytes([int(p) for p in parts])
    head, _, tail = text.partition("::")
    groups_head = [g for g in head.split(":") if g] if head else []
    groups_tail = [g for g in tail.split(":") if g] if tail else []
    if "::" not in text:
        groups_head, groups_tail = text.split(":"), []
    missing = 8 - len(groups_head) - len(groups_tail)
    if missing < 0 or ("::" not in text and missing):
        raise ValueError("bad IPv6 address")
    out = b""
    for g in groups_head + ["0"] * missing + groups_tail:
        v = int(g, 16)
        out += bytes((v >> 8, v & 0xFF))
    return out
