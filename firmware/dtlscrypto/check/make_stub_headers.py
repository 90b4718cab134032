"""Stub generated headers for compiling a user C module outside a port build.

A real build generates genhdr/qstrdefs.generated.h, moduledefs.h, root_pointers.h and
mpversion.h by scanning every source; here only the binding is checked, so the qstrs are
collected from it and from the py/ headers, and the rest is empty.

    python3 make_stub_headers.py moddtlscrypto.c OUTDIR  (MPY_DIR in the environment or argv[3])
"""
import os
import re
import sys

src, out = sys.argv[1], sys.argv[2]
mpy_dir = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("MPY_DIR", "")
names = set(re.findall(r"MP_QSTR_(\w+)", open(src).read()))
for root in (os.path.join(mpy_dir, "py"),):
    for f in os.listdir(root):
        if f.endswith(".h"):
            names |= set(re.findall(r"MP_QSTR_(\w+)", open(os.path.join(root, f)).read()))
os.makedirs(os.path.join(out, "genhdr"), exist_ok=True)
with open(os.path.join(out, "genhdr", "qstrdefs.generated.h"), "w") as f:
    f.write("QDEF0(MP_QSTRnull, 0, 0, \"\")\nQDEF0(MP_QSTR_, 0, 0, \"\")\n")
    for n in sorted(names - {""}):
        f.write('QDEF1(MP_QSTR_%s, 0, %d, "%s")\n' % (n, len(n), n))
for name in ("moduledefs.h", "root_pointers.h"):
    open(os.path.join(out, "genhdr", name), "w").close()
with open(os.path.join(out, "genhdr", "mpversion.h"), "w") as f:
    f.write('#define MICROPY_GIT_TAG "check"\n#define MICROPY_BUILD_DATE "check"\n')
