"""Shared pytest fixtures: real DTLS servers from tests_host/peers.py.

Fixtures (function scope; each test gets its own server, stopped by PID afterwards):
    openssl_peer, gnutls_peer, coap_peer, tinydtls_peer, mbedtls_peer
    echo_peer       parametrized over the peers that echo (gnutls, tinydtls, mbedtls)
    start_peer      start_peer("openssl", naccept=2, extra_args=["-no_ticket"]) for options
    netns           a private network namespace (.prefix, .pid); needs root
    start_capture   start_capture(port) -> capture.Capture (dumpcap; tshark decoding)

A peer that cannot run here is skipped with the reason, except under CI (CI=true),
where it fails: a green CI must not hide a missing install step. When a test fails,
the output of every peer it started is added to the report.
"""
import os

import pytest

import peers

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason):
    if IN_CI:
        pytest.fail("peer unavailable under CI: %s" % reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def start_peer(request):
    """Factory: start_peer(name, **options) -> peers.Peer, stopped after the test."""
    started = []
    request.node._dtls_peers = started

    def start(name, **options):
        try:
            peer = peers.SERVERS_BY_NAME[name](**options)
        except peers.PeerUnavailable as exc:
            _unavailable(str(exc))
        started.append(peer)
        return peer

    yield start
    for peer in reversed(started):
        peer.stop()


@pytest.fixture
def openssl_peer(start_peer):
    return start_peer("openssl")


@pytest.fixture
def gnutls_peer(start_peer):
    return start_peer("gnutls")


@pytest.fixture
def coap_peer(start_peer):
    return start_peer("libcoap")


@pytest.fixture
def tinydtls_peer(start_peer):
    return start_peer("tinydtls")


@pytest.fixture
def mbedtls_peer(start_peer):
    return start_peer("mbedtls")


@pytest.fixture(params=peers.ECHO_PEERS)
def echo_peer(request, start_peer):
    return start_peer(request.param)


@pytest.fixture
def netns():
    try:
        ns = peers.NetNamespace()
    except peers.PeerUnavailable as exc:
        _unavailable(str(exc))
    yield ns
    ns.stop()


@pytest.fixture
def start_capture():
    """Factory: start_capture(port, prefix=()) -> capture.Capture (dumpcap on lo for that
    UDP port, see tests_host/capture.py), stopped and removed after the test. Skipped
    (failed under CI) when dumpcap cannot capture here."""
    import capture
    started = []

    def start(port, prefix=()):
        try:
            cap = capture.Capture(port, prefix=prefix)
        except capture.CaptureUnavailable as exc:
            _unavailable(str(exc))
        started.append(cap)
        return cap

    yield start
    for cap in started:
        cap.stop()
        cap.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for peer in getattr(item, "_dtls_peers", ()):
            report.sections.append(("peer %s (%s) output" % (peer.name, " ".join(peer.cmd)),
                                    peer.output() or "(nothing)"))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Throw-away P-256 test PKI made by tests_host/certs/make_certs.sh at test time:
    root -> int1 -> int2 -> leaf (CN/SAN localhost, IP 127.0.0.1), leaf_client (clientAuth),
    variants (expired, wildcard, ...), plus chain.pem (int2+int1), client_chain.pem and a
    P-384 leaf (leaf_p384.pem). Returns the directory as a pathlib.Path."""
    import subprocess
    out = tmp_path_factory.mktemp("pki")
    script = os.path.join(os.path.dirname(__file__), "certs", "make_certs.sh")
    subprocess.run(["sh", script, str(out)], check=True, capture_output=True)
    (out / "chain.pem").write_bytes((out / "int2.pem").read_bytes() +
                                    (out / "int1.pem").read_bytes())
    (out / "client_chain.pem").write_bytes((out / "leaf_client.pem").read_bytes() +
                                           (out / "int2.pem").read_bytes() +
                                           (out / "int1.pem").read_bytes())
    subprocess.run(["openssl", "req", "-new", "-key", str(out / "p384.key"), "-subj",
                    "/CN=localhost", "-out", str(out / "p384.csr")], check=True,
                   capture_output=True)
    (out / "p384.ext").write_text("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(out / "p384.csr"), "-CA",
                    str(out / "int2.pem"), "-CAkey", str(out / "int2.key"), "-sha256",
                    "-days", "365", "-set_serial", "77", "-extfile", str(out / "p384.ext"),
                    "-out", str(out / "leaf_p384.pem")], check=True, capture_output=True)
    return out
