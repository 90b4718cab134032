"""The micro-benchmarks of `make bench`, run on a real board over mpremote (CPython, host side).

    python tools/board_bench.py [--device PORT] [--natmod ARCH|auto] [--mpy] [--no-deploy]
                                [--serve] [--host IP] [--port N] [--wifi SSID]
                                [--identity ID] [--key HEX] [--runs N] [--quick]
                                [--skip-crypto] [--json FILE] [--mpremote CMD]
                                [--print-script] [--dry-run]

What it does, in order:
  1. copies the `dtls` and `dtls-ecc` packages to the board with tools/deploy.py (the .py
     sources, or with --mpy the .mpy files of `make dist`, which is what a product would
     ship); --no-deploy skips this (the board already has them, or frozen firmware);
  2. with --natmod ARCH (armv6m for RP2040, xtensawin for ESP32, or "auto" to ask the
     board) copies dist/ARCH_6.3/_dtlscrypto.mpy to /bench_natmod on the board, a folder
     that is not on sys.path: the first run then measures pure Python, the second run adds
     that folder to sys.path and measures the C module (`dtls.crypto_backend()` says which
     ran; a board whose firmware has the C module linked in always reports "native");
  3. with --serve starts `openssl s_server -dtls1_2` with PSK and AES-128-CCM-8 on this
     host (0.0.0.0:PORT, session cache on, no tickets) for the board to handshake with;
     --host gives the address the board reaches this host at (default: this host's
     outbound IPv4 address); without --serve and --host the handshake part is skipped;
  4. runs one generated MicroPython script per backend with `mpremote run`, which prints
     JSON lines: board info (platform, CPU frequency, free heap), AES-CCM-8 seal+open per
     record size and P-256 keygen/ECDH/sign/verify and the TLS PRF (the script of
     tools/bench_crypto.py, reused as is), the record path (dtls.record.EpochCipher
     seal+open of 64 B and 1 KiB records), and RUNS PSK handshakes plus as many resumed
     ones against the server, with the heap each open connection keeps;
  5. prints a table and writes build/board_bench.json (--json FILE to change).

The board needs a network for step 3/4: either its boot.py joins WiFi, or --wifi SSID joins
it in the script (password from the environment variable BOARD_WIFI_PASSWORD; it is put into
the temporary script that mpremote sends, never printed). --quick shortens the crypto
timings. --print-script prints the script of the first run and exits (the same script runs
under the unix port: tests_host/test_bench_tools.py runs it against a local server).
--dry-run prints the mpremote commands instead of running them.

Pure-Python P-256 takes seconds per operation on a Cortex-M0+: the crypto part of the pure
run can take minutes there; --skip-crypto leaves it out.
"""
import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_crypto  # noqa: E402  (its INNER script is the crypto micro-benchmark)
import deploy  # noqa: E402

ROOT = deploy.ROOT
BOARD_NATMOD_DIR = "/bench_natmod"
DEFAULT_IDENTITY = "Client_identity"
DEFAULT_KEY = "000102030405060708090a0b0c0d0e0f"

# ---------------------------------------------------------------- the script on the board
# Each section is plain MicroPython; they share one global namespace, so the sections after
# bench_crypto.INNER keep their names inside functions.

PRELUDE = r'''
import gc, json, sys, time
CONFIG = json.loads(%(config)r)
if CONFIG.get("natmod_dir"):
    sys.path.append(CONFIG["natmod_dir"])
# bench_crypto.INNER reads its "quick" flag from sys.argv (mpremote run passes none)
while len(sys.argv):
    sys.argv.pop()
sys.argv.extend(["board_bench", "quick" if CONFIG.get("quick") else "full"])
'''

WIFI_SECTION = r'''
def _join_wifi(ssid, password):
    import network
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        wlan.connect(ssid, password)
        t0 = time.ticks_ms()
        while not wlan.isconnected():
            if time.ticks_diff(time.ticks_ms(), t0) > 30000:
                raise OSError("WiFi: not connected after 30 s")
            time.sleep_ms(100)
    print(json.dumps({"wifi": wlan.ifconfig()[0]}))
_join_wifi(CONFIG["wifi_ssid"], CONFIG["wifi_password"])
'''

