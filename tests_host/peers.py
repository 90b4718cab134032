"""Real DTLS 1.2 servers for host tests: OpenSSL, GnuTLS, libcoap, tinydtls, Mbed TLS
(2.28 from PyPI, and 3.6 with Connection ID built by tests_host/servers/build_mbedtls36.sh),
Botan 2.19 (ECDHE_PSK with CCM, tests_host/servers/build_botan.sh).

Each `*_server()` function starts one server on 127.0.0.1 (GnuTLS inside a private
network namespace, since it binds the wildcard address), waits until its UDP port is
bound, and returns a `Peer`. A Peer is a context manager; leaving it (or `stop()`)
ends the server by PID, also when the test failed. All servers use PSK with
TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655; the RFC 7925 mandatory PSK suite).

    with peers.mbedtls_server() as peer:
        res = peer.run(["python", "client.py", peer.host, str(peer.port)])
        assert peer.wait_for("recv: hello")

Client commands must be prefixed with `peer.prefix` (empty except for GnuTLS, where
it enters the server's network namespace); `peer.run()` does that. The server's
stdout and stderr are read all the time into `peer.output()`.

A server that cannot run here (missing program, not root for a namespace) raises
PeerUnavailable; tests_host/conftest.py turns that into a skip (a failure under CI).
See /work/shared/PEERS.md for what each peer supports.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "servers")
ROOT = os.path.dirname(HERE)
# The project venv's CPython runs the DTLSSocket / python-mbedtls scripts.
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")

HOST = "127.0.0.1"
PSK_IDENTITY = "Client_identity"
PSK_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
PSK_HINT = "hint"
# coap-server takes its key as an ASCII argument, so it cannot use PSK_KEY.
COAP_PSK_KEY = b"secretPSK"
COAP_PSK_HINT = "CoAP"
CIPHER = "TLS_PSK_WITH_AES_128_CCM_8"
OPENSSL_CIPHER = "PSK-AES128-CCM8"
GNUTLS_PSK_PRIORITY = ("NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:"
                       "-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 3.0


class PeerUnavailable(Exception):
    """This server cannot run on this machine (reason in the message)."""


class PeerError(Exception):
    """The server did not start or died; the message includes its output."""


_live = set()       # started processes, stopped at interpreter exit as a last resort


def _stop_all_at_exit():
    for obj in list(_live):
        obj.stop()


atexit.register(_stop_all_at_exit)


def _python():
    return VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable


def _need_program(name):
    path = shutil.which(name)
    if not path:
        raise PeerUnavailable("%s not found: run `make setup`" % name)
    return path


def _port_free(host, port):
    """True if both UDP and TCP can bind host:port now (libcoap takes both)."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(host=HOST, count=1):
    """A port P with P .. P+count-1 free for UDP and TCP on host.

    The kernel picks P; another process could take it before the server binds,
    which on loopback in a test run is rare enough to accept.
    """
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if port + count <= 65536 and all(_port_free(host, port + i) for i in range(count)):
            return port
    raise PeerError("no free port found")


def udp_port_bound(port, pid="self"):
    """True if a UDP socket is bound to `port` in the network namespace of `pid`."""
    for name in ("udp", "udp6"):
        try:
            with open("/proc/%s/net/%s" % (pid, name)) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            local = line.split()[1]         # hex "ADDR:PORT"
            if int(local.rsplit(":", 1)[1], 16) == port:
                return True
    return False


