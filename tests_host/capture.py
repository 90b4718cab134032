"""Capture DTLS on loopback with dumpcap and decode it with tshark (Debian `tshark` 4.0).

    with capture.Capture(peer.port) as cap:       # dumpcap runs from here...
        run the client with --keylog KEYS
    # ...to here; cap.pcap is the finished capture
    data = capture.application_data(cap.pcap, peer.port, keylog=KEYS)
    # [(src_port, b"decrypted record"), ...]; [] without (or with a wrong) key log
    capture.records(...), capture.fields(...), capture.summary(...) for more

tshark 4.0.17 (bookworm) decrypts DTLS 1.2 AES-128-CCM-8 and AES-128-CCM records, PSK and
ECDHE, and RFC 9146 tls12_cid records (content type 25, showing the inner type), and
decodes heartbeat messages and the max_fragment_length, record_size_limit and
connection_id extensions.

Capture(port, prefix=peer.prefix) captures inside a peer's network namespace (GnuTLS).
The key log is NSS format ("CLIENT_RANDOM <client_random hex> <master_secret hex>"),
given to tshark as `-o tls.keylog_file:FILE`, which its DTLS dissector uses too. The
port is decoded as DTLS explicitly (`-d udp.port==P,dtls`). Decrypted application
data appears as the `data.data` field; the CoAP dissector is disabled for that unless
coap=True is passed to tshark()/summary() (then CoAP over DTLS on 5684 is decoded).

Needs root (or capture rights) for dumpcap; raises CaptureUnavailable otherwise.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

START_TIMEOUT = 10.0         # seconds for dumpcap to show it captures


class CaptureUnavailable(Exception):
    """dumpcap/tshark missing or not allowed to capture here."""


def _need(program):
    path = shutil.which(program)
    if not path:
        raise CaptureUnavailable("%s not found: run `make setup` (Debian package tshark)"
                                 % program)
    return path


class Capture:
    """dumpcap on `lo` for UDP to or from `port`, into a pcapng file.

    Started in __init__, stopped by stop() or leaving the `with` block; then `pcap` is a
    complete file. The file lives in a temporary directory removed by cleanup() (or pass
    path=). dumpcap writes to a pipe (it flushes each packet there) that a thread reads.
    Its "Capturing on" line comes before it really sees packets, and a SIGINT right after
    traffic loses what the kernel has not handed over yet (about 0.25 s); so start and
    stop each send a marker datagram (random payload, to a second port in the filter)
    and wait until it came through. tshark() shows only `port`, not the markers.
    """

    def __init__(self, port, prefix=(), path=None, interface="lo"):
        dumpcap = _need("dumpcap")
        self._tempdir = None
        if path is None:
            self._tempdir = tempfile.mkdtemp(prefix="dtls-capture-")
            path = os.path.join(self._tempdir, "capture.pcapng")
        self.pcap = str(path)
        self.port = port
        self._prefix = list(prefix)
        self._data = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        self._marker_sock = None
        if not self._prefix:
            # we own the marker port, so markers cause no ICMP port unreachable
            self._marker_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._marker_sock.bind(("127.0.0.1", 0))
            self._marker_port = self._marker_sock.getsockname()[1]
        else:
            self._marker_port = 9 if port != 9 else 7     # discard; nothing listens there
        self._errfile = tempfile.TemporaryFile()
        cmd = self._prefix + [dumpcap, "-q", "-i", interface, "-f",
                              "udp port %d or udp port %d" % (port, self._marker_port),
                              "-w", "-"]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=self._errfile, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._mark():
            err = self.stop(mark=False)
            self.cleanup()
            raise CaptureUnavailable("dumpcap did not capture: %s" % err.strip())

    def _read(self):
        fd = self._proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    self._data.extend(chunk)
                else:
                    self._eof = True
                self._cond.notify_all()
            if not chunk:
                return

    def _send_marker(self, payload):
        if self._marker_sock:
            self._marker_sock.sendto(payload, ("127.0.0.1", self._marker_port))
        else:
            code = ("import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                    ".sendto(bytes.fromhex(sys.argv[1]), ('127.0.0.1', %d))" % self._marker_port)
            subprocess.run(self._prefix + [sys.executable, "-c", code, payload.hex()],
                           check=True, timeout=10)

    def _mark(self):
        """Send a marker (again every 0.1 s) until it comes through: all traffic before it
        has been captured. False if dumpcap ends or START_TIMEOUT passes."""
        payload = b"capture-marker-" + os.urandom(16).hex().encode()
        deadline = time.monotonic() + START_TIMEOUT
        searched = 0
        while time.monotonic() < deadline:
            self._send_marker(payload)
            resend = time.monotonic() + 0.1
            with self._cond:
                while True:
                    if payload in self._data[max(0, searched - len(payload)):]:
                        return True
                    searched = len(self._data)
                    if self._eof:
                        return False
                    left = min(resend, deadline) - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
        return False

    def stop(self, mark=True):
        """Wait until dumpcap has passed on all traffic so far, stop it and write the
        file; returns dumpcap's stderr text. Safe to call twice."""
        if self._proc.poll() is None:
            if mark:
                self._mark()
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._reader.join(5)
            with open(self.pcap, "wb") as f:
                f.write(self._data)
        self._proc.stdout.close()
        if self._marker_sock:
            self._marker_sock.close()
            self._marker_sock = None
        if self._errfile:
            self._errfile.seek(0)
            self._err = self._errfile.read().decode("utf-8", "replace")
            self._errfile.close()
            self._errfile = None
        return self._err

    def cleanup(self):
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def tshark(pcap, port, keylog=None, args=(), coap=False):
    """Run tshark on the capture: only `port`, decoded as DTLS; returns stdout (text).
    A display filter in args (-Y) would replace the port filter: use -2R or combine.
    The CoAP dissector is off unless coap=True, so that decrypted application data on
    port 5684 stays plain `data` (and data.data) instead of being parsed as CoAP."""
    cmd = [_need("tshark"), "-r", str(pcap), "-d", "udp.port==%d,dtls" % port,
           "-Y", "udp.port==%d" % port]
    if not coap:
        cmd += ["--disable-protocol", "coap"]
    if keylog is not None:
        cmd += ["-o", "tls.keylog_file:%s" % keylog]
    cmd += list(args)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise RuntimeError("tshark failed (%d): %s" % (res.returncode, res.stderr))
    return res.stdout


