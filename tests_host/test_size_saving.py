"""Size-saving extensions (issue 9): cached information (RFC 7924), trusted CA indication and
client certificate URLs (RFC 6066 §5-§6).

No installed peer implements any of them (test_independent_peers_ignore_them shows each one
leaving them out of its ServerHello), so the success paths run against
tests_host/ecdhe_server.py, a scripted ECDHE server that builds and parses these extensions
from the RFC layouts with pyca/cryptography and hashlib. Every wire check here parses the
client's bytes independently of lib/dtls. The client always runs inside MicroPython.
"""
import datetime
import hashlib
import os
import struct
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import mp
import peers
from ecdhe_server import (CERTIFICATE, CERTIFICATE_URL, EXT_CACHED_INFO,
                          EXT_CLIENT_CERTIFICATE_URL, EXT_TRUSTED_CA_KEYS, EcdheServerCore,
                          anchor_identifiers, certificate_body, der, fingerprint,
                          parse_certificate_url, vec)
from psk_server import CLIENT_KEY_EXCHANGE, UdpServer

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")

# RFC 7924 Appendix A: the example certificate (Figure 6) and the SHA-256 of the Certificate
# message that carries it ("starts with 0b 00 02 and ends with 9E 57 45").
RFC7924_CERT = bytes.fromhex(
    "3082022C308201B2A00302010202010D300A06082A8648CE3D040302303E310B"
    "3009060355040613024E4C3111300F060355040A1308506F6C617253534C311C"
    "301A06035504031313506F6C617273736C2054657374204543204341301E170D"
    "3133303932343135353230345A170D3233303932323135353230345A3041310B"
    "3009060355040613024E4C3111300F060355040A1308506F6C617253534C311F"
    "301D06035504031316506F6C617253534C205465737420436C69656E74203230"
    "59301306072A8648CE3D020106082A8648CE3D0301070342000457E5AEB173DF"
    "D3ACBB93B881FF12AEEEE653ACCE5553F6340ECC2EE363250BDF98E2F35C6036"
    "96C0D5181470E57F9FD54B4518E5B06CD55CF8968F8770A3E4C7A3819D30819A"
    "30090603551D1304023000301D0603551D0E041604147A005F8664FCE05DE511"
    "103BB2E63BC4263FCFE2306E0603551D230467306580149D6D202449013F2BCB"
    "78B519BC7E24C9DBFB367CA142A440303E310B3009060355040613024E4C3111"
    "300F060355040A1308506F6C617253534C311C301A06035504031313506F6C61"
    "7273736C2054657374204543204341820900C143E27E6243CCE8300A06082A86"
    "48CE3D040302036800306502304A650D7B2083A299B9A80FFC8DEE8F3DBB704C"
    "9603AC8E7870DDF20EA0B216CB658E1AC93F2C617EF83CEFAD1CEE3620023100"
    "9DF227A6D574B824AEE16A3F31A1CA542F08D08DEE4F0C61DF77787DB4FDFC42"
    "49EEE5B26AC2CD2677628E287C9E5745")
RFC7924_HASH = "086eefb4859adfe977defac494fff6b73033b4ce1f86b8f2a9fc0c6bf98605af"


# --------------------------------------------------------------------------- material

def _pem_cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def _pem_key(path):
    return serialization.load_pem_private_key(path.read_bytes(), None)


@pytest.fixture(scope="module")
def material(pki, tmp_path_factory):
    """Chains for the scripted server: leaf <- int2 <- int1 under root (the default), and a
    leaf issued here under other_root (what trusted_ca_keys selects)."""
    out = tmp_path_factory.mktemp("size_saving")
    root, other_root = _pem_cert(pki / "root.pem"), _pem_cert(pki / "other_root.pem")
    main = [der(_pem_cert(pki / n)) for n in ("leaf.pem", "int2.pem", "int1.pem")]
    leaf_key = _pem_key(pki / "leaf.key")
    other_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    other_leaf = (x509.CertificateBuilder()
                  .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                              "localhost")]))
                  .issuer_name(other_root.subject).public_key(other_key.public_key())
                  .serial_number(4242).not_valid_before(now - datetime.timedelta(days=1))
                  .not_valid_after(now + datetime.timedelta(days=30))
                  .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                                 False)
                  .sign(_pem_key(pki / "other_root.key"), hashes.SHA256()))
    client = [der(_pem_cert(pki / n)) for n in ("leaf_client.pem", "int2.pem", "int1.pem")]
    return {"dir": out, "root": root, "other_root": other_root, "main": main,
            "leaf_key": leaf_key, "other": [der(other_leaf)], "other_key": other_key,
            "client_chain": client, "pki": pki}


