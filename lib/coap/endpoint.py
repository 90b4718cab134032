"""Sans-I/O CoAP client endpoint: requests in, datagrams and responses out.

It keeps the message layer of RFC 7252 §4 (CON retransmission with exponential back-off,
ACK/RST matching by Message ID, deduplication of the server's CON/NON messages, RST
for what it cannot use) and the request/response layer of §5 (tokens, piggybacked and
separate responses), plus block-wise transfers (RFC 7959): Block2 responses larger than
one datagram are fetched block by block and reassembled, request payloads larger than
one datagram go out as Block1 blocks. No sockets, no clock: drivers (coap.client,
coap.aio) feed datagrams and the time in milliseconds, like dtls.client.Client.

    ep = Endpoint(max_message=conn.core.max_payload())
    ex = ep.request(GET, "sensors/temp", now=now)
    for d in ep.pop_datagrams(): conn.send(d)
    ... ep.receive(datagram, now); ep.handle_timer(now); ep.next_deadline() ...
    if ex.done: response = ex.result()      # raises the CoAPError if it failed
"""
import os

from .message import (ACK, BLOCK1, BLOCK2, CON, CONTENT_FORMAT, CONTINUE, EMPTY, ETAG, GET,
                      KNOWN_OPTIONS, LOCATION_PATH, LOCATION_QUERY, MAX_AGE, NON, RST, SIZE1,
                      URI_HOST, URI_PATH, URI_QUERY, ACCEPT, CoAPError, Message,
                      MessageFormatError, block_value, code_name, code_text, is_critical,
                      parse_block, uint_bytes, uint_value)

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# RFC 7252 §4.8 transmission parameters (defaults; each is a constructor argument).
ACK_TIMEOUT_MS = const(2000)
ACK_RANDOM_FACTOR = 1.5
MAX_RETRANSMIT = const(4)
NSTART = const(1)
# RFC 7252 §4.8.2: how long a Message ID of the server's must be remembered to catch
# duplicates (EXCHANGE_LIFETIME for CON, NON_LIFETIME for NON).
EXCHANGE_LIFETIME_MS = 247000
NON_LIFETIME_MS = 145000
_MAX_REMEMBERED = const(32)   # bound on the deduplication cache (oldest dropped first)

_QUEUED = const(0)      # waiting for a free slot (NSTART)
_WAIT_ACK = const(1)    # CON sent, retransmitting until ACK/RST/response
_WAIT_RESPONSE = const(2)   # empty ACK received (separate response pending) or NON sent
_DONE = const(3)


class CoAPTimeout(CoAPError):
    """No acknowledgement after all retransmissions, or no response in time."""


class CoAPReset(CoAPError):
    """The server answered the request with RST (RFC 7252 §4.2)."""


class Response:
    """The final response to a request. For block-wise transfers `payload` is the whole
    reassembled body and `options` those of the last block."""

    def __init__(self, msg, payload, separate):
        self.code = msg.code
        self.mtype = msg.mtype
        self.token = msg.token
        self.options = msg.options
        self.payload = payload
        self.separate = separate   # False: piggybacked on the ACK (RFC 7252 §5.2.1)

    @property
    def code_text(self):
        return code_text(self.code)

    @property
    def name(self):
        return code_name(self.code)

    @property
    def success(self):
        return self.code >> 5 == 2

    def option(self, number, default=None):
        for n, v in self.options:
            if n == number:
                return v
        return default

    def option_values(self, number):
        return [v for n, v in self.options if n == number]

    @property
    def content_format(self):
        v = self.option(CONTENT_FORMAT)
        return None if v is None else uint_value(v)

    @property
    def etag(self):
        return self.option(ETAG)

    @property
    def max_age(self):
        v = self.option(MAX_AGE)
        return 60 if v is None else uint_value(v)   # RFC 7252 §5.10.5 default

    @property
    def location_path(self):
        return "/".join(v.decode() for v in self.option_values(LOCATION_PATH))

    @property
    def location_query(self):
        return "&".join(v.decode() for v in self.option_values(LOCATION_QUERY))

    def text(self):
        return self.payload.decode()

    def __repr__(self):
        return "<Response %s, %d bytes>" % (self.name, len(self.payload))


