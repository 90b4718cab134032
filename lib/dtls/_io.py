"""Helpers shared by the socket drivers (dtls.connection and dtls.aio):
a non-wrapping millisecond clock and the errno values the drivers treat specially."""
import errno
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython
    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _ticks_diff(a, b):
        return a - b

ECONNREFUSED = getattr(errno, "ECONNREFUSED", 111)
EAGAIN = getattr(errno, "EAGAIN", 11)
ETIMEDOUT = getattr(errno, "ETIMEDOUT", 110)
ENOBUFS = getattr(errno, "ENOBUFS", 105)


class Clock:
    """Milliseconds since creation that never wrap (ticks_ms wraps after 2^30 ms on
    MicroPython ports). Call now() at least once per wrap period (about 12 days)."""

    def __init__(self):
        self._last = _ticks_ms()
        self._now = 0

    def now(self):
        t = _ticks_ms()
        self._now += _ticks_diff(t, self._last)
        self._last = t
        return self._now


def errno_of(exc):
    """The errno of an OSError (MicroPython puts it in args[0], CPython in .errno)."""
    code = getattr(exc, "errno", None)
    if code is None and exc.args:
        code = exc.args[0]
    return code


def is_timeout(exc):
    """True for the OSError a socket or Connection.recv raises when its timeout passes
    (ETIMEDOUT; MicroPython's settimeout raises EAGAIN)."""
    return isinstance(exc, OSError) and errno_of(exc) in (ETIMEDOUT, EAGAIN)


def is_ip_literal(host):
    """True for an IPv6 literal or a dotted-quad IPv4 address (no SNI for those,
    RFC 6066 §3)."""
    if ":" in host:
        return True
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit():
            return False
    return True


def connected_udp_socket(host, port, server_hostname=None):
    """Resolves host and opens a UDP socket connected to it, for Context.connect and
    dtls.aio.connect. Returns (sock, server_hostname, server_ip): an IP literal host is the
    server_ip the certificate's iPAddress entries are checked against (no SNI for it, RFC
    6066 §3); a name becomes server_hostname (SNI, and the dNSName checked) unless one was
    given."""
    import socket
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    sock = socket.socket(ai[0], socket.SOCK_DGRAM)
    try:
        sock.connect(ai[-1])
    except BaseException:
        sock.close()
        raise
    if is_ip_literal(host):
        return sock, server_hostname, host
    return sock, host if server_hostname is None else server_hostname, None


class HeartbeatSchedule:
    """One heartbeat() of either driver: sends a HeartbeatRequest (padded so that its
    datagram is `datagram_size` bytes; 0: minimal) and resends it with the handshake's
    doubling timer until `timeout` seconds have passed (RFC 6520 §4: over DTLS the sender
    retransmits an unanswered request; RFC 6347 §4.2.4.1 timer values)."""

    def __init__(self, conn, timeout, datagram_size):
        conn.core.heartbeat(datagram_size)
        conn._heartbeat_answered = False
        conn._flush()
        self._conn = conn
        now = conn._clock.now()
        self._period = conn.core.ctx.initial_timeout_ms
        self._resend = now + self._period
        self._end = now + int(timeout * 1000)

    def next_wake(self, now):
        """None once the timeout has passed; otherwise resends the request if its period
        is over and returns when the driver must wake up next (same clock as `now`)."""
        if now >= self._end:
            return None
        if now >= self._resend:
            conn = self._conn
            conn.core.resend_heartbeat()
            conn._flush()
            self._period = min(2 * self._period, conn.core.ctx.max_timeout_ms)
            self._resend = now + self._period
        return min(self._resend, self._end)


class ConnectionInfo:
    """What both drivers (dtls.connection, dtls.aio) expose about their sans-I/O core."""

    @property
    def cipher_suite(self):
        return self.core.cipher_suite_name

    @property
    def session(self):
        """A dtls.Session to resume later (None if the server offered no resumption);
        session.to_bytes() keeps it across deep sleep."""
        return self.core.session

    @property
    def resumed(self):
        """True when this handshake resumed the offered session."""
        return self.core.resumed

    def settimeout(self, seconds):
        """Timeout for recv (None: wait forever; 0: return at once)."""
        self._timeout_ms = None if seconds is None else int(seconds * 1000)
