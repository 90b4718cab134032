"""Benchmarks (`make bench`): handshake time, heap and bytes on the wire, PSK and ECDHE.

Everything runs in one invocation against local `openssl s_server` instances (CPython drives,
the clients run in the MicroPython unix port):
  * handshake time, median of BENCH_RUNS runs (default 15): this library
    (TLS_PSK_WITH_AES_128_CCM_8; TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 with a 3-deep certificate
    chain and with a raw public key) and MicroPython's built-in `tls` DTLS client
    (TLS-PSK-WITH-AES-128-GCM-SHA256 / TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256: it has no CCM
    suite, and no raw public keys), timed inside MicroPython from socket creation to
    handshake complete; and their ratios;
  * bytes allocated during one handshake (micropython.mem_total delta) and the smallest free
    heap (one contiguous region, code already loaded) in which handshake + 5 echoed records
    still work, found by bisection;
  The raw-public-key server is gnutls-serv (OpenSSL 3.0 has none), which answers each
  flight only after ~50 ms of its own polling: that mode's time is mostly the server's.
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
import native  # noqa: E402
import peers  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

PROBE = os.path.join(ROOT, "tools", "handshake_probe.py")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
SUITES = {"microdtls": "PSK-AES128-CCM8", "builtin": "PSK-AES128-GCM-SHA256"}
EC_SUITES = "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256"
PKI = os.path.join(ROOT, "build", "bench-pki")


def make_pki():
    if not os.path.exists(os.path.join(PKI, "leaf.pem")):
        subprocess.run(["sh", os.path.join(ROOT, "tests_host", "certs", "make_certs.sh"), PKI],
                       check=True, capture_output=True)
    with open(os.path.join(PKI, "chain.pem"), "wb") as out:
        for name in ("int2.pem", "int1.pem"):
            with open(os.path.join(PKI, name), "rb") as f:
                out.write(f.read())


def cert_server():
    port = peers.free_port()
    pki = lambda name: os.path.join(PKI, name)  # noqa: E731
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port, "-cert",
           pki("leaf.pem"), "-cert_chain", pki("chain.pem"), "-key", pki("leaf.key"),
           "-cipher", EC_SUITES, "-naccept", "1"]
    return peers.Peer("openssl", cmd, port, "", b"", stdin=True)


def gnutls_rpk_server():
    """OpenSSL 3.0 has no raw public keys: gnutls-serv serves them, in its own namespace."""
    pki = lambda name: os.path.join(PKI, name)  # noqa: E731
    cmd = ["gnutls-serv", "--udp", "-p", "5684", "-a", "--rawpkkeyfile", pki("leaf.key"),
           "--rawpkfile", pki("leaf_pub.pem"), "--priority",
           "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-CCM-8:"
           "-MAC-ALL:+AEAD:+CTYPE-ALL"]
    return peers.Peer("gnutls", cmd, 5684, "", b"", netns=peers.NetNamespace())


# mode -> (server factory, probe arguments per client)
_CA_PEM = ["--ca", os.path.join(PKI, "root.pem")]
_RPK = ["--server-rpk", os.path.join(PKI, "leaf_pub.pem")]
MODES = {
    "psk": (None, {"microdtls": [], "microdtls-native": [], "builtin": []}),
    "ecdhe-cert": (cert_server, {"microdtls": _CA_PEM, "microdtls-native": _CA_PEM,
                                 "builtin": ["--ca", os.path.join(PKI, "root.der")]}),
    "ecdhe-rpk": (gnutls_rpk_server, {"microdtls": _RPK, "microdtls-native": _RPK}),
}


# "microdtls" runs with pure-Python crypto, "microdtls-native" with the x64 C module.
CLIENT_ENV = {"microdtls": lambda: native.backend_env("python"),
              "microdtls-native": lambda: native.backend_env("native"), "builtin": dict}


def probe(client, port, *extra, prefix=()):
    env = CLIENT_ENV[client]()
    res = mp.run_script(PROBE, [client.split("-")[0], "127.0.0.1", port] +
                        [str(e) for e in extra], heapsize="512k", timeout=60, prefix=prefix,
                        env=env)
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines:
        raise RuntimeError("probe failed: %s %s" % (res.stdout, res.stderr))
    return json.loads(lines[-1])


def one_handshake(client, *extra, via_proxy=False, mode="psk"):
    """Runs one probe against a fresh s_server (-naccept 1); returns (result, proxy stats)."""
    factory, args = MODES[mode]
    extra = list(args[client]) + list(extra)
    cipher = SUITES["builtin" if client == "builtin" else "microdtls"]
    server = factory() if factory else peers.openssl_server(cipher=cipher, naccept=1)
    with server:
        if via_proxy:
            with UdpProxy(upstream_port=server.port) as proxy:
                result = probe(client, proxy.port, "--no-close", *extra)
                time.sleep(0.2)
                return result, proxy.stats()
        return probe(client, server.port, *extra, prefix=server.prefix), None


def handshake_times(client, mode):
    times, allocs = [], []
    for _ in range(RUNS):
        r, _ = one_handshake(client, mode=mode)
        if not r["ok"]:
            raise RuntimeError("%s handshake failed: %s" % (client, r.get("error")))
        times.append(r["handshake_ms"])
        allocs.append(r["alloc_bytes"])
    return {"median_ms": statistics.median(times), "min_ms": min(times),
            "max_ms": max(times), "runs": RUNS, "alloc_bytes": statistics.median(allocs)}


def smallest_heap(client, mode, lo=2048, hi=131072, step=512):
    """Bisection on the free heap (bytes) that a handshake needs (PSK with this library:
    handshake + 5 echoed records, against the mbedtls echo server since s_server does not
    echo; otherwise the handshake alone against s_server)."""
    def works(free):
        if client.startswith("microdtls") and mode == "psk":
            with peers.mbedtls_server() as server:
                r = probe(client, server.port, "--free", free, "--echo", 5)
        else:
            r, _ = one_handshake(client, "--free", free, mode=mode)
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


def wire_counts(client, mode):
    if client == "s_client":
        return s_client_counts()
    r, stats = one_handshake(client, via_proxy=True, mode=mode)
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
    make_pki()
    native.ensure_natmod()
    results = {"runs": RUNS}
    print("Handshake time against openssl s_server on 127.0.0.1 (%d runs each)" % RUNS)
    results["handshake"] = {}
    for mode, (_, clients) in MODES.items():
        for client in clients:
            t = handshake_times(client, mode)
            results["handshake"]["%s/%s" % (mode, client)] = t
            print("  %-11s %-16s median %8.2f ms (min %.2f, max %.2f); allocated %d bytes"
                  % (mode, client, t["median_ms"], t["min_ms"], t["max_ms"], t["alloc_bytes"]))
    h = results["handshake"]
    results["ratio_to_builtin"] = {}
    for mode in ("psk", "ecdhe-cert"):
        for client in ("microdtls", "microdtls-native"):
            ratio = h["%s/%s" % (mode, client)]["median_ms"] / h[mode + "/builtin"]["median_ms"]
            results["ratio_to_builtin"]["%s/%s" % (mode, client)] = ratio
            print("  ratio %-10s %-16s / builtin: %.2f" % (mode, client, ratio))

    print("Smallest contiguous free heap that works (code already loaded):")
    results["smallest_free_heap_bytes"] = {}
    # Only this library: the built-in client's mbedtls allocates with the C allocator on the
    # unix port, outside the GC heap, so a GC-heap limit says nothing about it.
    for mode in MODES:
        for client in ("microdtls", "microdtls-native"):
            n = smallest_heap(client, mode)
            results["smallest_free_heap_bytes"]["%s/%s" % (mode, client)] = n
            print("  %-11s %-16s %s bytes" % (mode, client, n))

    print("Bytes/datagrams per full handshake with cookie exchange (close_notify excluded):")
    results["wire"] = {}
    # (Not for ecdhe-rpk: its server runs in a network namespace the proxy is not in.)
    rows = [(m, c) for m, (_, cs) in MODES.items() for c in cs
            if m != "ecdhe-rpk" and c != "microdtls-native"] + [("psk", "s_client")]
    for mode, client in rows:
        st = wire_counts(client, mode)
        results["wire"]["%s/%s" % (mode, client)] = st
        cs, sc = st["client_to_server"], st["server_to_client"]
        print("  %-11s %-16s client sends %4d bytes in %d datagrams; server sends %4d bytes in %d"
              % (mode, client, cs["bytes"], cs["datagrams"], sc["bytes"], sc["datagrams"]))

    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    out = os.path.join(ROOT, "build", "bench.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print("written", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
