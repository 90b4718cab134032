"""Reference DTLS 1.2 PSK client (Mbed TLS 2.28 via PyPI python-mbedtls).

An independent client that proves a test server works before our own client is
pointed at it. It offers only TLS_PSK_WITH_AES_128_CCM_8, handles a
HelloVerifyRequest cookie (inside Mbed TLS), sends one record and waits for the echo.

    python mbedtls_client.py HOST PORT [--psk-identity ID] [--psk-key HEX] [--send TEXT]

Prints "cipher: <name>" and "recv: <text>"; exits 0 when the echo matches what was
sent, 1 otherwise.
"""
import argparse
import socket
import sys

from mbedtls import tls
from mbedtls.exceptions import TLSError


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--psk-identity", default="Client_identity")
    ap.add_argument("--psk-key", default="000102030405060708090a0b0c0d0e0f", help="key in hex")
    ap.add_argument("--send", default="hello from mbedtls")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    conf = tls.DTLSConfiguration(
        ciphers=("TLS-PSK-WITH-AES-128-CCM-8",),
        lowest_supported_version=tls.DTLSVersion.DTLSv1_2,
        highest_supported_version=tls.DTLSVersion.DTLSv1_2,
        validate_certificates=False,
        pre_shared_key=(args.psk_identity, bytes.fromhex(args.psk_key)),
    )
    sock = tls.ClientContext(conf).wrap_socket(
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM), server_hostname=None)
    sock.settimeout(args.timeout)
    sock.connect((args.host, args.port))
    sock.do_handshake()
    print("cipher: %s" % (sock.cipher(),), flush=True)
    sent = args.send.encode()
    sock.send(sent)
    received = sock.recv(4096)
    print("recv: " + received.decode("utf-8", "replace"), flush=True)
    try:
        # shutdown() sends close_notify (close() alone does not), so a server that
        # serves one client at a time moves on to the next one at once.
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    return 0 if received == sent else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (TLSError, OSError) as exc:
        print("error: %s: %s" % (type(exc).__name__, exc), flush=True)
        sys.exit(1)
