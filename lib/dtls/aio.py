"""asyncio driver for the sans-I/O client (MicroPython's asyncio and CPython's).

    import asyncio, dtls, dtls.aio

    async def main():
        ctx = dtls.Context(psk=(b"Client_identity", key))
        async with await dtls.aio.connect(ctx, "192.0.2.10", 5684) as conn:
            await conn.send(b"hello")
            print(await conn.recv())

Each connection runs one background task (the pump) that reads datagrams and runs the
retransmission timers (RFC 6347 §4.2.4) while the application awaits anything else:
a lost flight is resent on time even if the application is busy in another task.
MicroPython's built-in DTLS only retransmits inside its own read/write calls. Any
number of connections can share one event loop.

Semantics match dtls.connection: recv() returns one application record (datagram
semantics), b"" once the server has closed the connection, raises OSError(ETIMEDOUT)
when the timeout set with settimeout() passes, and raises the DTLSError that ended the
connection (a fatal alert sent or received) once, then ConnectionClosed. An ICMP port
unreachable does not end a handshake; it is mentioned in the HandshakeTimeout message.
Cancelling recv() (e.g. with asyncio.wait_for) loses no data.
"""
try:
    import asyncio
except ImportError:  # older MicroPython
    import uasyncio as asyncio

from ._io import (EAGAIN, ECONNREFUSED, ENOBUFS, ETIMEDOUT, Clock, ConnectionInfo,
                  HeartbeatSchedule, connected_udp_socket, errno_of)
from .client import STATE_CLOSED, Client
from .errors import ConnectionClosed, DTLSError, HandshakeTimeout

# MicroPython's asyncio has sleep_ms/wait_for_ms and reads sockets through a Stream;
# CPython's has loop.sock_recv and second-based timeouts.
_MICROPYTHON = hasattr(asyncio, "sleep_ms")

if _MICROPYTHON:
    def _wait_for_ms(awaitable, ms):
        return asyncio.wait_for_ms(awaitable, ms)
else:
    def _wait_for_ms(awaitable, ms):
        return asyncio.wait_for(awaitable, ms / 1000)