def _chains(m):
    return [(m["main"], m["leaf_key"], m["root"]), (m["other"], m["other_key"], m["other_root"])]


def _server(m, **kw):
    """A UdpServer giving each client address (each connection) its own scripted core."""
    return UdpServer(factory=lambda i: EcdheServerCore(_chains(m), **kw))


PRELUDE = r'''
import dtls
from dtls import ecdhe

def connect(port, send=b"ping", **kw):
    """One handshake and one echoed record; prints one result line, returns the core."""
    try:
        ctx = dtls.Context(**kw)
        conn = ctx.connect("127.0.0.1", port, server_hostname="localhost")
    except dtls.DTLSError as e:
        print("error", e.alert, type(e).__name__, e)
        return None
    sent = conn.core.bytes_sent
    conn.send(send)
    conn.settimeout(5)
    print("ok", conn.cipher_suite, int(conn.core.cached_info_used), conn.recv(), sent)
    conn.close()
    return conn.core
'''


def run_mp(code, timeout=60):
    out = mp.check_code(PRELUDE + code, timeout=timeout)
    return out.splitlines()


def _p(m, name):
    return str(m["pki"] / name)


# --------------------------------------------------------------------------- RFC 7924

def test_rfc7924_appendix_a_fingerprint():
    """The RFC's own example: SHA-256 over 0b 000236 000233 000230 || certificate."""
    body = vec(3, vec(3, RFC7924_CERT))
    assert hashlib.sha256(bytes([11]) + vec(3, body)).hexdigest() == RFC7924_HASH  # the test
    out = mp.check_code("from dtls import ecdhe\nprint(ecdhe.certificate_fingerprint("
                        "bytes.fromhex(%r)).hex())" % body.hex())
    assert out.strip() == RFC7924_HASH


def test_cached_info_hit_saves_the_certificate(material):
    """Connection 1 learns the chain; connection 2 offers cached_info with the object made
    in-process (signatures recorded, none repeated), 3 with its exported blob (signatures
    verified again), 4 with a blob authenticated by a device key. The server sends the
    33-byte fingerprint each time; data flows."""
    m = material
    with _server(m) as srv:
        lines = run_mp(r'''
core = connect(%d, ca=%r)
entry = core.cached_info
print("hash", entry.hash.hex(), len(entry.signatures))
import dtls.ecdsa as E
calls = []
real = E.verify_message_der
def counting(*a):
    calls.append(1)
    return real(*a)
E.verify_message_der = counting
connect(%d, ca=%r, cached_info=entry)
print("verifications", len(calls))
connect(%d, ca=%r, cached_info=entry.to_bytes())
print("verifications", len(calls))
key = b"device key"
connect(%d, ca=%r, cached_info=ecdhe.CachedInfo.from_bytes(entry.to_bytes(key), key))
print("verifications", len(calls))
''' % ((srv.port, _p(m, "root.pem")) * 4))
        cores = srv.cores
        assert srv.error is None, srv.error
    full = certificate_body(m["main"])
    expected_hash = fingerprint(full)
    assert lines[0].startswith("ok TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 0 b'ping'"), lines
    assert lines[1] == "hash %s 3" % expected_hash.hex()
    assert lines[2].startswith("ok TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 1 b'ping'"), lines
    assert lines[3] == "verifications 1"  # the ServerKeyExchange only
    assert lines[4].startswith("ok TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 1 b'ping'"), lines
    assert lines[5] == "verifications 5"  # three chain signatures + ServerKeyExchange
    assert lines[6].startswith("ok TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 1 b'ping'"), lines
    assert lines[7] == "verifications 6"
    assert len(cores) == 4
    # Wire: no cached_info without a cache; then exactly one CachedObject {cert(1),
    # hash_value<1..255> = the RFC 7924 §5 fingerprint} (RFC 7924 §3).
    assert EXT_CACHED_INFO not in cores[0].client_ext
    for core in cores[1:]:
        assert core.client_ext[EXT_CACHED_INFO] == b"\x00\x22\x01\x20" + expected_hash
        assert core.cached_info_hit and core.sent_certificate == b"\x20" + expected_hash
        assert core.app_data == [b"ping"]
    # The Certificate shrinks to 33 bytes, the ServerHello grows by the 7-byte cached_info
    # answer; ECDSA signatures in ServerKeyExchange vary by a byte or two.
    saved = cores[0].flight4_bytes - cores[1].flight4_bytes
    assert abs(saved - (len(full) - 33 - 7)) <= 2, saved
    sent = [int(line.split()[-1]) for line in lines if line.startswith("ok")]
    print("\nRFC 7924: server flight 4 %d -> %d bytes (%d saved); client sends %d -> %d "
          "bytes (ClientHello +40, twice with the cookie)"
          % (cores[0].flight4_bytes, cores[1].flight4_bytes, saved, sent[0], sent[1]))
    assert sent[1] - sent[0] == 80


