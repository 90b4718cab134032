"""Executed instructions of the C crypto module's operations on ARM, under qemu-arm (no board).

    .venv/bin/python tools/count_insns.py [--arch armv6m|armv7emsp] [--mhz 125] [--json FILE]

Links the natmod's own object files (firmware/dtlscrypto/build-ARCH/*.o, left by `make natmod`;
the binding moddtlscrypto.o is not needed) with a small harness that runs ONE operation and
exits through a Linux system call, runs that under `qemu-arm -d in_asm,exec,nochain` and counts
the instructions executed (each translated block's instructions, times the runs of the block).
Operations: P-256 key generation, ECDH, ECDSA sign, ECDSA verify (inputs computed here with
CPython `cryptography`; a corrupted signature must not verify, as a check that the harness runs
what it claims), AES-CCM-8 seal of 64 B and 1 KiB.

It also prints cycles by a Cortex-M0+ timing model (ARM Cortex-M0+ TRM: loads/stores 2, B 2,
conditional branches 1.5 on average, BL 3, BX 2, PUSH/POP 1 + registers, everything else 1 --
RP2040 has the single-cycle multiplier; natmod code runs from SRAM, no wait states) and the time
at --mhz. That model is for armv6m only; for armv7emsp it prints instructions (the ESP32
estimate in README scales those). Needs arm-none-eabi-gcc (make setup) and qemu-user
(`apt-get install qemu-user`).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "firmware", "dtlscrypto")
OBJECTS = ("aes.o", "ccm.o", "sha256.o", "hmac.o", "p256_field.o", "p256_point.o", "ecdsa.o",
           "natmod_libc.o")
ARCH_FLAGS = {"armv6m": ["-mthumb", "-mcpu=cortex-m0"],
              "armv7emsp": ["-mthumb", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16",
                            "-mfloat-abi=hard"]}
OPERATIONS = (("keygen", 1), ("ecdh", 2), ("sign", 3), ("verify", 4), ("ccm8_seal_1024", 5),
              ("ccm8_seal_64", 6), ("verify_bad_signature", 7))

HARNESS = r'''
#include <stdint.h>
#include "dc_api.h"

static uint8_t priv[32] = {%(priv)s};
static uint8_t pub[65] = {%(pub)s};
static uint8_t pub2[65] = {%(pub2)s};
static uint8_t sig[64] = {%(sig)s};
static uint8_t digest[32] = {%(digest)s};
static uint8_t out65[65], secret[32], sig_out[64];

static void sys_exit(int code) {
    register int r0 __asm__("r0") = code;
    register int r7 __asm__("r7") = 1;  /* Linux exit */
    __asm__ volatile("svc 0" :: "r"(r0), "r"(r7));
}

void _start(void) {
    int rc = 0;
#if OPERATION == 1
    rc = dc_p256_public_key(priv, out65);
#elif OPERATION == 2
    rc = dc_p256_ecdh(priv, pub2, secret);
#elif OPERATION == 3
    rc = dc_ecdsa_sign(priv, digest, sig_out);
#elif OPERATION == 4
    rc = dc_ecdsa_verify(pub, digest, sig);
#elif OPERATION == 5 || OPERATION == 6
    static dc_aes_key ks;
    static uint8_t pt[1024], out[1024 + 8], nonce[12], aad[13];
    dc_aes_setkey(&ks, priv, 16);
    rc = dc_ccm_seal(&ks, 8, nonce, 12, aad, 13, pt, OPERATION == 5 ? 1024 : 64, out);
#elif OPERATION == 7
    sig[5] ^= 1;
    rc = dc_ecdsa_verify(pub, digest, sig) == 0;  /* 0 when the forgery is refused */
#endif
    sys_exit(rc);
    for (;;) {
    }
}
'''


def test_inputs():
    """A key pair, a second public key and a valid signature, from `cryptography`."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    def key(seed):
        return ec.derive_private_key(int.from_bytes(seed, "big"), ec.SECP256R1())

    def point(k):
        return k.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)

    priv, priv2, digest = bytes(range(1, 33)), bytes([9] * 32), bytes(range(100, 132))
    r, s = utils.decode_dss_signature(
        key(priv).sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    c = lambda b: ",".join(str(x) for x in b)  # noqa: E731
    return {"priv": c(priv), "pub": c(point(key(priv))), "pub2": c(point(key(priv2))),
            "sig": c(r.to_bytes(32, "big") + s.to_bytes(32, "big")), "digest": c(digest)}


def m0plus_cycles(mnemonic, operands):
    m = mnemonic.lower()
    if m in ("push", "pop", "ldm", "stm", "ldmia", "stmia"):
        regs = len(re.findall(r"\b(r\d+|lr|pc|sb|sl|fp|ip)\b", operands)) or 1
        return 1 + regs + (2 if m == "pop" and "pc" in operands else 0)
    if m.startswith("ldr") or m.startswith("str"):
        return 2
    if m == "bl":
        return 3
    if m in ("bx", "blx", "b"):
        return 2
    if re.match(r"b(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le)$", m):
        return 1.5
    return 1


_INSN = re.compile(r"0x([0-9a-f]+):\s+(?:[0-9a-f]{4}\s+)+(\S+)\s*(.*)")


def count(binary):
    """(instructions, modelled M0+ cycles, exit code) of one run under qemu-arm."""
    blocks, current = {}, None
    insns = cycles = 0
    proc = subprocess.Popen(["qemu-arm", "-d", "in_asm,exec,nochain", "-D", "/dev/stdout",
                             binary], stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
    for line in proc.stdout:
        if line.startswith("Trace"):
            n, c = blocks[int(line.split("[", 1)[1].split("/")[1], 16)]
            insns += n
            cycles += c
        elif line.startswith("0x"):
            m = _INSN.match(line)
            if current is None:
                current = int(m.group(1), 16)
                blocks[current] = [0, 0]
            blocks[current][0] += 1
            blocks[current][1] += m0plus_cycles(m.group(2), m.group(3))
        else:
            current = None
    return insns, cycles, proc.wait()


def build(arch, operation, tmp, inputs):
    objdir = os.path.join(CORE, "build-" + arch)
    objs = [os.path.join(objdir, o) for o in OBJECTS]
    if arch == "armv6m":
        objs.append(os.path.join(objdir, "_muldi3.o"))  # __aeabi_lmul, as the natmod links it
    missing = [o for o in objs if not os.path.exists(o)]
    if missing:
        sys.exit("missing %s: run `make natmod` first" % ", ".join(missing))
    src = os.path.join(tmp, "harness.c")
    with open(src, "w") as f:
        f.write(HARNESS % inputs)
    out = os.path.join(tmp, "op%d" % operation)
    flags = ARCH_FLAGS[arch] + ["-Os", "-ffreestanding", "-nostdlib", "-static"]
    subprocess.run(["arm-none-eabi-gcc"] + flags + ["-DOPERATION=%d" % operation, "-I", CORE,
                    "-o", out, src] + objs + ["-lgcc", "-Wl,-e,_start", "-Wl,-Ttext=0x10000"],
                   check=True, capture_output=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=sorted(ARCH_FLAGS), default="armv6m")
    ap.add_argument("--mhz", type=float, default=125.0, help="clock for the time column")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    for tool in ("arm-none-eabi-gcc", "qemu-arm"):
        if not shutil.which(tool):
            sys.exit("%s not found (gcc-arm-none-eabi: make setup; qemu-arm: apt-get install "
                     "qemu-user)" % tool)
    inputs = test_inputs()
    results = {}
    with tempfile.TemporaryDirectory(prefix="count_insns_") as tmp:
        print("%-22s %14s %16s %12s" % ("operation (" + args.arch + ")", "instructions",
                                         "M0+ model cycles", "ms @ %g MHz" % args.mhz))
        for name, operation in OPERATIONS:
            insns, cycles, rc = count(build(args.arch, operation, tmp, inputs))
            if rc != 0:
                sys.exit("%s: the harness returned %d (operation failed)" % (name, rc))
            results[name] = {"instructions": insns, "m0plus_cycles": cycles}
            if args.arch == "armv6m":
                print("%-22s %14d %16.0f %12.2f" % (name, insns, cycles,
                                                     cycles / args.mhz / 1000))
            else:
                print("%-22s %14d %16s %12s" % (name, insns, "-", "-"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"arch": args.arch, "mhz": args.mhz, "operations": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