class Process:
    """A child process whose stdout+stderr are collected by a reader thread."""

    def __init__(self, cmd, stdin=False, env=None):
        self.cmd = [str(c) for c in cmd]
        self._chunks = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)     # a Ctrl-C to pytest does not hit it first
        _live.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            with self._cond:
                if data:
                    self._chunks.append(data)
                else:
                    self._chunks.append(b"")    # marks end of output
                self._cond.notify_all()
            if not data:
                return

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        with self._cond:
            return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for(self, text, timeout):
        """Wait until `text` appears in the output; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if text in b"".join(self._chunks).decode("utf-8", "replace"):
                    return True
                if self._chunks and self._chunks[-1] == b"":
                    return False    # process closed its output
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; only this PID. Returns the exit code."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._reader.join(STOP_TIMEOUT)
        self.proc.stdout.close()
        _live.discard(self)
        return self.proc.returncode


class NetNamespace:
    """A private network namespace with only `lo` (up), held open by a sleeping process.

    `prefix` runs a command inside it: `nsenter -t PID -n`. Needs root.
    """

    def __init__(self):
        if os.geteuid() != 0:
            raise PeerUnavailable("a private network namespace needs root (unshare -n)")
        for name in ("unshare", "nsenter", "ip"):
            _need_program(name)
        self._holder = Process(["unshare", "-n", "sh", "-c",
                                 "ip link set lo up && echo ready && exec sleep infinity"])
        if not self._holder.wait_for("ready", START_TIMEOUT):
            out = self._holder.output()
            self._holder.stop()
            raise PeerUnavailable("unshare -n failed: %s" % out.strip())
        self.pid = self._holder.pid
        self.prefix = ["nsenter", "-t", str(self.pid), "-n"]

    def stop(self):
        self._holder.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Peer:
    """One running DTLS server.

    Attributes: name, host, port (the DTLS port), prefix (list to prepend to client
    commands), psk_identity (str), psk_key (bytes), psk_hint (str), cipher (IANA
    name the server is limited to), cmd (the server command line), pid.
    """

    def __init__(self, name, cmd, port, psk_identity, psk_key, psk_hint="",
                 host=HOST, stdin=False, netns=None, tempdir=None):
        self.name = name
        self.host = host
        self.port = port
        self.psk_identity = psk_identity
        self.psk_key = psk_key
        self.psk_hint = psk_hint
        self.cipher = CIPHER
        self._netns = netns
        self._tempdir = tempdir
        self.prefix = list(netns.prefix) if netns else []
        self.cmd = [str(c) for c in cmd]
        self._process = None
        try:
            self._process = Process(self.prefix + self.cmd, stdin=stdin)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self):
        ns_pid = self._netns.pid if self._netns else "self"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self._process.alive():
                time.sleep(0.05)    # let the reader catch the last output
                raise PeerError("%s exited with %s before it was ready:\n%s" % (
                    self.name, self._process.proc.returncode, self.output()))
            if udp_port_bound(self.port, ns_pid):
                return
            time.sleep(0.02)
        raise PeerError("%s did not bind UDP port %d within %.0f s:\n%s" % (
            self.name, self.port, START_TIMEOUT, self.output()))

    @property
    def pid(self):
        return self._process.pid

    @property
    def psk_key_hex(self):
        return self.psk_key.hex()

    def alive(self):
        return self._process is not None and self._process.alive()

    def output(self):
        """Everything the server printed so far (stdout and stderr, text)."""
        return self._process.output() if self._process else ""

    def wait_for(self, text, timeout=5.0):
        """True once `text` appears in the server's output within `timeout` seconds."""
        return self._process.wait_for(text, timeout)

    def send_line(self, text):
        """Write a line to the server's stdin (OpenSSL sends it to the connected client).

        Only after a client has connected: see openssl_server().
        """
        if not self._process.proc.stdin:
            raise PeerError("%s does not read stdin" % self.name)
        self._process.write(text.encode() + b"\n")

    def client_args(self):
        """Arguments for tools/dtls_client.py: HOST PORT --psk-identity ID --psk-key HEX."""
        return [self.host, str(self.port), "--psk-identity", self.psk_identity,
                "--psk-key", self.psk_key_hex]

    def run(self, cmd, timeout=30, input=None, **kw):
        """Run a client command next to the server (prefix added); CompletedProcess (text)."""
        if input is None and "stdin" not in kw:
            kw["stdin"] = subprocess.DEVNULL
        return subprocess.run(self.prefix + [str(c) for c in cmd], capture_output=True,
                              text=True, timeout=timeout, input=input, **kw)

    def stop(self):
        """Stop the server (and its namespace); returns its output. Safe to call twice."""
        if self._process:
            self._process.stop()
        if self._netns:
            self._netns.stop()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
        return self.output()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<Peer %s %s:%d pid=%s>" % (self.name, self.host, self.port,
                                           self._process.pid if self._process else None)


def _line_buffered(cmd):
    """Make a C program's stdio line-buffered so output() sees lines as they happen."""
    stdbuf = shutil.which("stdbuf")
    return ([stdbuf, "-oL", "-eL"] if stdbuf else []) + list(cmd)