def test_cached_info_raw_public_key(material):
    """RFC 7924 §4.1 with RFC 7250: the cached object is the raw public key Certificate."""
    m = material
    spki = m["leaf_key"].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with _server(m, rpk=True) as srv:
        lines = run_mp(r'''
core = connect(%d, server_rpk=bytes.fromhex(%r))
connect(%d, server_rpk=bytes.fromhex(%r), cached_info=core.cached_info)
''' % (srv.port, spki.hex(), srv.port, spki.hex()))
        cores = srv.cores
    assert lines[0].startswith("ok") and " 0 " in lines[0], lines
    assert lines[1].startswith("ok") and " 1 " in lines[1], lines
    assert cores[1].client_ext[EXT_CACHED_INFO] == b"\x00\x22\x01\x20" + fingerprint(vec(3, spki))
    assert cores[1].cached_info_hit


def test_cached_info_stale_gets_full_certificate(material):
    """The server's Certificate changed (here: it now also sends the root): it confirms
    cached_info but sends the message in full (RFC 7924 §4); the client authenticates it and
    its new cache entry is the new message."""
    m = material
    root_der = der(m["root"])
    first = []

    def factory(i):
        chain = m["main"] + ([root_der] if i else [])
        first.append(chain)
        return EcdheServerCore([(chain, m["leaf_key"], m["root"])])

    with UdpServer(factory=factory) as srv:
        lines = run_mp(r'''
core = connect(%d, ca=%r)
old = core.cached_info.hash
core = connect(%d, ca=%r, cached_info=core.cached_info)
print("changed", int(core.cached_info.hash != old), core.cached_info.hash.hex())
''' % ((srv.port, _p(m, "root.pem")) * 2))
        cores = srv.cores
    assert lines[1].startswith("ok") and " 0 " in lines[1], lines
    assert EXT_CACHED_INFO in cores[1].client_ext and not cores[1].cached_info_hit
    assert lines[2] == "changed 1 " + fingerprint(certificate_body(first[1])).hex()


def test_cached_info_offered_only_to_the_same_server(material):
    """An entry learned for "localhost" is not offered to another name (RFC 7924 §4 ties
    the cache to the server; the client picks entries by the name it connects to)."""
    m = material
    with _server(m) as srv:
        lines = run_mp(r'''
core = connect(%d, ca=%r)
ctx = dtls.Context(ca=%r, cached_info=core.cached_info)
try:
    ctx.connect("127.0.0.1", %d, server_hostname="other.example")
except dtls.DTLSError as e:
    print("error", e.alert)
''' % (srv.port, _p(m, "root.pem"), _p(m, "root.pem"), srv.port))
        cores = srv.cores
    assert lines[1] == "error 42", lines  # the name check fails, as it must
    assert EXT_CACHED_INFO not in cores[1].client_ext


