"""dtls.rng inside MicroPython: the HMAC_DRBG against NIST CAVP vectors, the SP 800-90B health
tests against stuck, biased and failing sources and a healthy os.urandom, and the DRBG as
the client's default random source in a real PSK handshake (and once under CPython: fork).

HMAC_DRBG vectors: NIST CAVP "DRBG test vectors" (drbgtestvectors.zip, HMAC_DRBG.rsp, CAVS
14.3, [SHA-256], 1024 returned bits), typed in from published copies: the no-reseed set
(COUNT 0 of "AdditionalInputLen = 0" and of "= 256", as quoted in the hmac-drbg npm
package's tests), the prediction-resistance-false set (COUNT 0 with its intermediate Key/V
values, as quoted in BoringSSL's ACVP tooling tests), and Mbed TLS's
tests/suites/test_suite_hmac_drbg.{no_reseed,nopr,pr}.data, which hold the CAVS 14.3
vectors with entropy input, nonce and the later entropy inputs concatenated.
No installed PyPI package ships DRBG vectors (cryptography_vectors and
pycryptodome_test_vectors do not).
"""
import json
import math
import os
import subprocess
import sys
from fractions import Fraction

import pytest

import mp
from native import BACKENDS, backend_env
from test_interop_psk import assert_clean_success, run_client

# (name, entropy_input, nonce, personalization, [additional inputs], expected) for the
# no-reseed set: instantiate, generate 128 bytes (discarded), generate 128 bytes.
NO_RESEED = [
    ("no reseed, COUNT 0 (no personalization, no additional input)",
     "ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488",
     "659ba96c601dc69fc902940805ec0ca8", "", ["", ""],
     "e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89"
     "d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1"
     "07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668"
     "961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8"),
    ("no reseed, AdditionalInputLen 256, COUNT 0",
     "d3cc4d1acf3dde0c4bd2290d262337042dc632948223d3a2eaab87da44295fbd",
     "0109b0e729f457328aa18569a9224921", "",
     ["3c311848183c9a212a26f27f8c6647e40375e466a0857cc39c4e47575d53f1f6",
      "fcb9abd19ccfbccef88c9c39bfb3dd7b1c12266c9808992e305bc3cff566e4e4"],
     "9c7b758b212cd0fcecd5daa489821712e3cdea4467b560ef5ddc24ab47749a1f"
     "1ffdbbb118f4e62fcfca3371b8fbfc5b0646b83e06bfbbab5fac30ea09ea2bc7"
     "6f1ea568c9be0444b2cc90517b20ca825f2d0eccd88e7175538b85d90ab39018"
     "3ca6395535d34473af6b5a5b88f5a59ee7561573337ea819da0dcc3573a22974"),
    ("no reseed, PersonalizationStringLen 256, AdditionalInputLen 256, COUNT 0",
     "5d3286bc53a258a53ba781e2c4dcd79a790e43bbe0e89fb3eed39086be34174b",
     "c5422294b7318952ace7055ab7570abf",
     "2dba094d008e150d51c4135bb2f03dcde9cbf3468a12908a1b025c120c985b9d",
     ["793a7ef8f6f0482beac542bb785c10f8b7b406a4de92667ab168ecc2cf7573c6",
      "2238cdb4e23d629fe0c2a83dd8d5144ce1a6229ef41dabe2a99ff722e510b530"],
     "d04678198ae7e1aeb435b45291458ffde0891560748b43330eaf866b5a6385e7"
     "4c6fa5a5a44bdb284d436e98d244018d6acedcdfa2e9f499d8089e4db86ae89a"
     "6ab2d19cb705e2f048f97fb597f04106a1fa6a1416ad3d859118e079a0c319eb"
     "95686f4cbcce3b5101c7a0b010ef029c4ef6d06cdfac97efb9773891688c37cf"),
]

