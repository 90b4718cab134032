"""tools/credentials.py: the files it writes, their certificate profile (checked with
`cryptography`, `openssl verify` and our own parser inside MicroPython), and the server
and device command lines it prints, run for real: PSK against libcoap, certificates
(mutual authentication, EUI-64 device certificate) against OpenSSL, raw public keys
against libcoap's GnuTLS build."""
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

import mp
import peers

TOOL = os.path.join(mp.TOOLS, "credentials.py")
EUI64 = "00-1A-2B-FF-FE-3C-4D-5E"


def make(out, *args):
    res = subprocess.run([sys.executable, TOOL, "all", "--out", str(out), "--json",
                          "--ip", "127.0.0.1", "--eui64", EUI64.lower().replace("-", ""),
                          "--identity", "sensor-17"] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def creds(tmp_path_factory):
    out = tmp_path_factory.mktemp("creds")
    port = peers.free_port(count=2)
    info = make(out, "--port", port + 1)
    info["out"] = out
    info["coap_port"] = port
    return info


def device_cmd(info, name):
    cmd = list(info["commands"][name])
    assert cmd[0] == "micropython"
    return [mp.micropython_path()] + [os.path.join(peers.ROOT, cmd[1])] + cmd[2:]


def test_files_and_certificate_profile(creds):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    out = creds["out"]
    for rel in ("device/credentials.json", "device/device-key.der", "device/device-cert.der",
                "device/ca-cert.der", "device/server-pub.der", "server/psk.passwd",
                "server/server-cert.pem", "server/server-key.pem", "ca/ca-cert.pem",
                "ca/ca-key.pem"):
        assert rel in creds["files"] and (out / rel).exists(), rel
    for rel in ("device/device-key.der", "server/server-key.pem", "ca/ca-key.pem",
                "server/psk.passwd", "device/credentials.json"):
        assert stat.S_IMODE(os.stat(out / rel).st_mode) == 0o600, rel
    assert not any(f.startswith("device/ca-key") for f in creds["files"])
    res = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca/ca-cert.pem"),
                          str(out / "server/server-cert.pem"),
                          str(out / "device/device-cert.pem")], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr

    device = x509.load_der_x509_certificate((out / "device/device-cert.der").read_bytes())
    cn = device.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in cn] == [EUI64]             # RFC 7925 §4.4.2
    assert device.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    ku = device.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    assert not device.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    server = x509.load_pem_x509_certificate((out / "server/server-cert.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    ca = x509.load_pem_x509_certificate((out / "ca/ca-cert.pem").read_bytes())
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0

    dev = json.loads((out / "device/credentials.json").read_text())
    key = bytes.fromhex(dev["psk_key"])
    assert dev["psk_identity"] == "sensor-17" and len(key) == 16 and key.isalnum()
    assert (out / "server/psk.passwd").read_text() == "sensor-17:%s\n" % dev["psk_key"]
    assert dev["eui64"] == EUI64 and dev["server_name"] == "localhost"


def test_refuses_to_overwrite(creds):
    res = subprocess.run([sys.executable, TOOL, "psk", "--out", str(creds["out"])],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0 and "exists" in res.stderr, res


@pytest.mark.parametrize("args,message", [
    (["pki", "--eui64", "0011"], "--eui64"),
    (["psk", "--key-bytes", "65"], "--key-bytes"),
])
def test_bad_arguments(tmp_path, args, message):
    res = subprocess.run([sys.executable, TOOL] + args[:1] + ["--out", str(tmp_path / "x")]
                         + args[1:], capture_output=True, text=True, timeout=30)
    assert res.returncode != 0 and message in res.stderr, res


PARSE = """
import json, sys
import dtls
from dtls import x509
d = sys.argv[1] + "/"
cfg = json.load(open(d + "credentials.json"))
def rd(name):
    with open(d + name, "rb") as f:
        return f.read()
cert = x509.Certificate(rd(cfg["cert"]))
ca = x509.Certificate(rd(cfg["ca"]))
print("key", len(x509.parse_ec_private_key(rd(cfg["key"]))))
print("spki", len(x509.parse_spki(rd(cfg["server_rpk"]))) > 0)
print("device", cert.subject_cn, cert.ca, cert.issuer_cn)
print("ca", ca.subject_cn, ca.ca, ca.path_len)
ctx = dtls.Context(psk=(cfg["psk_identity"], bytes.fromhex(cfg["psk_key"])),
                   ca=[rd(cfg["ca"])], cert=rd(cfg["cert"]), key=rd(cfg["key"]))
print("context ok")
"""


def test_device_files_load_in_micropython(creds):
    out = mp.check_code(PARSE, args=[str(creds["out"] / "device")])
    assert out.splitlines() == ["key 32", "spki True",
                                "device %s False microdtls test CA" % EUI64,
                                "ca microdtls test CA True 0", "context ok"], out


def _server(name, cmd, port, stdin=False):
    return peers.Peer(name, peers._line_buffered(cmd), port, "-", b"-", stdin=stdin)


def test_printed_psk_commands_with_libcoap(creds):
    cmd = creds["commands"]["libcoap-psk"]
    with _server("libcoap", cmd, creds["coap_port"] + 1):
        res = subprocess.run(device_cmd(creds, "device-coap-psk"), capture_output=True,
                             text=True, timeout=60, env=mp.mp_env())
    assert res.returncode == 0 and res.stdout.startswith("code: 2.05 Content"), res


def test_printed_certificate_commands_with_openssl(creds):
    """Mutual authentication: OpenSSL checks our EUI-64 device certificate against the
    generated CA (-Verify), we check its dNSName certificate."""
    port = creds["coap_port"] + 1
    with _server("openssl", creds["commands"]["openssl-cert"], port, stdin=True) as srv:
        res = subprocess.run(device_cmd(creds, "device-dtls-cert") + ["--send", "hi",
                                                                        "--wait", "1"],
                             capture_output=True, text=True, timeout=60, env=mp.mp_env())
        assert res.returncode == 0, (res.stdout, res.stderr, srv.output())
        assert res.stdout.startswith("cipher: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"), res.stdout
        assert srv.wait_for("hi", 5), srv.output()
        assert "CN = %s" % EUI64 in srv.output() and "verify return:1" in srv.output()


def test_printed_rpk_commands_with_libcoap_gnutls(creds):
    if not shutil.which("coap-server-gnutls"):
        pytest.skip("coap-server-gnutls not installed")
    with _server("libcoap-gnutls", creds["commands"]["libcoap-rpk"], creds["coap_port"] + 1):
        res = subprocess.run(device_cmd(creds, "device-coap-rpk"), capture_output=True,
                             text=True, timeout=60, env=mp.mp_env())
    assert res.returncode == 0 and res.stdout.startswith("code: 2.05 Content"), res
