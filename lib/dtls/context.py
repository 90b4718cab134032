"""Client settings and credentials, shared by connections (shaped like tls.SSLContext)."""
import os

from .const import KX_PSK, SUITES, TLS_PSK_WITH_AES_128_CCM_8, suite_by_name

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
    require_ems:    refuse servers that do not negotiate extended master secret (RFC 7627).
    rng:            callable(n) -> n random bytes; default os.urandom (the hardware RNG on
                    ESP32/RP2040).
    trace:          callable(str) receiving a line per protocol event (flights, alerts).
    """

    def __init__(self, psk=None, ciphers=None, timers=TIMERS_RFC6347,
                 handshake_timeout_ms=60000, max_datagram=DEFAULT_MAX_DATAGRAM,
                 max_handshake_message=8192, require_ems=False, rng=None, trace=None):
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
        self.require_ems = require_ems
        self.rng = rng or os.urandom
        self.trace = trace

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

    def offered_suites(self):
        """The suites a ClientHello offers: the configured ones the credentials can use."""
        if self.ciphers is None:
            wanted = [TLS_PSK_WITH_AES_128_CCM_8]
        else:
            wanted = self.ciphers
        usable = []
        for code in wanted:
            kx = SUITES[code][1]
            if kx == KX_PSK and self.psk_key is not None:
                usable.append(code)
        if not usable:
            raise ValueError("no offered cipher suite matches the configured credentials")
        return usable

    def wrap_socket(self, sock, server_hostname=None, do_handshake=True):
        """Runs DTLS over a connected UDP socket; returns a Connection."""
        from .connection import Connection
        return Connection(sock, self, server_hostname=server_hostname,
                          do_handshake=do_handshake)

    def connect(self, host, port, server_hostname=None, do_handshake=True):
        """Resolves host, opens a UDP socket, connects it and wraps it."""
        import socket
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
        sock = socket.socket(ai[0], socket.SOCK_DGRAM)
        try:
            sock.connect(ai[-1])
            if server_hostname is None and not _is_ip_literal(host):
                server_hostname = host
            return self.wrap_socket(sock, server_hostname=server_hostname,
                                    do_handshake=do_handshake)
        except BaseException:
            sock.close()
            raise


def _is_ip_literal(host):
    if ":" in host:
        return True
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit():
            return False
    return True