# PredictionResistance = False: instantiate, reseed(EntropyInputReseed,
# AdditionalInputReseed), generate(add1), generate(add2) -> expected.
# (name, entropy_input, nonce, entropy_reseed, personalization, additional_reseed, add1,
#  add2, expected, intermediate (Key, V) after instantiate and after reseed or None)
RESEED = [
    ("PR False, COUNT 0 (no personalization, no additional input)",
     "06032cd5eed33f39265f49ecb142c511da9aff2af71203bffaf34a9ca5bd9c0d",
     "0e66f71edc43e42a45ad3c6fc6cdc4df",
     "01920a4e669ed3a85ae8a33b35a74ad7fb2a6bb4cf395ce00334a9c9a5a5d552", "", "", "", "",
     "76fc79fe9b50beccc991a11b5635783a83536add03c157fb30645e611c2898bb"
     "2b1bc215000209208cd506cb28da2a51bdb03826aaf2bd2335d576d519160842"
     "e7158ad0949d1a9ec3e66ea1b1a064b005de914eac2e9d4f2d72a8616a802254"
     "22918250ff66a41bd2f864a6a38cc5b6499dc43f7f2bd09e1e0f8f5885935124",
     [["17dc11c2389f5eeb9d0f6a5148a1ea83ee8a828f4f140ac78272a0da435fa121",
       "81e0d8830ed2d16f9b288a1cb289c5fab3f3c5c28131be7cafedcc7734604d34"],
      ["ca43e73325de43c41d7e0a7a3163fb04061b09fcee4c7b8884e969e3bdfdff9a",
       "c246fa97570ba2b9d9e5b453fe4632366f146fbd8491146563eb463c9eafe50c"]]),
    ("PR False, PersonalizationStringLen 256, AdditionalInputLen 256, COUNT 0",
     "cdb0d9117cc6dbc9ef9dcb06a97579841d72dc18b2d46a1cb61e314012bdf416",
     "d0c0d01d156016d0eb6b7e9c7c3c8da8",
     "8ec6f7d5a8e2e88f43986f70b86e050d07c84b931bcf18e601c5a3eee3064c82",
     "6f0fb9eab3f9ea7ab0a719bfa879bf0aaed683307fda0c6d73ce018b6e34faaa",
     "1ab4ca9014fa98a55938316de8ba5a68c629b0741bdd058c4d70c91cda5099b3",
     "16e2d0721b58d839a122852abd3bf2c942a31c84d82fca74211871880d7162ff",
     "53686f042a7b087d5d2eca0d2a96de131f275ed7151189f7ca52deaa78b79fb2",
     "dda04a2ca7b8147af1548f5d086591ca4fd951a345ce52b3cd49d47e84aa31a1"
     "83e31fbc42a1ff1d95afec7143c8008c97bc2a9c091df0a763848391f68cb4a3"
     "66ad89857ac725a53b303ddea767be8dc5f605b1b95f6d24c9f06be65a973a08"
     "9320b3cc42569dcfd4b92b62a993785b0301b3fc452445656fce22664827b88f", None),
]

