"""Lossy-network sweep and soak for the MicroPython client (make soak; CPython).

Each session runs tools/lossy_client.py inside the MicroPython unix port through
tools/udp_proxy.py (seeded loss, duplication and reordering, the same in both directions)
to a real server on 127.0.0.1: OpenSSL `s_server` (a fresh one per session: it serves one
client at a time) or GnuTLS `gnutls-serv --echo` (in its own network namespace; the proxy
and the client run inside it too). Everything stops by itself.

    python tools/soak.py sweep [--seeds N] [--loss 0.1,0.2,0.3]
                               [--peers openssl,gnutls,openssl-ecdhe,gnutls-ecdhe]
                               [--records K] [--parallel P] [--json FILE]
    python tools/soak.py soak  [--records 10000] [--loss 0.05] [--json FILE]

`sweep` prints, per peer and loss rate, the completion rate and the handshake time
distribution (and, against the echo server, records echoed / duplicated / corrupted);
`soak` runs one session of many records and prints the heap after gc.collect() every 1000
records. tests_host/test_lossy.py uses the same functions with a smaller set of seeds.

The `-ecdhe` peers run TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 with a 3-deep X.509 chain (leaf,
int2, int1 sent; root the client's anchor) from a throw-away PKI made once per process by
tests_host/certs/make_certs.sh: the server's flight is about 2 KB in several datagrams.
tests_host/test_lossy_ecdhe.py uses them.
"""
import argparse
import atexit
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, os.path.join(ROOT, "tests_host"))
sys.path.insert(0, TOOLS)

import mp  # noqa: E402
import peers  # noqa: E402
import udp_proxy  # noqa: E402
from udp_proxy import Impairment, UdpProxy  # noqa: E402

LOSSY_CLIENT = os.path.join(TOOLS, "lossy_client.py")
DUPLICATE = 0.1     # probability a datagram is sent twice, each direction
REORDER = 0.1       # probability a datagram is held back behind the next one
ECDHE_PEERS = ("openssl-ecdhe", "gnutls-ecdhe")
# gnutls-serv: ECDHE-ECDSA with AES-128-CCM-8 only (as tests_host/test_interop_ecdhe.py)
GNUTLS_ECDHE_PRIORITY = ("NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:"
                         "+AES-128-CCM-8:-MAC-ALL:+AEAD")
_pki = None
_pki_lock = threading.Lock()


def pki_dir():
    """A throw-away test PKI (tests_host/certs/make_certs.sh), made once per process and
    removed at exit; adds chain.pem (int2 + int1) and fullchain.pem (leaf + int2 + int1)."""
    global _pki
    with _pki_lock:
        if _pki is None:
            out = tempfile.mkdtemp(prefix="soak-pki-")
            atexit.register(shutil.rmtree, out, True)
            subprocess.run(["sh", os.path.join(ROOT, "tests_host", "certs", "make_certs.sh"),
                            out], check=True, capture_output=True)

            def read(name):
                with open(os.path.join(out, name), "rb") as f:
                    return f.read()
            for name, parts in (("chain.pem", ("int2.pem", "int1.pem")),
                                ("fullchain.pem", ("leaf.pem", "int2.pem", "int1.pem"))):
                with open(os.path.join(out, name), "wb") as f:
                    f.write(b"".join(read(p) for p in parts))
            _pki = out
        return _pki


def openssl_ecdhe_server(pki):
    """`openssl s_server` with the leaf and its two intermediates, ECDHE-ECDSA-AES128-CCM8,
    one connection (-naccept 1)."""
    peers._need_program("openssl")
    port = peers.free_port()
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port,
           "-cert", os.path.join(pki, "leaf.pem"), "-cert_chain", os.path.join(pki, "chain.pem"),
           "-key", os.path.join(pki, "leaf.key"), "-cipher", "ECDHE-ECDSA-AES128-CCM8",
           "-naccept", "1"]
    return peers.Peer("openssl", peers._line_buffered(cmd), port, "", b"", stdin=True)


def gnutls_ecdhe_server(pki):
    """`gnutls-serv --echo` with the same 3-certificate chain, ECDHE-ECDSA CCM_8 only."""
    return peers.gnutls_server(priority=GNUTLS_ECDHE_PRIORITY, extra_args=[
        "--x509certfile", os.path.join(pki, "fullchain.pem"),
        "--x509keyfile", os.path.join(pki, "leaf.key")])


