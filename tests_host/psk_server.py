"""A scripted DTLS 1.2 PSK server for attack and fuzz tests (CPython only).

It speaks real TLS_PSK_WITH_AES_128_CCM_8 with valid encryption, built from the project's
own AES-CCM record protection and key schedule (`dtls.record.EpochCipher`, `dtls.keys`;
the message layouts are written out here from RFC 5246 / RFC 6347 / RFC 4279), so a test
can corrupt any one thing and leave everything else genuine. Every step is a method that a
test overrides to mount an attack:

    flight_hvr()       HelloVerifyRequest datagrams (RFC 6347 §4.2.1)
    flight4_messages() [(msg_type, body)] of ServerHello, ServerKeyExchange, ServerHelloDone
    flight4()          datagrams of flight 4 (default: those messages, one datagram)
    flight6()          datagrams of ChangeCipherSpec + Finished (epoch 1)
    on_connected()     extra datagrams right after flight 6
    on_app_data(data)  datagrams answering one application record (default: echo)

ServerCore is sans-I/O (`receive(datagram) -> [datagrams]`) and deterministic for a fixed
client random, so the fuzz tests replay its flights without sockets; UdpServer runs one on
127.0.0.1 in a thread. What the client sent is kept decrypted: `.alerts` is a list of
(epoch, level, description), `.app_data` the application records, `.client_hellos` each
ClientHello seen (with the state it arrived in).
"""
import hashlib
import os
import struct
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(os.path.dirname(HERE), "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)

from dtls import keys  # noqa: E402
from dtls.record import EpochCipher, parse_datagram  # noqa: E402
from scripted import UdpThreadServer  # noqa: E402

PSK_IDENTITY = b"Client_identity"
PSK_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
PSK_HINT = b"hint"
DTLS_1_2 = 0xFEFD
DTLS_1_0 = 0xFEFF
SUITE = 0xC0A8  # TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655)
TAG_LEN = 8

# content types, handshake types, extensions (RFC 5246 §6.2.1, §7.4; RFC 7627; RFC 5746)
CT_CCS, CT_ALERT, CT_HANDSHAKE, CT_APP, CT_HEARTBEAT = 20, 21, 22, 23, 24
HELLO_REQUEST, CLIENT_HELLO, SERVER_HELLO, HELLO_VERIFY_REQUEST = 0, 1, 2, 3
NEW_SESSION_TICKET, CERTIFICATE, SERVER_KEY_EXCHANGE, CERTIFICATE_REQUEST = 4, 11, 12, 13
SERVER_HELLO_DONE, CLIENT_KEY_EXCHANGE, FINISHED = 14, 16, 20
EXT_EMS, EXT_RENEGOTIATION_INFO, EXT_HEARTBEAT = 23, 0xFF01, 15

SERVER_RANDOM = bytes(range(100, 132))
COOKIE = bytes(range(20))


def hs_header(msg_type, length, seq, frag_off=None, frag_len=None):
    """The 12-byte DTLS handshake header (RFC 6347 §4.2.2)."""
    if frag_off is None:
        frag_off, frag_len = 0, length
    return (bytes([msg_type]) + length.to_bytes(3, "big") + struct.pack(">H", seq)
            + frag_off.to_bytes(3, "big") + frag_len.to_bytes(3, "big"))


def hs_message(msg_type, seq, body):
    return hs_header(msg_type, len(body), seq) + body


def hs_fragment(msg_type, seq, body, off, n, length=None):
    """One fragment [off, off+n) of a message; `length` overrides the total length field."""
    total = len(body) if length is None else length
    return hs_header(msg_type, total, seq, off, n) + body[off:off + n]


def seq8(epoch, seq):
    return struct.pack(">HHI", epoch, seq >> 32, seq & 0xFFFFFFFF)


def raw_record(ctype, epoch, seq, fragment, version=DTLS_1_2, length=None):
    """A record header (RFC 6347 §4.1) and fragment, as bytes; `length` overrides the
    length field."""
    n = len(fragment) if length is None else length
    return struct.pack(">BH", ctype, version) + seq8(epoch, seq) + struct.pack(">H", n) + \
        fragment


def server_hello_body(version=DTLS_1_2, suite=SUITE, compression=0, extensions=None,
                      session_id=b"", random=SERVER_RANDOM):
    if extensions is None:
        extensions = struct.pack(">HH", EXT_EMS, 0) + struct.pack(">HHB",
                                                                   EXT_RENEGOTIATION_INFO, 1, 0)
    body = struct.pack(">H", version) + random + bytes([len(session_id)]) + session_id + \
        struct.pack(">HB", suite, compression)
    if extensions is not False:
        body += struct.pack(">H", len(extensions)) + extensions
    return body


def parse_client_hello(body):
    """(client_random, cookie, extension types) from a ClientHello body (RFC 6347 §4.2.1)."""
    p = 2
    random = bytes(body[p:p + 32])
    p += 32
    p += 1 + body[p]                       # session_id
    cookie = bytes(body[p + 1:p + 1 + body[p]])
    p += 1 + body[p]
    p += 2 + struct.unpack_from(">H", body, p)[0]   # cipher suites
    p += 1 + body[p]                       # compression methods
    exts = []
    if p < len(body):
        end = p + 2 + struct.unpack_from(">H", body, p)[0]
        p += 2
        while p < end:
            t, n = struct.unpack_from(">HH", body, p)
            exts.append(t)
            p += 4 + n
    return random, cookie, exts


def client_session_id(body):
    """The session_id a ClientHello body offers."""
    return bytes(body[35:35 + body[34]])


class ServerCore:
    """Server side of the RFC 6347 PSK handshake, one client, no I/O."""

    def __init__(self, cookie=COOKIE, psk_identity=PSK_IDENTITY, psk_key=PSK_KEY,
                 hint=PSK_HINT, server_random=SERVER_RANDOM, ems=True, session_id=b"",
                 heartbeat_mode=None):
        self.cookie = cookie              # None: no HelloVerifyRequest
        self.psk_identity = psk_identity
        self.psk_key = psk_key
        self.hint = hint
        self.server_random = server_random
        self.ems = ems
        self.session_id = session_id      # what ServerHello gives (no resumption here)
        self.heartbeat_mode = heartbeat_mode  # 1 or 2: agree to heartbeat (RFC 6520 §2)
        self.client_session_id = None     # what the ClientHello offered
        self.state = "wait_hello"
        self.write_seq = [0, 0, 0]
        self.read_epoch = 0
        self.write_cipher = None          # epoch 1, server -> client
        self.read_cipher = None           # epoch 1, client -> server
        self.client_random = None
        self.client_exts = []
        self.transcript = b""
        self.master = None
        self.alerts = []                  # (epoch, level, description) the client sent
        self.app_data = []                # application records the client sent
        self.client_hellos = []           # (state when received, cookie)
        self.client_records = []          # (ctype, epoch, plaintext or None)
        self.events = []                  # short log of what happened, for messages
        self._flight4_cache = None
        self._flight6_cache = None
        self._hs_seq = 0                  # our next handshake message_seq

    # ------------------------------------------------------------ record output

    def record(self, ctype, payload, epoch=0, seq=None, version=DTLS_1_2):
        """One plaintext (epoch 0) or protected (epoch >= 1) record with our next sequence
        number of that epoch (or the one given)."""
        if seq is None:
            seq = self.write_seq[epoch]
            self.write_seq[epoch] = seq + 1
        if epoch >= 1:
            payload = self.write_cipher.seal(seq8(epoch, seq), ctype, version, payload)
        return raw_record(ctype, epoch, seq, payload, version)

    def next_hs_seq(self):
        s = self._hs_seq
        self._hs_seq += 1
        return s

    # ------------------------------------------------------------ flights (override)

    def flight_hvr(self):
        body = struct.pack(">H", DTLS_1_0) + bytes([len(self.cookie)]) + self.cookie
        return [self.record(CT_HANDSHAKE, hs_message(HELLO_VERIFY_REQUEST, 0, body), 0)]

    def flight4_messages(self):
        exts = b""
        if self.ems and EXT_EMS in self.client_exts:
            exts += struct.pack(">HH", EXT_EMS, 0)
        exts += struct.pack(">HHB", EXT_RENEGOTIATION_INFO, 1, 0)
        if self.heartbeat_mode and EXT_HEARTBEAT in self.client_exts:
            exts += struct.pack(">HHB", EXT_HEARTBEAT, 1, self.heartbeat_mode)
        return [(SERVER_HELLO, server_hello_body(extensions=exts, session_id=self.session_id)),
                (SERVER_KEY_EXCHANGE, struct.pack(">H", len(self.hint)) + self.hint),
                (SERVER_HELLO_DONE, b"")]

    def flight4(self):
        """Default: the messages of flight4_messages() in one datagram, added to the
        transcript as sent."""
        out = b""
        for msg_type, body in self.flight4_messages():
            out += self.record(CT_HANDSHAKE, self.add_message(msg_type, body), 0)
        return [out]

    def flight6(self):
        verify = self.server_finished()
        fin = hs_message(FINISHED, self.next_hs_seq(), verify)
        return [self.record(CT_CCS, b"\x01", 0) + self.protected(CT_HANDSHAKE, fin)]

    def flight6_again(self):
        """Flight 6 once more: the client retransmitted its Finished (ours was lost)."""
        return list(self._flight6_cache)

    def on_connected(self):
        return []

    def on_app_data(self, data):
        return [self.protected(CT_APP, data)]

    # ------------------------------------------------------------ helpers for attacks

    def add_message(self, msg_type, body):
        """Numbers a handshake message, adds it to the transcript, returns its bytes."""
        msg = hs_message(msg_type, self.next_hs_seq(), body)
        self.transcript += msg
        return msg

    def protected(self, ctype, payload, seq=None, epoch=1):
        return self.record(ctype, payload, epoch, seq)

    def server_finished(self, transcript=None):
        t = self.transcript if transcript is None else transcript
        return keys.finished_verify_data(self.master, b"server finished",
                                         hashlib.sha256(t).digest())

    # ------------------------------------------------------------ input

    def receive(self, datagram):
        out = []
        for ctype, version, epoch, seq, s8, frag in parse_datagram(datagram):
            plain = bytes(frag)
            if epoch == 1:
                if self.read_cipher is None:
                    self.client_records.append((ctype, epoch, None))
                    continue
                plain = self.read_cipher.open(s8, ctype, version, frag)
                if plain is None:
                    self.events.append("client record failed authentication")
                    self.client_records.append((ctype, epoch, None))
                    continue
                plain = bytes(plain)
            self.client_records.append((ctype, epoch, plain))
            if ctype == CT_ALERT and len(plain) == 2:
                self.alerts.append((epoch, plain[0], plain[1]))
            elif ctype == CT_HANDSHAKE:
                out += self._handshake(plain, epoch)
            elif ctype == CT_CCS:
                self.read_epoch = 1
            elif ctype == CT_APP and epoch == 1 and self.state == "connected":
                self.app_data.append(plain)
                out += self.on_app_data(plain)
        return out

    def _handshake(self, plain, epoch):
        out = []
        p = 0
        while p + 12 <= len(plain):
            msg_type = plain[p]
            length = int.from_bytes(plain[p + 1:p + 4], "big")
            mseq = struct.unpack_from(">H", plain, p + 4)[0]
            off = int.from_bytes(plain[p + 6:p + 9], "big")
            flen = int.from_bytes(plain[p + 9:p + 12], "big")
            body = plain[p + 12:p + 12 + flen]
            p += 12 + flen
            if off != 0 or flen != length:
                self.events.append("fragmented client message: not supported here")
                continue
            out += self._message(msg_type, mseq, body, epoch)
        return out

    def _message(self, msg_type, mseq, body, epoch):
        full = hs_message(msg_type, mseq, body)
        if msg_type == CLIENT_HELLO:
            random, cookie, exts = parse_client_hello(body)
            self.client_hellos.append((self.state, cookie))
            if self.state == "connected":
                self.events.append("ClientHello after the handshake")
                return []
            if self.state in ("wait_finished",) and self._flight4_cache is not None:
                return list(self._flight4_cache)     # a retransmitted ClientHello
            if self.cookie is not None and cookie != self.cookie:
                self._hs_seq = 0
                out = self.flight_hvr()
                self._hs_seq = 1
                return out
            self.client_random = random
            self.client_exts = exts
            self.client_session_id = client_session_id(body)
            self._hs_seq = mseq                  # answer with the same message_seq
            self.transcript = full
            self._flight4_cache = self.flight4()
            self.state = "wait_finished"
            return list(self._flight4_cache)
        if msg_type == CLIENT_KEY_EXCHANGE and self.state == "wait_finished":
            if self.master is not None:
                return []                        # retransmission
            n = struct.unpack_from(">H", body, 0)[0]
            if bytes(body[2:2 + n]) != self.psk_identity:
                self.events.append("unknown identity %r" % bytes(body[2:2 + n]))
            self.transcript += full
            n = len(self.psk_key)
            pms = struct.pack(">H", n) + bytes(n) + struct.pack(">H", n) + self.psk_key
            use_ems = self.ems and EXT_EMS in self.client_exts
            session_hash = hashlib.sha256(self.transcript).digest() if use_ems else None
            self.master = bytes(keys.master_secret(pms, self.client_random,
                                                   self.server_random, session_hash))
            ck, sk, civ, siv = keys.key_block(self.master, self.client_random,
                                              self.server_random, 16, 4)
            self.read_cipher = EpochCipher(ck, civ, TAG_LEN)
            self.write_cipher = EpochCipher(sk, siv, TAG_LEN)
            self._client_finished_expected = keys.finished_verify_data(
                self.master, b"client finished", hashlib.sha256(self.transcript).digest())
            return []
        if msg_type == FINISHED and epoch == 1:
            if self.state == "connected":
                return self.flight6_again()       # our flight 6 was lost: resend it
            if bytes(body) != bytes(self._client_finished_expected):
                self.events.append("client Finished does not verify")
                return []
            self.transcript += full
            self.state = "connected"
            self._flight6_cache = self.flight6()
            return list(self._flight6_cache) + self.on_connected()
        return []


class UdpServer(UdpThreadServer):
    """Runs a ServerCore on 127.0.0.1 (any free port) in a daemon thread. With `factory`
    (index -> ServerCore) each client address gets its own core (`.cores`, in order)."""

    def __init__(self, core=None, factory=None):
        self.core = core
        self.factory = factory
        self.cores = []
        self._by_addr = {}
        self.received = []
        self.error = None
        self._lock = threading.Lock()
        super().__init__(poll_s=0.05)

    def answer(self, data, addr):
        with self._lock:
            self.received.append(data)
            core = self.core
            if self.factory is not None:
                core = self._by_addr.get(addr)
                if core is None:
                    core = self.factory(len(self.cores))
                    self.cores.append(core)
                    self._by_addr[addr] = core
            try:
                return core.receive(data)
            except Exception as e:      # a bug in the test server: report, keep going
                self.error = "%s: %s" % (type(e).__name__, e)
                return []