# PredictionResistance = True: instantiate, generate(add1) with a reseed from
# EntropyInputPR 1 first, generate(add2) with a reseed from EntropyInputPR 2 -> expected.
# Mbed TLS's entropy column: EntropyInput (32) || Nonce (16) || EntropyInputPR 1 (32) ||
# EntropyInputPR 2 (32). (name, entropy column, personalization, add1, add2, expected)
PREDICTION_RESISTANCE = [
    ("PR True, AdditionalInputLen 256, COUNT 0",
     "2cad88b2b6a06e703de46185ccb2ddcf5e0ee030995ebdf95cc4fbc38441f17f"
     "32310770e04172c0cf91f6590cce44a4448bfbc5ce9e3b9da3e9642daecd994d"
     "fe373e75253e8eb585141224eca7ad7bafb57f69799c0b892b3015990e133698"
     "d543aa87829ace868e4a5e9525d62357", "",
     "ef6da5e6530e0d621749ab192e06327e995c3ac0c3963ab8c8cd2df2839ab5df",
     "44278b31ed853f0a510bd14650ac4b4971d8b426799a43511d016be68dedbb8d",
     "4c7dfbe509dc5a3ac26998723c6a44cad20b197fc86117c778d1568ab8289238"
     "62885e97198f77a1cb45113f5d78726a0f120aec94afc45f57c8dcc1cb092b34"
     "3480012858ef5bc559f57023442209326ec4a54d91ca3a77dfdf9e75f117cef5"
     "0e6fd2dc9af6ddce8e6515b4a97357a97b6cd274f68a042fa41bbd7b7261b034"),
    ("PR True, PersonalizationStringLen 256, AdditionalInputLen 0, COUNT 0",
     "f7b90c797a4a376cdd9f5c435f5985e77f36ec1df1145a12072cbb2a0da378fc"
     "d95202986d45896e9f4a65f2f353fa35130ab64f41a5d49d6a241e0260b4bb8a"
     "46a16c6ac9e234c84b5b26cdb518d459f7670e817ac061ac60439be609824920"
     "00dc5da8bc6636bdac8b1cab03198dfd",
     "61535c5c045e784267fd0d85f2861778fa53c8e8586af67cf5c9f21a28ebb656", "", "",
     "8df4e349f9ea43cc509ecb2b1124358cda2de1f5cc9315edca63610a413478d6"
     "8b8bb49c2814c82ce571f6e0a6780fa21c4b570610ee0c04d3edb92124f580f9"
     "62d741330200c19885ca716502223247b728d66fbbeb7c6cc25cfe9866b1450b"
     "346227c7663074c8b15d189f1c6edba172a53c733d67c1c69bd7aca7e62013cd"),
    ("PR True, PersonalizationStringLen 256, AdditionalInputLen 256, COUNT 0",
     "4294671d493dc085b5184607d7de2ff2b6aceb734a1b026f6cfee7c5a90f03da"
     "d071544e599235d5eb38b64b551d2a6edb9b4790b62336fbb9a684b829470653"
     "93eeef8f57bd2477141ad17e776dac344a9abe80f6f522f29878bedf8245b279"
     "40a76471006fb4a4110beb4decb6c341",
     "63bc769ae1d95a98bde870e4db7776297041d37c8a5c688d4e024b78d83f4d78",
     "28848becd3f47696f124f4b14853a456156f69be583a7d4682cff8d44b39e1d3",
     "8bfce0b7132661c3cd78175d83926f643e36f7608eec2c5dac3ddcbacc8c2182",
     "e580dc969194b2b18a97478aef9d1a72390aff14562747bf080d741527a6655c"
     "e7fc135325b457483a9f9c70f91165a811cf4524b50d51199a0df3bd60d12aba"
     "c27d0bf6618e6b114e05420352e23f3603dfe8a225dc19b3d1fff1dc245dc6b1"
     "df24c741744bec3f9437dbbf222df84881a457a589e7815ef132f686b760f012"),
]