def _mutated(m, **kw):
    """A server whose second connection is changed by `kw` hooks."""
    def factory(i):
        core = EcdheServerCore(_chains(m))
        if i == 1:
            for k, v in kw.items():
                setattr(core, k, v)
        return core
    return UdpServer(factory=factory)


FAILURES = [
    # (id, server hooks, ctx extra, alert the client sends)
    ("hit-we-do-not-have", {"certificate_override": lambda c: b"\x20" + bytes(32)}, "",
     47),
    ("hash-of-wrong-length", {"certificate_override": lambda c: b"\x10" + bytes(16)}, "",
     47),
    ("truncated-hash-value", {"certificate_override": lambda c: c[:-1]}, "", 50),
    ("hash-without-confirmation", {"do_cached_info": False,
                                   "certificate_override": lambda c: b"\x20" + fingerprint(c)},
     "", 50),
    ("cert_req-type-confirmed", {"sh_extra_ext": b"\x00\x19\x00\x03\x00\x01\x02"}, "", 47),
    ("empty-cached_info-list", {"sh_extra_ext": b"\x00\x19\x00\x02\x00\x00"}, "", 50),
    ("cached_info-list-overrun", {"sh_extra_ext": b"\x00\x19\x00\x03\x00\x05\x01"}, "", 50),
    ("cache-expired", {}, ", clock=lambda: 4102444800", 45),
    ("anchor-no-longer-trusted", {}, "", 48),
]


@pytest.mark.parametrize("hooks,extra,alert", [f[1:] for f in FAILURES],
                         ids=[f[0] for f in FAILURES])
def test_cached_info_failures(material, hooks, extra, alert):
    """Inconsistent cached_info answers end the handshake with the fatal alert named, and no
    ClientKeyExchange follows. ServerHello extras replace the server's own confirmation."""
    m = material
    ca = _p(m, "root.pem")
    ca2 = _p(m, "other_root.pem") if alert == 48 else ca
    if "sh_extra_ext" in hooks:
        hooks = dict(hooks, do_cached_info=False)
    with _mutated(m, **hooks) as srv:
        lines = run_mp(r'''
core = connect(%d, ca=%r)
connect(%d, ca=%r, cached_info=core.cached_info%s)
''' % (srv.port, ca, srv.port, ca2, extra))
        cores = srv.cores
    assert lines[0].startswith("ok"), lines
    assert lines[1].startswith("error %d " % alert), lines
    assert cores[1].alerts == [(0, 2, alert)]
    assert not any(r[0] == 22 and r[2] and r[2][0] == CLIENT_KEY_EXCHANGE
                   for r in cores[1].client_records)


def test_cached_entry_of_the_other_certificate_type(material):
    """A raw-public-key entry named by a server that negotiated X.509: illegal_parameter."""
    m = material
    spki = m["leaf_key"].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    rpk_hash = fingerprint(vec(3, spki))

    def factory(i):
        if i == 0:
            return EcdheServerCore(_chains(m), rpk=True)
        return _with(EcdheServerCore(_chains(m), cached_info=False),
                     sh_extra_ext=b"\x00\x19\x00\x03\x00\x01\x01",
                     certificate_override=lambda c: b"\x20" + rpk_hash)

    with UdpServer(factory=factory) as srv:
        lines = run_mp(r'''
core = connect(%d, server_rpk=bytes.fromhex(%r))
connect(%d, server_rpk=bytes.fromhex(%r), ca=%r, cached_info=core.cached_info)
''' % (srv.port, spki.hex(), srv.port, spki.hex(), _p(m, "root.pem")))
        cores = srv.cores
    assert lines[0].startswith("ok"), lines
    assert cores[1].client_ext[EXT_CACHED_INFO] == b"\x00\x22\x01\x20" + rpk_hash
    assert lines[1].startswith("error 47 "), lines


