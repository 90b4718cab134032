"""Mbed TLS 2.28 DTLS 1.2 echo server (PyPI python-mbedtls): PSK with AES-128-CCM-8, and
ECDHE-ECDSA with AES-128-CCM-8 when --cert/--key are given.

The server always answers the first ClientHello with a HelloVerifyRequest carrying a
cookie (RFC 6347 4.2.1), so a client must resend its ClientHello with the cookie.
It serves one client at a time (like `openssl s_server`): a session ends on
close_notify, on an error, or after --idle-timeout seconds without a datagram.

Run with CPython (the project venv):
    python mbedtls_echo.py --port P [--host 127.0.0.1] [--psk-identity ID] [--psk-key HEX]
                           [--cert LEAF.pem [--chain CA.pem ...] --key KEY.pem]
Prints "ready" once bound, then per session "hello-verify-request sent",
"connected", "cipher: <name>", "recv: <text>" per record, "closed: <why>";
each line is flushed at once so a harness can read it while the server runs.
"""
import argparse
import signal
import socket
import sys

from mbedtls import pk, tls, x509
from mbedtls.exceptions import TLSError

CIPHERS = ("TLS-PSK-WITH-AES-128-CCM-8",)
# MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: how python-mbedtls reports a close_notify alert
ERR_PEER_CLOSE_NOTIFY = 0x7880


def log(text):
    print(text, flush=True)


def serve_one(listener, idle_timeout, max_hello_verify=8):
    """Serve one client: cookie exchange, handshake, echo until it goes away."""
    conn, addr = listener.accept()
    cookie_info = ("%s:%d" % addr[:2]).encode()
    try:
        for _ in range(max_hello_verify):
            conn.settimeout(idle_timeout)
            conn.setcookieparam(cookie_info)
            try:
                conn.do_handshake()
                break
            except tls.HelloVerifyRequest:
                # Also hit when retransmitted cookie-less ClientHellos were queued.
                log("hello-verify-request sent")
            # accept() on the connected socket takes the client's next ClientHello.
            following, addr = conn.accept()
            conn.close()
            conn = following
        else:
            log("closed: no valid cookie after %d tries" % max_hello_verify)
            return
        log("connected")
        log("cipher: %s" % (conn.cipher(),))
        while True:
            data = conn.recv(4096)
            if not data:
                log("closed: close_notify")
                return
            log("recv: " + data.decode("utf-8", "replace").rstrip("\n"))
            conn.send(data)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--psk-identity", default="Client_identity")
    ap.add_argument("--psk-key", default="000102030405060708090a0b0c0d0e0f", help="key in hex")
    ap.add_argument("--idle-timeout", type=float, default=10.0)
    ap.add_argument("--cert", help="server certificate (PEM); enables ECDHE-ECDSA")
    ap.add_argument("--chain", action="append", default=[], help="intermediate (PEM)")
    ap.add_argument("--key", help="server private key (PEM)")
    args = ap.parse_args()

    ciphers = CIPHERS
    extra = {}
    if args.cert:
        crts = [x509.CRT.from_file(f) for f in [args.cert] + args.chain]
        extra["certificate_chain"] = (crts, pk.ECC.from_file(args.key))
        ciphers = ("TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8",) + CIPHERS
    conf = tls.DTLSConfiguration(
        ciphers=ciphers,
        **extra,
        lowest_supported_version=tls.DTLSVersion.DTLSv1_2,
        highest_supported_version=tls.DTLSVersion.DTLSv1_2,
        validate_certificates=False,
        pre_shared_key_store={args.psk_identity: bytes.fromhex(args.psk_key)},
    )
    listener = tls.ServerContext(conf).wrap_socket(
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    log("ready")
    while True:
        try:
            serve_one(listener, args.idle_timeout)
        except socket.timeout:
            log("closed: idle timeout")
        except TLSError as exc:
            if getattr(exc, "err", None) == ERR_PEER_CLOSE_NOTIFY:
                log("closed: close_notify")
            else:
                log("closed: %s: %s" % (type(exc).__name__, exc))
        except OSError as exc:
            log("closed: %s: %s" % (type(exc).__name__, exc))


if __name__ == "__main__":
    main()
