"""asyncio CoAP client over a dtls.aio connection (MicroPython's asyncio and CPython's).

    import asyncio, dtls, dtls.aio, coap.aio

    async def main():
        conn = await dtls.aio.connect(ctx, "192.0.2.10", 5684)
        async with coap.aio.Client(conn) as client:
            r = await client.get("sensors/temp")
            print(r.name, r.payload)

One reader task per client feeds the endpoint; several requests may be awaited at once
(at most `nstart` are on the wire, RFC 7252 §4.7; the rest wait their turn).
Cancelling a request (asyncio.wait_for) abandons its exchange.
"""
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

from dtls._io import Clock

from .client import max_message_of
from .endpoint import Endpoint
from .message import DELETE, GET, POST, PUT, CoAPError

if hasattr(asyncio, "wait_for_ms"):
    def _wait_for_ms(awaitable, ms):
        return asyncio.wait_for_ms(awaitable, ms)
else:
    def _wait_for_ms(awaitable, ms):
        return asyncio.wait_for(awaitable, ms / 1000)


class Client:
    """CoAP requests over one dtls.aio.Connection (anything with async send(bytes) and
    async recv() -> bytes, b"" once closed). Settings as for coap.Client."""

    def __init__(self, conn, uri_host=None, **settings):
        if "max_message" not in settings:
            settings["max_message"] = max_message_of(conn)
        self.conn = conn
        self.uri_host = uri_host
        self.endpoint = Endpoint(**settings)
        self._clock = Clock()
        self._changed = asyncio.Event()
        self._reader_task = None
        self._dead = None           # the error that ended the transport

    async def request(self, method, path=None, payload=b"", **options):
        """As coap.Client.request, awaited."""
        if self._dead is not None:
            raise self._dead
        if "uri_host" not in options:
            options["uri_host"] = self.uri_host
        ep = self.endpoint
        clock = self._clock
        ex = ep.request(method, path, payload, now=clock.now(), **options)
        if self._reader_task is None:
            self._reader_task = asyncio.create_task(self._reader())
        try:
            await self._flush()
            while not ex.done:
                deadline = ep.next_deadline()
                self._changed.clear()
                if deadline is None:
                    await self._changed.wait()
                else:
                    wait = deadline - clock.now()
                    if wait > 0:
                        try:
                            await _wait_for_ms(self._changed.wait(), wait)
                        except asyncio.TimeoutError:
                            pass
                ep.handle_timer(clock.now())
                await self._flush()
        except BaseException:
            ep.cancel(ex, clock.now())
            raise
        return ex.result()

    async def get(self, path=None, **options):
        return await self.request(GET, path, **options)

    async def post(self, path=None, payload=b"", **options):
        return await self.request(POST, path, payload, **options)

    async def put(self, path=None, payload=b"", **options):
        return await self.request(PUT, path, payload, **options)

    async def delete(self, path=None, **options):
        return await self.request(DELETE, path, **options)

    async def close(self):
        """Stops the reader and closes the connection."""
        task = self._reader_task
        self._reader_task = None
        if task is not None:
            task.cancel()
        await self.conn.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def _flush(self):
        for d in self.endpoint.pop_datagrams():
            await self.conn.send(d)

    async def _reader(self):
        ep = self.endpoint
        try:
            while True:
                data = await self.conn.recv()
                if not data:
                    raise CoAPError("the server closed the connection")
                ep.receive(data, self._clock.now())
                await self._flush()
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the transport ended: every waiting request fails
            self._dead = e
            ep.fail_all(e, self._clock.now())
            self._changed.set()