def openssl_server(psk_identity=PSK_IDENTITY, psk_key=PSK_KEY, psk_hint=PSK_HINT,
                   cipher=OPENSSL_CIPHER, naccept=None, trace=False, extra_args=()):
    """`openssl s_server -dtls1_2` with PSK and (by default) only PSK-AES128-CCM8.

    It prints received application data verbatim to its output, and sends each line
    given to send_line() to the connected client. Call send_line() only once a client
    is connected (e.g. after wait_for("CIPHER is") or after it received data): a line
    on stdin before that derails s_server (the next client gets ECONNREFUSED). No echo
    mode. One client at a time: one that leaves without close_notify blocks the next.
    Always sends a HelloVerifyRequest (20-byte cookie). naccept=N exits after N connections;
    trace=True adds `-trace` (decoded handshake messages in output()).
    """
    _need_program("openssl")
    port = free_port()
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "%s:%d" % (HOST, port),
           "-nocert", "-psk", psk_key.hex(), "-psk_identity", psk_identity,
           "-cipher", cipher]
    if psk_hint:
        cmd += ["-psk_hint", psk_hint]
    if naccept:
        cmd += ["-naccept", str(naccept)]
    if trace:
        cmd += ["-trace"]
    cmd += list(extra_args)
    return Peer("openssl", _line_buffered(cmd), port, psk_identity, psk_key, psk_hint,
                stdin=True)


def gnutls_server(psk_identity=PSK_IDENTITY, psk_key=PSK_KEY, psk_hint=PSK_HINT,
                  priority=GNUTLS_PSK_PRIORITY, extra_args=()):
    """`gnutls-serv --udp --echo` with PSK, AES-128-CCM-8 only, inside its own netns.

    gnutls-serv binds the wildcard address, so it runs in a private network namespace
    and the client must run there too: prefix client commands with `peer.prefix` (or
    use peer.run / mp.run_script(prefix=peer.prefix)). Needs root. Echoes every
    application record; cookie exchange on by default (16 bytes). Serves clients
    concurrently.
    """
    _need_program("gnutls-serv")
    netns = NetNamespace()
    tempdir = tempfile.mkdtemp(prefix="gnutls-peer-")
    try:
        passwd = os.path.join(tempdir, "psk.passwd")
        with open(passwd, "w") as f:
            f.write("%s:%s\n" % (psk_identity, psk_key.hex()))
        port = 5684     # any port: the namespace is empty
        cmd = ["gnutls-serv", "--udp", "--echo", "-p", port, "--pskpasswd", passwd,
               "--priority", priority]
        if psk_hint:
            cmd += ["--pskhint", psk_hint]
        cmd += list(extra_args)
    except BaseException:
        netns.stop()
        shutil.rmtree(tempdir, ignore_errors=True)
        raise
    return Peer("gnutls", _line_buffered(cmd), port, psk_identity, psk_key, psk_hint,
                netns=netns, tempdir=tempdir)


def coap_server(psk_key=COAP_PSK_KEY, psk_hint=COAP_PSK_HINT, verbosity=7, extra_args=()):
    """libcoap `coap-server-openssl`: CoAP on peer.coap_port, CoAP over DTLS on peer.port.

    Accepts any PSK identity (psk_identity is just what clients should send). The key
    is ASCII (b"secretPSK"). Resources include /time; `-e` style echo is not on.
    Handles concurrent sessions. At verbosity 7 the output shows each DTLS session
    event and every CoAP message it received ("v:1 t:CON c:GET ...").
    """
    _need_program("coap-server-openssl")
    coap_port = free_port(count=2)
    cmd = ["coap-server-openssl", "-A", HOST, "-p", coap_port, "-k", psk_key.decode(),
           "-h", psk_hint, "-v", verbosity] + list(extra_args)
    peer = Peer("libcoap", _line_buffered(cmd), coap_port + 1, PSK_IDENTITY, psk_key,
                psk_hint)
    peer.coap_port = coap_port
    return peer


def tinydtls_server(psk_identity=PSK_IDENTITY, psk_key=PSK_KEY):
    """tinydtls (PyPI DTLSSocket) echo server: PSK, TLS_PSK_WITH_AES_128_CCM_8 only.

    Output lines: "ready", "connected", "recv: <text>" per record received (the
    record is echoed back). Cookie exchange (16 bytes). Serves clients concurrently.
    """
    cmd = [_python(), os.path.join(SERVERS, "tinydtls_echo.py"), "--host", HOST,
           "--psk-identity", psk_identity, "--psk-key", psk_key.hex()]
    return _script_peer("tinydtls", cmd, psk_identity, psk_key)


