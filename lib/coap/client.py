"""Blocking CoAP client over a DTLS connection (dtls.Context.connect / wrap_socket).

    import dtls, coap
    ctx = dtls.Context(psk=(b"device-17", key))
    with coap.Client(ctx.connect("192.0.2.10", 5684)) as client:
        r = client.get("sensors/temp")
        print(r.name, r.payload)            # 2.05 Content b'21.5'
        client.put("config/interval", b"60", content_format=coap.TEXT_PLAIN)

Any connected transport with send(bytes), recv() -> bytes (b"" once closed) and
settimeout(seconds) works, e.g. a plain UDP socket for coap:// (wrap it so recv on
timeout raises OSError). The client owns the connection's timeout setting.
"""
from dtls._io import Clock, is_timeout

from .endpoint import Endpoint
from .message import DELETE, GET, POST, PUT, CoAPError


def max_message_of(conn, default=1152):
    """The largest CoAP message one datagram of `conn` carries."""
    core = getattr(conn, "core", None)
    if core is not None and hasattr(core, "max_payload"):
        return core.max_payload()
    return default


class Client:
    """CoAP requests over one connection. Settings go to coap.endpoint.Endpoint
    (ack_timeout_ms, max_retransmit, nstart, response_timeout_ms, block2_szx, ...).
    uri_host: sent as Uri-Host with every request (RFC 7252 §6.4: when the host is a
    name rather than an IP literal)."""

    def __init__(self, conn, uri_host=None, **settings):
        if "max_message" not in settings:
            settings["max_message"] = max_message_of(conn)
        self.conn = conn
        self.uri_host = uri_host
        self.endpoint = Endpoint(**settings)
        self._clock = Clock()

    def request(self, method, path=None, payload=b"", **options):
        """Sends a request and waits for its final response (all blocks); returns a
        coap.Response or raises CoAPError (CoAPTimeout, CoAPReset) or the DTLSError
        that ended the connection. options: query, content_format, accept,
        confirmable, options=[(number, value)], uri_host."""
        if "uri_host" not in options:
            options["uri_host"] = self.uri_host
        ex = self.endpoint.request(method, path, payload, now=self._clock.now(), **options)
        try:
            self._run(ex)
        except BaseException:
            self.endpoint.cancel(ex, self._clock.now())
            raise
        return ex.result()

    def get(self, path=None, **options):
        return self.request(GET, path, **options)

    def post(self, path=None, payload=b"", **options):
        return self.request(POST, path, payload, **options)

    def put(self, path=None, payload=b"", **options):
        return self.request(PUT, path, payload, **options)

    def delete(self, path=None, **options):
        return self.request(DELETE, path, **options)

    def close(self):
        """Closes the connection (DTLS close_notify)."""
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, ex):
        ep = self.endpoint
        conn = self.conn
        clock = self._clock
        while True:
            for d in ep.pop_datagrams():
                conn.send(d)
            if ex.done:
                return
            deadline = ep.next_deadline()
            if deadline is None:
                conn.settimeout(None)
            else:
                conn.settimeout(max(0, deadline - clock.now()) / 1000)
            try:
                data = conn.recv()
            except OSError as e:
                if not is_timeout(e):
                    raise
                data = None
            now = clock.now()
            if data == b"":
                ep.fail_all(CoAPError("the server closed the connection"), now)
                return
            if data:
                ep.receive(data, now)
            ep.handle_timer(now)