def impairment(loss, duplicate=DUPLICATE, reorder=REORDER, corrupt=0.0):
    return {"loss": loss, "duplicate": duplicate, "reorder": reorder, "corrupt": corrupt}


def _proxy_impairment(imp):
    return Impairment(imp["loss"], imp["duplicate"], imp["reorder"])


def add_corruption(proxy, probability, seed):
    """Flips one random bit in each datagram with `probability`, per direction, before the
    proxy's own impairments (tools/udp_proxy.py has no corruption). Seeded like the proxy;
    counted as counts["corrupted"]."""
    if not probability:
        return
    for name, direction in proxy.directions.items():
        rng = random.Random("%s/%s/corrupt" % (seed, name))
        direction.counts["corrupted"] = 0
        handle = direction.handle

        def corrupting(data, send, direction=direction, rng=rng, handle=handle):
            flip = rng.random() < probability
            where = rng.random()
            bit = rng.randrange(8)
            if flip and data:
                b = bytearray(data)
                b[int(where * len(b))] ^= 1 << bit
                data = bytes(b)
                direction.counts["corrupted"] += 1
            handle(data, send)
        direction.handle = corrupting


def proxy_main(argv):
    """`soak.py proxy --corrupt P [udp_proxy.py options]`: the proxy CLI with corruption."""
    corrupt = 0.0
    if argv[:1] == ["--corrupt"]:
        corrupt = float(argv[1])
        argv = argv[2:]
    seed = argv[argv.index("--seed") + 1] if "--seed" in argv else "0"
    init = UdpProxy.__init__

    def init_with_corruption(self, *a, **kw):
        init(self, *a, **kw)
        add_corruption(self, corrupt, seed)
    UdpProxy.__init__ = init_with_corruption
    return udp_proxy.main(argv)


def _client_cmd(port, records, timeout_s, echo_wait_ms, heap_every, size, ca=None):
    cmd = [mp.micropython_path(), LOSSY_CLIENT, "127.0.0.1", str(port),
           "--records", str(records), "--timeout", str(timeout_s),
           "--echo-wait", str(echo_wait_ms), "--heap-every", str(heap_every),
           "--size", str(size)]
    if ca:
        cmd += ["--ca", ca]
    return cmd


def _run_client(cmd, prefix, wall_s):
    t0 = time.monotonic()
    try:
        res = subprocess.run(list(prefix) + cmd, capture_output=True, text=True,
                             timeout=wall_s, env=mp.mp_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "client did not finish within %d s" % wall_s}
    lines = res.stdout.strip().splitlines()
    try:
        out = json.loads(lines[-1])
    except (IndexError, ValueError):
        out = {"ok": False, "error": "client crashed (exit %d): %s %s" % (
            res.returncode, res.stdout[-500:], res.stderr[-500:])}
    if "Traceback" in res.stderr or "FATAL" in res.stderr:
        out["ok"] = False
        out["error"] = "traceback: " + res.stderr[-500:]
    out["wall_ms"] = int((time.monotonic() - t0) * 1000)
    return out


def openssl_session(imp, seed, records=0, timeout_s=60, echo_wait_ms=0, heap_every=0,
                    size=64, ecdhe=False):
    """One session through an in-process proxy to a fresh `openssl s_server` (PSK, or
    with ecdhe=True the certificate server of openssl_ecdhe_server)."""
    ca = None
    if ecdhe:
        ca = os.path.join(pki_dir(), "root.pem")
        peer = openssl_ecdhe_server(pki_dir())
    else:
        peer = peers.openssl_server(naccept=1)
    try:
        proxy = UdpProxy(peer.port, seed=seed, client_to_server=_proxy_impairment(imp),
                         server_to_client=_proxy_impairment(imp))
        add_corruption(proxy, imp.get("corrupt", 0.0), seed)
        with proxy:
            out = _run_client(_client_cmd(proxy.port, records, timeout_s, echo_wait_ms,
                                          heap_every, size, ca), (), timeout_s + 60)
            out["proxy"] = proxy.stats()
    finally:
        peer.stop()
    out.update(peer="openssl-ecdhe" if ecdhe else "openssl", seed=seed, loss=imp["loss"])
    return out