class Connection(ConnectionInfo):
    """A DTLS connection over a connected UDP socket, driven by asyncio.

    Create it with `await dtls.aio.connect(ctx, host, port)` or
    `await dtls.aio.wrap_socket(ctx, sock)`; the socket is made non-blocking.
    """

    def __init__(self, sock, ctx, server_hostname=None, recv_buffer_size=None,
                 server_ip=None, session=None, max_pending=32):
        sock.setblocking(False)
        self.sock = sock
        self.core = Client(ctx, server_hostname, server_ip, session)
        self._clock = Clock()
        self._recv_size = recv_buffer_size or ctx.max_recv_datagram
        self._stream = asyncio.StreamReader(sock) if _MICROPYTHON else None
        self._pending = []
        # Records received while nobody calls recv() wait here, up to max_pending; more are
        # dropped (counted in dropped_records), as a full socket buffer would drop them.
        self._max_pending = max_pending
        self.dropped_records = 0
        self._eof = False
        self._error = None          # the error that ended the connection, raised once
        self._icmp_refused = False
        self._timeout_ms = None
        self._changed = asyncio.Event()     # set when the pump produced something
        self._heartbeat_answered = False
        self._pump_task = None

    # ---------------------------------------------------------------- public API

    async def do_handshake(self):
        """Runs the handshake; returns once connected, raises DTLSError otherwise."""
        core = self.core
        core.start(self._clock.now())
        self._flush()
        self._pump_task = asyncio.create_task(self._pump())
        try:
            while not core.connected:
                if self._error is not None:
                    err = self._error
                    self._error = None
                    raise err
                if self.sock is None:
                    raise ConnectionClosed("connection is closed")
                self._changed.clear()
                await self._changed.wait()
        except BaseException:
            self._abort()
            raise

    async def send(self, data):
        """Sends one application record (one datagram); returns the number of bytes."""
        if self.sock is None:
            raise ConnectionClosed("connection is closed")
        self.core.send(data)
        self._flush()
        return len(data)

    write = send

    async def recv(self, bufsize=None):
        """Returns the next application record (the whole record; bufsize is accepted
        for socket compatibility and ignored), b"" after the server closed."""
        start = None
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self._error is not None:
                err = self._error
                self._error = None
                raise err
            if self._eof:
                return b""
            if self.core.state == STATE_CLOSED or self.sock is None:
                raise ConnectionClosed("connection is closed")
            self._changed.clear()
            if self._timeout_ms is None:
                await self._changed.wait()
                continue
            if start is None:
                start = self._clock.now()
            left = start + self._timeout_ms - self._clock.now()
            if left <= 0:
                raise OSError(ETIMEDOUT)
            try:
                await _wait_for_ms(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    read = recv

    async def heartbeat(self, timeout=5, datagram_size=0):
        """Liveness probe (RFC 6520, negotiated with Context(heartbeat=True)), as
        dtls.Connection.heartbeat: resends the request each retransmission period and
        returns True when the server answers within `timeout` seconds, else False."""
        schedule = HeartbeatSchedule(self, timeout, datagram_size)
        while not self._heartbeat_answered:
            if self._eof or self.sock is None:
                return False
            now = self._clock.now()
            wake = schedule.next_wake(now)
            if wake is None:
                return False
            self._changed.clear()
            try:
                await _wait_for_ms(self._changed.wait(), wake - now)
            except asyncio.TimeoutError:
                pass
        return True

    async def probe_path_mtu(self, sizes=(1472, 1400, 1232, 548), timeout=1):
        """As dtls.Connection.probe_path_mtu: the largest of `sizes` a padded heartbeat
        gets through (RFC 6520 §5.1), then used as the datagram limit; None if none."""
        for size in sizes:
            if size > self.core.ctx.max_datagram:
                continue
            if await self.heartbeat(timeout, datagram_size=size):
                self.core.set_datagram_limit(size)
                return size
        return None

    async def close(self):
        """Sends close_notify, stops the pump and closes the socket."""
        if self.sock is None:
            return
        try:
            self.core.close()
            self._flush()
        except (OSError, DTLSError):
            pass
        self._stop()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    # ---------------------------------------------------------------- the pump

    async def _pump(self):
        """Feeds datagrams and timer expiries to the core until the connection ends."""
        core = self.core
        clock = self._clock
        try:
            while self.sock is not None:
                deadline = core.next_deadline()
                data = None
                if deadline is None:
                    data = await self._read()
                else:
                    wait = deadline - clock.now()
                    if wait > 0:
                        try:
                            data = await _wait_for_ms(self._read(), wait)
                        except asyncio.TimeoutError:
                            pass
                if self.sock is None:
                    return
                now = clock.now()
                try:
                    if data:
                        core.receive(data, now)
                    # A steady stream of junk must not starve the retransmission timer.
                    deadline = core.next_deadline()
                    if deadline is not None and now - deadline >= 0:
                        core.handle_timer(now)
                except DTLSError as e:
                    self._end(e)
                    return
                self._flush()
                self._collect_events()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # socket errors: end the connection, tell the app
            self._end(e)

    async def _read(self):
        """One datagram, or None after an ICMP error (or a spurious wake-up)."""
        try:
            if _MICROPYTHON:
                data = await self._stream.read(self._recv_size)
            else:
                loop = asyncio.get_running_loop()
                data = await loop.sock_recv(self.sock, self._recv_size)
            if data and len(data) >= self._recv_size:
                self.core.note_truncated_datagram(len(data))
            return data
        except asyncio.CancelledError:
            raise
        except OSError as e:
            if _is_asyncio_timeout(e):
                raise
            code = errno_of(e)
            if code == ECONNREFUSED:
                # ICMP port unreachable from an earlier send. It is unauthenticated and
                # may be transient (a server restarting): keep going until the timeout.
                self._icmp_refused = True
                return None
            if code == EAGAIN:
                return None
            raise

    # ---------------------------------------------------------------- internals

    def _flush(self):
        sock = self.sock
        if sock is None:
            self.core.pop_datagrams()
            return
        for d in self.core.pop_datagrams():
            try:
                sock.send(d)
            except OSError as e:
                code = errno_of(e)
                if code == ECONNREFUSED:
                    self._icmp_refused = True
                elif code not in (EAGAIN, ENOBUFS):
                    raise
                # A full send buffer loses the datagram, as the network could: the
                # handshake retransmits, and application data over UDP is best-effort.

    def _collect_events(self):
        changed = False
        for ev in self.core.pop_events():
            if ev[0] == "data":
                if len(self._pending) >= self._max_pending:
                    self.dropped_records += 1
                    continue
                self._pending.append(ev[1])
            elif ev[0] == "closed":
                self._eof = True
            elif ev[0] == "heartbeat":
                self._heartbeat_answered = True
            changed = True
        if changed:
            self._changed.set()

    def _end(self, err):
        """The connection ended with err: send the queued alert, close, wake waiters."""
        if isinstance(err, HandshakeTimeout) and self._icmp_refused:
            err.message += " (ICMP port unreachable: is a server listening?)"
        self._error = err
        try:
            self._flush()
        except OSError:
            pass
        self._collect_events()
        self._close_socket()
        self._changed.set()

    def _abort(self):
        try:
            self._flush()
        except OSError:
            pass
        self._stop()

    def _stop(self):
        task = self._pump_task
        self._pump_task = None
        if task is not None and task is not _current_task():
            task.cancel()
        self._close_socket()
        self._changed.set()

    def _close_socket(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _current_task():
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _is_asyncio_timeout(e):
    # CPython 3.11: asyncio.TimeoutError is the builtin TimeoutError, an OSError.
    return isinstance(e, asyncio.TimeoutError)


async def wrap_socket(ctx, sock, server_hostname=None, do_handshake=True, server_ip=None,
                      session=None):
    """Runs DTLS over a connected UDP socket; returns a handshaken aio Connection.
    server_hostname, server_ip and session as for Context.wrap_socket."""
    conn = Connection(sock, ctx, server_hostname=server_hostname, server_ip=server_ip,
                      session=session)
    if do_handshake:
        await conn.do_handshake()
    return conn


async def connect(ctx, host, port, server_hostname=None, do_handshake=True, session=None):
    """Resolves host (blocking, as socket.getaddrinfo is on MicroPython), opens and
    connects a UDP socket and runs the handshake; returns an aio Connection. As with
    Context.connect, an IP literal host is checked against the certificate's iPAddress
    entries and a name is sent as SNI and checked against its dNSName entries."""
    sock, server_hostname, server_ip = connected_udp_socket(host, port, server_hostname)
    try:
        return await wrap_socket(ctx, sock, server_hostname=server_hostname,
                                 do_handshake=do_handshake, server_ip=server_ip,
                                 session=session)
    except BaseException:
        sock.close()
        raise
