"""The benchmark tools without a board: tools/board_bench.py (argument parsing, the commands it
would run, its device script under the unix port against a local server, and the whole
pipeline through a stand-in mpremote), tools/handshake_probe.py --resume, tools/plot_bench.py
and the target table of tools/bench.py. No timing is asserted (timings belong to make bench)."""
import json
import os
import sys

import pytest

import mp
import native
import peers

sys.path.insert(0, mp.TOOLS)
import bench  # noqa: E402
import board_bench  # noqa: E402
import count_insns  # noqa: E402
import plot_bench  # noqa: E402

PROBE = os.path.join(mp.TOOLS, "handshake_probe.py")


def _need_openssl():
    try:
        peers._need_program("openssl")
    except peers.PeerUnavailable as e:
        pytest.skip(str(e))


# ---------------------------------------------------------------- board_bench: arguments

def test_defaults_and_run_plan():
    args = board_bench.parse_args([])
    assert (args.port, args.runs, args.identity) == (5684, 5, "Client_identity")
    runs = board_bench.run_configs(args, None)
    assert [label for label, _ in runs] == ["default"]
    assert "host" not in runs[0][1] and runs[0][1]["natmod_dir"] is None

    args = board_bench.parse_args(["--natmod", "armv6m", "--runs", "3", "--quick"])
    runs = board_bench.run_configs(args, "192.0.2.7")
    assert [label for label, _ in runs] == ["python", "native"]
    assert runs[0][1]["natmod_dir"] is None
    assert runs[1][1]["natmod_dir"] == board_bench.BOARD_NATMOD_DIR
    assert runs[1][1]["host"] == "192.0.2.7" and runs[1][1]["runs"] == 3


@pytest.mark.parametrize("argv", [["--runs", "0"], ["--key", "zz"], ["--key", ""],
                                  ["--port", "70000"], ["--natmod", "auto", "--dry-run"],
                                  ["--bogus"]])