def summary(pcap, port, keylog=None, coap=False):
    """tshark's one-line-per-packet view (e.g. "Application Data", "Finished")."""
    return tshark(pcap, port, keylog, coap=coap)


def fields(pcap, port, names, keylog=None):
    """tshark -T fields: per packet, per field name, the list of all its values (text).

    E.g. fields(pcap, port, ["udp.srcport", "dtls.handshake.extension.type"]). Useful
    DTLS fields in tshark 4.0: dtls.record.content_type (the inner type once decrypted),
    dtls.record.special_type (25 for tls12_cid), dtls.record.connection_id,
    dtls.handshake.type, dtls.handshake.extension.type, dtls.handshake.session_id,
    dtls.handshake.session_ticket, dtls.handshake.max_fragment_length,
    dtls.record_size_limit, dtls.connection_id (the extension), dtls.heartbeat_message.type,
    dtls.heartbeat_message.payload_length, dtls.alert_message.desc, data.data.
    """
    args = ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in names:
        args += ["-e", name]
    rows = []
    for line in tshark(pcap, port, keylog, args).splitlines():
        cols = line.split("\t")
        cols += [""] * (len(names) - len(cols))
        rows.append([[v for v in col.split(",") if v] for col in cols])
    return rows


def records(pcap, port, keylog=None):
    """Per packet: {"src": UDP source port, "types": content types (inner types of
    decrypted CID records), "special": [25] per tls12_cid record, "cids": their CIDs
    (hex), "data": decrypted application data (bytes) per record}."""
    out = []
    for src, types, special, cids, data in fields(
            pcap, port, ["udp.srcport", "dtls.record.content_type", "dtls.record.special_type",
                         "dtls.record.connection_id", "data.data"], keylog):
        out.append({"src": int(src[0]), "types": [int(t) for t in types],
                    "special": [int(t) for t in special],
                    "cids": [c.replace(":", "") for c in cids],
                    "data": [bytes.fromhex(d.replace(":", "")) for d in data]})
    return out


def application_data(pcap, port, keylog=None):
    """[(src_port, plaintext)] for every application record tshark decrypted, in order."""
    return [(r["src"], d) for r in records(pcap, port, keylog) for d in r["data"]]