class Exchange:
    """One request, from its first message to its final response (over all blocks)."""

    def __init__(self, method, options, payload, confirmable):
        self.method = method
        self.options = options      # request options without Block1/Block2
        self.payload = payload      # the whole request body
        self.confirmable = confirmable
        self.state = _QUEUED
        self.response = None
        self.error = None
        self.token = b""
        self.mid = -1
        self.transmissions = 0      # datagrams sent for this exchange, all blocks
        self._datagram = b""        # the message in flight, for retransmission
        self._deadline = None
        self._timeout = 0
        self._retransmits = 0
        self._body = bytearray()    # Block2 body received so far
        self._etag = None
        self._block2_szx = None     # SZX to ask for in Block2 (None: let the server pick)
        self._block1_szx = None     # None: the payload fits one message
        self._block1_offset = 0     # bytes of the payload acknowledged so far
        self._block1_num = 0

    @property
    def done(self):
        return self.state == _DONE

    def result(self):
        """The Response; raises the CoAPError if the exchange failed."""
        if self.error is not None:
            raise self.error
        if self.state != _DONE:
            raise CoAPError("exchange still in progress")
        return self.response


def _split_path(path):
    if path is None:
        return []
    if not isinstance(path, str):
        return list(path)
    if path.startswith("/"):
        path = path[1:]
    return path.split("/") if path else []


def _split_query(query):
    if query is None:
        return []
    if isinstance(query, str):
        return query.split("&") if query else []
    return list(query)


def _szx_for(room):
    """Largest SZX (0..6) whose block size (2**(SZX+4)) fits `room` bytes, or -1."""
    szx = 6
    while szx >= 0 and (16 << szx) > room:
        szx -= 1
    return szx


