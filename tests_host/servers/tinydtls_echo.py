"""tinydtls DTLS 1.2 echo server (PyPI DTLSSocket), PSK only.

tinydtls offers exactly one suite when built without ECC: TLS_PSK_WITH_AES_128_CCM_8
(RFC 6655), with a HelloVerifyRequest cookie (RFC 6347 4.2.1). Every application
record is echoed back on the same session.

Run with CPython (the project venv):
    python tinydtls_echo.py --port P [--host 127.0.0.1] [--psk-identity ID] [--psk-key HEX]
Prints "ready" once bound, "event: 0x..." for tinydtls events ("connected" for 0x1de)
and "recv: <text>" for each datagram of application data, flushed at once so a
test harness can read them while the server runs.
"""
import argparse
import select
import signal
import socket
import sys

from DTLSSocket import dtls

# tinydtls event code for "handshake finished" (DTLS_EVENT_CONNECTED in tinydtls' alert.h)
EVENT_CONNECTED = 0x1DE


def log(text):
    print(text, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1", help="IPv4 address to bind")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--psk-identity", default="Client_identity")
    ap.add_argument("--psk-key", default="000102030405060708090a0b0c0d0e0f", help="key in hex")
    args = ap.parse_args()

    identity = args.psk_identity.encode()
    key = bytes.fromhex(args.psk_key)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # DTLSSocket only speaks AF_INET6; an IPv4-mapped address keeps us on 127.0.0.1.
    sock.bind(("::ffff:" + args.host, args.port, 0, 0))

    ctx = {}

    def on_read(addr, data):
        log("recv: " + data.decode("utf-8", "replace").rstrip("\n"))
        ctx["dtls"].write(dtls.Session(addr[0], addr[1], 0, 0), data)
        return len(data)

    def on_write(addr, data):
        return sock.sendto(data, addr)

    def on_event(level, code):
        log("event: level=%d code=0x%x" % (level, code))
        if code == EVENT_CONNECTED:
            log("connected")

    ctx["dtls"] = dtls.DTLS(read=on_read, write=on_write, event=on_event,
                            pskId=identity, pskStore={identity: key})
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    log("ready")
    while True:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            data, src = sock.recvfrom(2048)
            host = src[0].split("%")[0]
            ret = ctx["dtls"].handleMessageAddr(host, src[1], data)
            if ret != 0:
                log("handleMessage returned %d" % ret)
        ctx["dtls"].checkRetransmit()


if __name__ == "__main__":
    main()
