"""Make DTLS credentials for a device and its server, and print matching server commands.

CPython with the `cryptography` package (in the project venv):

    python tools/credentials.py all --out creds [--identity ID] [--dns NAME] [--ip ADDR]
                                   [--eui64 HEX] [--days N] [--port P] [--json]
    python tools/credentials.py psk --out creds [--identity ID] [--key-bytes N] [--hex-key]
    python tools/credentials.py rpk --out creds
    python tools/credentials.py pki --out creds [--dns NAME] [--ip ADDR] [--eui64 HEX]

What it writes under --out (existing files are never overwritten):
    device/    what goes onto the board (tools/deploy.py --credentials copies it):
               credentials.json (PSK identity and key in hex, names of the files below),
               device-key.der (P-256 key, SEC1), device-cert.der (signed by the test CA,
               subject CN = the EUI-64, RFC 7925 §4.4.2), ca-cert.der (trust anchor),
               server-pub.der (the server's raw public key, to pin, RFC 7250),
               plus .pem twins for the host tools
    server/    psk.passwd (GnuTLS), psk-key.txt, server-key.pem, server-pub.pem,
               server-cert.pem (dNSName/IP in subjectAltName), server-chain.pem
    ca/        ca-key.pem, ca-cert.pem: keep ca-key.pem off devices and servers

The PSK key is 16 random bytes drawn from letters and digits by default (about 95 bits),
because libcoap's `-k` only takes a printable key; --hex-key makes it fully random
(then libcoap needs `-i`/a key file it cannot take: its command is left out).

Then it prints the server command lines (OpenSSL, GnuTLS, libcoap) and the device-side
commands (tools/dtls_client.py, tools/coap_client.py) that use these files; --json
prints them as JSON instead. PORT stands for --port (default 5684; libcoap's -p takes
the CoAP port, its DTLS port is one higher).
"""
import argparse
import datetime
import ipaddress
import json
import os
import secrets
import string
import sys

_ALPHABET = string.ascii_letters + string.digits
GNUTLS_PSK = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD"
GNUTLS_EC = ("NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-CCM-8:"
             "-MAC-ALL:+AEAD")


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        sys.exit("error: tools/credentials.py needs the `cryptography` package "
                 "(make setup installs it in .venv)")
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


class Writer:
    """Writes files under one directory, refusing to overwrite, keys with mode 0600."""

    def __init__(self, root):
        self.root = root
        self.written = []

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, data, secret=False):
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            raise SystemExit("error: %s exists; choose another --out or remove it" % path)
        mode = 0o600 if secret else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        self.written.append(rel)
        return path


# ---------------------------------------------------------------------- generators

def make_psk(w, identity=None, key_bytes=16, hex_key=False):
    if identity is None:
        identity = "device-" + secrets.token_hex(4)
    if not 0 < len(identity.encode()) <= 128:
        raise SystemExit("error: PSK identity must be 1..128 bytes (RFC 4279 §5.3)")
    if not 0 < key_bytes <= 64:
        raise SystemExit("error: --key-bytes must be 1..64 (RFC 4279 §5.4)")
    if hex_key:
        key = secrets.token_bytes(key_bytes)
    else:
        key = "".join(secrets.choice(_ALPHABET) for _ in range(key_bytes)).encode()
    w.write("server/psk.passwd", "%s:%s\n" % (identity, key.hex()), secret=True)
    w.write("server/psk-key.txt", key.hex() + "\n", secret=True)
    return {"identity": identity, "key": key}


