"""Sans-I/O DTLS 1.2 client (RFC 6347) following the RFC 7925 IoT profile.

The core owns no socket and no clock. The driver feeds it datagrams and the current time
in milliseconds (any monotonic, non-wrapping count) and takes from it datagrams to send,
events, and the deadline at which `handle_timer` must be called:

    core = Client(ctx)
    core.start(now)
    loop: send core.pop_datagrams(); wait for a datagram or core.next_deadline();
          core.receive(datagram, now) or core.handle_timer(now); read core.pop_events()

Events: ("connected",), ("data", bytes), ("closed",). A fatal error raises DTLSError after
queuing the alert datagram, so a driver sends pop_datagrams() once more before it gives up.
"""
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from . import keys
from .const import (
    ALERT_FATAL, ALERT_WARNING, CLOSE_NOTIFY, CT_ALERT, CT_APPLICATION_DATA,
    CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, CT_HEARTBEAT, DECODE_ERROR, DECRYPT_ERROR, DTLS_1_0,
    DTLS_1_2, EXT_CLIENT_CERTIFICATE_TYPE, EXT_CONNECTION_ID, EXT_EC_POINT_FORMATS,
    EXT_EXTENDED_MASTER_SECRET, EXT_HEARTBEAT, EXT_MAX_FRAGMENT_LENGTH, EXT_RECORD_SIZE_LIMIT,
    EXT_RENEGOTIATION_INFO, EXT_SERVER_CERTIFICATE_TYPE, EXT_SERVER_NAME, EXT_SESSION_TICKET,
    HANDSHAKE_FAILURE, HS_CERTIFICATE, HS_CERTIFICATE_REQUEST, HS_CERTIFICATE_VERIFY,
    HS_CLIENT_HELLO, HS_CLIENT_KEY_EXCHANGE, HS_FINISHED, HS_HEADER_LEN, HS_HELLO_REQUEST,
    HS_HELLO_VERIFY_REQUEST, HS_NEW_SESSION_TICKET, HS_SERVER_HELLO, HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE, ILLEGAL_PARAMETER, KX_ECDHE_ECDSA, KX_ECDHE_PSK, KX_PSK,
    MAX_PLAINTEXT,
    NO_RENEGOTIATION, PROTOCOL_VERSION, SUITES, UNEXPECTED_MESSAGE, UNSUPPORTED_EXTENSION,
    alert_name, suite_name)
from .errors import AlertReceived, ConnectionClosed, DTLSError, HandshakeTimeout
from .handshake import Reader, Reassembler, fragments, full_message, parse_fragments, vec8, vec16
from .record import EpochCipher, RecordLayer, parse_datagram
from .sha256 import Sha256

# Client states, in handshake order (RFC 6347 §4.2.4 state machine, client side).
STATE_INIT = const(0)
STATE_WAIT_SERVER_HELLO = const(1)  # flight 1 or 3 sent: HelloVerifyRequest or ServerHello
STATE_WAIT_SERVER_HELLO_DONE = const(2)  # in flight 4: ServerKeyExchange, ServerHelloDone
STATE_WAIT_CHANGE_CIPHER_SPEC = const(3)  # flight 5 sent
STATE_WAIT_FINISHED = const(4)  # server's ChangeCipherSpec seen, epoch 1 readable
STATE_CONNECTED = const(5)
STATE_CLOSED = const(6)

_MAX_HELLO_VERIFY = const(5)  # cookie exchanges honoured per handshake (flood guard)
_MAX_FUTURE_RECORDS = const(4)  # epoch-1 records held while the server's CCS is missing

_MFL_CODES = (512, 1024, 2048, 4096)  # RFC 6066 §4: codes 1..4
# Datagram sizes tried when a flight gets no answer: the IPv6 minimum MTU less headers, the
# IPv4 minimum reassembly size (576) less headers, and a floor for constrained links.
_PMTU_LADDER = (1232, 548, 256)

_EXTENSION_NAMES = {
    0: "server_name", 1: "max_fragment_length", 2: "client_certificate_url",
    3: "trusted_ca_keys", 11: "ec_point_formats", 15: "heartbeat",
    19: "client_certificate_type", 20: "server_certificate_type",
    23: "extended_master_secret", 25: "cached_info", 28: "record_size_limit",
    35: "session_ticket", 54: "connection_id", 0xFF01: "renegotiation_info",
}

# ServerHello extensions that only an ECDHE offer solicits (RFC 8422, RFC 7250; and
# client_certificate_url, trusted_ca_keys, cached_info: RFC 6066 §5-6, RFC 7924), checked by
# dtls.ecdhe.State.
_ECDHE_EXTENSIONS = (EXT_EC_POINT_FORMATS, EXT_SERVER_CERTIFICATE_TYPE,
                     EXT_CLIENT_CERTIFICATE_TYPE, 2, 3, 25)

_MESSAGE_NAMES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest",
    4: "NewSessionTicket", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
    16: "ClientKeyExchange", 20: "Finished", 21: "CertificateURL",
}


