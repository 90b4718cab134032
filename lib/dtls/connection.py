"""Blocking socket driver for the sans-I/O client: a Connection over a connected UDP socket.

Shaped like a socket: send/recv/settimeout/close and a context manager. recv returns one
application record (datagram semantics), b"" once the server has closed the connection, and
raises OSError(ETIMEDOUT) when the timeout set with settimeout passes.
"""
import select

from ._io import (EAGAIN, ECONNREFUSED, ETIMEDOUT, Clock, ConnectionInfo, HeartbeatSchedule,
                  errno_of)
from .client import STATE_CLOSED, Client
from .errors import ConnectionClosed, DTLSError, HandshakeTimeout


class Connection(ConnectionInfo):
    """A DTLS connection over a connected UDP socket (made by Context.wrap_socket)."""

    def __init__(self, sock, ctx, server_hostname=None, do_handshake=True,
                 recv_buffer_size=None, server_ip=None, session=None):
        self.sock = sock
        self.core = Client(ctx, server_hostname, server_ip, session)
        self._clock = Clock()
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        # One allocation of this size per datagram (MicroPython sockets have no recv_into).
        self._recv_size = recv_buffer_size or ctx.max_recv_datagram
        self._pending = []
        self._timeout_ms = None
        self._icmp_refused = False
        self._eof = False
        self._heartbeat_answered = False
        if do_handshake:
            self.do_handshake()

    # ---------------------------------------------------------------- public API

    def do_handshake(self):
        core = self.core
        core.start(self._clock.now())
        try:
            while not core.connected:
                self._flush()
                deadline = core.next_deadline()
                self._wait_and_feed(deadline)
            self._flush()
        except HandshakeTimeout as e:
            if self._icmp_refused:
                e.message += " (ICMP port unreachable: is a server listening?)"
            self._abort()
            raise
        except BaseException:
            self._abort()
            raise
        self._collect_events()

    def send(self, data):
        """Sends one application record; returns the number of bytes sent."""
        self.core.send(data)
        self._flush()
        return len(data)

    write = send

    def recv(self, bufsize=None):
        """Returns the next application record received (the whole record: datagram
        semantics, bufsize is accepted for socket compatibility and ignored), b"" after
        the server closed the connection."""
        if self._pending:
            return self._pending.pop(0)
        if self._eof:
            return b""
        if self.core.state == STATE_CLOSED:
            raise ConnectionClosed("connection is closed")
        start = self._clock.now()
        while True:
            deadline = self.core.next_deadline()
            if self._timeout_ms is not None:
                t = start + self._timeout_ms
                if deadline is None or t < deadline:
                    deadline = t
            try:
                self._wait_and_feed(deadline)
            finally:
                self._flush()
            self._collect_events()
            if self._pending:
                return self._pending.pop(0)
            if self._eof:
                return b""
            if self._timeout_ms is not None and self._clock.now() - start >= self._timeout_ms:
                raise OSError(ETIMEDOUT)

    read = recv

    def probe_path_mtu(self, sizes=(1472, 1400, 1232, 548), timeout=1):
        """Finds the largest datagram size the path to the server carries by padding
        heartbeat requests to each size in turn (RFC 6520 §5.1; needs heartbeat negotiated
        and accepted by the server). Sizes above max_datagram are skipped. Returns the size
        and uses it as the datagram limit, or None if no probe was answered."""
        for size in sizes:
            if size > self.core.ctx.max_datagram:
                continue
            if self.heartbeat(timeout, datagram_size=size):
                self.core.set_datagram_limit(size)
                return size
        return None

    def heartbeat(self, timeout=5, datagram_size=0):
        """Liveness probe (RFC 6520, negotiated with Context(heartbeat=True)): sends a
        HeartbeatRequest, resends it each retransmission period, and returns True when the
        server answers within `timeout` seconds, False otherwise. Data that arrives
        meanwhile is kept for recv()."""
        schedule = HeartbeatSchedule(self, timeout, datagram_size)
        while not self._heartbeat_answered:
            wake = schedule.next_wake(self._clock.now())
            if wake is None:
                return False
            try:
                self._wait_and_feed(wake)
            finally:
                self._flush()
            self._collect_events()
            if self._eof:
                return False
        return True

    def close(self):
        """Sends close_notify and closes the socket."""
        if self.sock is None:
            return
        try:
            self.core.close()
            self._flush()
        except (OSError, DTLSError):
            pass
        self.sock.close()
        self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- internals

    def _wait_and_feed(self, deadline):
        """Waits until a datagram arrives or `deadline` (ms, None: forever) passes, then
        hands the datagram or the timer to the core."""
        core = self.core
        now = self._clock.now()
        if deadline is None:
            wait = -1
        else:
            wait = max(0, deadline - now)
        ready = self._poll.poll(wait)
        now = self._clock.now()
        if ready:
            data = self._recv()
            if data:
                core.receive(data, now)
        # A steady stream of junk must not starve the retransmission timer.
        deadline = core.next_deadline()
        if deadline is not None and now - deadline >= 0:
            core.handle_timer(now)

    def _recv(self):
        # recv allocates: MicroPython sockets have no recv_into, and readinto() has stream
        # semantics (it blocks until the whole buffer is filled).
        try:
            data = self.sock.recv(self._recv_size)
            if len(data) >= self._recv_size:
                self.core.note_truncated_datagram(len(data))
            return data
        except OSError as e:
            code = errno_of(e)
            if code == ECONNREFUSED:
                # ICMP port unreachable from an earlier send. It is unauthenticated and may be
                # transient (a server restarting), so keep retrying until the timeout.
                self._icmp_refused = True
                return None
            if code in (EAGAIN, ETIMEDOUT):
                return None
            raise

    def _flush(self):
        for d in self.core.pop_datagrams():
            try:
                self.sock.send(d)
            except OSError as e:
                if errno_of(e) != ECONNREFUSED:
                    raise
                self._icmp_refused = True

    def _collect_events(self):
        for ev in self.core.pop_events():
            if ev[0] == "data":
                self._pending.append(ev[1])
            elif ev[0] == "closed":
                self._eof = True
            elif ev[0] == "heartbeat":
                self._heartbeat_answered = True

    def _abort(self):
        """Sends what the core queued (its fatal alert) and closes the socket."""
        try:
            self._flush()
        except OSError:
            pass
        if self.sock is not None:
            self.sock.close()
            self.sock = None
