"""Benchmarks (`make bench`): speed, memory, bytes on the wire and code size, in one run.

    .venv/bin/python tools/bench.py          (BENCH_RUNS=N sets the runs per figure, default 15)

CPython drives; the clients run in the MicroPython unix port (x64) against local servers.
Every timing is a median over BENCH_RUNS runs, each run a fresh client process and a fresh
server. "pure" is dtls with DTLS_CRYPTO=python, "native" with DTLS_CRYPTO=native and the x64
C module (dist/x64_6.3/_dtlscrypto.mpy, built if missing). Sections:
  * handshake time, timed inside MicroPython from socket creation to handshake complete:
    PSK (TLS_PSK_WITH_AES_128_CCM_8, openssl s_server), ECDHE-ECDSA with a 3-deep
    certificate chain (s_server) and with a raw public key (gnutls-serv: OpenSSL 3.0 has no
    RPK; it answers each flight after ~50 ms of its own polling, so that time is mostly the
    server's); MicroPython's built-in `tls` DTLS client as the reference (GCM suites: it
    has no CCM) and the ratios to it;
  * bytes allocated during one handshake (micropython.mem_total delta) and the heap one
    open connection keeps (gc.collect() + gc.mem_alloc() delta after the handshake);
  * session resumption (abbreviated handshake offering conn.session; s_server with
    -naccept 2 -no_ticket), PSK and ECDHE-cert;
  * the smallest contiguous free heap (code already loaded) in which the handshake still
    works (PSK: plus 5 echoed records) at every size from it up (512-byte steps; success
    is not monotonic, see smallest_heap), also with max_recv_datagram=1024 for PSK; and
    the heap an open PSK connection keeps, taken apart (tools/heap_profile.py);
  * bytes and datagrams each side sends per full handshake with the cookie exchange
    (tools/udp_proxy.py, close_notify excluded), with `openssl s_client` as a reference
    and the protocol minimum for the PSK client; and the PSK handshake's span on the wire
    (first ClientHello to the server's last flight, as the relay sees them), the one timing
    that also fits `openssl s_client` (whose process start cannot be timed from inside);
  * AES-CCM-8 seal+open throughput (tools/bench_crypto.py's script: pure, native), the
    record path (dtls.record.EpochCipher, the script section of tools/board_bench.py) and
    CPython `cryptography` AESCCM as a reference; P-256 ECDH / ECDSA sign / verify;
  * code size: .mpy bytes per package (mpy-cross, default and -O3), natmod bytes per arch;
  * the targets of the performance issue next to each figure, met or not.
Results: tables on stdout, build/bench.json, and build/bench.png (tools/plot_bench.py).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests_host"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import bench_crypto  # noqa: E402
import board_bench  # noqa: E402
import build_dist  # noqa: E402
import mp  # noqa: E402
import native  # noqa: E402
import packages  # noqa: E402
import peers  # noqa: E402
from udp_proxy import UdpProxy  # noqa: E402

PROBE = os.path.join(ROOT, "tools", "handshake_probe.py")
HEAP_PROFILE = os.path.join(ROOT, "tools", "heap_profile.py")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
QUICK = RUNS < 5  # shorter crypto timings for smoke runs
SUITES = {"microdtls": "PSK-AES128-CCM8", "builtin": "PSK-AES128-GCM-SHA256"}
EC_SUITES = "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256"
PKI = os.path.join(ROOT, "build", "bench-pki")
OUT_JSON = os.path.join(ROOT, "build", "bench.json")
OUT_PNG = os.path.join(ROOT, "build", "bench.png")
KB = 1024  # the "KB" taken as KiB (the generous reading)
OPENSSL_COOKIE_LEN = 20  # s_server's HelloVerifyRequest cookie


def make_pki():
    if not os.path.exists(os.path.join(PKI, "leaf.pem")):
        subprocess.run(["sh", os.path.join(ROOT, "tests_host", "certs", "make_certs.sh"), PKI],
                       check=True, capture_output=True)
    with open(os.path.join(PKI, "chain.pem"), "wb") as out:
        for name in ("int2.pem", "int1.pem"):
            with open(os.path.join(PKI, name), "rb") as f:
                out.write(f.read())


def cert_server(naccept=1, extra=()):
    port = peers.free_port()
    pki = lambda name: os.path.join(PKI, name)  # noqa: E731
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port, "-cert",
           pki("leaf.pem"), "-cert_chain", pki("chain.pem"), "-key", pki("leaf.key"),
           "-cipher", EC_SUITES, "-naccept", str(naccept)] + list(extra)
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
OURS = ("microdtls", "microdtls-native")

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


def _summary(times):
    return {"median_ms": statistics.median(times), "min_ms": min(times),
            "max_ms": max(times), "runs": len(times)}


def handshake_times(clients, mode):
    """{client: summary}; the clients take turns run by run, so that a change in the load of
    this shared machine hits all of them alike (their ratio is the figure that matters)."""
    samples = {c: ([], [], []) for c in clients}
    for _ in range(RUNS):
        for client in clients:
            r, _ = one_handshake(client, mode=mode)
            if not r["ok"]:
                raise RuntimeError("%s handshake failed: %s" % (client, r.get("error")))
            times, allocs, heaps = samples[client]
            times.append(r["handshake_ms"])
            allocs.append(r["alloc_bytes"])
            heaps.append(r["conn_heap_bytes"])
    out = {}
    for client, (times, allocs, heaps) in samples.items():
        out[client] = _summary(times)
        out[client]["alloc_bytes"] = statistics.median(allocs)
        if client in OURS:  # the built-in client's mbedtls state is outside the GC heap
            out[client]["conn_heap_bytes"] = statistics.median(heaps)
    return out


def resumption_times(client, mode):
    """Full handshake, close_notify, then the timed abbreviated handshake (RFC 5246 §7.3)
    against a server with a session cache and no tickets (resumption by session ID)."""
    times, allocs = [], []
    for _ in range(RUNS):
        if mode == "psk":
            server = peers.openssl_server(naccept=2, extra_args=["-no_ticket"])
        else:
            server = cert_server(naccept=2, extra=["-no_ticket"])
        with server:
            r = probe(client, server.port, "--resume", *MODES[mode][1][client])
        if not r["ok"] or not r.get("resumed"):
            raise RuntimeError("%s resumption failed: %s" % (client, r))
        times.append(r["resume_ms"])
        allocs.append(r["resume_alloc_bytes"])
    out = _summary(times)
    out["alloc_bytes"] = statistics.median(allocs)
    return out


def smallest_heap(client, mode, *extra, step=512):
    """The free heap (bytes) a handshake needs (PSK with this library: handshake + 5 echoed
    records, against the mbedtls echo server since s_server does not echo; otherwise the
    handshake alone against s_server). Returns (reliable, bisected):

    Success is not monotonic in the heap size: whether the allocator finds a contiguous
    hole for each received datagram depends on where earlier objects landed, so a size can
    fail while a smaller one works (seen: 16,896 B worked, 17,408-22,016 B failed).
    Bisection therefore only gives `bisected`, one size that worked; `reliable` is the
    smallest N such that every size from N up to well above it (step bytes apart) works,
    found by walking down from there. `reliable` is the figure to plan with."""
    def works(free):
        if client in OURS and mode == "psk":
            with peers.mbedtls_server() as server:
                r = probe(client, server.port, "--free", free, "--echo", 5, *extra)
        else:
            r, _ = one_handshake(client, "--free", free, *extra, mode=mode)
        return r["ok"]

    lo, hi = 2048, 131072
    if not works(hi):
        return None, None
    while hi - lo > step:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    bisected = hi
    free = (max(2 * bisected, bisected + 16 * KB) + step - 1) // step * step
    if not works(free):
        return None, bisected
    while free - step > 0 and works(free - step):
        free -= step
    return free, bisected


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
            time.sleep(0.1)  # the server's last flight reaches the proxy
            stats = proxy.stats()
        finally:
            proc.kill()  # no close_notify
            proc.wait()
        return stats


def psk_client_minimum(cookie_len=OPENSSL_COOKIE_LEN, identity_len=len(peers.PSK_IDENTITY),
                       tag_len=8):
    """The fewest bytes a PSK client can send for a full handshake with the cookie exchange
    and no extensions: ClientHello (RFC 6347 §4.2.1: version, random, empty session ID,
    cookie, one suite, null compression), the same with the cookie, then flight 3 in one
    datagram: ClientKeyExchange (RFC 4279 §2: identity), ChangeCipherSpec, Finished
    (12-byte verify_data under AES-CCM: 8-byte explicit nonce + tag)."""
    record, handshake = 13, 12
    hello = record + handshake + 2 + 32 + 1 + 1 + 2 + 2 + 1 + 1
    key_exchange = record + handshake + 2 + identity_len
    ccs = record + 1
    finished = record + 8 + handshake + 12 + tag_len
    return {"bytes": hello + (hello + cookie_len) + key_exchange + ccs + finished,
            "datagrams": 3}


# ---------------------------------------------------------------- crypto

def record_path(backend):
    """dtls.record.EpochCipher seal+open under the unix port (board_bench's section)."""
    config = {"natmod_dir": None, "quick": QUICK, "record_ms": 150 if QUICK else 400}
    script = board_bench.PRELUDE % {"config": json.dumps(config)} + board_bench.RECORD_SECTION
    fd, path = tempfile.mkstemp(suffix=".py", prefix="bench_record_")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(script)
        res = mp.run_script(path, timeout=120, env=native.backend_env(backend))
    finally:
        os.unlink(path)
    if res.returncode != 0:
        raise RuntimeError("record path (%s) failed: %s%s" % (backend, res.stdout, res.stderr))
    rec = board_bench.parse_output(res.stdout)["record"]
    if rec["backend"] != backend:
        raise RuntimeError("record path ran with %s, not %s" % (rec["backend"], backend))
    return rec


def cpython_ccm(min_s=0.3):
    """CPython `cryptography` AESCCM (OpenSSL, AES-NI) seal+open: the reference."""
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM
    aead = AESCCM(bytes(range(16)), tag_length=8)
    nonce, aad = bytes(12), bytes(13)
    out = {}
    for size in (64, 1024):
        pt = bytes(size)
        n = 0
        t0 = time.perf_counter()
        while True:
            aead.decrypt(nonce, aead.encrypt(nonce, pt, aad), aad)
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_s:
                break
        us = dt / n * 1e6
        out["seal_open_%d_us" % size] = us
        out["seal_open_%d_kBps" % size] = 2 * size / us * 1e6 / 1024
    return out


def crypto_figures():
    out = {"dtls.ccm": {}, "record": {}, "p256": {}}
    for backend in ("python", "native"):
        r = bench_crypto.run(backend, QUICK)
        out["dtls.ccm"][backend] = {k: v for k, v in r.items() if k.startswith("ccm8_")}
        out["p256"][backend] = {
            "keygen_ms": r["keygen_ms"], "ecdh_ms": r["ecdh_ms"], "sign_ms": r["sign_ms"],
            "verify_ms": r["verify_ms"], "ecdh_per_s": 1000 / r["ecdh_ms"],
            "sign_per_s": 1000 / r["sign_ms"], "verify_per_s": 1000 / r["verify_ms"],
            "prf_keyblock_us": r["prf_keyblock_us"]}
        out["record"][backend] = record_path(backend)
    out["cpython_cryptography"] = cpython_ccm()
    return out


# ---------------------------------------------------------------- code size

def mpy_sizes():
    """Bytes of .mpy per package (files as listed by the package.json files, which
    tests_host/test_packaging.py keeps equal to the manifests), default and -O3."""
    mpy_cross = build_dist.find_mpy_cross()
    out = {"source": {}, "mpy": {}, "mpy_O3": {}}
    with tempfile.TemporaryDirectory(prefix="bench_mpy_") as tmp:
        for key, flags in (("mpy", []), ("mpy_O3", ["-O3"])):
            for name in packages.PACKAGES:
                total = src_total = 0
                for src, target in packages.files(name):
                    dest = os.path.join(tmp, key, target[:-3] + ".mpy")
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    subprocess.run([mpy_cross] + flags + ["-o", dest, "-s", target, src],
                                   check=True, capture_output=True)
                    total += os.path.getsize(dest)
                    src_total += os.path.getsize(src)
                out[key][name] = total
                out["source"][name] = src_total
            out[key]["all"] = sum(out[key][n] for n in packages.PACKAGES)
    out["source"]["all"] = sum(out["source"][n] for n in packages.PACKAGES)
    return out


def natmod_sizes():
    """Builds what `make natmod` can here (incremental) and reads dist/*_6.3/."""
    res = subprocess.run(["make", "--no-print-directory", "-C", os.path.join(ROOT, "firmware"),
                          "natmod"], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        print("  (make natmod failed; sizes of what dist/ holds)\n" + res.stderr[-1000:])
    return bench_crypto.natmod_sizes()


# ---------------------------------------------------------------- targets

def targets(r):
    """[(what, value, limit, unit)] from the performance issue; met when value <= limit."""
    ratio, heap, wire = r["ratio_to_builtin"], \
        r["smallest_free_heap_bytes"], r["wire"]
    size, natmod = r["code_size"], r["code_size"]["natmod_bytes"]
    rows = [
        ("ECDHE-ECDSA (cert) handshake, native / built-in", ratio["ecdhe-cert/microdtls-native"],
         1.0, "x"),
        ("PSK handshake, native / built-in", ratio["psk/microdtls-native"], 1.5, "x"),
        ("PSK handshake, pure / built-in", ratio["psk/microdtls"], 5.0, "x"),
    ]
    for client, label in (("microdtls", "pure"), ("microdtls-native", "native")):
        rows.append(("PSK heap (smallest working free heap), %s" % label,
                     heap["psk/" + client], 8 * KB, "B"))
        for mode in ("ecdhe-cert", "ecdhe-rpk"):
            rows.append(("%s heap (smallest working free heap), %s" % (mode, label),
                         heap["%s/%s" % (mode, client)], 16 * KB, "B"))
        if heap.get("psk-recv1024/" + client) is not None:
            rows.append(("PSK heap, max_recv_datagram=1024, %s" % label,
                         heap["psk-recv1024/" + client], 8 * KB, "B"))
    cs = wire["psk/microdtls"]["client_to_server"]
    rows += [
        ("PSK handshake with cookie: client bytes", cs["bytes"], 290, "B"),
        ("PSK handshake with cookie: client datagrams", cs["datagrams"], 3, ""),
        (".mpy PSK-only set (dtls)", size["mpy"]["dtls"], 24 * KB, "B"),
        (".mpy PSK-only set (dtls), mpy-cross -O3", size["mpy_O3"]["dtls"], 24 * KB, "B"),
        (".mpy everything (dtls, dtls-aio, dtls-ecc, coap)", size["mpy"]["all"], 64 * KB, "B"),
        (".mpy everything, mpy-cross -O3", size["mpy_O3"]["all"], 64 * KB, "B"),
        ("natmod armv6m", natmod.get("armv6m_6.3"), 10 * KB, "B"),
    ]
    return [{"target": what, "value": value, "limit": limit, "unit": unit,
             "met": value is not None and value <= limit} for what, value, limit, unit in rows]


# ---------------------------------------------------------------- main

def host_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg()}


def section(title):
    print("\n" + title)


def run_handshakes(results):
    section("Handshake time against local servers, 127.0.0.1, median of %d runs "
            "(pure = DTLS_CRYPTO=python, native = x64 C module)" % RUNS)
    print("  %-11s %-17s %9s %9s %9s %12s %10s" % ("mode", "client", "median ms", "min", "max",
                                                  "allocated B", "conn heap B"))
    results["handshake"] = {}
    for mode, (_, clients) in MODES.items():
        times = handshake_times(list(clients), mode)
        for client in clients:
            t = times[client]
            results["handshake"]["%s/%s" % (mode, client)] = t
            print("  %-11s %-17s %9.2f %9.2f %9.2f %12d %10s" % (
                mode, client, t["median_ms"], t["min_ms"], t["max_ms"], t["alloc_bytes"],
                "%d" % t["conn_heap_bytes"] if "conn_heap_bytes" in t else "n/a"))
    h = results["handshake"]
    results["ratio_to_builtin"], results["ratio_to_builtin_of_minima"] = {}, {}
    for mode in ("psk", "ecdhe-cert"):
        for client in OURS:
            ours, ref = h["%s/%s" % (mode, client)], h[mode + "/builtin"]
            ratio = ours["median_ms"] / ref["median_ms"]
            # the fastest runs are the least disturbed by other jobs: a noise check
            ratio_min = ours["min_ms"] / ref["min_ms"]
            results["ratio_to_builtin"]["%s/%s" % (mode, client)] = ratio
            results["ratio_to_builtin_of_minima"]["%s/%s" % (mode, client)] = ratio_min
            print("  ratio %-11s %-17s / builtin: %.2f (of the minima: %.2f)"
                  % (mode, client, ratio, ratio_min))


def run_resumption(results):
    section("Session resumption (abbreviated handshake, session ID; s_server -no_ticket), "
            "median of %d" % RUNS)
    results["resumption"] = {}
    for mode in ("psk", "ecdhe-cert"):
        for client in OURS:
            t = resumption_times(client, mode)
            results["resumption"]["%s/%s" % (mode, client)] = t
            full = results["handshake"]["%s/%s" % (mode, client)]["median_ms"]
            print("  %-11s %-17s median %7.2f ms (min %.2f, max %.2f); full handshake %.2f ms;"
                  " allocated %d B" % (mode, client, t["median_ms"], t["min_ms"], t["max_ms"],
                                       full, t["alloc_bytes"]))


def run_heap(results):
    section("Smallest contiguous free heap that works, code already loaded (PSK: + 5 echoed "
            "records), 512 B steps: every size from the figure up works")
    results["smallest_free_heap_bytes"] = {}
    results["bisection_free_heap_bytes"] = {}
    # Only this library: the built-in client's mbedtls allocates with the C allocator on the
    # unix port, outside the GC heap, so a GC-heap limit says nothing about it.
    for mode in MODES:
        for client in OURS:
            n, bisected = smallest_heap(client, mode)
            results["smallest_free_heap_bytes"]["%s/%s" % (mode, client)] = n
            results["bisection_free_heap_bytes"]["%s/%s" % (mode, client)] = bisected
            conn = results["handshake"]["%s/%s" % (mode, client)]["conn_heap_bytes"]
            print("  %-11s %-17s %7s B  (bisection alone: %s B; an open connection then "
                  "keeps %d B)" % (mode, client, n, bisected, conn))
    # The receive buffer is the largest allocation per datagram (MicroPython sockets have
    # no recv_into): with PSK and a server that sends small datagrams (CoAP), a smaller one
    # is safe and needs much less heap.
    for client in OURS:
        n, bisected = smallest_heap(client, "psk", "--recv-buffer", 1024)
        results["smallest_free_heap_bytes"]["psk-recv1024/%s" % client] = n
        results["bisection_free_heap_bytes"]["psk-recv1024/%s" % client] = bisected
        print("  %-11s %-17s %7s B  (bisection alone: %s B) with max_recv_datagram=1024"
              % ("psk", client, n, bisected))


def run_heap_parts(results):
    section("Heap an open PSK connection keeps, taken apart (tools/heap_profile.py)")
    results["heap_parts"] = {}
    for client in OURS:
        with peers.openssl_server(cipher=SUITES["microdtls"], naccept=1) as server:
            res = mp.run_script(HEAP_PROFILE, ["127.0.0.1", server.port], heapsize="512k",
                                timeout=60, env=CLIENT_ENV[client]())
        lines = res.stdout.strip().splitlines()
        if res.returncode != 0 or not lines:
            raise RuntimeError("heap_profile failed: %s %s" % (res.stdout, res.stderr))
        r = results["heap_parts"][client] = json.loads(lines[-1])
        print("  %-17s kept %d B: %s" % (client, r["kept"], ", ".join(
            "%s %d" % (k, v) for k, v in r["parts"] if v >= 128)))
        print("  %-17s building blocks: %s" % ("", ", ".join(
            "%s %d" % kv for kv in sorted(r["objects"].items()))))


def run_wire(results):
    section("Bytes/datagrams per full handshake with cookie exchange (close_notify excluded)")
    results["wire"] = {}
    # (Not for ecdhe-rpk: its server runs in a network namespace the proxy is not in.)
    rows = [(m, c) for m, (_, cs) in MODES.items() for c in cs
            if m != "ecdhe-rpk" and c != "microdtls-native"] + [("psk", "s_client")]
    for mode, client in rows:
        st = wire_counts(client, mode)
        results["wire"]["%s/%s" % (mode, client)] = st
        cs, sc = st["client_to_server"], st["server_to_client"]
        print("  %-11s %-17s client sends %4d B in %d datagrams; server sends %4d B in %d"
              % (mode, client, cs["bytes"], cs["datagrams"], sc["bytes"], sc["datagrams"]))
    m = psk_client_minimum()
    results["wire"]["psk/protocol-minimum"] = {"client_to_server": m}
    print("  %-11s %-17s client sends %4d B in %d datagrams (no extensions, %d-byte cookie)"
          % ("psk", "protocol minimum", m["bytes"], m["datagrams"], OPENSSL_COOKIE_LEN))


def run_wire_span(results):
    section("PSK handshake on the wire, first ClientHello to the server's last flight, as "
            "tools/udp_proxy.py sees them (median of %d): s_client as a reference" % RUNS)
    clients = ("microdtls", "microdtls-native", "builtin", "s_client")
    spans = {c: [] for c in clients}
    for _ in range(RUNS):
        for c in clients:
            span = wire_counts(c, "psk")["span_ms"]
            if span is not None:
                spans[c].append(span)
    results["wire_span_ms"] = {c: _summary(v) for c, v in spans.items() if v}
    ref = results["wire_span_ms"].get("builtin", {}).get("median_ms")
    for c, s in results["wire_span_ms"].items():
        print("  %-17s median %6.2f ms (min %.2f, max %.2f)%s" % (
            c, s["median_ms"], s["min_ms"], s["max_ms"],
            "; %.2f x the built-in client" % (s["median_ms"] / ref) if ref else ""))


def run_crypto(results):
    section("Crypto on the unix port (x64)%s" % (" (quick)" if QUICK else ""))
    c = results["crypto"] = crypto_figures()
    print("  %-38s %12s %12s %12s" % ("AES-CCM-8 seal+open", "pure", "native", "CPython"))
    ref = c["cpython_cryptography"]
    for size in (64, 1024):
        print("  %-38s %9.1f us %9.1f us %9.2f us" % (
            "dtls.ccm, %d B record" % size, c["dtls.ccm"]["python"]["ccm8_%d_us" % size],
            c["dtls.ccm"]["native"]["ccm8_%d_us" % size], ref["seal_open_%d_us" % size]))
        print("  %-38s %9.1f us %9.1f us" % (
            "record path (EpochCipher), %d B" % size,
            c["record"]["python"]["seal_open_%d_us" % size],
            c["record"]["native"]["seal_open_%d_us" % size]))
        print("  %-38s %6.0f KiB/s %6.0f KiB/s %6.0f KiB/s" % (
            "record path throughput, %d B" % size,
            c["record"]["python"]["seal_open_%d_kBps" % size],
            c["record"]["native"]["seal_open_%d_kBps" % size], ref["seal_open_%d_kBps" % size]))
    for op in ("ecdh", "sign", "verify"):
        py, nat = c["p256"]["python"], c["p256"]["native"]
        print("  %-38s %7.0f /s   %7.0f /s    (%.2f / %.2f ms)" % (
            "P-256 " + {"ecdh": "ECDH", "sign": "ECDSA sign", "verify": "ECDSA verify"}[op],
            py[op + "_per_s"], nat[op + "_per_s"], py[op + "_ms"], nat[op + "_ms"]))


def run_sizes(results):
    section("Code size")
    s = mpy_sizes()
    s["natmod_bytes"] = natmod_sizes()
    results["code_size"] = s
    print("  %-10s %10s %10s %10s" % ("package", "source B", ".mpy B", "-O3 B"))
    for name in list(packages.PACKAGES) + ["all"]:
        print("  %-10s %10d %10d %10d" % (name, s["source"][name], s["mpy"][name],
                                          s["mpy_O3"][name]))
    for arch, n in s["natmod_bytes"].items():
        print("  natmod %-14s %8d B" % (arch, n))


def run_targets(results):
    section("Targets (KB = 1024 B)")
    results["targets"] = targets(results)
    for t in results["targets"]:
        value = "%.2f" % t["value"] if isinstance(t["value"], float) else str(t["value"])
        print("  %-52s %9s %s <= %-6s %s" % (t["target"], value, t["unit"], t["limit"],
                                             "met" if t["met"] else "NOT MET"))


def main():
    t_start = time.time()
    make_pki()
    native.ensure_natmod()
    results = {"runs": RUNS, "host": host_info()}
    print("microdtls benchmarks: %d runs per figure on %s (%d CPUs, load %.2f): a shared, "
          "noisy machine" % (RUNS, results["host"]["cpu"], results["host"]["cpus"],
                             results["host"]["loadavg_start"][0]))
    for step in (run_handshakes, run_resumption, run_heap, run_heap_parts, run_wire,
                 run_wire_span, run_crypto, run_sizes, run_targets):
        step(results)
    results["host"]["loadavg_end"] = os.getloadavg()
    results["seconds"] = round(time.time() - t_start, 1)
    os.makedirs(os.path.dirname(OUT_JSON), exist_ok=True)
    with open(OUT_JSON, "w") as f:
        json.dump(results, f, indent=2)
    print("\nwritten %s (%.0f s)" % (os.path.relpath(OUT_JSON, ROOT), results["seconds"]))
    try:
        import plot_bench
    except ImportError as e:  # matplotlib missing: make setup installs it
        print("no plot: %s" % e)
        return
    plot_bench.plot(results, OUT_PNG)
    print("written %s" % os.path.relpath(OUT_PNG, ROOT))


if __name__ == "__main__":
    main()