INFO_SECTION = r'''
def _board_info():
    info = {"platform": sys.platform, "version": sys.version,
            "mpy": getattr(sys.implementation, "_mpy", None)}
    try:
        import os
        info["machine"] = os.uname().machine
    except (ImportError, AttributeError):
        pass
    try:
        import machine
        info["freq_hz"] = machine.freq()
    except (ImportError, AttributeError):
        pass
    gc.collect()
    info["mem_free"] = gc.mem_free()
    info["mem_alloc"] = gc.mem_alloc()
    print(json.dumps({"info": info}))
_board_info()
'''

RECORD_SECTION = r'''
def _record_path(min_ms):
    """dtls.record.EpochCipher seal + open: what each application record costs (nonce and
    AAD built in place, CCM through the active backend)."""
    import dtls
    from dtls.record import EpochCipher
    cipher = EpochCipher(bytes(range(16)), bytes(4), 8)
    seq8 = b"\x00\x01\x00\x00\x00\x00\x00\x07"
    out = {"backend": dtls.crypto_backend()}
    for size in (64, 1024):
        pt = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
        frag = cipher.seal(seq8, 23, 0xFEFD, pt)
        if bytes(cipher.open(seq8, 23, 0xFEFD, memoryview(frag))) != pt:
            raise ValueError("record path: open(seal(x)) != x")
        n = 0
        t0 = time.ticks_us()
        while True:
            frag = cipher.seal(seq8, 23, 0xFEFD, pt)
            cipher.open(seq8, 23, 0xFEFD, memoryview(frag))
            n += 1
            dt = time.ticks_diff(time.ticks_us(), t0)
            if dt >= min_ms * 1000:
                break
        us = dt / n
        out["seal_open_%d_us" % size] = us
        out["seal_open_%d_kBps" % size] = 2 * size / us * 1e6 / 1024
    print(json.dumps({"record": out}))
_record_path(CONFIG.get("record_ms", 300))
'''

HANDSHAKE_SECTION = r'''
def _handshakes(cfg):
    """RUNS full PSK handshakes, each followed by a resumed one offering its session;
    the heap one open connection keeps (gc.collect + mem_alloc delta, Context excluded)."""
    import socket  # noqa: F401  (imported before measuring: what connect() loads)
    import dtls
    import dtls.connection  # noqa: F401
    ctx = dtls.Context(psk=(cfg["identity"], bytes.fromhex(cfg["key"])),
                       handshake_timeout_ms=cfg.get("handshake_timeout_ms", 30000))
    conn = None
    out = {"backend": dtls.crypto_backend(), "full_ms": [], "resume_ms": [],
           "resumed": 0, "conn_heap_bytes": [], "errors": []}
    for _ in range(cfg["runs"]):
        try:
            gc.collect()
            heap0 = gc.mem_alloc()
            t0 = time.ticks_us()
            conn = ctx.connect(cfg["host"], cfg["port"])
            out["full_ms"].append(time.ticks_diff(time.ticks_us(), t0) / 1000)
            gc.collect()
            out["conn_heap_bytes"].append(gc.mem_alloc() - heap0)
            session = conn.session
            conn.close()
            conn = None
            if session is None:
                continue
            t0 = time.ticks_us()
            conn = ctx.connect(cfg["host"], cfg["port"], session=session)
            out["resume_ms"].append(time.ticks_diff(time.ticks_us(), t0) / 1000)
            out["resumed"] += 1 if conn.resumed else 0
            conn.close()
            conn = None
        except Exception as e:  # reported as data, the host prints it
            out["errors"].append("%s: %s" % (type(e).__name__, e))
            conn = None
    print(json.dumps({"handshake": out}))
_handshakes(CONFIG)
'''


def device_script(config, crypto=True):
    """The MicroPython script for one run. config: natmod_dir, quick, record_ms, and for the
    handshake part host, port, identity, key, runs; wifi_ssid/wifi_password to join WiFi."""
    parts = [PRELUDE % {"config": json.dumps(config)}]
    if config.get("wifi_ssid"):
        parts.append(WIFI_SECTION)
    parts.append(INFO_SECTION)
    if crypto:
        parts.append(bench_crypto.INNER)
    parts.append(RECORD_SECTION)
    if config.get("host"):
        parts.append(HANDSHAKE_SECTION)
    return "\n".join(parts)