# Runs inside MicroPython. The vectors go through HmacDrbg directly and, with a scripted
# source (1024 healthy start-up bytes, then the vector's entropy inputs) and a claimed
# H = 8 (so 32-byte entropy inputs and 16-byte nonces, as in the vectors), through
# HealthCheckedDrbg's instantiate / reseed / prediction-resistance paths.
KAT_CODE = r"""
import json, sys
import dtls
from dtls.rng import HmacDrbg, HealthCheckedDrbg
V = json.load(open(sys.argv[1]))
h = bytes.fromhex
STARTUP = bytes(range(256)) * 4  # passes both tests (H = 8: cutoffs 4 and 13)
out = []

def scripted(data):
    pos = [0]
    def source(n):
        chunk = data[pos[0]:pos[0] + n]
        pos[0] += n
        return chunk
    return source

for name, ei, nonce, pers, adds, want in V["no_reseed"]:
    d = HmacDrbg(h(ei), h(nonce), h(pers))
    d.generate(128, h(adds[0]))
    out.append([name, d.generate(128, h(adds[1])).hex() == want])

for name, ei, nonce, ei2, pers, add_r, add1, add2, want, states in V["reseed"]:
    d = HmacDrbg(h(ei), h(nonce), h(pers))
    ok = states is None or [d._key.hex(), d._v.hex()] == states[0]
    d.reseed(h(ei2), h(add_r))
    ok = ok and (states is None or [d._key.hex(), d._v.hex()] == states[1])
    d.generate(128, h(add1))
    out.append([name, ok and d.generate(128, h(add2)).hex() == want])
    g = HealthCheckedDrbg(scripted(STARTUP + h(ei) + h(nonce) + h(ei2)), h(pers),
                          min_entropy_bits=8)
    g.reseed(h(add_r))
    g.generate(128, h(add1))
    out.append([name + " via HealthCheckedDrbg", g.generate(128, h(add2)).hex() == want])

for name, entropy, pers, add1, add2, want in V["pr"]:
    e = h(entropy)
    d = HmacDrbg(e[:32], e[32:48], h(pers))
    d.reseed(e[48:80], h(add1))
    d.generate(128)
    d.reseed(e[80:112], h(add2))
    out.append([name, d.generate(128).hex() == want])
    g = HealthCheckedDrbg(scripted(STARTUP + e), h(pers), min_entropy_bits=8,
                          prediction_resistance=True)
    g.generate(128, h(add1))
    out.append([name + " via HealthCheckedDrbg", g.generate(128, h(add2)).hex() == want])

# a wrong vector must not pass (the check can fail)
d = HmacDrbg(bytes(32), bytes(16))
d.generate(128)
out.append(["negative control", d.generate(128).hex() != V["no_reseed"][0][5]])
print(json.dumps({"backend": dtls.crypto_backend(), "results": out}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_hmac_drbg_cavp_vectors(tmp_path, backend):
    """With the pure-Python HMAC and with the C module's (keyed SHA-256 states as pads)."""
    vectors = tmp_path / "vectors.json"
    vectors.write_text(json.dumps({"no_reseed": NO_RESEED, "reseed": RESEED,
                                   "pr": PREDICTION_RESISTANCE}))
    # The unix port takes no argument longer than 254 bytes: the vectors go in a file.
    got = json.loads(mp.check_code(KAT_CODE, args=[vectors], env=backend_env(backend)))
    assert got["backend"] == backend
    res = got["results"]
    assert len(res) == len(NO_RESEED) + 2 * len(RESEED) + 2 * len(PREDICTION_RESISTANCE) + 1
    failed = [name for name, ok in res if not ok]
    assert not failed, failed


def apt_cutoff(h, window=512, alpha_log2=20):
    """SP 800-90B §4.4.2: C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), exactly."""
    p = Fraction(1, 2 ** h)
    target = 1 - Fraction(1, 2 ** alpha_log2)
    cdf = Fraction(0)
    for x in range(window + 1):
        cdf += math.comb(window, x) * p ** x * (1 - p) ** (window - x)
        if cdf >= target:
            return 1 + x
    raise AssertionError("unreachable")


# Runs inside MicroPython: cutoffs, and the exact boundaries of both tests.
HEALTH_CODE = r"""
import json
from dtls.rng import HealthTests, RandomSourceError, APT_WINDOW
out = {"cutoffs": [[HealthTests(h).rct_cutoff, HealthTests(h).apt_cutoff] for h in range(1, 9)]}

def fails(data, h=4):
    t = HealthTests(h)
    try:
        t.feed(data)
    except RandomSourceError as e:
        return str(e)
    return None

# RCT (H = 4, cutoff 6): five equal bytes pass, six fail, also across feed() calls.
out["rct5"] = fails(b"\x01\x02" + b"\x07" * 5 + b"\x01")
out["rct6"] = fails(b"\x01\x02" + b"\x07" * 6)
t = HealthTests(4)
t.feed(b"\x09\x07\x07\x07")
try:
    t.feed(b"\x07\x07\x07")
    out["rct_split"] = None
except RandomSourceError as e:
    out["rct_split"] = str(e)

# APT (H = 4, cutoff 62): a window starting with 0xAA holding it 61 times passes, 62 fail;
# no run is longer than one, so only the APT can fire.
def window(count):
    w = bytearray()
    filler = 0
    while len(w) < APT_WINDOW:
        if len(w) % 2 == 0 and count:
            w.append(0xAA)
            count -= 1
        else:
            w.append(filler)
            filler = (filler + 1) % 0xAA
    return bytes(w)
out["apt61"] = fails(window(61) + window(61))
out["apt62"] = fails(window(62))
print(json.dumps(out))
"""


