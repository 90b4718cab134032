"""Packaging: the package lists (package.json for mip, manifest.py for freezing) against
the files; the PSK-only base set completing a handshake with no other file present;
mpy-cross on every file and the .mpy packages working; mpremote's own mip code installing
the package.json files (local and as from GitHub); tools/deploy.py planning, refusing,
and deploying to a fake board whose main.py (tools/examples) then runs in the unix port
against a real CoAP server.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import mp
import peers

sys.path.insert(0, mp.TOOLS)
import packages  # noqa: E402

ROOT = peers.ROOT
ECC_FILES = {"der.py", "ecdhe.py", "ecdhe_psk.py", "ecdsa.py", "p256.py", "pem.py", "x509.py"}


def urls(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return json.load(f)


def version_of(init_py):
    with open(os.path.join(ROOT, init_py)) as f:
        return re.search(r'__version__ = "([^"]+)"', f.read()).group(1)


# ------------------------------------------------------------------ lists vs files

def test_package_json_lists_every_file_once():
    dtls_py = {f for f in os.listdir(os.path.join(ROOT, "lib/dtls")) if f.endswith(".py")}
    dtls_py.discard("manifest.py")
    base = {t for t, _ in urls("lib/dtls/package.json")["urls"]}
    ecc = {t for t, _ in urls("lib/dtls/package-ecc.json")["urls"]}
    aio = {t for t, _ in urls("lib/dtls/package-aio.json")["urls"]}
    assert not base & ecc and not base & aio and not ecc & aio
    missing = dtls_py - {t[len("dtls/"):] for t in base | ecc | aio}
    assert not missing, "lib/dtls files in no package (add them to lib/dtls/package.json, " \
                        "package-aio.json or package-ecc.json and the manifests): %s" \
                        % sorted(missing)
    assert {t[len("dtls/"):] for t in ecc} == ECC_FILES
    assert aio == {"dtls/aio.py"}
    coap_py = {f for f in os.listdir(os.path.join(ROOT, "lib/coap"))
               if f.endswith(".py") and f != "manifest.py"}
    assert {t for t, _ in urls("lib/coap/package.json")["urls"]} == \
        {"coap/" + f for f in coap_py}
    for name in packages.PACKAGES:
        for src, target in packages.files(name):
            assert os.path.isfile(src), src
            assert os.path.basename(src) == os.path.basename(target)
    # The top-level package.json (mip install github:OWNER/REPO) is the union.
    top = urls("package.json")
    assert sorted(top["urls"]) == sorted(
        [t, os.path.relpath(src, ROOT)] for n in packages.PACKAGES
        for src, t in packages.files(n))
    versions = {urls(p)["version"] for p in list(packages.PACKAGES.values()) + ["package.json"]}
    assert versions == {version_of("lib/dtls/__init__.py")} == {version_of("lib/coap/__init__.py")}


class _Manifest:
    """Evaluates manifest.py files the way MicroPython's tools/manifestfile.py does in
    freeze mode, for the functions ours use; used when that file is not available."""

    def __init__(self):
        self.files = []
        self.metadata_stack = [{}]
        self.libraries = {}
        self.visited = set()

    def run(self, path, is_require=False):
        path = os.path.abspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self.visited:
            return
        self.visited.add(path)
        here = os.path.dirname(path)
        frame = {"called": False, "first": True}
        if is_require:
            self.metadata_stack.append({})

        def resolve(p):
            return os.path.normpath(os.path.join(here, p))

        def metadata(**kw):
            assert not frame["called"], "duplicate metadata() in %s" % path
            assert frame["first"], "metadata() must come first in %s" % path
            frame["called"] = True
            self.metadata_stack[-1].update(kw)

        def step():
            frame["first"] = False

        def package(name, files=None, base_path=".", opt=None):
            step()
            base = resolve(base_path)
            if files is None:
                raise AssertionError("package() without files= would freeze manifest.py")
            for f in files:
                self.files.append((os.path.join(base, name, f), name + "/" + f))

        def module(name, base_path=".", opt=None):
            step()
            self.files.append((os.path.join(resolve(base_path), name), name))

        def include(p, **kw):
            step()
            self.run(resolve(p))

        def add_library(name, p, prepend=False):
            step()
            self.libraries[name] = resolve(p)

        def require(name, library=None, **kw):
            step()
            root = self.libraries[library]
            for dirpath, _, filenames in os.walk(root):
                if os.path.basename(dirpath) == name and "manifest.py" in filenames:
                    self.run(dirpath, is_require=True)
                    return
            raise AssertionError("require(%r): not found under %s" % (name, root))

        with open(path) as f:
            code = f.read()
        exec(compile(code, path, "exec"), {
            "metadata": metadata, "package": package, "module": module, "include": include,
            "add_library": add_library, "require": require})
        if is_require:
            self.metadata_stack.pop()
        return self


def _real_manifestfile():
    for d in (os.environ.get("MPY_DIR", ""), os.path.join(ROOT, "build", "mpy_dir")):
        if d and os.path.exists(os.path.join(d, "tools", "manifestfile.py")):
            return os.path.join(d, "tools")
    return None


def manifest_targets(path):
    tools = _real_manifestfile()
    if tools:
        sys.path.insert(0, tools)
        try:
            import manifestfile
        finally:
            sys.path.remove(tools)
        mf = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {"MPY_DIR": "",
                                                                   "PORT_DIR": "",
                                                                   "BOARD_DIR": "",
                                                                   "MPY_LIB_DIR": ""})
        mf.execute(path)
        return sorted((os.path.normpath(f.full_path), f.target_path) for f in mf.files())
    return sorted((os.path.normpath(s), t) for s, t in _Manifest().run(path).files)


@pytest.mark.parametrize("manifest,names", [
    ("lib/dtls/manifest.py", ["dtls"]),
    ("lib/dtls-aio/manifest.py", ["dtls", "dtls-aio"]),
    ("lib/dtls-ecc/manifest.py", ["dtls", "dtls-ecc"]),
    ("lib/coap/manifest.py", ["dtls", "dtls-aio", "coap"]),
    ("lib/manifest.py", ["dtls", "dtls-aio", "dtls-ecc", "coap"]),
])
def test_manifests_freeze_what_package_json_installs(manifest, names):
    got = manifest_targets(os.path.join(ROOT, manifest))
    want = sorted((os.path.normpath(s), t) for n in names for s, t in packages.files(n))
    assert got == want


def test_manifest_evaluator_can_fail(tmp_path):
    """The fallback evaluator rejects what manifestfile.py rejects."""
    (tmp_path / "manifest.py").write_text('package("x")\nmetadata(version="1")\n')
    with pytest.raises(AssertionError):
        _Manifest().run(str(tmp_path / "manifest.py"))


# ------------------------------------------------------------------ PSK-only, .mpy

def copy_package(names, dest):
    for n in names:
        for src, target in packages.files(n):
            os.makedirs(os.path.dirname(os.path.join(dest, target)), exist_ok=True)
            shutil.copyfile(src, os.path.join(dest, target))


PSK_ONLY = """
import sys, dtls
ctx = dtls.Context(psk=(b"Client_identity", bytes.fromhex("000102030405060708090a0b0c0d0e0f")))
conn = ctx.connect("127.0.0.1", int(sys.argv[1]))
conn.send(b"psk only")
conn.settimeout(5)
print("echo:", conn.recv().decode())
conn.close()
print("modules:", " ".join(sorted(k for k in sys.modules if k.startswith("dtls"))))
try:
    dtls.Context(ca=[b"x"])
