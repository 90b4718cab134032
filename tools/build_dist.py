"""Compile each package to .mpy with mpy-cross (`make dist`).

    python tools/build_dist.py [--out dist] [--mpy-cross PATH] [PACKAGE ...]

For each package (default: all of tools/packages.py) it writes
    dist/mpy/<package>/<target>.mpy      e.g. dist/mpy/dtls/dtls/client.mpy
    dist/mpy/<package>/package.json      mip package of the .mpy files (relative URLs):
                                         mpremote mip install dist/mpy/dtls/package.json
and prints the source and compiled sizes. The .mpy files hold bytecode only (no
@native/@viper code), so one build serves every architecture of the same .mpy version
(6.3 with the pinned mpy-cross). The C module per architecture is `make natmod`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packages  # noqa: E402


def find_mpy_cross():
    venv = os.path.join(packages.ROOT, ".venv", "bin", "mpy-cross")
    if os.path.exists(venv):
        return venv
    found = shutil.which("mpy-cross")
    if not found:
        sys.exit("error: mpy-cross not found (make setup installs it in .venv)")
    return found


def build(name, out_root, mpy_cross):
    """Compiles one package; returns (source bytes, mpy bytes, file count)."""
    out_dir = os.path.join(out_root, "mpy", name)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    urls = []
    src_total = mpy_total = 0
    for src, target in packages.files(name):
        mpy_target = target[:-3] + ".mpy"
        dest = os.path.join(out_dir, mpy_target)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        # -s names the source in tracebacks as on the device (dtls/client.py).
        res = subprocess.run([mpy_cross, "-o", dest, "-s", target, src],
                             capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit("error: mpy-cross %s failed:\n%s%s" % (src, res.stdout, res.stderr))
        src_total += os.path.getsize(src)
        mpy_total += os.path.getsize(dest)
        urls.append([mpy_target, mpy_target])
    meta = {"urls": urls, "deps": [], "version": packages.package_json(name)["version"]}
    with open(os.path.join(out_dir, "package.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return src_total, mpy_total, len(urls)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("packages", nargs="*", help="default: all (%s)" % ", ".join(packages.PACKAGES))
    ap.add_argument("--out", default=os.path.join(packages.ROOT, "dist"))
    ap.add_argument("--mpy-cross", default=None)
    args = ap.parse_args(argv)
    names = args.packages or list(packages.PACKAGES)
    for n in names:
        if n not in packages.PACKAGES:
            ap.error("unknown package %s" % n)
    mpy_cross = args.mpy_cross or find_mpy_cross()
    print("%-10s %5s %10s %10s  %s" % ("package", "files", "source B", ".mpy B", "output"))
    for n in names:
        src, mpy, count = build(n, args.out, mpy_cross)
        print("%-10s %5d %10d %10d  %s" % (n, count, src, mpy,
                                            os.path.relpath(os.path.join(args.out, "mpy", n))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