def test_bad_arguments_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        board_bench.parse_args(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_wifi_password_comes_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("BOARD_WIFI_PASSWORD", "s3cret-pass")
    args = board_bench.parse_args(["--wifi", "lab-net"])
    config = board_bench.run_configs(args, None)[0][1]
    assert config["wifi_ssid"] == "lab-net" and config["wifi_password"] == "s3cret-pass"
    assert "network.WLAN" in board_bench.device_script(config)
    assert board_bench.main(["--wifi", "lab-net", "--dry-run", "--no-deploy"]) == 0
    assert "s3cret-pass" not in capsys.readouterr().out


def test_dry_run_prints_every_step(capsys):
    assert board_bench.main(["--dry-run", "--device", "/dev/ttyACM0", "--mpy",
                             "--natmod", "armv6m", "--serve", "--host", "192.0.2.7",
                             "--port", "5999"]) == 0
    out = capsys.readouterr().out
    assert "mip install" in out and "dist/mpy/dtls-ecc/package.json" in out  # deploy.py
    assert "fs cp" in out and "armv6m_6.3/_dtlscrypto.mpy" in out
    assert ":/bench_natmod/_dtlscrypto.mpy" in out
    assert "openssl s_server -dtls1_2 -accept 0.0.0.0:5999" in out
    assert "-cipher PSK-AES128-CCM8 -no_ticket" in out
    assert out.count("mpremote connect /dev/ttyACM0 run") == 2


def test_missing_natmod_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(board_bench, "ROOT", str(tmp_path))
    assert board_bench.main(["--dry-run", "--no-deploy", "--natmod", "rv32imc"]) == 2
    assert "make natmod" in capsys.readouterr().err


def test_print_script_is_the_first_run():
    script = board_bench.device_script(board_bench.run_configs(
        board_bench.parse_args(["--skip-crypto"]), None)[0][1], crypto=False)
    assert "_record_path" in script and "_handshakes" not in script
    assert "ccm8_" not in script  # bench_crypto.INNER left out


# ---------------------------------------------------------------- the device script

def _run_device_script(tmp_path, config, env=None):
    path = tmp_path / "board_script.py"
    path.write_text(board_bench.device_script(config))
    res = mp.run_script(str(path), timeout=180, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return board_bench.parse_output(res.stdout)


def test_device_script_runs_under_the_unix_port(tmp_path):
    """The script mpremote would send runs here too: pure Python first, then the C module
    found only through natmod_dir (no DTLS_CRYPTO), PSK handshakes and resumptions against
    a local s_server with a session cache."""
    _need_openssl()
    native.ensure_natmod()
    with peers.openssl_server(extra_args=["-no_ticket"]) as server:
        common = {"quick": True, "record_ms": 50, "host": "127.0.0.1", "port": server.port,
                  "identity": server.psk_identity, "key": server.psk_key_hex, "runs": 2}
        for natmod_dir, backend in ((None, "python"), (native.DIST_X64, "native")):
            r = _run_device_script(tmp_path, dict(common, natmod_dir=natmod_dir),
                                   env={"DTLS_CRYPTO": "auto"})
            assert r["info"]["platform"] == "linux" and r["info"]["mem_free"] > 0
            assert r["crypto"]["backend"] == backend
            assert r["crypto"]["ccm8_1024_us"] > 0 and r["crypto"]["verify_ms"] > 0
            assert r["record"]["backend"] == backend
            assert r["record"]["seal_open_64_us"] > 0
            hs = r["handshake"]
            assert hs["errors"] == [], hs
            assert hs["backend"] == backend
            assert len(hs["full_ms"]) == 2 and len(hs["resume_ms"]) == 2
            assert hs["resumed"] == 2
            assert all(1000 < n < 64 * 1024 for n in hs["conn_heap_bytes"]), hs


def test_device_script_reports_handshake_errors(tmp_path):
    """A wrong PSK: the handshakes fail, the script still ends and says why."""
    _need_openssl()
    with peers.openssl_server() as server:
        r = _run_device_script(tmp_path, {
            "quick": True, "record_ms": 20, "host": "127.0.0.1", "port": server.port,
            "identity": server.psk_identity, "key": "ff" * 16, "runs": 1, "natmod_dir": None,
            "handshake_timeout_ms": 1500},
            env={"DTLS_CRYPTO": "python"})
    assert r["handshake"]["full_ms"] == [] and len(r["handshake"]["errors"]) == 1


FAKE_MPREMOTE = r'''
"""Stand-in for mpremote: the board is the directory BOARD; `run FILE` runs FILE with the
unix port, board paths (/bench_natmod) mapped into BOARD; exec runs code the same way."""
import os, shutil, subprocess, sys, tempfile
BOARD, MICROPYTHON, LIB = sys.argv[1:4]
argv = sys.argv[4:]
log = open(os.path.join(BOARD, "commands.log"), "a")
env = dict(os.environ, MICROPYPATH=".frozen:" + LIB, DTLS_CRYPTO="auto")

def board_path(remote):
    return os.path.join(BOARD, remote.lstrip(":").lstrip("/"))

def run_code(code):
    code = code.replace("/bench_natmod", board_path("/bench_natmod"))
    fd, path = tempfile.mkstemp(suffix=".py")
    with os.fdopen(fd, "w") as f:
        f.write(code)
    res = subprocess.run([MICROPYTHON, path], env=env)
    os.unlink(path)
    if res.returncode:
        sys.exit(res.returncode)

steps, cur = [], []
for a in argv:
    if a == "+":
        steps.append(cur)
        cur = []
    else:
        cur.append(a)
steps.append(cur)
for step in steps:
    log.write(" ".join(step[:2]) + "\n")
    if step[0] == "connect":
        step = step[2:]
    if step[0] == "exec":
        run_code(step[1])
    elif step[:2] == ["fs", "cp"]:
        os.makedirs(os.path.dirname(board_path(step[3])), exist_ok=True)
        shutil.copyfile(step[2], board_path(step[3]))
    elif step[0] == "run":
        run_code(open(step[1]).read())
    else:
        sys.exit("fake mpremote: unsupported %r" % step)
'''


def test_pipeline_through_a_stand_in_mpremote(tmp_path):
    """main() end to end with --serve: openssl s_server started by the tool, the natmod
    copied to the stand-in board, one pure and one native run, the JSON written."""
    _need_openssl()
    native.ensure_natmod()
    board = tmp_path / "board"
    board.mkdir()
    fake = tmp_path / "fake_mpremote.py"
    fake.write_text(FAKE_MPREMOTE)
    out_json = tmp_path / "board_bench.json"
    mpremote = " ".join([sys.executable, str(fake), str(board), mp.micropython_path(), mp.LIB])
    rc = board_bench.main(["--mpremote", mpremote, "--no-deploy", "--natmod", "x64",
                           "--serve", "--host", "127.0.0.1", "--port", str(peers.free_port()),
                           "--runs", "2", "--quick", "--skip-crypto", "--json", str(out_json)])
    assert rc == 0
    assert (board / "bench_natmod" / "_dtlscrypto.mpy").exists()
    results = json.loads(out_json.read_text())
    assert set(results) == {"python", "native"}
    for backend in ("python", "native"):
        r = results[backend]
        assert r["record"]["backend"] == backend
        assert r["handshake"]["backend"] == backend
        assert r["handshake"]["errors"] == [] and r["handshake"]["resumed"] == 2
    log = (board / "commands.log").read_text()
    assert log.count("run ") == 2


# ---------------------------------------------------------------- probe, plot, targets

def test_probe_resumes_and_measures_the_open_connection():
    _need_openssl()
    with peers.openssl_server(naccept=2, extra_args=["-no_ticket"]) as server:
        res = mp.run_script(PROBE, ["microdtls", "127.0.0.1", server.port, "--resume"],
                            heapsize="512k", timeout=60)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    assert r["ok"] and r["resumed"] is True, r
    assert r["resume_ms"] > 0 and r["resume_alloc_bytes"] > 0
    assert 1000 < r["conn_heap_bytes"] < 64 * 1024


@pytest.mark.parametrize("backend", ["python", "native"])
def test_heap_profile_takes_the_open_connection_apart(backend):
    """The parts add up to what the connection keeps, and each epoch-1 cipher (one per
    direction, held by the record layer and the client) is found and is as big as one made
    on its own: a part missed or counted twice would show."""
    _need_openssl()
    native.ensure_natmod()
    with peers.openssl_server(naccept=1) as server:
        res = mp.run_script(os.path.join(mp.TOOLS, "heap_profile.py"),
                            ["127.0.0.1", server.port], heapsize="512k", timeout=60,
                            env=native.backend_env(backend))
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout.strip().splitlines()[-1])
    assert r["backend"] == backend
    parts = dict(r["parts"])
    assert abs(sum(parts.values()) - r["kept"]) <= 256, r
    one = r["objects"]["EpochCipher (one direction)"]
    for name in ("read cipher (epoch 1)", "write cipher (epoch 1)"):
        assert abs(parts[name] - one) <= 128, (name, r)
    assert 1000 < r["kept"] < 32 * 1024


def test_server_time_measures_each_flight():
    """s_server under strace: three turnarounds (ClientHello, ClientHello with cookie,
    flight 5) for this library and for OpenSSL's own client, each a positive time."""
    import shutil
    import subprocess
    if not shutil.which("strace"):
        pytest.skip("strace not installed")
    if subprocess.run(["strace", "-o", os.devnull, "true"]).returncode != 0:
        pytest.skip("strace cannot trace here (ptrace not permitted)")
    _need_openssl()
    import server_time
    for client in ("microdtls", "s_client CCM_8"):
        steps = server_time.one_run(client)
        assert len(steps) == 3 and all(0 < s < 1000000 for s in steps), (client, steps)


def _synthetic_results():
    h = {}
    for mode in ("psk", "ecdhe-cert", "ecdhe-rpk"):
        for client in ("microdtls", "microdtls-native", "builtin"):
            if mode == "ecdhe-rpk" and client == "builtin":
                continue
            h["%s/%s" % (mode, client)] = {"median_ms": 2.0, "conn_heap_bytes": 6000}
    heap = {"%s/%s" % (m, c): 20000 for m in ("psk", "ecdhe-cert", "ecdhe-rpk")
            for c in ("microdtls", "microdtls-native")}
    heap["psk/microdtls-native"] = 8 * 1024  # exactly at the limit: met
    return {
        "runs": 3, "host": {"cpu": "test"}, "handshake": h,
        "resumption": {"psk/microdtls": {"median_ms": 1.0}},
        "ratio_to_builtin": {"psk/microdtls": 4.0, "psk/microdtls-native": 1.6,
                             "ecdhe-cert/microdtls": 2.0, "ecdhe-cert/microdtls-native": 0.5},
        "smallest_free_heap_bytes": heap,
        "wire": {"psk/microdtls": {"client_to_server": {"bytes": 291, "datagrams": 3}}},
        "code_size": {"mpy": {"dtls": 20000, "all": 70000},
                      "mpy_O3": {"dtls": 19000, "all": 60000},
                      "natmod_bytes": {"x64_6.3": 13000}},
    }


def test_targets_met_and_not_met():
    rows = {t["target"]: t for t in bench.targets(_synthetic_results())}
    assert rows["PSK handshake, pure / built-in"]["met"]
    assert not rows["PSK handshake, native / built-in"]["met"]
    assert rows["ECDHE-ECDSA (cert) handshake, native / built-in"]["met"]
    assert rows["PSK heap (smallest working free heap), native"]["met"]
    assert not rows["PSK heap (smallest working free heap), pure"]["met"]
    assert not rows["PSK handshake with cookie: client bytes"]["met"]
    assert rows["PSK handshake with cookie: client datagrams"]["met"]
    assert rows[".mpy PSK-only set (dtls)"]["met"]
    assert not rows[".mpy everything (dtls, dtls-aio, dtls-ecc, coap)"]["met"]
    assert rows[".mpy everything, mpy-cross -O3"]["met"]
    # no armv6m build: reported, never counted as met
    assert rows["natmod armv6m"]["value"] is None and not rows["natmod armv6m"]["met"]


def test_plot_writes_a_png(tmp_path):
    src = tmp_path / "bench.json"
    src.write_text(json.dumps(_synthetic_results()))
    dst = tmp_path / "out" / "bench.png"
    assert plot_bench.main([str(src), str(dst)]) == 0
    assert dst.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- count_insns (qemu-arm)

def _need_arm_tools():
    import shutil
    for tool in ("arm-none-eabi-gcc", "qemu-arm"):
        if not shutil.which(tool):
            pytest.skip("%s not installed" % tool)
    if not os.path.exists(os.path.join(count_insns.CORE, "build-armv6m", "p256_field.o")):
        pytest.skip("no armv6m natmod objects (make natmod)")


def test_count_insns_runs_the_natmod_code_on_armv6m(tmp_path):
    """The harness links the natmod's armv6m objects; a CCM seal of 64 B executes a plausible
    number of instructions, and a corrupted ECDSA signature is refused (the harness exits 0
    only then), so the counted code is the real thing."""
    _need_arm_tools()
    inputs = count_insns.test_inputs()
    insns, cycles, rc = count_insns.count(count_insns.build("armv6m", 6, str(tmp_path), inputs))
    assert rc == 0
    assert 10000 < insns < 10000000 and insns < cycles < 3 * insns
    _, _, rc = count_insns.count(count_insns.build("armv6m", 7, str(tmp_path), inputs))
    assert rc == 0, "the corrupted signature verified"