def test_health_test_cutoffs_and_boundaries():
    res = json.loads(mp.check_code(HEALTH_CODE))
    for h, (rct, apt) in enumerate(res["cutoffs"], 1):
        assert rct == 1 + math.ceil(20 / h), h  # SP 800-90B §4.4.1, alpha = 2^-20
        assert apt == apt_cutoff(h), h
    # SP 800-90B Table 2 (W = 512) lists these four
    assert [res["cutoffs"][h - 1][1] for h in (1, 2, 4, 8)] == [311, 177, 62, 13]
    assert res["rct5"] is None
    assert "repetition count test" in res["rct6"] and "6 times" in res["rct6"]
    assert "repetition count test" in res["rct_split"]
    assert res["apt61"] is None
    assert "adaptive proportion test" in res["apt62"] and "62 times" in res["apt62"]


# Runs inside MicroPython: sources that fail, and a healthy os.urandom.
SOURCES_CODE = r"""
import gc, json, os, time
import dtls
from dtls.rng import HealthCheckedDrbg, HealthTests, RandomSourceError
out = {}

def outcome(fn):
    try:
        fn()
    except RandomSourceError as e:
        return {"error": str(e), "dtls_error": isinstance(e, dtls.DTLSError), "alert": e.alert}
    return {"error": None}

class Prng:  # xorshift32: a deterministic stand-in for noise in the bad sources below
    def __init__(self, seed):
        self.x = seed
    def byte(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x & 0xFF

# 1. stuck: always the same byte
out["stuck"] = outcome(lambda: HealthCheckedDrbg(source=lambda n: b"\x5a" * n))
out["zeros"] = outcome(lambda: HealthCheckedDrbg(source=lambda n: bytes(n)))

# 2. biased: 90% one value at random positions (whichever test sees it first) ...
p = Prng(12345)
def biased90(n):
    return bytes(0x33 if p.byte() < 230 else p.byte() for _ in range(n))
out["biased90"] = outcome(lambda: HealthCheckedDrbg(source=biased90))
# ... and 80% in runs of at most four, so only the adaptive proportion test can fire
q = Prng(777)
pos = [0]
def biased80(n):
    b = bytearray()
    for _ in range(n):
        b.append(0x33 if pos[0] % 5 != 4 else (q.byte() | 0x80))
        pos[0] += 1
    return bytes(b)
out["biased80"] = outcome(lambda: HealthCheckedDrbg(source=biased80))

# 3. healthy at start-up, stuck afterwards: the continuous test trips on the next draw
drawn = [0]
def goes_stuck(n):
    drawn[0] += n
    return os.urandom(n) if drawn[0] <= 1024 + 96 else b"\xff" * n
g = HealthCheckedDrbg(source=goes_stuck)
first = g(32)
out["stuck_later_first_ok"] = len(first) == 32
out["stuck_later_reseed"] = outcome(g.reseed)
out["stuck_later_then"] = outcome(lambda: g(32))  # stays failed
# the same through the automatic reseed (interval of 2 generate calls)
drawn[0] = 0
g = HealthCheckedDrbg(source=goes_stuck, reseed_interval=2)
g(16)
g(16)
out["stuck_later_auto"] = outcome(lambda: g(16))
# and becoming biased later: the APT fires within a few reseeds
r = Prng(99)
count = [0]
def goes_biased(n):
    count[0] += n
    if count[0] <= 1024 + 96:
        return os.urandom(n)
    return bytes(0x44 if i % 3 else r.byte() | 0x80 for i in range(n))
g = HealthCheckedDrbg(source=goes_biased, prediction_resistance=True)
def draw_until_failure():
    for _ in range(40):
        g(32)
out["biased_later"] = outcome(draw_until_failure)

# 4. a source returning too few bytes
out["short"] = outcome(lambda: HealthCheckedDrbg(source=lambda n: os.urandom(n - 1)))

# 5. healthy os.urandom: 2 MiB straight through the tests, and the DRBG reseeding often
t = HealthTests()
t0 = time.ticks_ms()
for _ in range(32):
    t.feed(os.urandom(65536))
    gc.collect()
out["urandom_tested"] = t.samples
out["urandom_ms_per_mib"] = time.ticks_diff(time.ticks_ms(), t0) / 2
g = HealthCheckedDrbg(reseed_interval=50)
buf = bytearray(2000 * 32)  # one buffer: 2000 small objects amid the garbage fragment the heap
for i in range(2000):
    buf[32 * i:32 * i + 32] = g(32)
gc.collect()
out["healthy_distinct"] = len(set(bytes(buf[32 * i:32 * i + 32]) for i in range(2000)))
out["healthy_reseeds"] = g.reseeds
out["healthy_samples"] = g.health.samples
g2 = HealthCheckedDrbg(prediction_resistance=True)
out["pr_reseeds"] = [g2(1) and g2.reseeds, g2(1) and g2.reseeds]

# 6. request bounds
g = HealthCheckedDrbg()
out["zero_bytes"] = g(0) == b""
out["max_bytes"] = len(g.generate(65536)) == 65536
try:
    g.generate(65537)
    out["too_many"] = False
except ValueError:
    out["too_many"] = True

# 7. timing on this host
t0 = time.ticks_us()
for _ in range(20):
    HealthCheckedDrbg()
out["instantiate_ms"] = time.ticks_diff(time.ticks_us(), t0) / 20000
t0 = time.ticks_us()
for _ in range(2000):
    g(32)
out["ms_per_32_bytes"] = time.ticks_diff(time.ticks_us(), t0) / 2000000
print(json.dumps(out))
"""