def test_cached_hit_with_another_servers_key(material):
    """RFC 7924 §5: a server that knows the fingerprint but not the private key (it signs
    its ServerKeyExchange with another key) fails at the signature check."""
    m = material

    def factory(i):
        core = EcdheServerCore(_chains(m))
        if i == 1:
            core.chains = [(m["main"], m["other_key"], m["root"])]
        return core

    with UdpServer(factory=factory) as srv:
        lines = run_mp(r'''
core = connect(%d, ca=%r)
connect(%d, ca=%r, cached_info=core.cached_info)
''' % ((srv.port, _p(m, "root.pem")) * 2))
        cores = srv.cores
    assert cores[1].cached_info_hit
    assert lines[1].startswith("error 51 "), lines  # decrypt_error


@pytest.mark.parametrize("ext,data,alert", [
    (EXT_CACHED_INFO, b"\x00\x01\x01", 110),         # not offered: unsupported_extension
    (EXT_TRUSTED_CA_KEYS, b"", 110),
    (EXT_CLIENT_CERTIFICATE_URL, b"", 110),
], ids=["cached_info", "trusted_ca_keys", "client_certificate_url"])
def test_unsolicited_acknowledgements(material, ext, data, alert):
    m = material
    extra = struct.pack(">HH", ext, len(data)) + data
    with UdpServer(factory=lambda i: _with(EcdheServerCore(_chains(m)),
                                           sh_extra_ext=extra)) as srv:
        lines = run_mp("connect(%d, ca=%r)\n" % (srv.port, _p(m, "root.pem")))
    assert lines[0].startswith("error %d " % alert), lines


def _with(core, **kw):
    for k, v in kw.items():
        setattr(core, k, v)
    return core


@pytest.mark.parametrize("ext,ctx", [
    (EXT_TRUSTED_CA_KEYS, "trusted_ca_keys='key_sha1_hash'"),
    (EXT_CLIENT_CERTIFICATE_URL, "key=%(key)r, cert_urls=[('http://x/c', b'1' * 20)]"),
], ids=["trusted_ca_keys", "client_certificate_url"])
def test_non_empty_acknowledgement(material, ext, ctx):
    """RFC 6066 §5/§6: the server's extension_data is empty; anything else: decode_error."""
    m = material
    ctx = ctx % {"key": _p(m, "leaf.key")}
    with UdpServer(factory=lambda i: _with(EcdheServerCore(
            _chains(m), trusted_ca_keys=False, cert_url=False),
            sh_extra_ext=struct.pack(">HHB", ext, 1, 0))) as srv:
        lines = run_mp("connect(%d, ca=%r, %s)\n" % (srv.port, _p(m, "root.pem"), ctx))
    assert lines[0].startswith("error 50 "), lines


# --------------------------------------------------------------------------- RFC 6066 §6

@pytest.mark.parametrize("kind,code", [("key_sha1_hash", 1), ("x509_name", 2),
                                       ("cert_sha1_hash", 3)])
def test_trusted_ca_keys_wire_bytes(material, kind, code):
    """TrustedAuthorities: one TrustedAuthority per anchor, identifiers computed here with
    cryptography (key_sha1_hash = the RFC 5280 key identifier of the anchor's key)."""
    m = material
    with UdpServer(factory=lambda i: EcdheServerCore(_chains(m), trusted_ca_keys=False)) as srv:
        run_mp("connect(%d, ca=[%r, %r], trusted_ca_keys=%r)\n"
               % (srv.port, _p(m, "root.pem"), _p(m, "other_root.pem"), kind))
        core = srv.cores[0]
    body = b""
    for anchor in (m["root"], m["other_root"]):
        ident = anchor_identifiers(anchor)[code]
        body += bytes([code]) + (vec(2, ident) if code == 2 else ident)
    assert core.client_ext[EXT_TRUSTED_CA_KEYS] == vec(2, body)