except ImportError as e:
    print("ecc: ImportError")
try:
    import dtls.aio
except ImportError:
    print("aio: ImportError")
"""


def test_psk_only_base_completes_a_handshake(tinydtls_peer, tmp_path):
    """Only the dtls base files on the path (no asyncio driver, no P-256, ECDSA, DER, PEM,
    X.509 code): a full PSK handshake and an echo, and no ECC module ever loaded."""
    copy_package(["dtls"], str(tmp_path))
    assert not any(f in ECC_FILES for f in os.listdir(tmp_path / "dtls"))
    res = mp.run_code(PSK_ONLY, args=[tinydtls_peer.port],
                      env={"MICROPYPATH": ".frozen:" + str(tmp_path)})
    assert res.returncode == 0, (res.stdout, res.stderr)
    lines = res.stdout.splitlines()
    assert lines[0] == "echo: psk only"
    loaded = set(lines[1].split()[1:])
    assert not loaded & {"dtls." + f[:-3] for f in ECC_FILES}, loaded
    assert lines[2] == "ecc: ImportError", lines
    assert lines[3] == "aio: ImportError", lines


def test_mpy_cross_builds_every_file(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(mp.TOOLS, "build_dist.py"),
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in packages.PACKAGES:
        pj = json.loads((tmp_path / "mpy" / name / "package.json").read_text())
        targets = [t for t, _ in pj["urls"]]
        assert targets == [t[:-3] + ".mpy" for _, t in packages.files(name)]
        for t in targets:
            head = (tmp_path / "mpy" / name / t).read_bytes()[:2]
            assert head == b"M\x06", (t, head)          # .mpy version 6
    assert "dtls" in res.stdout and "coap" in res.stdout


COAP_GET = """
import sys, dtls, coap
print("dtls from:", dtls.__file__)
ctx = dtls.Context(psk=(b"Client_identity", b"secretPSK"))
with coap.Client(ctx.connect("127.0.0.1", int(sys.argv[1]))) as client:
    r = client.get("example_data")
