"""Coverage-guided fuzzing of the sans-I/O core with atheris (libFuzzer for CPython).

    python tools/fuzz.py [--runs N] [--targets datagram,fragments,client,x509] [--jobs J]
    python tools/fuzz.py --target NAME [libFuzzer options...]      (one target, in-process)

The first form runs each target in its own process for N inputs (default 250000 each:
1,000,000 in all, `make fuzz`), prints the executions and time per target and the total,
and exits non-zero if any target crashed. A crash is any exception other than the
library's own (DTLSError; ValueError for the X.509/DER parser); libFuzzer writes the input
to build/fuzz/crash-* : keep it under tests_host/fuzz_regressions/NAME/ as a regression.

Targets (the code under test is instrumented for coverage):
  datagram   parse_datagram and RecordLayer.unprotect with epoch-1 keys on every record
  fragments  parse_fragments and Reassembler.add/pop on every fragment
  client     the client fed the server flights of a genuine handshake (plain PSK, or with
             heartbeat negotiated and a request after the handshake) with the input
             either replacing one datagram or driving up to three structured mutations
             (bit/byte/length/insert/drop/swap/reframed body/resealed record)
  x509       dtls.x509 Certificate, parse_spki and parse_ec_private_key
Corpora are kept in build/fuzz/corpus/NAME and seeded from genuine inputs.
"""
import argparse
import os
import re
import subprocess
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
LIB = os.path.join(ROOT, "lib")
TESTS = os.path.join(ROOT, "tests_host")
BUILD = os.path.join(ROOT, "build", "fuzz")
REGRESSIONS = os.path.join(TESTS, "fuzz_regressions")
TARGETS = ("datagram", "fragments", "client", "x509")


# ------------------------------------------------------------------ targets

def _imports():
    import atheris
    sys.path.insert(0, LIB)
    sys.path.insert(0, TESTS)
    with atheris.instrument_imports(include=["dtls"]):
        import dtls.client  # noqa: F401
        import dtls.handshake  # noqa: F401
        import dtls.record  # noqa: F401
        import dtls.x509  # noqa: F401
    return atheris


def target_datagram():
    from dtls.errors import DTLSError
    from dtls.record import EpochCipher, RecordLayer, parse_datagram
    layer = RecordLayer()
    layer.start_read_epoch(1, EpochCipher(bytes(range(16)), b"salt", 8))

    def one(data):
        try:
            for ctype, version, epoch, seq, seq8, frag in parse_datagram(data):
                assert len(frag) <= 18432
                layer.unprotect(ctype, version, epoch, seq, seq8, frag)
        except DTLSError:
            pass
    seeds = [bytes.fromhex("17fefd0001000000000005001a") + bytes(26),
             bytes.fromhex("16fefd000000000000000100010e")]
    return one, seeds


def target_fragments():
    from dtls.errors import DTLSError
    from dtls.handshake import Reassembler, fragments, parse_fragments

    def one(data):
        r = Reassembler(2048, window=4)
        r.reset(data[0] % 4 if data else 0)
        # one input = several handshake records, separated at 0xFE 0xFE
        for payload in data[1:].split(b"\xfe\xfe"):
            try:
                frags = parse_fragments(payload)
            except DTLSError:
                continue
            for t, length, seq, off, body in frags:
                r.add(t, length, seq, off, body)
                assert sum(len(p.body) for p in r._partial.values()) <= r.budget
            while r.pop() is not None:
                pass
    body = bytes(range(200))
    seeds = [b"\x01" + b"\xfe\xfe".join(fragments(11, 1, body, 60)),
             b"\x00" + fragments(2, 0, body[:40], 100)[0]]
    return one, seeds


def target_client():
    import flights
    scripts = [(v,) + flights.genuine_script(v) for v in flights.VARIANTS]
    kinds = flights.MUTATION_KINDS
    import atheris

    def one(data):
        if not data:
            return
        fdp = atheris.FuzzedDataProvider(data)
        variant, script, server = scripts[fdp.ConsumeIntInRange(0, len(scripts) - 1)]
        mode = fdp.ConsumeIntInRange(0, 3)
        s = list(script)
        if mode == 0:
            # the rest of the input replaces one server datagram
            k = fdp.ConsumeIntInRange(0, len(s) - 1)
            s[k] = fdp.ConsumeBytes(fdp.remaining_bytes())
        else:
            for _ in range(mode):
                kind = kinds[fdp.ConsumeIntInRange(0, len(kinds) - 1)]
                s = flights.apply_mutation(s, server, kind, fdp.ConsumeIntInRange(0, 7),
                                           fdp.ConsumeIntInRange(0, 1 << 12),
                                           fdp.ConsumeIntInRange(0, 300),
                                           fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 24)))
        # only DTLSError is caught there; anything else is a crash
        flights.replay(s, variant=variant)
    seeds = [bytes([0, 0, 1]) + scripts[0][1][1], bytes([1, 1, 7, 0, 3, 0, 10, 5]),
             bytes([3]) * 40]
    return one, seeds