def test_trusted_ca_keys_selects_the_chain(material):
    """The server holds a chain under root (its default) and one under other_root; a device
    trusting only other_root names it and gets that chain; without the extension it gets
    the default and cannot verify it."""
    m = material
    with _server(m) as srv:
        lines = run_mp(r'''
connect(%d, ca=%r)
connect(%d, ca=%r, trusted_ca_keys="key_sha1_hash")
''' % ((srv.port, _p(m, "other_root.pem")) * 2))
        cores = srv.cores
    assert lines[0].startswith("error 48 "), lines   # unknown_ca
    assert lines[1].startswith("ok") and "b'ping'" in lines[1], lines
    assert cores[1].chosen_chain == m["other"]


# --------------------------------------------------------------------------- RFC 6066 §5

def _url_body(entries, chain_type=0):
    """CertificateURL from RFC 6066 §5, built here: type, url_and_hash_list<1..2^16-1> of
    {url<1..2^16-1>, padding 0x01, SHA1Hash[20]}."""
    return bytes([chain_type]) + vec(2, b"".join(vec(2, u) + b"\x01" + h for u, h in entries))


def _pkipath(ders_leaf_first):
    inner = b"".join(reversed(ders_leaf_first))
    n = len(inner)
    length = bytes([n]) if n < 128 else (b"\x81" + bytes([n]) if n < 256 else
                                         b"\x82" + n.to_bytes(2, "big"))
    return b"\x30" + length + inner


def test_certificate_url_instead_of_the_chain(material):
    """Mutual authentication three ways against a server that fetches URLs: the chain sent
    (server without the extension), CertificateURL with individual_certs, and one PkiPath
    URL. The server checks CertificateVerify with the fetched leaf each time."""
    m = material
    chain = m["client_chain"]
    urls = [b"http://certs.example/dev-%d.der" % i for i in range(3)]
    store = dict(zip(urls, chain))
    store[b"http://certs.example/dev.pkipath"] = _pkipath(chain)
    chain_file = _p(m, "client_chain.pem")

    def factory(i):
        return EcdheServerCore(_chains(m), request_client_cert=True, cert_url=(i != 0),
                               url_store=store)

    with UdpServer(factory=factory) as srv:
        lines = run_mp(r'''
cert_urls = [(u, None) for u in %r]
connect(%d, ca=%r, cert=%r, key=%r, cert_urls=cert_urls)
connect(%d, ca=%r, cert=%r, key=%r, cert_urls=cert_urls)
connect(%d, ca=%r, key=%r, cert_url_type="pkipath",
        cert_urls=[("http://certs.example/dev.pkipath", bytes.fromhex(%r))])
''' % (urls, srv.port, _p(m, "root.pem"), chain_file, _p(m, "leaf.key"),
            srv.port, _p(m, "root.pem"), chain_file, _p(m, "leaf.key"),
            srv.port, _p(m, "root.pem"), _p(m, "leaf.key"),
            hashlib.sha1(_pkipath(chain)).hexdigest()))
        cores = srv.cores
    assert all(line.startswith("ok") and "b'ping'" in line for line in lines), lines
    for core in cores:
        assert core.client_ext.get(EXT_CLIENT_CERTIFICATE_URL) == b""   # empty (§5)
        assert core.cert_verify_ok and core.client_cert_chain == chain
    assert cores[0].certificate_url is None
    assert cores[1].certificate_url == _url_body(
        [(u, hashlib.sha1(d).digest()) for u, d in zip(urls, chain)])
    assert cores[2].certificate_url == _url_body(
        [(b"http://certs.example/dev.pkipath", hashlib.sha1(_pkipath(chain)).digest())], 1)
    assert parse_certificate_url(cores[2].certificate_url)[1][0][1] == 1   # padding 0x01
    sent = [int(line.split()[-1]) for line in lines]
    print("\nRFC 6066 §5: client handshake bytes %d with the chain, %d with 3 URLs, %d with one "
          "PkiPath URL (chain %d bytes)" % (sent[0], sent[1], sent[2],
                                           len(certificate_body(chain))))
    assert sent[1] < sent[0] - 1000 and sent[2] < sent[1]