print(r.name, len(r.payload))
"""


def test_mpy_packages_run_coap(coap_peer, tmp_path):
    """The compiled dtls + coap packages alone: a block-wise CoAP GET over DTLS-PSK."""
    subprocess.run([sys.executable, os.path.join(mp.TOOLS, "build_dist.py"), "--out",
                    str(tmp_path), "dtls", "coap"], check=True, capture_output=True)
    path = ".frozen:%s:%s" % (tmp_path / "mpy" / "dtls", tmp_path / "mpy" / "coap")
    res = mp.run_code(COAP_GET, args=[coap_peer.port], env={"MICROPYPATH": path})
    assert res.returncode == 0, (res.stdout, res.stderr)
    lines = res.stdout.splitlines()
    assert lines[0].endswith(".mpy"), lines
    assert lines[1] == "2.05 Content 1500", lines


# ------------------------------------------------------------------ mip, deploy

class FakeTransport:
    """The part of mpremote's transport that its mip code uses, over a directory."""

    def __init__(self, root):
        self.root = str(root)

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def fs_exists(self, path):
        return os.path.exists(self._p(path))

    def fs_mkdir(self, path):
        os.mkdir(self._p(path))

    def fs_writefile(self, path, data, progress_callback=None):
        with open(self._p(path), "wb") as f:
            f.write(data)


def test_mpremote_mip_installs_local_package_json(tmp_path):
    from mpremote import mip
    board = FakeTransport(tmp_path)
    mip._install_package(board, os.path.join(ROOT, "lib/dtls/package.json"), None, "/lib",
                         None, True)
    got = sorted(os.listdir(tmp_path / "lib" / "dtls"))
    assert got == sorted(os.path.basename(t) for _, t in packages.files("dtls"))


def test_mpremote_mip_install_from_github(tmp_path, monkeypatch, capsys):
    """`mpremote mip install github:OWNER/REPO` and the PSK-only subset, with the HTTP
    fetches answered from this checkout: every URL mip derives must exist here."""
    import io
    from mpremote import mip
    fetched = []

    def urlopen(url):
        prefix = "https://raw.githubusercontent.com/owner/repo/HEAD/"
        assert url.startswith(prefix), url
        fetched.append(url[len(prefix):])
        with open(os.path.join(ROOT, url[len(prefix):]), "rb") as f:
            return io.BytesIO(f.read())

    monkeypatch.setattr(mip.urllib.request, "urlopen", urlopen)
    full = tmp_path / "full"
    full.mkdir()
    mip._install_package(FakeTransport(full), "github:owner/repo", None, "/lib", None, True)
    assert fetched[0] == "package.json"
    assert sorted(os.listdir(full / "lib" / "dtls")) == sorted(
        os.path.basename(t) for n in ("dtls", "dtls-aio", "dtls-ecc")
        for _, t in packages.files(n))
    assert (full / "lib" / "coap" / "endpoint.py").exists()
    psk = tmp_path / "psk"
    psk.mkdir()
    fetched.clear()
    mip._install_package(FakeTransport(psk), "github:owner/repo/lib/dtls/package.json", None,
                         "/lib", None, True)
    assert fetched[0] == "lib/dtls/package.json"
    assert not (ECC_FILES | {"aio.py"}) & set(os.listdir(psk / "lib" / "dtls"))