class Client:
    """One client connection's protocol state (no I/O)."""

    def __init__(self, ctx, server_hostname=None, server_ip=None, session=None):
        self.ctx = ctx
        self.server_hostname = server_hostname
        self.server_ip = server_ip
        # Resumption (RFC 5246 §7.4.1.2, RFC 5077): offer this session; `resumed` says
        # whether the server took it, `session` is what a later connection can resume.
        self.offered_session = session if session is not None and session.resumable() \
            else None
        self.resumed = False
        self.session = None
        self._offered_session_id = b""
        self._made_up_session_id = False
        self._ticket_expected = False
        self._new_ticket = None
        self._sent_last_flight = False
        # RFC 6520 heartbeat, RFC 6066 §4 max_fragment_length, RFC 8449 record_size_limit.
        self._heartbeat_negotiated = False
        self.heartbeat_allowed = False  # the server accepts our requests
        self.heartbeats_answered = 0  # requests from the server we answered
        self.heartbeats_unanswered = 0
        self._heartbeat_payload = None
        self._heartbeat_padding = 16
        self._send_limit = MAX_PLAINTEXT
        # Datagram size: max_datagram, lowered by retransmission back-off or a PMTU probe.
        self._datagram_limit = ctx.max_datagram
        self._largest_datagram = 0
        self._flight_messages = []
        self._flight_timeouts = 0
        self.connection_id = None  # the server's CID we send, when negotiated (RFC 9146)
        self.state = STATE_INIT
        self.records = RecordLayer()
        self.reassembler = Reassembler(ctx.max_handshake_message)
        self.cipher_suite = None
        self.extended_master_secret = False
        self.psk_identity_hint = None
        self.session_id = b""
        self.error = None
        # Counters for benchmarks and traces.
        self.datagrams_sent = 0
        self.bytes_sent = 0
        self.retransmissions = 0
        self.truncated_datagrams = 0
        self._out = []
        self._events = []
        self._offered = ctx.offered_suites()
        self._offers_ecdhe = False
        self._offers_ecdhe_psk = False
        for code in self._offered:
            if SUITES[code][1] == KX_ECDHE_ECDSA:
                self._offers_ecdhe = True
            elif SUITES[code][1] == KX_ECDHE_PSK:
                self._offers_ecdhe_psk = True
        if self._offers_ecdhe and ctx.trust_anchors and not (server_hostname or server_ip):
            # RFC 7925 §4.4.1: a certificate is only as good as the identity checked in it.
            raise DTLSError("certificate mode needs server_hostname or server_ip")
        self._expect = ()
        self._sh_extensions = []
        self._ecdhe_state = None  # dtls.ecdhe.State when ECDHE is offered
        # RFC 7924: the server's certificate information (dtls.ecdhe.CachedInfo) once a
        # handshake in which it authenticated with a certificate has completed.
        self.cached_info = None
        self._cache_hit = False
        self._server_cert_type = 0  # X.509 unless negotiated (RFC 7250 §4.2)
        self._client_cert_type = 0
        self._server_key = None
        self._server_point = None
        self._cert_requested = False
        self._client_auth_usable = False
        self._client_random = ctx.rng(32)
        self._server_random = None
        self._cookie = b""
        self._sent_sni = False
        self._hello_verify_count = 0
        self._send_seq = 0  # next handshake message_seq we send (RFC 6347 §4.2.2)
        self._transcript = Sha256()
        self._master = None
        self._server_write = None
        self._flight = []  # (epoch, content type, payload) of our last flight, for resending
        self._peer_flight_end = -1  # message_seq ending the server flight ours answers
        self._future = []
        self._timeout = ctx.initial_timeout_ms
        self._deadline = None
        self._handshake_deadline = None
        self._retransmitted_flight = False
        self._answered_peer_retransmission = False

    # ----------------------------------------------------------------- driver interface

    def start(self, now):
        if self.state != STATE_INIT:
            raise DTLSError("handshake already started")
        self._handshake_deadline = now + self.ctx.handshake_timeout_ms
        self._send_client_hello(now)

    def pop_datagrams(self):
        out = self._out
        self._out = []
        return out

    def pop_events(self):
        ev = self._events
        self._events = []
        return ev

    def next_deadline(self):
        """Milliseconds (same clock as `now`) when handle_timer is due, or None."""
        if self.state in (STATE_CONNECTED, STATE_CLOSED, STATE_INIT):
            return None
        d = self._deadline
        h = self._handshake_deadline
        if d is None or h < d:
            return h
        return d

    @property
    def connected(self):
        return self.state == STATE_CONNECTED

    @property
    def cached_info_used(self):
        """True when the server sent only the fingerprint of our cached information
        instead of its Certificate message (RFC 7924 §4.1); known once connected."""
        return self._cache_hit

    @property
    def cipher_suite_name(self):
        return suite_name(self.cipher_suite) if self.cipher_suite else None

    def handle_timer(self, now):
        """Retransmits the current flight when its timer expired (RFC 6347 §4.2.4) and
        ends the handshake once the overall timeout passed."""
        if self.state in (STATE_CONNECTED, STATE_CLOSED, STATE_INIT):
            return
        if now - self._handshake_deadline >= 0:
            msg = "handshake timed out after %d ms" % self.ctx.handshake_timeout_ms
            if self.state == STATE_WAIT_SERVER_HELLO:
                msg += " (no answer from the server)"
            elif self.state == STATE_WAIT_CHANGE_CIPHER_SPEC:
                # DTLS servers drop records that fail authentication instead of answering
                # with an alert, so a wrong PSK shows up as silence after our Finished.
                if self.cipher_suite is not None and self._kx() != KX_ECDHE_ECDSA \
                        and not self.resumed:
                    msg += " (server did not accept our Finished: wrong PSK identity or key?)"
                else:
                    msg += " (no answer to our Finished)"
            if self.truncated_datagrams:
                msg += " (%d datagrams filled the %d-byte receive buffer: raise " \
                    "max_recv_datagram)" % (self.truncated_datagrams, self.ctx.max_recv_datagram)
            if self.reassembler.oversize:
                msg += " (server sent a %d-byte handshake message; max_handshake_message is %d)" \
                    % (self.reassembler.oversize, self.ctx.max_handshake_message)
            self._fail(HandshakeTimeout(msg))
        if self._deadline is not None and now - self._deadline >= 0:
            # Double the timer up to the maximum (RFC 6347 §4.2.4.1).
            self._timeout = min(2 * self._timeout, self.ctx.max_timeout_ms)
            if self.ctx.trace is not None:
                self._trace("timeout: retransmitting flight, next timer %d ms" % self._timeout)
            self._answered_peer_retransmission = False
            self._flight_timeouts += 1
            if self._flight_timeouts >= 2:
                self._back_off_datagram_size()
            self._retransmit(now)

    def receive(self, datagram, now):
        """Processes one datagram. Invalid records are dropped silently (RFC 6347
        §4.1.2.7); protocol violations send a fatal alert and raise DTLSError."""
        if self.state == STATE_CLOSED:
            return
        try:
            for rec in parse_datagram(datagram):
                self._receive_record(rec, now)
                if self.state == STATE_CLOSED:
                    break
        except DTLSError as e:
            self._fail(e)

    def send(self, data):
        """Queues one application data record (one datagram)."""
        if self.state != STATE_CONNECTED:
            if self.state == STATE_CLOSED:
                raise ConnectionClosed("connection is closed")
            raise DTLSError("handshake not complete")
        limit = self.max_payload()
        if len(data) > limit:
            raise DTLSError("message of %d bytes exceeds the %d-byte record limit"
                            % (len(data), limit))
        self._queue_record(CT_APPLICATION_DATA, data)

    def note_truncated_datagram(self, size):
        """The driver received a datagram that filled its buffer: probably cut short."""
        self.truncated_datagrams += 1
        if self.ctx.trace is not None:
            self._trace("received a %d-byte datagram: the receive buffer is full, the "
                        "datagram was probably cut (max_recv_datagram)" % size)

    def max_payload(self):
        """Largest application payload one datagram can carry with the current settings
        (max_datagram, and the server's max_fragment_length or record_size_limit)."""
        return min(self._send_limit, self._datagram_limit - self.records.overhead(1))

    def heartbeat(self, datagram_size=0):
        """Sends a HeartbeatRequest (RFC 6520 §3) as a liveness probe; the answer shows up as
        a ("heartbeat",) event. Only one request is outstanding: a new one counts the
        previous one in heartbeats_unanswered. With datagram_size the request is padded to
        a datagram of that size: an answer proves the path carries it (RFC 6520 §5.1)."""
        if self.state != STATE_CONNECTED:
            raise DTLSError("handshake not complete")
        if not self.heartbeat_allowed:
            raise DTLSError("the server did not agree to receive heartbeat requests")
        if self._heartbeat_payload is not None:
            self.heartbeats_unanswered += 1
        self._heartbeat_payload = self.ctx.rng(16)
        self._heartbeat_padding = 16
        if datagram_size:
            pad = datagram_size - self.records.overhead(1) - 3 - 16
            if pad < 16 or 3 + 16 + pad > self._send_limit:
                raise DTLSError("cannot pad a heartbeat to %d bytes" % datagram_size)
            self._heartbeat_padding = pad
        self.resend_heartbeat()

    def set_datagram_limit(self, size):
        """Uses datagrams of at most `size` bytes from now on (a probed path MTU)."""
        self._datagram_limit = min(size, self.ctx.max_datagram)

    def resend_heartbeat(self):
        """Retransmits the outstanding request (RFC 6520 §4: DTLS retransmits it)."""
        if self._heartbeat_payload is not None:
            self._queue_record(CT_HEARTBEAT, self._heartbeat_message(
                1, self._heartbeat_payload, self._heartbeat_padding))

    def _heartbeat_message(self, kind, payload, padding=16):
        # type, payload_length, payload, at least 16 bytes of random padding (RFC 6520 §4)
        return struct.pack(">BH", kind, len(payload)) + payload + self.ctx.rng(padding)

    def _receive_heartbeat(self, msg):
        if not self._heartbeat_negotiated or len(msg) < 3:
            return
        kind = msg[0]
        n = (msg[1] << 8) | msg[2]
        # RFC 6520 §4: a payload_length that does not fit the record with 16 bytes of
        # padding is discarded silently (the Heartbleed check).
        if 3 + n + 16 > len(msg):
            return
        payload = bytes(msg[3:3 + n])
        if kind == 1:
            self._queue_record(CT_HEARTBEAT, self._heartbeat_message(2, payload))
            self.heartbeats_answered += 1
            if self.ctx.trace is not None:
                self._trace("recv HeartbeatRequest (%d-byte payload): answered" % n)
        elif kind == 2 and self._heartbeat_payload is not None \
                and keys.equal_ct(payload, self._heartbeat_payload):
            self._heartbeat_payload = None
            self._events.append(("heartbeat",))

    def close(self):
        """Sends close_notify (RFC 5246 §7.2.1) if the connection is up; idempotent."""
        if self.state == STATE_CONNECTED:
            self._send_alert(ALERT_WARNING, CLOSE_NOTIFY)
        self.state = STATE_CLOSED

    # ----------------------------------------------------------------- records

    def _receive_record(self, rec, now):
        ctype, version, epoch, seq, seq8, fragment = rec
        if version != DTLS_1_2 and version != DTLS_1_0:
            return  # not DTLS 1.x: drop
        if epoch == self.records.read_epoch + 1 and self.state == STATE_WAIT_CHANGE_CIPHER_SPEC:
            # Reordered past the server's ChangeCipherSpec: keep a few until it arrives
            # (RFC 6347 §4.1 allows buffering records of the next epoch).
            if len(self._future) < _MAX_FUTURE_RECORDS:
                self._future.append((ctype, version, epoch, seq, bytes(seq8), bytes(fragment)))
            return
        opened = self.records.unprotect(ctype, version, epoch, seq, seq8, fragment)
        if opened is None:
            return
        ctype, plaintext = opened
        if ctype == CT_HANDSHAKE:
            self._receive_handshake(plaintext, epoch, now)
        elif ctype == CT_CHANGE_CIPHER_SPEC:
            self._receive_change_cipher_spec(plaintext, now)
        elif ctype == CT_ALERT:
            self._receive_alert(plaintext)
        elif ctype == CT_APPLICATION_DATA:
            # Data is only valid in the protected epoch once the handshake is complete.
            if self.state == STATE_CONNECTED and epoch == 1 and len(plaintext):
                self._events.append(("data", bytes(plaintext)))
        elif ctype == CT_HEARTBEAT:
            if self.state == STATE_CONNECTED and epoch == 1:
                self._receive_heartbeat(plaintext)
        # Unknown content types are dropped.

    def _receive_alert(self, payload):
        if len(payload) != 2:
            return  # malformed: drop
        level, desc = payload[0], payload[1]
        if desc == CLOSE_NOTIFY:
            self._trace("recv alert close_notify")
            if self.state == STATE_CONNECTED:
                # RFC 5246 §7.2.1: answer with our own close_notify.
                self._send_alert(ALERT_WARNING, CLOSE_NOTIFY)
                self.state = STATE_CLOSED
                self._events.append(("closed",))
                return
            self.state = STATE_CLOSED
            raise AlertReceived("server closed the connection during the handshake", desc)
        if level == ALERT_FATAL:
            if self.ctx.trace is not None:
                self._trace("recv fatal alert " + alert_name(desc))
            self.state = STATE_CLOSED
            raise AlertReceived("server sent fatal alert " + alert_name(desc), desc)
        if self.ctx.trace is not None:
            self._trace("recv warning alert " + alert_name(desc))

    def _receive_change_cipher_spec(self, payload, now):
        if self.state == STATE_WAIT_CHANGE_CIPHER_SPEC:
            if bytes(payload) != b"\x01":
                raise DTLSError("malformed ChangeCipherSpec", DECODE_ERROR)
            self._trace("recv ChangeCipherSpec")
            self.records.start_read_epoch(1, self._server_write)
            self.state = STATE_WAIT_FINISHED
            future = self._future
            self._future = []
            for rec in future:
                self._receive_record(rec, now)
        elif self.state in (STATE_WAIT_SERVER_HELLO, STATE_WAIT_SERVER_HELLO_DONE):
            # The server may switch keys only after our Finished (RFC 5246 §7.1).
            raise DTLSError("ChangeCipherSpec before the key exchange", UNEXPECTED_MESSAGE)
        # Later duplicates (retransmissions) are ignored.

    # ----------------------------------------------------------------- handshake input

    def _receive_handshake(self, payload, epoch, now):
        try:
            frags = parse_fragments(payload)
        except DTLSError:
            return  # unframeable: drop like any invalid record
        for msg_type, length, seq, off, body in frags:
            if self.state == STATE_CONNECTED:
                self._receive_post_handshake(msg_type, length, seq, off, body, now)
                continue
            if msg_type == HS_HELLO_VERIFY_REQUEST:
                if self.state == STATE_WAIT_SERVER_HELLO and off == 0 and len(body) == length:
                    self._receive_hello_verify_request(body, now)
                continue
            if not self.reassembler.add(msg_type, length, seq, off, body):
                # A message we already processed: the server is retransmitting. If it is the
                # end of the flight we answered, our answer was lost (RFC 6347 §4.2.4).
                # Answer at most once per timer period: two peers that each answer the
                # other's retransmissions at once would ping-pong at network speed.
                if seq == self._peer_flight_end and off + len(body) == length \
                        and not self._answered_peer_retransmission:
                    self._trace("server retransmitted its flight: resending ours")
                    self._answered_peer_retransmission = True
                    self._retransmit(now)
                continue
        while self.state != STATE_CLOSED:
            msg = self.reassembler.pop()
            if msg is None:
                break
            msg_type, seq, body = msg
            if self.ctx.trace is not None:
                self._trace("recv %s (seq %d, %d bytes)" % (
                    _MESSAGE_NAMES.get(msg_type, str(msg_type)), seq, len(body)))
            self._handle_message(msg_type, seq, body, epoch, now)

    def _receive_post_handshake(self, msg_type, length, seq, off, body, now):
        if msg_type == HS_HELLO_REQUEST and length == 0 and self.records.read_epoch == 1:
            # RFC 7925 §17 / RFC 5746 §4.2: never renegotiate; say so with a warning.
            self._trace("recv HelloRequest: refusing renegotiation")
            self._send_alert(ALERT_WARNING, NO_RENEGOTIATION)
        elif msg_type == HS_FINISHED and self._sent_last_flight and seq == self._peer_flight_end \
                and off + len(body) == length:
            # After an abbreviated handshake the server repeats its Finished when our final
            # flight was lost: send that flight again (RFC 6347 §4.2.4).
            self._trace("server repeated its Finished: resending our final flight")
            self._retransmit(now)
        # Anything else (retransmitted Finished after a full handshake, strays) is ignored.

    def _handle_message(self, msg_type, seq, body, epoch, now):
        state = self.state
        if state == STATE_WAIT_SERVER_HELLO:
            if msg_type != HS_SERVER_HELLO:
                raise DTLSError("expected ServerHello", UNEXPECTED_MESSAGE)
            self._add_transcript(msg_type, seq, body)
            self._receive_server_hello(body)
            if self.resumed:
                # Abbreviated handshake: [NewSessionTicket], ChangeCipherSpec, Finished
                # follow from the server; the master secret is the session's.
                self._master = self.offered_session.master
                ctx = self.ctx
                ctx.log_keys(self._client_random, self._master)
                self._install_keys()
                self.state = STATE_WAIT_CHANGE_CIPHER_SPEC
                return
            self.state = STATE_WAIT_SERVER_HELLO_DONE
            # What may follow in the server's flight, in order (RFC 5246 §7.3; RFC 4279 §2:
            # ServerKeyExchange is optional for PSK; RFC 8422 §2: mandatory for ECDHE).
            kx = self._kx()
            if kx == KX_PSK:
                self._expect = (HS_SERVER_KEY_EXCHANGE, HS_SERVER_HELLO_DONE)
            elif kx == KX_ECDHE_PSK:
                self._expect = (HS_SERVER_KEY_EXCHANGE,)  # RFC 5489 §2: always sent
            else:
                self._expect = (HS_CERTIFICATE,)
        elif state == STATE_WAIT_SERVER_HELLO_DONE:
            if msg_type not in self._expect:
                raise DTLSError("unexpected %s in server flight" % _MESSAGE_NAMES.get(
                    msg_type, str(msg_type)), UNEXPECTED_MESSAGE)
            self._add_transcript(msg_type, seq, body)
            if msg_type == HS_CERTIFICATE:
                self._receive_server_certificate(body)
                self._expect = (HS_SERVER_KEY_EXCHANGE,)
            elif msg_type == HS_SERVER_KEY_EXCHANGE:
                if self._kx() == KX_PSK:
                    self._receive_psk_server_key_exchange(body)
                    self._expect = (HS_SERVER_HELLO_DONE,)
                elif self._kx() == KX_ECDHE_PSK:
                    from . import ecdhe_psk
                    self.psk_identity_hint, self._server_point = \
                        ecdhe_psk.parse_server_key_exchange(body)
                    self._expect = (HS_SERVER_HELLO_DONE,)
                else:
                    self._server_point = self._ecdhe().verify_server_key_exchange(
                        body, self._server_key, self._client_random, self._server_random)
                    self._expect = (HS_CERTIFICATE_REQUEST, HS_SERVER_HELLO_DONE)
            elif msg_type == HS_CERTIFICATE_REQUEST:
                self._client_auth_usable = self._ecdhe().parse_certificate_request(body)
                self._cert_requested = True
                self._expect = (HS_SERVER_HELLO_DONE,)
            else:
                if len(body):
                    raise DTLSError("ServerHelloDone is not empty", DECODE_ERROR)
                self._peer_flight_end = seq
                self._send_key_exchange_flight(now)
        elif state == STATE_WAIT_FINISHED:
            if msg_type != HS_FINISHED or epoch != 1:
                raise DTLSError("expected Finished", UNEXPECTED_MESSAGE)
            self._receive_finished(body, seq, now)
        elif state == STATE_WAIT_CHANGE_CIPHER_SPEC and msg_type == HS_NEW_SESSION_TICKET \
                and self._ticket_expected and self._new_ticket is None:
            # RFC 5077 §3.3: sent before the server's ChangeCipherSpec, in the transcript.
            self._add_transcript(msg_type, seq, body)
            r = Reader(body)
            lifetime = r.u32()
            self._new_ticket = (bytes(r.vec16()), lifetime)
            r.end()
        else:
            # Other handshake messages while waiting for ChangeCipherSpec are errors.
            raise DTLSError("unexpected handshake message", UNEXPECTED_MESSAGE)

    def _receive_hello_verify_request(self, body, now):
        if self._hello_verify_count >= _MAX_HELLO_VERIFY:
            return
        r = Reader(body)
        version = r.u16()
        cookie = bytes(r.vec8())
        r.end()
        # RFC 6347 §4.2.1: the HelloVerifyRequest version may be DTLS 1.0 whatever is later
        # negotiated, so any DTLS 1.x is accepted here; ServerHello decides.
        if version != DTLS_1_2 and version != DTLS_1_0:
            raise DTLSError("HelloVerifyRequest with version 0x%04x" % version, PROTOCOL_VERSION)
        if self._cookie and cookie == self._cookie:
            return  # a duplicate of the HelloVerifyRequest we already answered
        self._hello_verify_count += 1
        if self.ctx.trace is not None:
            self._trace("recv HelloVerifyRequest (cookie %d bytes)" % len(cookie))
        self._cookie = cookie
        # RFC 6347 §4.2.1: the first ClientHello and the HelloVerifyRequest stay out of the
        # handshake hash; the second ClientHello starts it.
        self._transcript = Sha256()
        self._timeout = self.ctx.initial_timeout_ms
        self._send_client_hello(now)

    def _receive_server_hello(self, body):
        r = Reader(body)
        version = r.u16()
        if version != DTLS_1_2:
            # DTLS 1.2 only (RFC 7925 §3): anything else is refused.
            raise DTLSError("server chose version 0x%04x, not DTLS 1.2" % version,
                            PROTOCOL_VERSION)
        self._server_random = bytes(r.take(32))
        session_id = r.vec8()
        if len(session_id) > 32:
            raise DTLSError("session_id too long", ILLEGAL_PARAMETER)
        suite = r.u16()
        if suite not in self._offered:
            raise DTLSError("server chose suite 0x%04x that was not offered" % suite,
                            ILLEGAL_PARAMETER)
        if r.u8() != 0:
            # RFC 7925 §15 (and RFC 7525): no compression.
            raise DTLSError("server chose compression", ILLEGAL_PARAMETER)
        self.session_id = bytes(session_id)
        self.cipher_suite = suite
        seen = []
        if r.remaining():
            ext = Reader(r.vec16())
            r.end()
            while ext.remaining():
                etype = ext.u16()
                ext.vec16()  # the first pass only checks framing and duplicates
                if etype in seen:
                    raise DTLSError("duplicate extension %d" % etype, ILLEGAL_PARAMETER)
                seen.append(etype)
            # Second pass, so record_size_limit can take precedence wherever it stands.
            self._sh_extensions = seen
            ext.pos = 0
            while ext.remaining():
                etype = ext.u16()
                self._server_hello_extension(etype, ext.vec16())
        self.extended_master_secret = EXT_EXTENDED_MASTER_SECRET in seen
        sess = self.offered_session
        if sess is not None and self.session_id and self.session_id == self._offered_session_id:
            # The server resumes (RFC 5246 §7.3 abbreviated handshake). The session must keep
            # its suite, and its extended-master-secret status either way (RFC 7627 §5.3).
            if suite != sess.suite:
                raise DTLSError("resumed session with another suite", ILLEGAL_PARAMETER)
            if self.extended_master_secret != sess.ems:
                raise DTLSError("resumption changes extended master secret", HANDSHAKE_FAILURE)
            self.resumed = True
        elif not self.extended_master_secret and self.ctx.require_ems:
            raise DTLSError("server does not support extended master secret",
                            HANDSHAKE_FAILURE)
        if self.connection_id is not None:
            # RFC 9146 §4: from epoch 1 on, our records carry the server's CID (if any).
            if len(self.connection_id):
                self.records.write_cid = self.connection_id
        if self.ctx.trace is not None:
            self._trace("recv ServerHello: %s, %s, extensions %s" % (
                suite_name(suite), "resumed" if self.resumed else "full handshake",
                ",".join([_EXTENSION_NAMES.get(e, str(e)) for e in seen]) or "none"))

    def _server_hello_extension(self, etype, data):
        if etype == EXT_EXTENDED_MASTER_SECRET:
            if len(data):
                raise DTLSError("extended_master_secret extension not empty", DECODE_ERROR)
        elif etype == EXT_RENEGOTIATION_INFO:
            # RFC 5746 §3.4: on an initial handshake it must be the empty renegotiated_connection.
            if bytes(data) != b"\x00":
                raise DTLSError("bad renegotiation_info", HANDSHAKE_FAILURE)
        elif etype == EXT_SESSION_TICKET and (self.ctx.session_tickets or (
                self.offered_session is not None and self.offered_session.ticket)):
            # RFC 5077 §3.2: empty; the server will send a NewSessionTicket.
            if len(data):
                raise DTLSError("session_ticket extension not empty", DECODE_ERROR)
            self._ticket_expected = True
        elif etype == EXT_SERVER_NAME and self._sent_sni:
            if len(data):
                raise DTLSError("server_name extension not empty", DECODE_ERROR)
        elif etype == EXT_MAX_FRAGMENT_LENGTH and self.ctx.max_fragment_length:
            # RFC 6066 §4: the server echoes our value or the handshake fails.
            if len(data) != 1 or data[0] != _MFL_CODES.index(self.ctx.max_fragment_length) + 1:
                raise DTLSError("server changed max_fragment_length", ILLEGAL_PARAMETER)
            if EXT_RECORD_SIZE_LIMIT not in self._sh_extensions:
                self._send_limit = self.ctx.max_fragment_length
        elif etype == EXT_RECORD_SIZE_LIMIT and self.ctx.record_size_limit:
            # RFC 8449 §4: the most plaintext the server accepts per record; takes precedence
            # over max_fragment_length (§5).
            if len(data) != 2:
                raise DTLSError("bad record_size_limit", DECODE_ERROR)
            limit = (data[0] << 8) | data[1]
            if limit < 64:
                raise DTLSError("record_size_limit below 64", ILLEGAL_PARAMETER)
            self._send_limit = min(limit, MAX_PLAINTEXT)
        elif etype == EXT_HEARTBEAT and self.ctx.heartbeat:
            if len(data) != 1 or data[0] not in (1, 2):
                raise DTLSError("bad heartbeat extension", ILLEGAL_PARAMETER)
            self._heartbeat_negotiated = True
            self.heartbeat_allowed = data[0] == 1
        elif etype == EXT_CONNECTION_ID and self.ctx.connection_id:
            r = Reader(data)
            cid = bytes(r.vec8())
            r.end()
            self.connection_id = cid
        elif etype == EXT_EC_POINT_FORMATS and self._offers_ecdhe_psk and \
                self._ecdhe_state is None:
            from . import ecdhe_psk
            ecdhe_psk.check_point_formats(data)
        elif etype in _ECDHE_EXTENSIONS and self._ecdhe_state is not None:
            choice = self._ecdhe_state.server_hello_extension(etype, data)
            if choice is not None:
                if choice[0] == "server":
                    self._server_cert_type = choice[1]
                else:
                    self._client_cert_type = choice[1]
        else:
            # RFC 5246 §7.4.1.4: a server must not send extensions the client did not offer.
            raise DTLSError("server sent unrequested extension %d" % etype, UNSUPPORTED_EXTENSION)

    def _ecdhe(self):
        from . import ecdhe  # only ECDHE connections load P-256, ECDSA and X.509
        return ecdhe

    def _receive_server_certificate(self, body):
        state = self._ecdhe_state
        self._server_key, count = state.server_certificate(body, self._server_cert_type)
        if self.ctx.trace is not None:
            how = "raw public key" if self._server_cert_type == 2 else \
                "X.509 chain of %d" % count
            if state.cache_hit:
                how += " from cached_info, %d bytes not sent" % state.bytes_saved
            self._trace("recv Certificate: server authenticated (%s)" % how)

    def _receive_psk_server_key_exchange(self, body):
        # RFC 4279 §2: ServerKeyExchange carries only psk_identity_hint.
        r = Reader(body)
        self.psk_identity_hint = bytes(r.vec16())
        r.end()

    def _receive_finished(self, body, seq, now):
        expected = keys.finished_verify_data(self._master, b"server finished",
                                             self._transcript.digest())
        if not keys.equal_ct(body, expected):
            raise DTLSError("server Finished does not verify", DECRYPT_ERROR)
        self._trace("recv Finished: verified, handshake complete")
        if self.resumed:
            # Abbreviated handshake: our ChangeCipherSpec and Finished end it, and we keep
            # them to answer the server if it repeats its flight (RFC 6347 §4.2.4).
            self._add_transcript(HS_FINISHED, seq, body)
            self._peer_flight_end = seq
            verify = keys.finished_verify_data(self._master, b"client finished",
                                               self._transcript.digest())
            fin_seq = self._send_seq
            self._send_seq += 1
            self.records.write_epoch = 1
            self._trace("send ChangeCipherSpec, Finished")
            self._new_flight([(0, None, 0, b"\x01"), (1, HS_FINISHED, fin_seq, verify)], now)
            self._sent_last_flight = True
        else:
            # Full handshake: the server's Finished answered our last flight, which is
            # never needed again (RFC 6347 §4.2.4); free it.
            self._flight = self._flight_messages = ()
        # Handshake-only state: the connection keeps less heap without it.
        self._future = self._sh_extensions = self._offered = ()
        self._cookie = b""
        self._client_random = self._server_random = None
        self.state = STATE_CONNECTED
        self._deadline = None
        self._transcript = None
        self._make_session()
        if self._ecdhe_state is not None:
            # RFC 7924 §7: cache only what a completed handshake authenticated.
            self.cached_info = self._ecdhe_state.entry
            self._cache_hit = self._ecdhe_state.cache_hit
            self._ecdhe_state = None  # certificates, key exchange state: not needed again
        self._server_key = self._server_point = None
        self._events.append(("connected",))

    def _make_session(self):
        """What a later connection can resume: the server's session ID and/or ticket."""
        ticket, lifetime = b"", 0
        if self._new_ticket is not None:
            ticket, lifetime = self._new_ticket
        elif self.resumed:
            ticket, lifetime = self.offered_session.ticket, self.offered_session.lifetime
        sid = self.session_id
        if self._made_up_session_id and sid == self._offered_session_id:
            sid = b""  # the ID we made up for the ticket identifies nothing on the server
        from .session import Session
        sess = Session(self.cipher_suite, sid, self._master, self.extended_master_secret,
                       ticket, lifetime)
        self.session = sess if sess.resumable() else None

    # ----------------------------------------------------------------- handshake output

    def _kx(self):
        return SUITES[self.cipher_suite][1]

    def _send_client_hello(self, now):
        body = self._client_hello_body()
        seq = self._send_seq
        self._send_seq += 1
        self._add_transcript(HS_CLIENT_HELLO, seq, body)
        # The server's reply continues from our message_seq (RFC 6347 §4.2.2).
        self.reassembler.reset(seq)
        if self.ctx.trace is not None:
            self._trace("send ClientHello (seq %d, cookie %d bytes)" % (seq, len(self._cookie)))
        self._new_flight([(0, HS_CLIENT_HELLO, seq, body)], now)
        self.state = STATE_WAIT_SERVER_HELLO

    def _client_hello_body(self):
        suites = b""
        for code in self._offered:
            suites += struct.pack(">H", code)
        exts = b""
        self._sent_sni = False
        if self.server_hostname:
            # RFC 6066 §3: server_name_list with one host_name entry.
            name = self.server_hostname.encode()
            exts += struct.pack(">HHHBH", EXT_SERVER_NAME, len(name) + 5, len(name) + 3, 0,
                                len(name)) + name
            self._sent_sni = True
        if self._offers_ecdhe:
            ecdhe = self._ecdhe()
            if self._ecdhe_state is None:
                ip = None
                if self.server_ip is not None and not self.server_hostname:
                    from .context import ip_address_bytes
                    ip = ip_address_bytes(self.server_ip)
                self._ecdhe_state = ecdhe.State(self.ctx, self.server_hostname, ip)
            exts += ecdhe.hello_extensions(self.ctx) + self._ecdhe_state.hello_extensions()
        elif self._offers_ecdhe_psk:
            from . import ecdhe_psk  # groups and point formats, without ECDSA or X.509
            exts += ecdhe_psk.hello_extensions()
        ctx = self.ctx
        if ctx.max_fragment_length:
            exts += struct.pack(">HHB", EXT_MAX_FRAGMENT_LENGTH, 1,
                                _MFL_CODES.index(ctx.max_fragment_length) + 1)
        if ctx.record_size_limit:
            exts += struct.pack(">HHH", EXT_RECORD_SIZE_LIMIT, 2, ctx.record_size_limit)
        if ctx.heartbeat:
            # mode 1: peer_allowed_to_send (we answer the server's requests)
            exts += struct.pack(">HHB", EXT_HEARTBEAT, 1, 1)
        if ctx.connection_id:
            # RFC 9146 §3: our CID is empty: the server sends us plain records.
            exts += struct.pack(">HHB", EXT_CONNECTION_ID, 1, 0)
        # RFC 7627: extended master secret; RFC 5746 §3.4: empty renegotiation_info.
        exts += struct.pack(">HH", EXT_EXTENDED_MASTER_SECRET, 0)
        exts += struct.pack(">HHB", EXT_RENEGOTIATION_INFO, 1, 0)
        sess = self.offered_session
        if sess is not None and not self._offered_session_id:
            # RFC 5077 §3.4: with a ticket, a fresh session ID shows whether it was accepted.
            self._offered_session_id = sess.session_id or self.ctx.rng(32)
            self._made_up_session_id = not sess.session_id
        if (sess is not None and sess.ticket) or self.ctx.session_tickets:
            ticket = sess.ticket if sess is not None else b""
            exts += struct.pack(">HH", EXT_SESSION_TICKET, len(ticket)) + ticket
        return (struct.pack(">H", DTLS_1_2) + self._client_random +
                vec8(self._offered_session_id) + vec8(self._cookie)
                + vec16(suites) + b"\x01\x00" + vec16(exts))

    def _send_key_exchange_flight(self, now):
        """Flight 5 (RFC 6347 §4.2.4): [Certificate], ClientKeyExchange,
        [CertificateVerify], ChangeCipherSpec, Finished."""
        ctx = self.ctx
        messages = []
        seq = self._send_seq
        can_sign = False
        if self._cert_requested:
            # RFC 5246 §7.4.6: answer a CertificateRequest with our certificate (or its
            # URL, RFC 6066 §5), or an empty one when we have none the server accepts.
            msg_type, cert, can_sign = self._ecdhe_state.client_certificate(
                self._client_cert_type, self._client_auth_usable)
            self._add_transcript(msg_type, seq, cert)
            messages.append((0, msg_type, seq, cert))
            seq += 1
        if self._kx() == KX_PSK:
            cke = vec16(ctx.psk_identity)  # RFC 4279 §2: psk_identity
            premaster = keys.psk_premaster(ctx.psk_key)
        elif self._kx() == KX_ECDHE_PSK:
            from . import ecdhe_psk
            cke, premaster = ecdhe_psk.key_exchange(ctx.rng, ctx.psk_identity, ctx.psk_key,
                                                    self._server_point)
        else:
            cke, premaster = self._ecdhe().key_exchange(ctx.rng, self._server_point)
        self._add_transcript(HS_CLIENT_KEY_EXCHANGE, seq, cke)
        messages.append((0, HS_CLIENT_KEY_EXCHANGE, seq, cke))
        seq += 1
        # With EMS the session hash covers everything up to ClientKeyExchange (RFC 7627 §3);
        # CertificateVerify signs the same messages (RFC 5246 §7.4.8).
        hs_hash = self._transcript.digest()
        self._master = keys.master_secret(
            premaster, self._client_random, self._server_random,
            hs_hash if self.extended_master_secret else None)
        keys.wipe(premaster)
        ctx.log_keys(self._client_random, self._master)
        if can_sign:
            cv = self._ecdhe().certificate_verify_body(ctx.private_key, hs_hash)
            self._add_transcript(HS_CERTIFICATE_VERIFY, seq, cv)
            messages.append((0, HS_CERTIFICATE_VERIFY, seq, cv))
            seq += 1
            hs_hash = self._transcript.digest()
        self._install_keys()
        verify = keys.finished_verify_data(self._master, b"client finished", hs_hash)
        self._send_seq = seq + 1
        self._add_transcript(HS_FINISHED, seq, verify)
        self.records.write_epoch = 1
        messages.append((0, None, 0, b"\x01"))
        messages.append((1, HS_FINISHED, seq, verify))
        if self.ctx.trace is not None:
            names = [_MESSAGE_NAMES[m[1]] if m[1] is not None else "ChangeCipherSpec"
                     for m in messages]
            self._trace("send " + ", ".join(names))
        self._new_flight(messages, now)
        self.state = STATE_WAIT_CHANGE_CIPHER_SPEC

    def _install_keys(self):
        """Epoch-1 keys from the master secret and both randoms (RFC 5246 §6.3)."""
        tag_len = SUITES[self.cipher_suite][2]
        ck, sk, civ, siv = keys.key_block(self._master, self._client_random,
                                          self._server_random, 16, 4)
        self.records.set_write_cipher(1, EpochCipher(ck, civ, tag_len))
        self._server_write = EpochCipher(sk, siv, tag_len)

    def _add_transcript(self, msg_type, seq, body):
        self._transcript.update(full_message(msg_type, seq, body))

    def _new_flight(self, messages, now):
        """Fragments a flight's messages into records that fit the datagram limit and sends
        it. messages: (epoch, handshake type or None for ChangeCipherSpec, message_seq, body)."""
        if not self._retransmitted_flight and self._deadline is not None:
            # The previous flight got through without a retransmission: reset the timer
            # to its initial value (RFC 6347 §4.2.4.1).
            self._timeout = self.ctx.initial_timeout_ms
        self._retransmitted_flight = False
        self._answered_peer_retransmission = False
        self._flight_messages = messages
        self._flight_timeouts = 0
        self._fragment_flight()
        self._transmit_flight()
        self._deadline = now + self._timeout

    def _fragment_flight(self):
        flight = []
        for epoch, msg_type, seq, body in self._flight_messages:
            if msg_type is None:
                flight.append((epoch, CT_CHANGE_CIPHER_SPEC, body))
                continue
            room = min(self._datagram_limit - self.records.overhead(epoch),
                       self._send_limit) - HS_HEADER_LEN
            for frag in fragments(msg_type, seq, body, room):
                flight.append((epoch, CT_HANDSHAKE, frag))
        self._flight = flight

    def _back_off_datagram_size(self):
        """RFC 6347 §4.1.1.1: when retransmissions get no answer, the path may drop large
        datagrams: send the flight again in smaller ones (1232, 548, then 256 bytes)."""
        for size in _PMTU_LADDER:
            if size < self._largest_datagram:
                self._datagram_limit = size
                self._fragment_flight()
                if self.ctx.trace is not None:
                    self._trace("no answer: backing off to %d-byte datagrams" % size)
                return

    def _retransmit(self, now):
        if not self._flight:
            return
        self.retransmissions += 1
        self._retransmitted_flight = True
        self._transmit_flight()
        self._deadline = now + self._timeout

    def _transmit_flight(self):
        """Packs the flight's records into as few datagrams as fit (RFC 6347 §4.1.1).
        Every transmission gets fresh record sequence numbers (RFC 6347 §4.2.4)."""
        limit = self._datagram_limit
        dgram = b""
        largest = 0
        for epoch, ctype, payload in self._flight:
            rec = self.records.protect(ctype, payload, epoch)
            if dgram and len(dgram) + len(rec) > limit:
                self._emit(dgram)
                largest = max(largest, len(dgram))
                dgram = b""
            dgram += rec
        if dgram:
            self._emit(dgram)
            largest = max(largest, len(dgram))
        self._largest_datagram = largest

    def _queue_record(self, ctype, payload):
        self._emit(self.records.protect(ctype, payload))

    def _emit(self, datagram):
        self.datagrams_sent += 1
        self.bytes_sent += len(datagram)
        self._out.append(datagram)

    def _send_alert(self, level, desc):
        if self.ctx.trace is not None:
            self._trace("send %s alert %s" % ("fatal" if level == ALERT_FATAL else "warning",
                                              alert_name(desc)))
        try:
            self._queue_record(CT_ALERT, bytes((level, desc)))
        except DTLSError:
            pass  # sequence numbers exhausted: nothing more can be sent

    def _fail(self, err):
        """Ends the connection: sends the fatal alert the error carries (unless the peer's
        alert caused it) and raises the error for the driver."""
        if self.state != STATE_CLOSED and err.alert is not None \
                and not isinstance(err, AlertReceived):
            self._send_alert(ALERT_FATAL, err.alert)
        self.state = STATE_CLOSED
        self.error = err
        self._deadline = None
        raise err

    def _trace(self, line):
        # Callers that format a line check ctx.trace first: no string work when it is off.
        t = self.ctx.trace
        if t is not None:
            t(line)

