"""How long openssl s_server itself works on each flight of a PSK handshake, per client.

    .venv/bin/python tools/server_time.py [--runs N]

The PSK handshake ratio of `make bench` compares this library (TLS_PSK_WITH_AES_128_CCM_8)
with MicroPython's built-in `tls` client (TLS_PSK_WITH_AES_128_GCM_SHA256: it has no CCM), both
against a fresh s_server, and wall-clock time includes the server's. This runs s_server under
`strace -tt` (apt package strace), lets each client do one full handshake with the cookie
exchange, and reports the time from each datagram the server receives to the next one it
sends (its processing of ClientHello, ClientHello with cookie, and flight 5), summed, median
over N runs; `openssl s_client` with each of the two suites shows what the suite alone
changes. strace slows every system call, so the figures are inflated alike for both
clients: compare them with each other, not with the handshake times.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests_host"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import bench  # noqa: E402
import peers  # noqa: E402

_CALL = re.compile(r"^(\d+):(\d+):(\d+\.\d+) (recvfrom|sendto)\(\d+, \"")


def server_turnarounds(trace_path):
    """[microseconds] from each recvfrom to the sendto that follows it, in order."""
    events = []
    with open(trace_path) as f:
        for line in f:
            m = _CALL.match(line)
            if m:
                h, mi, s, call = m.groups()
                events.append(((int(h) * 60 + int(mi)) * 60 + float(s), call))
    return [round((b[0] - a[0]) * 1e6) for a, b in zip(events, events[1:])
            if a[1] == "recvfrom" and b[1] == "sendto"]


# OpenSSL's own client with each suite: the same client, so a difference is the suite's.
S_CLIENT_SUITES = {"s_client CCM_8": "PSK-AES128-CCM8", "s_client GCM": "PSK-AES128-GCM-SHA256"}


def run_s_client(port, cipher, server):
    proc = subprocess.Popen(
        ["openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:%d" % port, "-psk",
         peers.PSK_KEY.hex(), "-psk_identity", peers.PSK_IDENTITY, "-cipher", cipher, "-quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not server.wait_for("CIPHER is", timeout=10):
            raise RuntimeError("s_client did not connect: " + server.output())
    finally:
        proc.kill()  # the handshake is over; no close_notify needed
        proc.wait()


def one_run(client):
    cipher = S_CLIENT_SUITES.get(client) or \
        bench.SUITES["builtin" if client == "builtin" else "microdtls"]
    fd, trace = tempfile.mkstemp(suffix=".strace")
    os.close(fd)
    port = peers.free_port()
    # The command of peers.openssl_server, under strace.
    cmd = ["strace", "-tt", "-o", trace, "openssl", "s_server", "-dtls1_2", "-accept",
           "127.0.0.1:%d" % port, "-nocert", "-psk", peers.PSK_KEY.hex(), "-psk_identity",
           peers.PSK_IDENTITY, "-psk_hint", peers.PSK_HINT, "-cipher", cipher, "-naccept", "1"]
    server = peers.Peer("openssl", cmd, port, peers.PSK_IDENTITY, peers.PSK_KEY, stdin=True)
    try:
        with server:
            if client in S_CLIENT_SUITES:
                run_s_client(port, cipher, server)
            else:
                r = bench.probe(client, server.port, "--no-close")
                if not r["ok"]:
                    raise RuntimeError("%s: %s" % (client, r.get("error")))
        return server_turnarounds(trace)[:3]
    finally:
        os.unlink(trace)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    if not shutil.which("strace"):
        print("server_time.py needs strace: sudo apt-get install strace", file=sys.stderr)
        return 2
    clients = ("microdtls", "microdtls-native", "builtin") + tuple(S_CLIENT_SUITES)
    runs = {c: [] for c in clients}
    for _ in range(args.runs):
        for c in clients:
            runs[c].append(one_run(c))
    print("s_server's own time per flight under strace, us (median of %d runs)" % args.runs)
    print("  %-17s %12s %12s %9s %7s" % ("client", "ClientHello", "+cookie", "flight 5",
                                         "total"))
    for c in clients:
        steps = [statistics.median(r[i] for r in runs[c]) for i in range(3)]
        total = statistics.median(sum(r) for r in runs[c])
        print("  %-17s %12d %12d %9d %7d" % (c, steps[0], steps[1], steps[2], total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