def _key_files(w, key, prefix, serialization):
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    der = key.private_bytes(serialization.Encoding.DER,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    pub = key.public_key()
    pub_pem = pub.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
    pub_der = pub.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
    w.write(prefix + "-key.pem", pem, secret=True)
    if prefix.startswith("device/"):
        w.write(prefix + "-key.der", der, secret=True)
    w.write(prefix + "-pub.pem", pub_pem)
    return pub_der, pub_pem


def make_rpk(w, state):
    """P-256 key pairs for device and server (raw public keys, RFC 7250)."""
    x509, hashes, serialization, ec, _, _ = _crypto()
    if "device_key" not in state:
        state["device_key"] = ec.generate_private_key(ec.SECP256R1())
        _key_files(w, state["device_key"], "device/device", serialization)
    if "server_key" not in state:
        state["server_key"] = ec.generate_private_key(ec.SECP256R1())
        pub_der, pub_pem = _key_files(w, state["server_key"], "server/server", serialization)
        w.write("device/server-pub.der", pub_der)
        w.write("device/server-pub.pem", pub_pem)
    state["rpk"] = True


def _eui64_text(eui64):
    raw = eui64.replace("-", "").replace(":", "")
    try:
        b = bytes.fromhex(raw)
    except ValueError:
        b = b""
    if len(b) != 8:
        raise SystemExit("error: --eui64 must be 8 bytes of hex, e.g. 00-11-22-FF-FE-33-44-55")
    return "-".join("%02X" % x for x in b)


def make_pki(w, state, dns="localhost", ips=(), eui64=None, days=365):
    """A test CA, a server certificate (dNSName, RFC 7925 §4.4.1) and a device
    certificate whose subject CN is its EUI-64 (RFC 7925 §4.4.2)."""
    x509, hashes, serialization, ec, EKU, NameOID = _crypto()
    if "device_key" not in state:
        state["device_key"] = ec.generate_private_key(ec.SECP256R1())
        _key_files(w, state["device_key"], "device/device", serialization)
    if "server_key" not in state:
        state["server_key"] = ec.generate_private_key(ec.SECP256R1())
        pub_der, pub_pem = _key_files(w, state["server_key"], "server/server", serialization)
        w.write("device/server-pub.der", pub_der)
        w.write("device/server-pub.pem", pub_pem)
    eui = _eui64_text(eui64 or secrets.token_hex(8))
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "microdtls test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))

    def leaf(key, subject_cn, san, eku):
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
             .issuer_name(ca_name)
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now).not_valid_after(until)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=False,
                                          crl_sign=False, encipher_only=False,
                                          decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                 ca_ski), critical=False))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(ca_key, hashes.SHA256())

    san = [x509.DNSName(dns)] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    server = leaf(state["server_key"], dns, san, EKU.SERVER_AUTH)
    device = leaf(state["device_key"], eui, None, EKU.CLIENT_AUTH)
    pem = serialization.Encoding.PEM
    der = serialization.Encoding.DER
    w.write("ca/ca-key.pem", ca_key.private_bytes(
        pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()),
        secret=True)
    w.write("ca/ca-cert.pem", ca.public_bytes(pem))
    w.write("device/ca-cert.der", ca.public_bytes(der))
    w.write("device/ca-cert.pem", ca.public_bytes(pem))
    w.write("server/server-cert.pem", server.public_bytes(pem))
    w.write("server/server-chain.pem", server.public_bytes(pem) + ca.public_bytes(pem))
    w.write("device/device-cert.der", device.public_bytes(der))
    w.write("device/device-cert.pem", device.public_bytes(pem))
    state.update(pki=True, eui64=eui, dns=dns, ips=list(ips))


# ---------------------------------------------------------------------- commands

def commands(out, state, port):
    """Server and device command lines for what was generated, as {name: argv}."""
    def p(rel):
        return os.path.join(out, rel)

    cmds = {}
    coap_port = port - 1
    psk = state.get("psk")
    if psk:
        ident, key = psk["identity"], psk["key"]
        cmds["openssl-psk"] = ["openssl", "s_server", "-dtls1_2", "-accept",
                               "127.0.0.1:%d" % port, "-nocert", "-psk", key.hex(),
                               "-psk_identity", ident, "-cipher", "PSK-AES128-CCM8"]
        cmds["gnutls-psk"] = ["gnutls-serv", "--udp", "--echo", "-p", str(port),
                              "--pskpasswd", p("server/psk.passwd"), "--priority", GNUTLS_PSK]
        if all(chr(b) in _ALPHABET for b in key):
            cmds["libcoap-psk"] = ["coap-server-openssl", "-A", "127.0.0.1", "-p",
                                   str(coap_port), "-k", key.decode()]
        cmds["device-dtls-psk"] = ["micropython", "tools/dtls_client.py", "127.0.0.1",
                                   str(port), "--psk-identity", ident, "--psk-key", key.hex()]
        cmds["device-coap-psk"] = ["micropython", "tools/coap_client.py",
                                   "coaps://127.0.0.1:%d/time" % port, "--psk-identity",
                                   ident, "--psk-key", key.hex()]
    if state.get("pki"):
        cmds["openssl-cert"] = ["openssl", "s_server", "-dtls1_2", "-accept",
                                "127.0.0.1:%d" % port, "-cert", p("server/server-cert.pem"),
                                "-key", p("server/server-key.pem"), "-CAfile",
                                p("ca/ca-cert.pem"), "-Verify", "1", "-cipher",
                                "ECDHE-ECDSA-AES128-CCM8"]
        cmds["gnutls-cert"] = ["gnutls-serv", "--udp", "--echo", "-p", str(port),
                               "--x509certfile", p("server/server-cert.pem"),
                               "--x509keyfile", p("server/server-key.pem"),
                               "--x509cafile", p("ca/ca-cert.pem"), "--require-client-cert",
                               "--priority", GNUTLS_EC]
        cmds["libcoap-cert"] = ["coap-server-openssl", "-A", "127.0.0.1", "-p", str(coap_port),
                                "-c", p("server/server-cert.pem"), "-j",
                                p("server/server-key.pem"), "-C", p("ca/ca-cert.pem")]
        dns = state["dns"]
        cmds["device-dtls-cert"] = ["micropython", "tools/dtls_client.py", "127.0.0.1",
                                    str(port), "--ca", p("device/ca-cert.pem"), "--sni", dns,
                                    "--cert", p("device/device-cert.pem"), "--key",
                                    p("device/device-key.pem")]
    if state.get("rpk"):
        cmds["gnutls-rpk"] = ["gnutls-serv", "--udp", "--echo", "-p", str(port), "-a",
                              "--rawpkkeyfile", p("server/server-key.pem"), "--rawpkfile",
                              p("server/server-pub.pem"), "--priority", GNUTLS_EC + ":+CTYPE-ALL"]
        cmds["libcoap-rpk"] = ["coap-server-gnutls", "-A", "127.0.0.1", "-p", str(coap_port),
                               "-M", p("server/server-key.pem"), "-n"]
        cmds["device-coap-rpk"] = ["micropython", "tools/coap_client.py",
                                   "coaps://127.0.0.1:%d/time" % port, "--server-rpk",
                                   p("device/server-pub.pem"), "--key",
                                   p("device/device-key.pem"), "--rpk"]
    return cmds