def parse_output(text):
    """Merges the JSON lines the script prints into one dict (other lines are ignored)."""
    result = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if "ccm8_16_us" in obj:  # bench_crypto.INNER's line
            result["crypto"] = obj
        else:
            result.update(obj)
    return result


# ---------------------------------------------------------------- host side

def outbound_ipv4():
    """This host's IPv4 address on its default route (no packet is sent)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: only selects the route
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


def server_command(port, identity, key_hex):
    """openssl s_server for the board: PSK, AES-128-CCM-8, every interface, session cache
    (resumption by session ID), serves one client after another until stopped."""
    return ["openssl", "s_server", "-dtls1_2", "-accept", "0.0.0.0:%d" % port, "-nocert",
            "-psk", key_hex, "-psk_identity", identity, "-psk_hint", "hint",
            "-cipher", "PSK-AES128-CCM8", "-no_ticket", "-quiet"]


def mpremote_command(args):
    if args.dry_run:
        return shlex.split(args.mpremote) if args.mpremote else ["mpremote"]
    return deploy.find_mpremote(args.mpremote)


def mpremote_base(args):
    """The mpremote command, connected to --device when given."""
    return mpremote_command(args) + (["connect", args.device] if args.device else [])


def deploy_argv(args):
    argv = ["--packages", "dtls-ecc"]
    if args.mpy:
        argv.append("--mpy")
    if args.device:
        argv += ["--device", args.device]
    if args.mpremote:
        argv += ["--mpremote", args.mpremote]
    if args.dry_run:
        argv.append("--dry-run")
    return argv


def natmod_copy_argv(args, base, arch):
    src = os.path.join(ROOT, "dist", "%s_%s" % (arch, deploy.MPY_ABI), "_dtlscrypto.mpy")
    if not os.path.exists(src):
        raise deploy.DeployError("%s missing: run `make natmod`" % os.path.relpath(src, ROOT))
    mkdir = "import os\ntry:\n    os.mkdir(%r)\nexcept OSError:\n    pass\n" % BOARD_NATMOD_DIR
    return base + ["exec", mkdir, "+", "fs", "cp", src,
                   ":%s/_dtlscrypto.mpy" % BOARD_NATMOD_DIR]


def run_configs(args, host):
    """[(label, config)] for the runs: pure Python, then the C module if --natmod."""
    common = {"quick": args.quick, "record_ms": 150 if args.quick else 400}
    if host:
        common.update({"host": host, "port": args.port, "identity": args.identity,
                       "key": args.key, "runs": args.runs})
    if args.wifi:
        common["wifi_ssid"] = args.wifi
        common["wifi_password"] = os.environ.get("BOARD_WIFI_PASSWORD", "")
    runs = [("default" if not args.natmod else "python", dict(common, natmod_dir=None))]
    if args.natmod:
        runs.append(("native", dict(common, natmod_dir=BOARD_NATMOD_DIR)))
    return runs


def run_on_board(base, script):
    fd, path = tempfile.mkstemp(suffix=".py", prefix="board_bench_")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(script)
        res = subprocess.run(base + ["run", path], capture_output=True, text=True)
    finally:
        os.unlink(path)  # it may hold the WiFi password
    if res.returncode != 0:
        raise RuntimeError("mpremote run failed (%d):\n%s%s"
                           % (res.returncode, res.stdout[-3000:], res.stderr[-3000:]))
    return res.stdout


def _median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else None


def print_report(label, r):
    info = r.get("info", {})
    print("== run %s: %s %s, %s Hz, %s bytes free" % (
        label, info.get("platform"), info.get("machine", ""), info.get("freq_hz", "?"),
        info.get("mem_free")))
    c = r.get("crypto")
    if c:
        print("  crypto backend %s" % c["backend"])
        for size in (16, 64, 256, 1024):
            print("  AES-CCM-8 seal+open %4d B   %10.1f us" % (size, c["ccm8_%d_us" % size]))
        for key, name in (("keygen_ms", "P-256 keygen"), ("ecdh_ms", "P-256 ECDH"),
                          ("sign_ms", "ECDSA sign"), ("verify_ms", "ECDSA verify")):
            print("  %-26s %10.1f ms" % (name, c[key]))
    rec = r.get("record")
    if rec:
        for size in (64, 1024):
            print("  record seal+open %4d B     %10.1f us (%.0f KiB/s)"
                  % (size, rec["seal_open_%d_us" % size], rec["seal_open_%d_kBps" % size]))
    hs = r.get("handshake")
    if hs:
        print("  PSK handshake (backend %s): median %s ms over %d; resumed median %s ms "
              "(%d of %d resumed); open connection keeps %s bytes of heap"
              % (hs["backend"], _median(hs["full_ms"]), len(hs["full_ms"]),
                 _median(hs["resume_ms"]), hs["resumed"], len(hs["resume_ms"]),
                 _median(hs["conn_heap_bytes"])))
        for e in hs["errors"]:
            print("  handshake error: %s" % e)


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", help="serial port or mpremote shortcut (default: auto)")
    ap.add_argument("--mpremote", help="the mpremote command (default: .venv/bin/mpremote)")
    ap.add_argument("--natmod", metavar="ARCH",
                    help="also measure the C module: armv6m, armv7emsp, xtensawin or auto")
    ap.add_argument("--mpy", action="store_true", help="deploy the .mpy files of make dist")
    ap.add_argument("--no-deploy", action="store_true", help="the board already has dtls")
    ap.add_argument("--serve", action="store_true",
                    help="start openssl s_server on this host for the handshakes")
    ap.add_argument("--host", help="address the board reaches the DTLS server at")
    ap.add_argument("--port", type=int, default=5684)
    ap.add_argument("--identity", default=DEFAULT_IDENTITY)
    ap.add_argument("--key", default=DEFAULT_KEY, help="PSK as hex")
    ap.add_argument("--wifi", metavar="SSID",
                    help="join this WiFi first (password: $BOARD_WIFI_PASSWORD)")
    ap.add_argument("--runs", type=int, default=5, help="handshakes per backend (default 5)")
    ap.add_argument("--quick", action="store_true", help="shorter crypto timings")
    ap.add_argument("--skip-crypto", action="store_true",
                    help="leave out CCM/P-256/PRF (minutes with pure P-256 on a Cortex-M0+)")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "board_bench.json"))
    ap.add_argument("--print-script", action="store_true",
                    help="print the first run's script and exit")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    return ap


def parse_args(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    try:
        if len(bytes.fromhex(args.key)) == 0:
            raise ValueError
    except ValueError:
        ap.error("--key must be a non-empty hex string")
    if not 0 < args.port < 65536:
        ap.error("--port out of range")
    if args.natmod == "auto" and args.dry_run:
        ap.error("--natmod auto asks the board: give the architecture with --dry-run")
    return args


def main(argv=None):
    args = parse_args(argv)
    host = args.host or (outbound_ipv4() if args.serve else None)
    runs = run_configs(args, host)
    if args.print_script:
        sys.stdout.write(device_script(runs[0][1], crypto=not args.skip_crypto))
        return 0
    base = mpremote_base(args)
    server = None
    try:
        if not args.no_deploy:
            rc = deploy.main(deploy_argv(args))
            if rc:
                return rc
        if args.natmod:
            arch = args.natmod
            if arch == "auto":
                arch = deploy.board_arch(mpremote_command(args), args.device)
            cmd = natmod_copy_argv(args, base, arch)
            if args.dry_run:
                print(" ".join(shlex.quote(a) for a in cmd))
            else:
                subprocess.run(cmd, check=True)
        if args.serve:
            cmd = server_command(args.port, args.identity, args.key)
            if args.dry_run:
                print(" ".join(shlex.quote(a) for a in cmd))
            else:
                server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE)
                time.sleep(0.5)
                if server.poll() is not None:
                    raise RuntimeError("openssl s_server stopped: %s"
                                       % server.stderr.read().decode(errors="replace")[-500:])
        results = {}
        for label, config in runs:
            if args.dry_run:
                print(" ".join(shlex.quote(a) for a in base + ["run", "<script %s>" % label]))
                continue
            out = run_on_board(base, device_script(config, crypto=not args.skip_crypto))
            results[label] = parse_output(out)
            print_report(label, results[label])
        if not args.dry_run:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
            print("written", args.json)
        return 0
    except (deploy.DeployError, RuntimeError, subprocess.CalledProcessError) as e:
        sys.stderr.write("error: %s\n" % e)
        return 2
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