def test_failing_and_healthy_sources():
    res = json.loads(mp.check_code(SOURCES_CODE, timeout=120))
    for key in ("stuck", "zeros", "stuck_later_reseed", "stuck_later_auto"):
        assert "repetition count test" in res[key]["error"], (key, res[key])
        assert res[key]["dtls_error"] and res[key]["alert"] == 80, res[key]  # internal_error
    assert res["biased90"]["error"] is not None, res["biased90"]
    assert "adaptive proportion test" in res["biased80"]["error"], res["biased80"]
    assert "adaptive proportion test" in res["biased_later"]["error"], res["biased_later"]
    assert res["stuck_later_first_ok"]
    assert res["stuck_later_then"]["error"] == res["stuck_later_reseed"]["error"]
    assert "returned 1023 bytes, not 1024" in res["short"]["error"], res["short"]
    assert res["urandom_tested"] == 32 * 65536
    assert res["healthy_distinct"] == 2000
    assert res["healthy_reseeds"] == 2000 // 50 - 1  # the first 50 calls use the seed
    # start-up 1024 + entropy 64 + nonce 32, then 64 per reseed (256 bits at H = 4)
    assert res["healthy_samples"] == 1024 + 96 + 64 * res["healthy_reseeds"]
    assert res["pr_reseeds"] == [1, 2]
    assert res["zero_bytes"] and res["max_bytes"] and res["too_many"]
    print("\nrng timing (unix port): start-up test + instantiate %.2f ms, %.3f ms per 32 "
          "bytes, health tests %.0f ms per MiB" % (res["instantiate_ms"],
                                                   res["ms_per_32_bytes"],
                                                   res["urandom_ms_per_mib"]))


