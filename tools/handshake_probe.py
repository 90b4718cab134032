"""One measured PSK handshake from inside MicroPython (used by tools/bench.py and the tests).

    micropython tools/handshake_probe.py CLIENT HOST PORT [--free BYTES] [--echo N]
                                         [--no-close] [--identity ID] [--key HEX]
                                         [--ca FILE | --server-rpk FILE] [--resume]

CLIENT is "microdtls" (this library) or "builtin" (MicroPython's own `tls` module). With
PSK (the default) they use TLS_PSK_WITH_AES_128_CCM_8 and TLS-PSK-WITH-AES-128-GCM-SHA256
(the built-in client has no CCM suite); with --ca (server certificate checked against that
anchor, name "localhost") or --server-rpk (pinned raw public key, this library only)
TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 and TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256.
--free BYTES  first fill the heap so that only BYTES remain free, in one contiguous region:
              on a board the library's code is frozen in flash, on the unix port it sits in
              the heap, so this measures what the connection itself needs.
--echo N      after the handshake send N records of 200 bytes and require each echoed back.
--recv-buffer N  this library: Context(max_recv_datagram=N) (default 2048).
--no-close    end without close_notify (for byte counts that exclude it).
--resume      (this library) after the full handshake and close_notify, connect again
              offering conn.session and time that abbreviated handshake too (the server
              must keep a session cache: `openssl s_server -naccept 2 -no_ticket`).
Prints one JSON line: ok, handshake_ms, alloc_bytes (bytes allocated during the handshake,
from micropython.mem_total), conn_heap_bytes (heap the open connection keeps after the
handshake: gc.collect() + gc.mem_alloc() with the connection open, minus the same before
connect; the Context is made before and is not counted), free_before, error; with --resume
also resume_ms, resume_alloc_bytes, resumed (whether the server accepted the session).
"""
import gc
import json
import sys
import time

import micropython

_ARG_DEFAULTS = {"--free": None, "--echo": "0", "--identity": "Client_identity",
                 "--key": "000102030405060708090a0b0c0d0e0f", "--ca": None,
                 "--server-rpk": None, "--recv-buffer": None}
_FLAGS = {"--no-close": ("close", False), "--resume": ("resume", True),
          "--debug": ("debug", True)}


def parse(argv):
    opts = dict(_ARG_DEFAULTS)
    opts["close"] = True
    opts["resume"] = opts["debug"] = False
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _ARG_DEFAULTS:
            opts[a] = argv[i + 1]
            i += 2
            continue
        if a in _FLAGS:
            opts[_FLAGS[a][0]] = _FLAGS[a][1]
        else:
            pos.append(a)
        i += 1
    opts["client"], opts["host"], opts["port"] = pos[0], pos[1], int(pos[2])
    return opts


def leave_free(limit):
    """Fill every free heap block except one contiguous region of `limit` bytes."""
    gc.collect()
    reserve = bytearray(limit - 64)
    ballast = [None] * 2048
    i = 0
    n = 1 << 20
    while n >= 16 and i < len(ballast):
        try:
            ballast[i] = bytearray(n)
            i += 1
        except MemoryError:
            n //= 2
    reserve = None  # noqa: F841 (released for the connection to use)
    gc.collect()
    return ballast


def read(path):
    with open(path, "rb") as f:
        return f.read()


def microdtls_context(opts):
    import dtls
    kw = {"handshake_timeout_ms": 20000}
    if opts["--recv-buffer"]:
        kw["max_recv_datagram"] = int(opts["--recv-buffer"])
    if opts["--ca"]:
        return dtls.Context(ca=read(opts["--ca"]), **kw)
    if opts["--server-rpk"]:
        return dtls.Context(server_rpk=read(opts["--server-rpk"]), **kw)
    return dtls.Context(psk=(opts["--identity"], bytes.fromhex(opts["--key"])), **kw)


def connect_microdtls(opts, ctx, session=None):
    return ctx.connect(opts["host"], opts["port"], server_hostname="localhost"
                       if opts["--ca"] else None, session=session)


def builtin_context(opts):
    import tls
    ctx = tls.SSLContext(tls.PROTOCOL_DTLS_CLIENT)
    if opts["--ca"]:
        ctx.set_ciphers(["TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"])
        ctx.load_verify_locations(read(opts["--ca"]))  # cadata (DER) only, positional
        ctx.verify_mode = tls.CERT_REQUIRED
    else:
        ctx.set_ciphers(["TLS-PSK-WITH-AES-128-GCM-SHA256"])
        ctx.psk_identity = opts["--identity"]
        ctx.psk_key = bytes.fromhex(opts["--key"])
        ctx.verify_mode = tls.CERT_NONE
    return ctx


def connect_builtin(opts, ctx):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(socket.getaddrinfo(opts["host"], opts["port"])[0][-1])
    return ctx.wrap_socket(s, server_side=False,
                           server_hostname="localhost" if opts["--ca"] else None)


def resume(opts, ctx, session, result):
    """Times an abbreviated handshake offering `session` (RFC 5246 §7.3)."""
    if session is None:
        raise ValueError("the server offered no session to resume")
    gc.collect()
    total0 = micropython.mem_total()
    t0 = time.ticks_us()
    conn = connect_microdtls(opts, ctx, session=session)
    result["resume_ms"] = time.ticks_diff(time.ticks_us(), t0) / 1000
    result["resume_alloc_bytes"] = micropython.mem_total() - total0
    result["resumed"] = conn.resumed
    conn.close()


def main():
    opts = parse(sys.argv[1:])
    result = {"ok": False, "client": opts["client"]}
    # Import what a connection uses and load the credentials before measuring: a board has
    # the code frozen and the credentials parsed at start-up.
    if opts["client"] == "microdtls":
        import dtls.connection  # noqa: F401
        if opts["--ca"] or opts["--server-rpk"]:
            import dtls.ecdhe  # noqa: F401
        ctx = microdtls_context(opts)
        connect = connect_microdtls
    else:
        import socket  # noqa: F401
        ctx = builtin_context(opts)
        connect = connect_builtin
    ballast = None
    if opts["--free"]:
        ballast = leave_free(int(opts["--free"]))
    gc.collect()
    result["free_before"] = gc.mem_free()
    heap0 = gc.mem_alloc()
    total0 = micropython.mem_total()
    t0 = time.ticks_us()
    try:
        conn = connect(opts, ctx)
        result["handshake_ms"] = time.ticks_diff(time.ticks_us(), t0) / 1000
        result["alloc_bytes"] = micropython.mem_total() - total0
        gc.collect()
        result["conn_heap_bytes"] = gc.mem_alloc() - heap0
        for i in range(int(opts["--echo"])):
            msg = b"record %d " % i + b"x" * 200
            conn.write(msg)
            if hasattr(conn, "settimeout"):
                conn.settimeout(10)
            got = conn.recv() if hasattr(conn, "recv") else conn.read(1024)
            if got != msg:
                raise ValueError("echo %d differs" % i)
        if opts["close"]:
            conn.close()
        if opts["resume"]:
            resume(opts, ctx, conn.session, result)
        result["ok"] = True
    except Exception as e:  # reported as data: the caller decides
        if opts["debug"]:
            sys.print_exception(e)
        result["error"] = "%s: %s" % (type(e).__name__, e)
    ballast = None  # noqa: F841
    print(json.dumps(result))


main()
