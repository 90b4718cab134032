"""Copy microdtls packages, the C module, credentials and an application to a board with
mpremote (CPython, host side).

    python tools/deploy.py [--device PORT] [--packages dtls,coap] [--mpy] [--natmod ARCH]
                           [--credentials DIR] [--file LOCAL[:REMOTE]]... [--main FILE]
                           [--target /lib] [--reset] [--dry-run] [--mpremote CMD]

    --packages LIST     dtls (PSK base, blocking driver), dtls-aio (asyncio driver),
                        dtls-ecc (ECDHE-ECDSA, X.509), coap; what a package requires
                        comes along (coap brings dtls and dtls-aio). Default: dtls.
    --mpy               install the .mpy files from `make dist` (dist/mpy/<package>)
                        instead of the .py sources: faster imports, less RAM to load
    --natmod ARCH       also install dist/ARCH_6.3/_dtlscrypto.mpy (`make natmod`): x64,
                        armv6m (RP2040), armv7emsp, xtensawin (ESP32); "auto" asks the
                        board for its architecture
    --credentials DIR   copy the files of DIR (tools/credentials.py's device/) to
                        /credentials on the board; CA and server private keys and the
                        server's PSK table are refused
    --file L[:R]        copy one more file (R defaults to /<basename of L>)
    --main FILE         copy FILE to /main.py (e.g. tools/examples/esp32/main.py)
    --target DIR        where packages go (default: the board's first sys.path entry
                        ending in /lib, as mip does)
    --reset             soft-reset the board at the end
    --dry-run           print what would be copied and the mpremote command, run nothing
    --mpremote CMD      the mpremote to run (default: .venv/bin/mpremote, else PATH)

Packages go through `mpremote mip install <local package.json>`, which creates the
directories and follows the package.json lists; other files through `mpremote fs cp`.
Everything runs as one mpremote command (one connection).
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packages  # noqa: E402

ROOT = packages.ROOT
MPY_ABI = "6.3"
# sys.implementation._mpy bits 10..13 (MP_NATIVE_ARCH_*, py/persistentcode.h).
ARCHS = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
         7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc",
         12: "rv64imc"}
# Never put these on a device: they authenticate the CA or the server, or list every
# device's PSK (tools/credentials.py writes them to ca/ and server/).
REFUSED_CREDENTIALS = ("ca-key.pem", "server-key.pem", "psk.passwd")


class DeployError(Exception):
    pass


def find_mpremote(explicit=None):
    if explicit:
        return shlex.split(explicit)
    venv = os.path.join(ROOT, ".venv", "bin", "mpremote")
    if os.path.exists(venv):
        return [venv]
    found = shutil.which("mpremote")
    if not found:
        raise DeployError("mpremote not found (make setup installs it in .venv)")
    return [found]


def package_jsons(names, mpy):
    """[(package name, local package.json path)] in install order."""
    out = []
    for name in packages.with_requirements(names):
        if mpy:
            path = os.path.join(ROOT, "dist", "mpy", name, "package.json")
            if not os.path.exists(path):
                raise DeployError("%s missing: run `make dist` first" % os.path.relpath(path))
        else:
            path = os.path.join(ROOT, packages.PACKAGES[name])
        out.append((name, path))
    return out


def staged_json(stage, name, files):
    """Writes a package.json in a staging directory for loose files (credentials, the C
    module), so mip installs them like a package: [(local path, target name)]."""
    d = os.path.join(stage, name)
    os.makedirs(d)
    urls = []
    for src, target in files:
        shutil.copyfile(src, os.path.join(d, target))
        urls.append([target, target])
    path = os.path.join(d, "package.json")
    with open(path, "w") as f:
        json.dump({"urls": urls, "deps": [], "version": "0"}, f)
    return path


def credential_files(directory):
    if not os.path.isdir(directory):
        raise DeployError("--credentials: %s is not a directory" % directory)
    files = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        if name in REFUSED_CREDENTIALS:
            raise DeployError("--credentials: refusing to copy %s to a device (it belongs to "
                              "the CA or the server); pass the device/ directory" % name)
        files.append((path, name))
    if not files:
        raise DeployError("--credentials: %s has no files" % directory)
    return files


def board_arch(mpremote, device):
    cmd = mpremote + (["connect", device] if device else []) + [
        "exec", "import sys; print(sys.implementation._mpy)"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise DeployError("cannot ask the board for its architecture: %s" % res.stderr.strip())
    try:
        mpy = int(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise DeployError("unexpected answer from the board: %r" % res.stdout)
    arch = ARCHS.get((mpy >> 10) & 0x0F)
    if arch is None:
        raise DeployError("the board's firmware has no native code support (_mpy=%d)" % mpy)
    return arch


def stale_cleanup(names, mpy, target):
    """MicroPython imports foo.py before foo.mpy: code that removes the other kind of file
    an earlier deployment left, so it cannot shadow what we install."""
    other = ".py" if mpy else ".mpy"
    stems = []
    for name in packages.with_requirements(names):
        for _, tgt in packages.files(name):
            stems.append(tgt[:-3])
    if target:
        find = 't = "%s"\n' % target
    else:   # as mip does: the first sys.path entry ending in /lib
        find = ('t = "/lib"\n'
                'for p in sys.path:\n'
                '    if p.endswith("/lib"):\n'
                '        t = p\n'
                '        break\n')
    return ("import os, sys\n" + find +
            'for f in "%s".split():\n'
            '    try:\n'
            '        os.remove(t + "/" + f + "%s")\n'
            '    except OSError:\n'
            '        pass\n' % (" ".join(stems), other))


def plan(args, stage, mpremote):
    """The list of (what, local path, remote path) and the mpremote argv."""
    names = [n.strip() for n in args.packages.split(",") if n.strip()]
    rows = []
    argv = list(mpremote)
    if args.device:
        argv += ["connect", args.device]
    steps = [["exec", stale_cleanup(names, args.mpy, args.target)]]
    target_args = ["--target", args.target] if args.target else []
    for name, pj in package_jsons(names, args.mpy):
        with open(pj) as f:
            urls = json.load(f)["urls"]
        base = os.path.dirname(pj)
        for tgt, url in urls:
            rows.append((name, os.path.normpath(os.path.join(base, url)),
                         (args.target or "<lib>") + "/" + tgt))
        steps.append(["mip", "install"] + target_args + [pj])
    if args.natmod:
        arch = args.natmod
        if arch == "auto":
            if args.dry_run:
                raise DeployError("--natmod auto asks the board: give the architecture with "
                                  "--dry-run")
            arch = board_arch(mpremote, args.device)
        src = os.path.join(ROOT, "dist", "%s_%s" % (arch, MPY_ABI), "_dtlscrypto.mpy")
        if not os.path.exists(src):
            raise DeployError("%s missing: run `make natmod` (or NATMOD_ARCHS=%s)"
                              % (os.path.relpath(src), arch))
        rows.append(("natmod", src, (args.target or "<lib>") + "/_dtlscrypto.mpy"))
        steps.append(["mip", "install"] + target_args +
                     [staged_json(stage, "natmod", [(src, "_dtlscrypto.mpy")])])
    if args.credentials:
        files = credential_files(args.credentials)
        for src, name in files:
            rows.append(("credentials", src, "/credentials/" + name))
        steps.append(["mip", "install", "--target", "/credentials",
                      staged_json(stage, "credentials", files)])
    extra = list(args.file)
    if args.main:
        extra.append(args.main + ":/main.py")
    for spec in extra:
        local, _, remote = spec.partition(":")
        if not os.path.isfile(local):
            raise DeployError("no such file: %s" % local)
        remote = remote or "/" + os.path.basename(local)
        if not remote.startswith("/"):
            remote = "/" + remote
        rows.append(("file", local, remote))
        steps.append(["fs", "cp", local, ":" + remote])
    if args.reset:
        steps.append(["soft-reset"])
    for i, step in enumerate(steps):
        if i:
            argv.append("+")
        argv += step
    return rows, argv


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", help="serial port or mpremote shortcut (default: auto)")
    ap.add_argument("--packages", default="dtls")
    ap.add_argument("--mpy", action="store_true")
    ap.add_argument("--natmod")
    ap.add_argument("--credentials")
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--main")
    ap.add_argument("--target")
    ap.add_argument("--reset", action="store_true")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--mpremote")
    args = ap.parse_args(argv)
    stage = tempfile.mkdtemp(prefix="microdtls-deploy-")
    try:
        try:
            mpremote = find_mpremote(args.mpremote) if not args.dry_run else \
                (shlex.split(args.mpremote) if args.mpremote else ["mpremote"])
            rows, cmd = plan(args, stage, mpremote)
        except (DeployError, ValueError) as e:
            sys.stderr.write("error: %s\n" % e)
            return 2
        total = 0
        for what, local, remote in rows:
            size = os.path.getsize(local)
            total += size
            print("%-12s %7d  %s -> %s" % (what, size, os.path.relpath(local), remote))
        print("%-12s %7d  bytes in %d files" % ("total", total, len(rows)))
        if args.dry_run:
            print(" ".join(shlex.quote(a) for a in cmd))
            return 0
        return subprocess.run(cmd).returncode
    finally:
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