def deploy(*args):
    return subprocess.run([sys.executable, os.path.join(mp.TOOLS, "deploy.py")] +
                          [str(a) for a in args], capture_output=True, text=True, timeout=60)


def test_deploy_dry_run_lists_the_chosen_packages():
    res = deploy("--packages", "coap", "--dry-run")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    targets = [line.split(" -> ")[1] for line in lines if " -> " in line]
    assert targets == ["<lib>/" + t for n in ("dtls", "dtls-aio", "coap")
                       for _, t in packages.files(n)]
    assert "p256" not in res.stdout and "x509" not in res.stdout
    cmd = lines[-1]
    assert "mip install" in cmd and "lib/dtls/package.json" in cmd and \
        "lib/dtls/package-aio.json" in cmd and "lib/coap/package.json" in cmd
    res = deploy("--packages", "dtls-ecc", "--dry-run")
    assert "dtls/p256.py" in res.stdout and "dtls/client.py" in res.stdout


@pytest.mark.parametrize("args,message", [
    (["--packages", "nope"], "unknown package"),
    (["--natmod", "auto"], "--natmod auto"),
    (["--file", "/no/such/file"], "no such file"),
])
def test_deploy_usage_errors(args, message):
    res = deploy("--dry-run", *args)
    assert res.returncode == 2 and message in res.stderr, res


def test_deploy_refuses_server_and_ca_secrets(tmp_path):
    for name in ("ca-key.pem", "server-key.pem", "psk.passwd"):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / "credentials.json").write_text("{}")
        (d / name).write_text("secret")
        res = deploy("--credentials", d, "--dry-run")
        assert res.returncode == 2 and "refusing" in res.stderr and name in res.stderr, res


FAKE_MPREMOTE = r'''
import json, os, shutil, sys
from mpremote import mip
root = os.environ["FAKE_BOARD"]

class T:
    def _p(self, p):
        return os.path.join(root, p.lstrip("/"))
    def fs_exists(self, p):
        return os.path.exists(self._p(p))
    def fs_mkdir(self, p):
        os.mkdir(self._p(p))
    def fs_writefile(self, p, data, progress_callback=None):
        with open(self._p(p), "wb") as f:
            f.write(data)

args = sys.argv[1:]
log = open(os.path.join(root, "..", "mpremote.log"), "a")
if args[:1] == ["connect"]:
    log.write("connect %s\n" % args[1])
    args = args[2:]
cmds, cur = [], []
for a in args + ["+"]:
    if a == "+":
        cmds.append(cur)
        cur = []
    else:
        cur.append(a)
for c in cmds:
    log.write(" ".join(c[:2]) + "\n")
    if c[0] == "exec":
        compile(c[1], "exec", "exec")
    elif c[:2] == ["mip", "install"]:
        rest = c[2:]
        target = "/lib"
        if rest[0] == "--target":
            target, rest = rest[1], rest[2:]
        for pkg in rest:
            mip._install_package(T(), pkg, None, target, None, True)
    elif c[:2] == ["fs", "cp"]:
        shutil.copyfile(c[2], T()._p(c[3][1:]))
    elif c[0] != "soft-reset":
        sys.exit("fake mpremote: unknown command %r" % c)
'''