def gnutls_session(imp, seed, records=0, timeout_s=60, echo_wait_ms=300, heap_every=0,
                   size=64, ecdhe=False):
    """One session through a proxy process inside a fresh GnuTLS server's namespace
    (one `gnutls-serv` handles one handshake at a time: others get no answer meanwhile).
    ecdhe=True: the certificate server of gnutls_ecdhe_server."""
    ca = None
    if ecdhe:
        ca = os.path.join(pki_dir(), "root.pem")
        peer = gnutls_ecdhe_server(pki_dir())
    else:
        peer = peers.gnutls_server()
    stats = tempfile.NamedTemporaryFile(prefix="proxy-", suffix=".json", delete=False)
    stats.close()
    cmd = [sys.executable, os.path.abspath(__file__), "proxy",
           "--corrupt", str(imp.get("corrupt", 0.0)), "--upstream", str(peer.port),
           "--seed", str(seed), "--stats-json", stats.name]
    for d in ("c2s", "s2c"):
        cmd += ["--loss-" + d, str(imp["loss"]), "--dup-" + d, str(imp["duplicate"]),
                "--reorder-" + d, str(imp["reorder"])]
    proxy = None
    try:
        proxy = peers.Process(peer.prefix + cmd)
        if not proxy.wait_for("listening on", 10):
            raise RuntimeError("proxy did not start: " + proxy.output())
        port = int(proxy.output().split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
        out = _run_client(_client_cmd(port, records, timeout_s, echo_wait_ms, heap_every,
                                      size, ca), peer.prefix, timeout_s + 60 + records)
    finally:
        if proxy is not None:
            proxy.stop()
        peer.stop()
        try:
            with open(stats.name) as f:
                out_stats = json.load(f)
        except (OSError, ValueError):
            out_stats = None
        os.unlink(stats.name)
    out["proxy"] = out_stats
    out.update(peer="gnutls-ecdhe" if ecdhe else "gnutls", seed=seed, loss=imp["loss"])
    return out


def run_sessions(jobs, parallel=4):
    """jobs: list of zero-argument callables; returns their results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda job: job(), jobs))


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100 * (len(v) - 1)))))
    return v[k]


def summarize(results):
    """Completion rate and handshake time distribution of a list of session results."""
    done = [r for r in results if r.get("ok")]
    times = [r["handshake_ms"] for r in done]
    s = {"sessions": len(results), "completed": len(done),
         "corrupted_datagrams": sum(
             ((r.get("proxy") or {}).get(d) or {}).get("corrupted", 0)
             for r in results for d in ("client_to_server", "server_to_client")),
         "completion": len(done) / len(results) if results else 0.0,
         "handshake_ms": {"min": min(times) if times else None,
                          "p50": percentile(times, 50), "p90": percentile(times, 90),
                          "max": max(times) if times else None},
         "sent": sum(r.get("sent", 0) for r in done),
         "received": sum(r.get("received", 0) for r in done),
         "duplicates": sum(r.get("duplicates", 0) for r in done),
         "corrupted": sum(r.get("corrupted", 0) for r in done),
         "foreign": sum(r.get("foreign", 0) for r in done),
         "failures": [(r.get("seed"), r.get("error")) for r in results if not r.get("ok")]}
    return s


def format_row(peer, loss, s):
    h = s["handshake_ms"]
    row = "%-8s %3d%%  %3d/%-3d (%5.1f%%)  handshake ms p50 %s p90 %s max %s" % (
        peer, round(loss * 100), s["completed"], s["sessions"], 100 * s["completion"],
        h["p50"], h["p90"], h["max"])
    if s["sent"]:
        row += "  records %d sent, %d echoed, %d duplicated, %d corrupted" % (
            s["sent"], s["received"], s["duplicates"], s["corrupted"])
    if s["corrupted_datagrams"]:
        row += "  (%d datagrams corrupted in transit)" % s["corrupted_datagrams"]
    return row


def sweep(peer_names, losses, seeds, records=0, parallel=6, timeout_s=60, seed_prefix="sweep",
          corrupt=0.0):
    """Runs `seeds` sessions per peer and loss rate (a list of rates, or of (rate, seeds)
    pairs), all in one pool; returns {(peer, loss): (summary, results)}."""
    levels = [lv if isinstance(lv, tuple) else (lv, seeds) for lv in losses]
    jobs = []
    keys = []
    # the slowest levels first, so that their long sessions overlap the short ones
    for loss, n in sorted(levels, key=lambda lv: -lv[0]):
        for name in peer_names:
            imp = impairment(loss, corrupt=corrupt)
            for i in range(n):
                seed = "%s-%s-%g-%d" % (seed_prefix, name, loss, i)
                ecdhe = name.endswith("-ecdhe")
                if name.startswith("gnutls"):
                    jobs.append(lambda imp=imp, seed=seed, ecdhe=ecdhe: gnutls_session(
                        imp, seed, records=records, timeout_s=timeout_s, ecdhe=ecdhe))
                else:
                    jobs.append(lambda imp=imp, seed=seed, ecdhe=ecdhe: openssl_session(
                        imp, seed, timeout_s=timeout_s, ecdhe=ecdhe))
                keys.append((name, loss))
    t0 = time.monotonic()
    results = run_sessions(jobs, parallel)
    wall = round(time.monotonic() - t0, 1)
    table = {}
    for name in peer_names:
        for loss, _ in levels:
            mine = [r for k, r in zip(keys, results) if k == (name, loss)]
            summary = summarize(mine)
            summary["wall_s"] = wall
            table[(name, loss)] = (summary, mine)
    return table


def soak(records=10000, loss=0.05, heap_every=1000, echo_wait_ms=100, size=64):
    """One long session against gnutls-serv --echo through the proxy."""
    return gnutls_session(impairment(loss), "soak", records=records, timeout_s=60,
                          echo_wait_ms=echo_wait_ms, heap_every=heap_every, size=size)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["proxy"]:
        return proxy_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sw = sub.add_parser("sweep")
    sw.add_argument("--seeds", type=int, default=100)
    sw.add_argument("--loss", default="0.1,0.2,0.3")
    sw.add_argument("--peers", default="openssl,gnutls," + ",".join(ECDHE_PEERS))
    sw.add_argument("--records", type=int, default=20)
    sw.add_argument("--parallel", type=int, default=12)
    sw.add_argument("--timeout", type=int, default=60, help="handshake timeout, seconds")
    sw.add_argument("--corrupt", type=float, default=0.0,
                    help="probability of one flipped bit per datagram, each way")
    sw.add_argument("--json")
    so = sub.add_parser("soak")
    so.add_argument("--records", type=int, default=10000)
    so.add_argument("--loss", type=float, default=0.05)
    so.add_argument("--json")
    args = ap.parse_args(argv)
    if args.cmd == "sweep":
        losses = [float(x) for x in args.loss.split(",")]
        t0 = time.monotonic()
        table = sweep(args.peers.split(","), losses, args.seeds, records=args.records,
                      parallel=args.parallel, timeout_s=args.timeout, corrupt=args.corrupt)
        print("duplication %d%%, reordering %d%%, corruption %g%% each way; %d seeds per row; "
              "handshake timeout %d s; %.0f s" % (DUPLICATE * 100, REORDER * 100,
                                                  args.corrupt * 100, args.seeds, args.timeout,
                                                  time.monotonic() - t0))
        report = []
        for (name, loss), (s, results) in table.items():
            print(format_row(name, loss, s))
            for seed, err in s["failures"]:
                print("    failed: seed %s: %s" % (seed, err))
            report.append({"peer": name, "loss": loss, "summary": s, "sessions": results})
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
        ok = all(s["duplicates"] == 0 and s["corrupted"] == 0 for s, _ in table.values())
        return 0 if ok else 1
    r = soak(args.records, args.loss)
    print("soak: %d records at %d%% loss each way (dup %d%%, reorder %d%%): ok=%s" % (
        args.records, args.loss * 100, DUPLICATE * 100, REORDER * 100, r.get("ok")))
    print("  handshake %s ms, data %s ms, %d sent, %d echoed, %d duplicated, %d corrupted, "
          "%d foreign%s" % (r.get("handshake_ms"), r.get("data_ms"), r.get("sent", 0),
                            r.get("received", 0), r.get("duplicates", 0),
                            r.get("corrupted", 0), r.get("foreign", 0),
                            ("; error: " + r["error"]) if r.get("error") else ""))
    heap = r.get("heap", [])
    print("  heap after gc.collect() (records done: bytes allocated): " +
          ", ".join("%d: %d" % (i, b) for i, b in heap))
    if len(heap) >= 3:
        later = [b for _, b in heap[1:]]
        print("  growth from record %d to %d: %d bytes" % (heap[1][0], heap[-1][0],
                                                           later[-1] - later[0]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0 if r.get("ok") and not r.get("duplicates") and not r.get("corrupted") else 1


if __name__ == "__main__":
    sys.exit(main())