def device_json(state):
    """device/credentials.json: what the board reads (see tools/examples)."""
    d = {}
    psk = state.get("psk")
    if psk:
        d["psk_identity"] = psk["identity"]
        d["psk_key"] = psk["key"].hex()
    if state.get("rpk") or state.get("pki"):
        d["key"] = "device-key.der"
        d["server_rpk"] = "server-pub.der"
    if state.get("pki"):
        d["cert"] = "device-cert.der"
        d["ca"] = "ca-cert.der"
        d["server_name"] = state["dns"]
        d["eui64"] = state["eui64"]
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def _quote(arg):
    if arg and all(c.isalnum() or c in "-_./:=,+@" for c in arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=("all", "psk", "rpk", "pki"))
    ap.add_argument("--out", required=True, help="directory for the files")
    ap.add_argument("--identity", help="PSK identity (default device-<random>)")
    ap.add_argument("--key-bytes", type=int, default=16, help="PSK key length (default 16)")
    ap.add_argument("--hex-key", action="store_true",
                    help="fully random PSK key bytes (libcoap -k cannot take it)")
    ap.add_argument("--dns", default="localhost", help="server dNSName (default localhost)")
    ap.add_argument("--ip", action="append", default=[], help="server IP SAN; repeatable")
    ap.add_argument("--eui64", help="device EUI-64 (default random)")
    ap.add_argument("--days", type=int, default=365, help="certificate validity")
    ap.add_argument("--port", type=int, default=5684, help="DTLS port for the commands")
    ap.add_argument("--json", action="store_true", help="print the commands as JSON")
    args = ap.parse_args(argv)

    w = Writer(args.out)
    state = {}
    if args.kind in ("all", "psk"):
        state["psk"] = make_psk(w, args.identity, args.key_bytes, args.hex_key)
    if args.kind in ("all", "rpk"):
        make_rpk(w, state)
    if args.kind in ("all", "pki"):
        make_pki(w, state, args.dns, args.ip, args.eui64, args.days)
    w.write("device/credentials.json", device_json(state), secret="psk" in state)
    cmds = commands(args.out, state, args.port)
    if args.json:
        print(json.dumps({"files": sorted(w.written), "commands": cmds,
                          "eui64": state.get("eui64")}, indent=2))
        return 0
    print("wrote %d files under %s:" % (len(w.written), args.out))
    for rel in sorted(w.written):
        print("  " + rel)
    print()
    for name in sorted(cmds):
        print("%s:\n    %s" % (name, " ".join(_quote(a) for a in cmds[name])))
    print("\n(libcoap serves DTLS on its -p port + 1; copy device/ to the board with "
          "tools/deploy.py --credentials %s)" % os.path.join(args.out, "device"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