STUBS = {
    "network.py": '''
STA_IF = 0
class WLAN:
    def __init__(self, i):
        self._up = False
    def active(self, on=None):
        print("stub: wlan active", on)
    def connect(self, ssid, password):
        print("stub: wlan connect", ssid)
        self._up = True
    def isconnected(self):
        return self._up
    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
    def status(self):
        return 3
''',
    "machine.py": '''
class RTC:
    def memory(self, data=None):
        if data is None:
            try:
                with open("rtc.bin", "rb") as f:
                    return f.read()
            except OSError:
                return b""
        with open("rtc.bin", "wb") as f:
            f.write(data)
class Pin:
    OUT = 1
    def __init__(self, *a):
        pass
    def on(self):
        pass
    def off(self):
        pass
def deepsleep(ms):
    print("stub: deepsleep", ms)
    raise SystemExit
def lightsleep(ms):
    print("stub: lightsleep", ms)
    raise SystemExit
''',
    "rp2.py": 'def country(c):\n    print("stub: country", c)\n',
}


@pytest.fixture
def generated_psk_server(tmp_path):
    """tools/credentials.py PSK files, and libcoap started with its printed command."""
    port = peers.free_port(count=2)
    res = subprocess.run([sys.executable, os.path.join(mp.TOOLS, "credentials.py"), "psk",
                          "--out", str(tmp_path / "creds"), "--port", str(port + 1), "--json"],
                         capture_output=True, text=True, timeout=60, check=True)
    cmd = json.loads(res.stdout)["commands"]["libcoap-psk"] + ["-v", "7"]
    server = peers.Peer("libcoap", peers._line_buffered(cmd), port + 1, "-", b"-")
    yield server, tmp_path / "creds" / "device"
    server.stop()


@pytest.mark.parametrize("board", ["esp32", "picow"])
def test_deploy_to_fake_board_then_run_example(generated_psk_server, tmp_path, board):
    """credentials.py -> deploy.py (through mpremote's mip code into a directory standing
    for the board's flash) -> the example main.py, run by the unix port from that
    directory with stub network/machine modules, doing a CoAP GET over DTLS-PSK against
    libcoap. The ESP32 example runs twice, as after a deep-sleep wake-up, and resumes
    the session kept in (stub) RTC memory the second time."""
    server, device_dir = generated_psk_server
    flash = tmp_path / "flash"
    flash.mkdir()
    fake = tmp_path / "mpremote"
    fake.write_text("#!%s\n%s" % (sys.executable, FAKE_MPREMOTE))
    fake.chmod(0o755)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"wifi_ssid": "test-net", "wifi_password": "x",
                                  "server": "127.0.0.1", "port": server.port,
                                  "path": "time", "interval_s": 60, "country": "DE"}))
    res = subprocess.run([sys.executable, os.path.join(mp.TOOLS, "deploy.py"),
                          "--device", "/dev/ttyFAKE", "--packages", "coap",
                          "--credentials", str(device_dir), "--file", str(config),
                          "--main", os.path.join(mp.TOOLS, "examples", board, "main.py"),
                          "--target", "/lib", "--mpremote", str(fake)],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, FAKE_BOARD=str(flash)))
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(os.listdir(flash)) == ["config.json", "credentials", "lib", "main.py"]
    assert not ECC_FILES & set(os.listdir(flash / "lib" / "dtls"))
    log = (tmp_path / "mpremote.log").read_text().splitlines()
    assert log[0] == "connect /dev/ttyFAKE" and log[1] == "exec " + log[1][5:], log

    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in STUBS.items():
        (stubs / name).write_text(text)
    env = mp.mp_env({"MICROPYPATH": ".frozen:%s:%s" % (stubs, flash / "lib")})
    runs = 2 if board == "esp32" else 1
    outputs = []
    for _ in range(runs):
        r = subprocess.run([mp.micropython_path(), "main.py"], cwd=str(flash), env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        outputs.append(r.stdout)
    for out in outputs:
        assert "stub: wlan connect test-net" in out, out
        assert re.search(r"coap: 2\.05 Content b'[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d'", out), out
        assert "error:" not in out, out
    if board == "esp32":
        assert "resumed False" in outputs[0] and "stub: deepsleep 60000" in outputs[0]
        # libcoap (OpenSSL) keeps sessions: the wake-up resumes from the RTC blob.
        assert "resumed True" in outputs[1], outputs[1]
    else:
        assert "stub: country DE" in outputs[0] and "stub: lightsleep 60000" in outputs[0]