def test_certificate_url_wrong_hash_and_missing_url(material):
    """The server checks the SHA-1 (bad_certificate_hash_value) and fails to fetch an
    unknown URL (certificate_unobtainable); the client reports the server's alert."""
    m = material
    chain = m["client_chain"]
    store = {b"http://c/leaf": chain[0]}
    with UdpServer(factory=lambda i: EcdheServerCore(
            _chains(m), request_client_cert=True, url_store=store)) as srv:
        lines = run_mp(r'''
connect(%d, ca=%r, key=%r, cert_urls=[("http://c/leaf", b"\x00" * 20)])
connect(%d, ca=%r, key=%r, cert_urls=[("http://c/gone", b"\x00" * 20)])
''' % ((srv.port, _p(m, "root.pem"), _p(m, "leaf.key")) * 2))
    assert lines[0].startswith("error 114 AlertReceived"), lines
    assert lines[1].startswith("error 111 AlertReceived"), lines


def test_certificate_url_not_accepted_without_chain(material):
    """cert_urls without a local chain, server without the extension: an empty Certificate
    and no CertificateVerify (RFC 5246 §7.4.6); the scripted server lets that pass."""
    m = material
    with UdpServer(factory=lambda i: EcdheServerCore(
            _chains(m), request_client_cert=True, cert_url=False)) as srv:
        lines = run_mp("connect(%d, ca=%r, key=%r, cert_urls=[('http://c/x', b'1' * 20)])\n"
                       % (srv.port, _p(m, "root.pem"), _p(m, "leaf.key")))
        core = srv.cores[0]
    assert lines[0].startswith("ok"), lines
    assert core.client_cert_chain == [] and core.cert_verify_ok is None


def test_context_validation():
    out = mp.check_code(r'''
import dtls
for kw in ({"trusted_ca_keys": "pre_agreed"}, {"cert_urls": [("http://x", None)]},
           {"cached_info": b"junk"}, {"cached_info": 42}):
    try:
        dtls.Context(psk=(b"id", b"k"), **kw)
        print("accepted", kw)
    except (ValueError, TypeError) as e:
        print("refused")
''')
    assert out.split() == ["refused"] * 4, out


# --------------------------------------------------------------------------- CLI

def test_cli_options(material, tmp_path):
    """tools/dtls_client.py --cached-info FILE (miss, then hit), --trusted-ca-keys,
    --cert-url with the hash computed from --cert."""
    m = material
    cache = tmp_path / "cache.bin"
    urls = [b"http://c/%d" % i for i in range(3)]
    store = dict(zip(urls, m["client_chain"]))
    with UdpServer(factory=lambda i: EcdheServerCore(
            _chains(m), request_client_cert=True, url_store=store)) as srv:
        outs = []
        for _ in range(2):
            cmd = [mp.micropython_path(), CLIENT, "127.0.0.1", str(srv.port), "--sni",
                   "localhost", "--ca", _p(m, "root.pem"), "--cached-info", str(cache),
                   "--trusted-ca-keys", "x509_name", "--cert", _p(m, "client_chain.pem"),
                   "--key", _p(m, "leaf.key"), "--send", "cli", "--wait", "0.5", "-v"]
            for u in urls:
                cmd += ["--cert-url", u.decode()]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                                 env=mp.mp_env(), stdin=subprocess.DEVNULL)
            assert res.returncode == 0, res.stderr
            outs.append(res)
        cores = srv.cores
    assert "cached_info: miss" in outs[0].stdout and "cached_info: hit" in outs[1].stdout
    assert "recv: cli" in outs[1].stdout
    assert "send CertificateURL, ClientKeyExchange, CertificateVerify" in outs[1].stderr
    assert "from cached_info" in outs[1].stderr
    assert "trusted_ca_keys" in outs[1].stderr and "cached_info" in outs[1].stderr
    assert cores[1].cached_info_hit and cores[1].cert_verify_ok


# --------------------------------------------------------------------------- peers