def mbedtls_server(psk_identity=PSK_IDENTITY, psk_key=PSK_KEY, idle_timeout=10.0):
    """Mbed TLS 2.28 (PyPI python-mbedtls) echo server: PSK, AES-128-CCM-8 only.

    Always sends a HelloVerifyRequest (32-byte cookie) first. Output lines:
    "ready", "hello-verify-request sent", "connected", "cipher: <name>",
    "recv: <text>" per record (echoed back), "closed: <why>". One client at a time;
    a session without close_notify ends after idle_timeout seconds of silence.
    """
    cmd = [_python(), os.path.join(SERVERS, "mbedtls_echo.py"), "--host", HOST,
           "--psk-identity", psk_identity, "--psk-key", psk_key.hex(),
           "--idle-timeout", idle_timeout]
    return _script_peer("mbedtls", cmd, psk_identity, psk_key)


MBEDTLS36_BIN = os.path.join(ROOT, "build", "mbedtls36", "bin")
MBEDTLS36_SERVER = os.path.join(MBEDTLS36_BIN, "mbedtls_cid_server")
MBEDTLS36_CLIENT = os.path.join(MBEDTLS36_BIN, "mbedtls_cid_client")


def mbedtls36_client_path():
    """The Mbed TLS 3.6 reference client (tests_host/servers/mbedtls_cid_client.c)."""
    if not os.access(MBEDTLS36_CLIENT, os.X_OK):
        raise PeerUnavailable("%s not built: run `make setup` (or "
                              "tests_host/servers/build_mbedtls36.sh)" % MBEDTLS36_CLIENT)
    return MBEDTLS36_CLIENT


def mbedtls36_server(psk_identity=PSK_IDENTITY, psk_key=PSK_KEY, cert=None, key=None, ca=None,
                     ciphers=(), cid=True, cid_len=4, cookie=True, cache=True, tickets=True,
                     renegotiate_after=None, idle_timeout=20.0, debug=None, extra_args=()):
    """Mbed TLS 3.6 (Debian trixie) echo server with Connection ID (RFC 9146).

    tests_host/servers/mbedtls_cid_server.c, built by build_mbedtls36.sh (`make setup`).
    PSK with TLS-PSK-WITH-AES-128-CCM-8; with cert=/key= (PEM paths; the cert file may
    hold the chain) TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 is offered first; ca= requires a
    client certificate. ciphers= replaces the suites (Mbed TLS names, e.g.
    "TLS-PSK-WITH-AES-128-CCM"). A random cid_len-byte server CID per session (cid=False:
    no connection_id extension; cid_len=0: an empty server CID). Cookie exchange, session
    cache (resumption by session ID) and session tickets are on unless turned off.
    max_fragment_length is honoured when the client asks; no heartbeat, no
    record_size_limit. renegotiate_after=N sends a HelloRequest after N records.

    Serves several clients at once from one unconnected socket; a client whose source
    address changes keeps its session when its records carry the CID (the reply address
    moves after a record from the new address authenticates). Output lines: "ready";
    per session "hello-verify-request sent", "connected", "peer: ADDR:PORT",
    "cipher: NAME", "resumed: yes|no", "resumed-from: session-id|ticket",
    "cid: negotiated SERVERHEX/CLIENTHEX" or "cid: none", "max_fragment_length: N",
    "recv: TEXT" per record (echoed), "peer: ADDR:PORT" on each move,
    "alert: LEVEL:DESC", "renegotiation: ...", "closed: WHY". The header of the C file
    has the details.
    """
    if not os.access(MBEDTLS36_SERVER, os.X_OK):
        raise PeerUnavailable("%s not built: run `make setup` (or "
                              "tests_host/servers/build_mbedtls36.sh)" % MBEDTLS36_SERVER)
    port = free_port()
    cmd = [MBEDTLS36_SERVER, "--host", HOST, "--port", port, "--psk-identity", psk_identity,
           "--psk-key", psk_key.hex(), "--idle-timeout", idle_timeout]
    if cert:
        cmd += ["--cert", cert, "--key", key]
    if ca:
        cmd += ["--ca", ca]
    for name in ciphers:
        cmd += ["--cipher", name]
    if not cid:
        cmd += ["--no-cid"]
    else:
        cmd += ["--cid-len", cid_len]
    if not cookie:
        cmd += ["--no-cookie"]
    if not cache:
        cmd += ["--no-cache"]
    if not tickets:
        cmd += ["--no-tickets"]
    if renegotiate_after:
        cmd += ["--renegotiate-after", renegotiate_after]
    if debug is not None:
        cmd += ["--debug", debug]
    cmd += list(extra_args)
    peer = Peer("mbedtls36", cmd, port, psk_identity, psk_key)
    if not peer.wait_for("ready", START_TIMEOUT):
        out = peer.stop()
        raise PeerError("mbedtls36 did not print ready:\n%s" % out)
    return peer