# Runs inside MicroPython: the default generator, a stuck os.urandom, and a handshake.
DEFAULT_CODE = r"""
import json, sys
import dtls, dtls.rng
out = {}
host, port, ident, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4])
ctx = dtls.Context(psk=(ident, key))
gen = dtls.rng.default_generator()
out["default_is_drbg"] = isinstance(ctx.rng, dtls.rng.HealthCheckedDrbg) and ctx.rng is gen
out["shared"] = dtls.Context(psk=(ident, key)).rng is gen
before = gen._drbg.reseed_counter
with ctx.connect(host, port) as conn:
    out["suite"] = conn.cipher_suite
    conn.send(b"drbg handshake")
out["generate_calls"] = gen._drbg.reseed_counter - before

# A stuck os.urandom behind a fresh default: Context() refuses, and keeps refusing.
class StuckOs:
    calls = 0
    @staticmethod
    def urandom(n):
        StuckOs.calls += 1
        return bytes(n)
dtls.rng.os = StuckOs
dtls.rng._default = None
errors = []
for _ in range(2):
    try:
        dtls.Context(psk=(ident, key))
        errors.append(None)
    except dtls.DTLSError as e:
        errors.append(str(e))
out["stuck_errors"] = errors
out["stuck_source_calls"] = StuckOs.calls
print(json.dumps(out))
"""


def test_default_generator_handshake_and_stuck_default(openssl_peer):
    res = json.loads(mp.check_code(DEFAULT_CODE, args=[
        openssl_peer.host, openssl_peer.port, openssl_peer.psk_identity,
        openssl_peer.psk_key_hex]))
    assert res["default_is_drbg"] and res["shared"]
    assert res["suite"] == "TLS_PSK_WITH_AES_128_CCM_8"
    assert res["generate_calls"] >= 1  # the client random at least
    assert openssl_peer.wait_for("drbg handshake", timeout=5), openssl_peer.output()
    first, second = res["stuck_errors"]
    assert first and "repetition count test" in first
    assert second == first
    assert res["stuck_source_calls"] == 1  # the failure is remembered, not retried


def test_cli_output_unchanged(openssl_peer):
    """tools/dtls_client.py with the DRBG as default prints what it always printed."""
    res = run_client(openssl_peer, "--send", "cli via drbg", "--wait", "1")
    lines = assert_clean_success(res)
    assert lines == ["cipher: TLS_PSK_WITH_AES_128_CCM_8", "crypto: python"], lines
    assert openssl_peer.wait_for("cli via drbg", timeout=5)


STUCK_CLI = r"""
import sys
sys.path.insert(0, sys.argv[1])
import dtls.rng
class StuckOs:
    @staticmethod
    def urandom(n):
        return b"\x00" * n
dtls.rng.os = StuckOs
import dtls_client
sys.exit(dtls_client.main(sys.argv[2:]))
"""


def test_cli_refuses_stuck_source(openssl_peer):
    """The CLI stops with a clear error before sending anything."""
    res = mp.run_code(STUCK_CLI, args=[mp.TOOLS] + openssl_peer.client_args()
                      + ["--send", "must not arrive"])
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stderr.startswith("error: entropy source failed the repetition count test")
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert "must not arrive" not in openssl_peer.output()


FORK_CODE = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from dtls.rng import HealthCheckedDrbg
g = HealthCheckedDrbg()
g(16)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, g(32))
    os._exit(0)
os.waitpid(pid, 0)
child = os.read(r, 32)
print(int(child != g(32)), g.reseeds)
"""


def test_fork_reseeds_under_cpython():
    """CPython: after os.fork() the child reseeds, so parent and child outputs differ."""
    res = subprocess.run([sys.executable, "-c", FORK_CODE, mp.LIB], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["1", "0"]  # differ; the parent itself did not reseed
