"""Failure paths against real servers: clean errors within the timeout, never a traceback."""
import os
import subprocess
import time

import pytest

import mp
import peers

CLIENT = os.path.join(mp.TOOLS, "dtls_client.py")


def run_client(args, prefix=(), timeout=40):
    t0 = time.monotonic()
    res = subprocess.run(list(prefix) + [mp.micropython_path(), CLIENT] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=timeout, env=mp.mp_env(),
                         stdin=subprocess.DEVNULL)
    return res, time.monotonic() - t0


def assert_clean_failure(res):
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "FATAL" not in res.stderr, res.stderr
    assert res.stderr.startswith("error: "), res.stderr
    assert "cipher:" not in res.stdout


@pytest.mark.parametrize("name", ["openssl", "gnutls", "tinydtls", "mbedtls"])
def test_wrong_psk_key(start_peer, name):
    peer = start_peer(name)
    wrong = bytes(b ^ 0x5A for b in peer.psk_key).hex()
    res, elapsed = run_client([peer.host, peer.port, "--psk-identity", peer.psk_identity,
                               "--psk-key", wrong, "--timeout", "4", "--send", "x"],
                              prefix=peer.prefix)
    assert_clean_failure(res)
    # Servers either drop our Finished silently (timeout) or send a fatal alert.
    assert ("wrong PSK" in res.stderr) or ("fatal alert" in res.stderr), res.stderr
    assert elapsed < 4 + 3


# openssl s_server is left out: it only warns about an unexpected identity and uses its key.
@pytest.mark.parametrize("name", ["gnutls", "tinydtls", "mbedtls"])
def test_unknown_psk_identity(start_peer, name):
    peer = start_peer(name)
    res, elapsed = run_client([peer.host, peer.port, "--psk-identity", "nobody-knows-me",
                               "--psk-key", peer.psk_key_hex, "--timeout", "4"],
                              prefix=peer.prefix)
    assert_clean_failure(res)
    assert elapsed < 4 + 3


def test_no_server_listening():
    port = peers.free_port()
    res, elapsed = run_client(["127.0.0.1", port, "--psk-identity", "a", "--psk-key", "00" * 16,
                               "--timeout", "3"])
    assert_clean_failure(res)
    assert "timed out" in res.stderr and "no answer" in res.stderr, res.stderr
    assert elapsed < 3 + 3


def test_unresolvable_host():
    res, _ = run_client(["no-such-host.invalid", 5684, "--psk-identity", "a",
                         "--psk-key", "00" * 16, "--timeout", "2"])
    assert_clean_failure(res)


@pytest.mark.parametrize("args,message", [
    (["127.0.0.1"], "HOST and PORT"),
    (["127.0.0.1", "5684", "--psk-identity", "a"], "go together"),
    (["127.0.0.1", "5684", "--psk-identity", "a", "--psk-key", "zz"], "not valid hex"),
    (["127.0.0.1", "5684", "--psk-identity", "a", "--psk-key", "00", "--cipher", "NOPE"],
     "unsupported cipher suite"),
    (["127.0.0.1", "5684", "--bogus"], "unknown option"),
])
def test_usage_errors(args, message):
    res, _ = run_client(args)
    assert res.returncode in (1, 2) and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("tool", ["dtls_client.py", "coap_client.py"])
def test_help_under_micropython(tool):
    """--help prints the options (MicroPython compiles docstrings out, so it is a string)."""
    res = subprocess.run([mp.micropython_path(), os.path.join(mp.TOOLS, tool), "--help"],
                         capture_output=True, text=True, timeout=30, env=mp.mp_env())
    assert res.returncode == 0, res.stderr
    assert "--psk-identity" in res.stdout and "Traceback" not in res.stderr