BOTAN_PEER = os.path.join(ROOT, "build", "botan", "bin", "botan_psk_peer")


def botan_peer_path():
    """tests_host/servers/botan_psk_peer.cpp (server and client), built by build_botan.sh."""
    if not os.access(BOTAN_PEER, os.X_OK):
        raise PeerUnavailable("%s not built: run `make setup` (or "
                              "tests_host/servers/build_botan.sh)" % BOTAN_PEER)
    return BOTAN_PEER


def botan_server(psk_identity=PSK_IDENTITY, psk_key=PSK_KEY, psk_hint=PSK_HINT,
                 kex=("ECDHE_PSK", "DHE_PSK", "PSK"), ciphers=("AES-128/CCM(8)", "AES-128/CCM"),
                 idle_timeout=10.0):
    """Botan 2.19 DTLS 1.2 PSK echo server: the only installable peer with the RFC 8442
    suites TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 (0xD003) and _CCM_SHA256 (0xD005).

    Also TLS_PSK_DHE_WITH_AES_128_CCM_8 (0xC0AA), TLS_DHE_PSK_WITH_AES_128_CCM (0xC0A6)
    and the plain PSK CCM suites; it prefers its own order (kex, then ciphers, Botan
    names). Cookie exchange always; resumption by session ID and ticket. One client at a
    time (another waits until close_notify or idle_timeout). Output lines: "ready",
    "cipher: NAME 0xCODE" (e.g. "ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 0xd003"),
    "connected", "recv: TEXT" per record (echoed), "alert: NAME", "closed: WHY".
    A wrong PSK shows as silence (bad Finished records are dropped), as in DTLS.
    """
    exe = botan_peer_path()
    port = free_port()
    cmd = [exe, "server", "--host", HOST, "--port", port, "--psk-identity", psk_identity,
           "--psk-key", psk_key.hex(), "--hint", psk_hint, "--kex", ",".join(kex),
           "--ciphers", ",".join(ciphers), "--idle-timeout", idle_timeout]
    peer = Peer("botan", cmd, port, psk_identity, psk_key, psk_hint)
    if not peer.wait_for("ready", START_TIMEOUT):
        out = peer.stop()
        raise PeerError("botan did not print ready:\n%s" % out)
    return peer


_modules_checked = {}


def _need_module(module):
    """PeerUnavailable unless the server scripts' Python can import `module`."""
    if module not in _modules_checked:
        res = subprocess.run([_python(), "-c", "import " + module], capture_output=True,
                             text=True, stdin=subprocess.DEVNULL)
        _modules_checked[module] = res.returncode == 0
    if not _modules_checked[module]:
        raise PeerUnavailable("Python module %s missing in %s: run `make setup`"
                              % (module, _python()))


def _script_peer(name, cmd, psk_identity, psk_key):
    _need_module({"tinydtls": "DTLSSocket", "mbedtls": "mbedtls"}[name])
    port = free_port()
    return Peer(name, cmd + ["--port", port], port, psk_identity, psk_key)


# name -> factory, for tests that loop over peers
SERVERS_BY_NAME = {
    "openssl": openssl_server,
    "gnutls": gnutls_server,
    "libcoap": coap_server,
    "tinydtls": tinydtls_server,
    "mbedtls": mbedtls_server,
    "mbedtls36": mbedtls36_server,
    "botan": botan_server,
}
# the peers that echo each application record back
ECHO_PEERS = ("gnutls", "tinydtls", "mbedtls")