def target_x509():
    from dtls import x509

    def one(data):
        for parse in (x509.Certificate, x509.parse_spki, x509.parse_ec_private_key):
            try:
                parse(data)
            except ValueError:
                pass
    return one, _x509_seeds()


def _x509_seeds():
    """A P-256 certificate, its SubjectPublicKeyInfo and key, made here (DER)."""
    import datetime
    from cryptography import x509 as cx
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    name = cx.Name([cx.NameAttribute(cx.NameOID.COMMON_NAME, "fuzz")])
    now = datetime.datetime(2025, 1, 1)
    cert = (cx.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(cx.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(cx.SubjectAlternativeName([cx.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    der = serialization.Encoding.DER
    return [cert.public_bytes(der),
            key.public_key().public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo),
            key.private_bytes(der, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())]


def run_target(name, libfuzzer_args):
    atheris = _imports()
    one, seeds = globals()["target_" + name]()
    corpus = os.path.join(BUILD, "corpus", name)
    os.makedirs(corpus, exist_ok=True)
    for i, s in enumerate(seeds):
        path = os.path.join(corpus, "seed-%d" % i)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(s)
    regressions = os.path.join(REGRESSIONS, name)
    dirs = [corpus] + ([regressions] if os.path.isdir(regressions) else [])
    args = [sys.argv[0]] + list(libfuzzer_args) + \
        ["-artifact_prefix=" + os.path.join(BUILD, "crash-%s-" % name)] + dirs
    atheris.Setup(args, one)
    atheris.Fuzz()


# ------------------------------------------------------------------ driver

def run_all(targets, runs, jobs, seed):
    os.makedirs(BUILD, exist_ok=True)
    procs = {}
    results = {}
    pending = list(targets)
    t0 = time.monotonic()
    while pending or procs:
        while pending and len(procs) < jobs:
            name = pending.pop(0)
            # one log per driver process, so that two runs at once do not mix their logs
            log = open(os.path.join(BUILD, "%s.%d.log" % (name, os.getpid())), "w+")
            cmd = [sys.executable, os.path.abspath(__file__), "--target", name,
                   "-runs=%d" % runs, "-seed=%d" % seed, "-max_len=1024",
                   "-print_final_stats=1"]
            procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL), log, time.monotonic())
        for name, (p, log, started) in list(procs.items()):
            if p.poll() is None:
                continue
            log.seek(0)
            text = log.read()
            log.close()
            m = re.search(r"Done (\d+) runs in (\d+) second", text)
            execs = int(m.group(1)) if m else 0
            results[name] = {"exit": p.returncode, "runs": execs,
                             "seconds": round(time.monotonic() - started, 1),
                             "crash": p.returncode != 0, "log": text[-3000:]}
            del procs[name]
        time.sleep(0.2)
    return results, time.monotonic() - t0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--target"]:
        run_target(argv[1], argv[2:])
        return 0
    ap = argparse.ArgumentParser(description="atheris fuzzing of the dtls core")
    ap.add_argument("--runs", type=int, default=250000, help="inputs per target")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--jobs", type=int, default=2, help="targets run at once")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    results, wall = run_all(args.targets.split(","), args.runs, args.jobs, args.seed)
    total = 0
    bad = False
    for name in args.targets.split(","):
        r = results[name]
        total += r["runs"]
        status = "CRASH (see build/fuzz/%s.%d.log)" % (name, os.getpid()) if r["crash"] \
            else "ok"
        print("%-10s %9d inputs in %6.1f s  %s" % (name, r["runs"], r["seconds"], status))
        if r["crash"]:
            bad = True
            print(r["log"])
    print("total      %9d inputs in %6.1f s" % (total, wall))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
