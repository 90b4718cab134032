"""Benchmarks (`make bench`): PSK handshake time, heap and bytes on the wire.

Everything runs in one invocation against local `openssl s_server` instances (CPython drives,
the clients run in the MicroPython unix port):
  * handshake time, median of BENCH_RUNS runs (default 15): this library
    (TLS_PSK_WITH_AES_128_CCM_8) and MicroPython's built-in `tls` DTLS client
    (TLS-PSK-WITH-AES-128-GCM-SHA256: it has no CCM suite), timed inside MicroPython from
    socket creation to handshake complete; and their ratio;
  * bytes allocated during one handshake (micropython.mem_total delta) and the smallest free
    heap (one contiguous region, code already loaded) in which handshake + 5 echoed records
    still work, found by bisection;
  * bytes and datagrams each side sends for one full handshake with the cookie exchange,
    counted by tools/udp_proxy.py, close_notify excluded, for this library, the built-in
    client and `openssl s_client`.
Results: a table on stdout and build/bench.json.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests_host"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import mp  # noqa: E402
import peers  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

PROBE = os.path.join(ROOT, "tools", "handshake_probe.py")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
SUITES = {"microdtls": "PSK-AES128-CCM8", "builtin": "PSK-AES128-GCM-SHA256"}


def probe(client, port, *extra):
    res = mp.run_script(PROBE, [client, "127.0.0.1", port] + [str(e) for e in extra],
                        heapsize="512k", timeout=60)
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines:
        raise RuntimeError("probe failed: %s %s" % (res.stdout, res.stderr))
    return json.loads(lines[-1])


def one_handshake(client, *extra, via_proxy=False):
    """Runs one probe against a fresh s_server (-naccept 1); returns (result, proxy stats)."""
    with peers.openssl_server(cipher=SUITES[client], naccept=1) as server:
        if via_proxy:
            with UdpProxy(upstream_port=server.port) as proxy:
                result = probe(client, proxy.port, "--no-close", *extra)
                time.sleep(0.2)
                return result, proxy.stats()
        return probe(client, server.port, *extra), None


def handshake_times(client):
    times, allocs = [], []
    for _ in range(RUNS):
        r, _ = one_handshake(client)
        if not r["ok"]:
            raise RuntimeError("%s handshake failed: %s" % (client, r.get("error")))
        times.append(r["handshake_ms"])
        allocs.append(r["alloc_bytes"])
    return {"median_ms": statistics.median(times), "min_ms": min(times),
            "max_ms": max(times), "runs": RUNS, "alloc_bytes": statistics.median(allocs)}


def smallest_heap(client, lo=2048, hi=65536, step=512):
    """Bisection on the free heap (bytes) that handshake + 5 echoed records need.
    Uses the mbedtls echo server for this library (s_server does not echo) and s_server
    for the built-in client (handshake only: nothing echoes a GCM suite here)."""
    def works(free):
        if client == "microdtls":
            with peers.mbedtls_server() as server:
                r = probe(client, server.port, "--free", free, "--echo", 5)
        else:
            r, _ = one_handshake(client, "--free", free)
        return r["ok"]

    if not works(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi


def wire_counts(client):
    if client == "s_client":
        return s_client_counts()
    r, stats = one_handshake(client, via_proxy=True)
    if not r["ok"]:
        raise RuntimeError("%s handshake failed: %s" % (client, r.get("error")))
    return stats


def s_client_counts():
    with peers.openssl_server(naccept=1) as server, \
            UdpProxy(upstream_port=server.port) as proxy:
        proc = subprocess.Popen(
            ["openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:%d" % proxy.port,
             "-psk", peers.PSK_KEY.hex(), "-psk_identity", peers.PSK_IDENTITY,
             "-cipher", "PSK-AES128-CCM8", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if not server.wait_for("CIPHER is", timeout=10):
                raise RuntimeError("s_client did not connect: " + server.output())
            time.sleep(0.3)
            stats = proxy.stats()
        finally:
            proc.kill()  # no close_notify
            proc.wait()
        return stats


def main():
    results = {"runs": RUNS}
    print("PSK handshake against openssl s_server on 127.0.0.1 (%d runs each)" % RUNS)
    times = {c: handshake_times(c) for c in ("microdtls", "builtin")}
    results["handshake"] = times
    ratio = times["microdtls"]["median_ms"] / times["builtin"]["median_ms"]
    results["ratio_microdtls_to_builtin"] = ratio
    for c, t in times.items():
        print("  %-10s %-28s median %7.2f ms (min %.2f, max %.2f); allocated %d bytes"
              % (c, SUITES[c], t["median_ms"], t["min_ms"], t["max_ms"], t["alloc_bytes"]))
    print("  ratio microdtls / builtin: %.2f" % ratio)

    heap = {c: smallest_heap(c) for c in ("microdtls", "builtin")}
    results["smallest_free_heap_bytes"] = heap
    print("Smallest contiguous free heap that works (code already loaded):")
    print("  microdtls  %s bytes (handshake + 5 echoed 200-byte records)" % heap["microdtls"])
    print("  builtin    %s bytes (handshake only)" % heap["builtin"])

    wire = {c: wire_counts(c) for c in ("microdtls", "builtin", "s_client")}
    results["wire"] = wire
    print("Bytes/datagrams per full handshake with cookie exchange (close_notify excluded):")
    for c, s in wire.items():
        cs, sc = s["client_to_server"], s["server_to_client"]
        print("  %-10s client sends %4d bytes in %d datagrams; server sends %4d bytes in %d"
              % (c, cs["bytes"], cs["datagrams"], sc["bytes"], sc["datagrams"]))

    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    out = os.path.join(ROOT, "build", "bench.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print("written", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