def _offer_all(m, host_port, extra=(), prefix=()):
    """Our client offering cached_info (an entry for the server's actual chain, as RFC 7924
    computes it), trusted_ca_keys and client_certificate_url; returns the trace."""
    code = PRELUDE + r'''
import sys
chain = [open(p, "rb").read() for p in %r]
from dtls.pem import load_der_or_pem
ders = []
for c in chain:
    ders += load_der_or_pem(c)
body = b""
for d in ders:
    body += len(d).to_bytes(3, "big") + d
body = len(body).to_bytes(3, "big") + body
entry = ecdhe.CachedInfo(0, body, "localhost", None)
print("cached", len(body))
lines = []
ctx = dtls.Context(ca=%r, cached_info=entry, trusted_ca_keys="key_sha1_hash",
                   key=%r, cert_urls=[("http://c/x", b"1" * 20)], trace=lines.append %s)
conn = ctx.connect(%r, %d, server_hostname="localhost")
print("ok", conn.cipher_suite)
for l in lines:
    if "ServerHello:" in l or "Certificate" in l:
        print(l)
conn.close()
''' % ([_p(m, n) for n in ("leaf.pem", "int2.pem", "int1.pem")], _p(m, "root.pem"),
       _p(m, "leaf.key"), "".join(extra), host_port[0], host_port[1])
    path = m["dir"] / "offer_all.py"
    path.write_text(code)
    res = subprocess.run(list(prefix) + [mp.micropython_path(), str(path)], capture_output=True,
                         text=True, timeout=60, env=mp.mp_env(), stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _assert_ignored(out):
    """The server completed the handshake, answered none of the three extensions, and sent
    in full the very Certificate message whose fingerprint we offered."""
    lines = out.splitlines()
    assert lines[0].startswith("cached ") and lines[1].startswith("ok TLS_ECDHE_ECDSA"), out
    sh = [line for line in lines if "ServerHello:" in line]
    assert sh and not any(n in sh[0] for n in ("cached_info", "trusted_ca_keys",
                                                "client_certificate_url")), out
    assert "recv Certificate (seq 2, %s bytes)" % lines[0].split()[1] in out, out
    assert "from cached_info" not in out


def test_independent_peers_ignore_them(material, start_peer):
    """OpenSSL 3.0, GnuTLS 3.7.9, Mbed TLS 2.28 and 3.6 complete the handshake with all
    three extensions offered (a cached_info entry matching the chain they send) and echo
    none of them: none implements RFC 7924 or RFC 6066 §5/§6. tinydtls is built without
    ECC, so it never sees an ECDHE offer."""
    m = material
    pki = m["pki"]
    fullchain = m["dir"] / "fullchain.pem"
    fullchain.write_bytes(b"".join((pki / n).read_bytes() for n in ("leaf.pem", "int2.pem",
                                                                      "int1.pem")))
    port = peers.free_port()
    cmd = ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port, "-cert",
           pki / "leaf.pem", "-cert_chain", pki / "chain.pem", "-key", pki / "leaf.key",
           "-cipher", "ECDHE-ECDSA-AES128-CCM8", "-naccept", "1"]
    with peers.Peer("openssl", peers._line_buffered(cmd), port, "", b"", stdin=True):
        _assert_ignored(_offer_all(m, ("127.0.0.1", port)))
    port = peers.free_port()
    cmd = [peers._python(), os.path.join(peers.SERVERS, "mbedtls_echo.py"), "--host",
           "127.0.0.1", "--port", str(port), "--cert", str(pki / "leaf.pem"), "--chain",
           str(pki / "int2.pem"), "--chain", str(pki / "int1.pem"), "--key",
           str(pki / "leaf.key")]
    with peers.Peer("mbedtls", cmd, port, "", b""):
        _assert_ignored(_offer_all(m, ("127.0.0.1", port)))
    peer = start_peer("mbedtls36", cert=str(fullchain), key=str(pki / "leaf.key"), cid=False)
    _assert_ignored(_offer_all(m, (peer.host, peer.port)))
    from test_interop_ecdhe import gnutls_server
    with gnutls_server(["-a", "--x509certfile", fullchain, "--x509keyfile",
                        pki / "leaf.key"]) as g:
        _assert_ignored(_offer_all(m, (g.host, g.port), prefix=g.prefix))