class Endpoint:
    """The client side of one CoAP association (one DTLS connection).

    max_message:   largest CoAP message (one DTLS record: conn.core.max_payload()).
    rng:           callable(n) -> n random bytes (tokens, first Message ID, jitter).
    ack_timeout_ms, ack_random_factor, max_retransmit, nstart: RFC 7252 §4.8.
    response_timeout_ms: how long to wait for a separate or NON response.
    max_body:      largest block-wise body accepted (bounds memory).
    block2_szx:    ask for this block size from the first request (RFC 7959 §2.4 early
                   negotiation; 0..6 = 16..1024 bytes); None lets the server choose.
    block1_szx:    largest request block; None: the largest that fits max_message.
    token_length:  bytes of random token per request (RFC 7252 §5.3.1).
    """

    def __init__(self, max_message=1152, rng=None, ack_timeout_ms=ACK_TIMEOUT_MS,
                 ack_random_factor=ACK_RANDOM_FACTOR, max_retransmit=MAX_RETRANSMIT,
                 nstart=NSTART, response_timeout_ms=60000, max_body=65536, block2_szx=None,
                 block1_szx=None, token_length=4):
        if max_message < 64:
            raise ValueError("max_message too small")
        if not 0 <= token_length <= 8:
            raise ValueError("token_length must be 0..8")
        self.max_message = max_message
        self.rng = rng or os.urandom
        self.ack_timeout_ms = ack_timeout_ms
        self.ack_random_factor = ack_random_factor
        self.max_retransmit = max_retransmit
        self.nstart = nstart
        self.response_timeout_ms = response_timeout_ms
        self.max_body = max_body
        self.block2_szx = block2_szx
        self.block1_szx = block1_szx
        self.token_length = token_length
        r = self.rng(2)
        self._next_mid = (r[0] << 8) | r[1]   # random start (RFC 7252 §4.4)
        self._exchanges = []        # queued and active, in request order
        self._out = []
        self._seen = []             # [mid, expiry_ms, reply datagram or None]
        # Counters for tests and traces.
        self.retransmissions = 0
        self.duplicates = 0
        self.resets_sent = 0

    # ---------------------------------------------------------------- driver interface

    def request(self, method, path=None, payload=b"", query=None, content_format=None,
                accept=None, confirmable=True, options=(), uri_host=None, now=0):
        """Starts a request; returns its Exchange. path: "a/b" or a list of segments
        (each one Uri-Path option, RFC 7252 §6.4; no percent-decoding here, see
        coap.split_uri); query: "k=v&x" or a list (a "?" in a string path works too)."""
        if isinstance(payload, str):
            payload = payload.encode()
        if query is None and isinstance(path, str) and "?" in path:
            path, query = path.split("?", 1)
        opts = []
        if uri_host is not None:
            opts.append((URI_HOST, uri_host.encode()))
        for seg in _split_path(path):
            opts.append((URI_PATH, seg.encode() if isinstance(seg, str) else bytes(seg)))
        if content_format is not None:
            opts.append((CONTENT_FORMAT, _uint(content_format)))
        for q in _split_query(query):
            opts.append((URI_QUERY, q.encode() if isinstance(q, str) else bytes(q)))
        if accept is not None:
            opts.append((ACCEPT, _uint(accept)))
        for number, value in options:
            if number in (BLOCK1, BLOCK2):
                raise ValueError("block options are managed by the endpoint")
            opts.append((number, value.encode() if isinstance(value, str) else
                         _uint(value) if isinstance(value, int) else bytes(value)))
        ex = Exchange(method, opts, bytes(payload), confirmable)
        if method == GET:
            ex._block2_szx = self.block2_szx
        # Does the payload fit one message? Else send it as Block1 blocks.
        head = len(Message(CON, method, 0, b"\0" * self.token_length, list(opts)).encode())
        if payload and head + 1 + len(payload) > self.max_message:
            room = self.max_message - head - 1 - 5 - 5   # marker, Block1 and Size1 options
            szx = _szx_for(room)
            if self.block1_szx is not None and self.block1_szx < szx:
                szx = self.block1_szx
            if szx < 0:
                raise ValueError("options leave no room for a payload block")
            ex._block1_szx = szx
        elif head + 16 > self.max_message:
            raise ValueError("request options do not fit max_message")
        self._exchanges.append(ex)
        self._start_queued(now)
        return ex

    def receive(self, datagram, now):
        """Processes one datagram from the server."""
        try:
            msg = Message.decode(datagram)
        except MessageFormatError:
            # RFC 7252 §4.2/§4.3: reject a malformed CON with RST, ignore anything else.
            if len(datagram) >= 4 and datagram[0] >> 4 == 0x4:  # version 1, type CON
                self._reject((datagram[2] << 8) | datagram[3], now)
            return
        if msg.mtype == ACK or msg.mtype == RST:
            self._receive_ack_or_reset(msg, now)
            return
        # A CON or NON from the server: deduplicate by Message ID (RFC 7252 §4.5).
        for entry in self._seen:
            if entry[0] == msg.mid and now - entry[1] < 0:
                self.duplicates += 1
                if msg.mtype == CON and entry[2] is not None:
                    self._out.append(entry[2])
                return
        if msg.code == EMPTY or msg.code >> 5 == 0:
            # A CoAP ping (empty CON) or a request: we serve nothing; RST answers both
            # (RFC 7252 §4.2, §4.3).
            if msg.mtype == CON:
                self._reject(msg.mid, now)
            return
        ex = self._by_token(msg.token)
        if ex is None:
            # RFC 7252 §5.3.2: a response nobody waits for is rejected (CON) or ignored.
            if msg.mtype == CON:
                self._reject(msg.mid, now)
            return
        bad = _unrecognized_critical(msg)
        if bad is not None:
            # RFC 7252 §5.4.1: reject the response and fail the request.
            if msg.mtype == CON:
                self._reject(msg.mid, now)
            self._fail(ex, CoAPError("response carries unrecognized critical option %d"
                                     % bad), now)
            return
        reply = None
        if msg.mtype == CON:
            # Separate response (RFC 7252 §5.2.2): acknowledge it with an empty ACK.
            reply = Message(ACK, EMPTY, msg.mid).encode()
            self._out.append(reply)
        self._remember(msg.mid, reply, now,
                       EXCHANGE_LIFETIME_MS if msg.mtype == CON else NON_LIFETIME_MS)
        self._response(ex, msg, now, True)

    def handle_timer(self, now):
        """Retransmits unacknowledged CON messages whose timer expired (RFC 7252
        §4.2) and fails exchanges that ran out of retransmissions or time."""
        for ex in list(self._exchanges):
            d = ex._deadline
            if d is None or now - d < 0:
                continue
            if ex.state == _WAIT_ACK:
                if ex._retransmits >= self.max_retransmit:
                    self._fail(ex, CoAPTimeout("no acknowledgement after %d transmissions"
                                               % (ex._retransmits + 1)), now)
                    continue
                ex._retransmits += 1
                ex._timeout *= 2
                ex._deadline = now + ex._timeout
                ex.transmissions += 1
                self.retransmissions += 1
                self._out.append(ex._datagram)
            elif ex.state == _WAIT_RESPONSE:
                self._fail(ex, CoAPTimeout("no response within %d ms"
                                           % self.response_timeout_ms), now)

    def next_deadline(self):
        """Milliseconds (the same clock as `now`) when handle_timer is due, or None."""
        best = None
        for ex in self._exchanges:
            d = ex._deadline
            if d is not None and (best is None or d - best < 0):
                best = d
        return best

    def pop_datagrams(self):
        out = self._out
        self._out = []
        return out

    def fail_all(self, err, now=0):
        """Ends every exchange with err (the transport went away)."""
        for ex in list(self._exchanges):
            self._fail(ex, err, now)

    def cancel(self, ex, now=0):
        """Abandons an exchange (the application stopped waiting); no message is sent."""
        if not ex.done:
            self._fail(ex, CoAPError("request cancelled"), now)

    @property
    def pending(self):
        """Number of exchanges not yet done."""
        return len(self._exchanges)

    # ---------------------------------------------------------------- exchanges

    def _start_queued(self, now):
        active = 0
        for ex in self._exchanges:
            if ex.state != _QUEUED:
                active += 1
        for ex in self._exchanges:
            if active >= self.nstart:
                break
            if ex.state == _QUEUED:
                self._send_next(ex, now)
                active += 1

    def _send_next(self, ex, now, block2_num=None):
        """Sends the exchange's next message: the first one, the next Block1 block, or
        the request for the next Block2 block. Each gets a new Message ID and token."""
        ex.token = b""      # the exchange's previous token may be reused
        msg = Message(CON if ex.confirmable else NON, ex.method, self._new_mid(),
                      self._new_token(), list(ex.options))
        if ex._block1_szx is not None and block2_num is None:
            size = 16 << ex._block1_szx
            start = ex._block1_offset
            piece = ex.payload[start:start + size]
            more = start + size < len(ex.payload)
            num = start >> (ex._block1_szx + 4)
            ex._block1_num = num
            msg.add_option(BLOCK1, block_value(num, more, ex._block1_szx))
            if num == 0:
                msg.add_option(SIZE1, len(ex.payload))   # RFC 7959 §4
            msg.payload = piece
        elif block2_num is not None:
            msg.add_option(BLOCK2, block_value(block2_num, False, ex._block2_szx))
        else:
            if ex._block2_szx is not None:
                msg.add_option(BLOCK2, block_value(0, False, ex._block2_szx))
            msg.payload = ex.payload
        data = msg.encode()
        if len(data) > self.max_message:
            raise ValueError("request of %d bytes exceeds max_message %d"
                             % (len(data), self.max_message))
        ex.mid = msg.mid
        ex.token = msg.token
        ex._datagram = data
        ex.transmissions += 1
        self._out.append(data)
        if ex.confirmable:
            ex.state = _WAIT_ACK
            ex._retransmits = 0
            # RFC 7252 §4.2: initial timeout random in [ACK_TIMEOUT, ACK_TIMEOUT * factor].
            r = self.rng(2)
            jitter = ((r[0] << 8) | r[1]) / 65535
            ex._timeout = int(self.ack_timeout_ms * (1 + (self.ack_random_factor - 1) * jitter))
            ex._deadline = now + ex._timeout
        else:
            ex.state = _WAIT_RESPONSE
            ex._deadline = now + self.response_timeout_ms

    def _receive_ack_or_reset(self, msg, now):
        ex = None
        for e in self._exchanges:
            if e.state == _WAIT_ACK and e.mid == msg.mid:
                ex = e
                break
        if ex is None:
            return          # duplicate or stray ACK/RST: ignore (RFC 7252 §4.2)
        if msg.mtype == RST:
            self._fail(ex, CoAPReset("the server reset the request (RST)"), now)
            return
        if msg.code == EMPTY:
            # Separate response to come (RFC 7252 §5.2.2): stop retransmitting, wait.
            ex.state = _WAIT_RESPONSE
            ex._deadline = now + self.response_timeout_ms
            return
        if msg.token != ex.token:
            return          # RFC 7252 §5.3.2: a piggybacked response carries our token
        bad = _unrecognized_critical(msg)
        if bad is not None:
            self._fail(ex, CoAPError("response carries unrecognized critical option %d"
                                     % bad), now)
            return
        self._response(ex, msg, now, False)

    def _response(self, ex, msg, now, separate):
        code = msg.code
        # Block1 (RFC 7959 §2.3): 2.31 Continue asks for the next block.
        if ex._block1_szx is not None and ex._block1_offset < len(ex.payload):
            if code == CONTINUE:
                b1 = msg.option(BLOCK1)
                if b1 is None:
                    self._fail(ex, CoAPError("2.31 Continue without Block1"), now)
                    return
                try:
                    num, _, szx = parse_block(b1)
                except MessageFormatError as e:
                    self._fail(ex, e, now)
                    return
                if num != ex._block1_num:
                    self._fail(ex, CoAPError("Block1 %d acknowledged, %d sent"
                                             % (num, ex._block1_num)), now)
                    return
                ex._block1_offset += 16 << ex._block1_szx
                if szx < ex._block1_szx:
                    ex._block1_szx = szx   # the server wants smaller blocks (§2.5)
                if ex._block1_offset >= len(ex.payload):
                    self._fail(ex, CoAPError("2.31 Continue after the last block"), now)
                    return
                self._send_next(ex, now)
                return
            # Any other code ends the transfer: it is the final response (success after
            # the last block, or an error such as 4.13 or 4.08).
            ex._block1_offset = len(ex.payload)
        b2 = msg.option(BLOCK2)
        payload = msg.payload
        if b2 is not None and code >> 5 == 2 and ex.method == GET:
            try:
                num, more, szx = parse_block(b2)
            except MessageFormatError as e:
                self._fail(ex, e, now)
                return
            size = 16 << szx
            if num * size != len(ex._body):
                self._fail(ex, CoAPError("Block2 %d of %d bytes does not continue the "
                                         "%d bytes received" % (num, size, len(ex._body))),
                           now)
                return
            etag = msg.option(ETAG)
            if num and etag != ex._etag:
                # RFC 7959 §2.4: the representation changed between blocks.
                self._fail(ex, CoAPError("resource changed during block-wise transfer "
                                         "(ETag)"), now)
                return
            ex._etag = etag
            if more and len(payload) != size:
                self._fail(ex, CoAPError("Block2 %d has %d bytes, not %d"
                                         % (num, len(payload), size)), now)
                return
            if len(ex._body) + len(payload) > self.max_body:
                self._fail(ex, CoAPError("block-wise body exceeds max_body (%d bytes)"
                                         % self.max_body), now)
                return
            ex._body += payload
            if more:
                ex._block2_szx = szx
                self._send_next(ex, now, block2_num=num + 1)
                return
            payload = bytes(ex._body)
            ex._body = bytearray()
        ex.response = Response(msg, payload, separate)
        self._finish(ex, now)

    def _fail(self, ex, err, now):
        ex.error = err
        self._finish(ex, now)

    def _finish(self, ex, now):
        ex.state = _DONE
        ex._deadline = None
        ex._datagram = b""
        if ex in self._exchanges:
            self._exchanges.remove(ex)
        self._start_queued(now)

    # ---------------------------------------------------------------- helpers

    def _by_token(self, token):
        for ex in self._exchanges:
            if ex.state in (_WAIT_ACK, _WAIT_RESPONSE) and ex.token == token:
                return ex
        return None

    def _new_mid(self):
        mid = self._next_mid
        self._next_mid = (mid + 1) & 0xFFFF
        return mid

    def _new_token(self):
        for _ in range(16):
            token = bytes(self.rng(self.token_length))
            if self._by_token(token) is None:
                return token
        raise CoAPError("no unique token: token_length too small or rng not random")

    def _reject(self, mid, now):
        reply = Message(RST, EMPTY, mid).encode()
        self._out.append(reply)
        self.resets_sent += 1
        self._remember(mid, reply, now, EXCHANGE_LIFETIME_MS)

    def _remember(self, mid, reply, now, lifetime):
        """Keeps what we answered to the server's message `mid`, to answer a duplicate
        the same way (RFC 7252 §4.5)."""
        seen = self._seen
        i = 0
        while i < len(seen):
            if now - seen[i][1] >= 0:
                seen.pop(i)     # expired
            else:
                i += 1
        if len(seen) >= _MAX_REMEMBERED:
            seen.pop(0)         # the oldest goes first
        seen.append([mid, now + lifetime, reply])


def _uint(value):
    return uint_bytes(value)


def _unrecognized_critical(msg):
    for number, _ in msg.options:
        if is_critical(number) and number not in KNOWN_OPTIONS:
            return number
    return None
