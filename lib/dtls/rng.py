"""Random numbers for the client (RFC 7925 §12): a health-tested entropy source feeding an
HMAC_DRBG, so that keys, randoms and nonces never come straight from a weak or failing source.

    from dtls.rng import HealthCheckedDrbg
    rng = HealthCheckedDrbg()          # start-up test of os.urandom, then instantiation
    rng(32)                            # 32 bytes; an instance is a valid Context(rng=...)
    rng.generate(32, additional_input=b"...")
    rng.reseed()                       # fresh entropy now (also done every RESEED_INTERVAL)

dtls.Context uses default_generator(): one HealthCheckedDrbg over os.urandom per process,
created on the first Context (importing dtls does not load this module).

Entropy source health tests, NIST SP 800-90B §4.4, on every byte drawn from the source, each
byte one 8-bit sample, for a claimed min-entropy of H bits per sample (MIN_ENTROPY_BITS = 4,
conservative: os.urandom is whitened hardware output, but a board's noise source is not
characterised here) and a false-alarm probability alpha = 2^-20 per test under that claim:
- Repetition Count Test (§4.4.1): cutoff C = 1 + ceil(20 / H) = 6 identical bytes in a row.
- Adaptive Proportion Test (§4.4.2): window W = 512 samples; the first value of each window
  may occur at most C - 1 times in it, C = 1 + CRITBINOM(W, 2^-H, 1 - alpha) = 62 for H = 4
  (the §4.4.2 Table 2 value; _APT_CUTOFFS holds the formula's value for H = 1..8 and
  tests_host/test_rng.py recomputes them exactly). Against a source that really is uniform the
  RCT still fires only with probability 2^-40 per byte, the APT practically never.
- Start-up test (§4.3): 1024 consecutive samples through both tests before any output; they
  are then discarded. The continuous tests carry on over everything drawn afterwards.
A failure raises RandomSourceError, a DTLSError carrying internal_error (so a handshake in
progress ends with that alert), and the generator stays failed: every later call raises too.
The process-wide default generator stays failed until the process (the board) restarts.

HMAC_DRBG, NIST SP 800-90A Rev.1 §10.1.2, HMAC-SHA-256, security strength 256 bits:
- Instantiate (§10.1.2.3) with entropy_input of ceil(256 / H) bytes (64 at H = 4: 256 bits
  of claimed entropy) and a nonce of ceil(128 / H) bytes (32) from the same tested source
  (§8.6.7: a nonce with at least security_strength / 2 bits of entropy), plus an optional
  personalization string.
- Reseed (§10.1.2.4) with fresh entropy_input after RESEED_INTERVAL = 2^16 generate calls
  (Table 2 allows up to 2^48), on demand (reseed()), before every call with
  prediction_resistance=True (§9.3.1), and when os.getpid() changes (a CPython fork would
  otherwise give parent and child the same output; MicroPython has no fork).
- Generate (§10.1.2.5) at most 65536 bytes (2^19 bits, Table 2) per call.
Checked against NIST CAVP HMAC_DRBG vectors (SHA-256; no reseed, reseed, prediction
resistance) in tests_host/test_rng.py.

Not routed through here: ECDSA signing uses RFC 6979 deterministic nonces (dtls.ecdsa), and
dtls.p256 blinds scalar inversions with os.urandom directly: a blinding factor only has to be
unknown to an observer, not full-entropy, and needs no DRBG.
"""
import os

try:
    from micropython import const
except ImportError:  # CPython
    const = lambda x: x  # noqa: E731

from .const import INTERNAL_ERROR
from .errors import DTLSError
from .hmac import hmac_sha256, hmac_sha256_pads, hmac_sha256_with_pads

MIN_ENTROPY_BITS = const(4)  # claimed min-entropy H per byte of os.urandom output
_ALPHA_LOG2 = const(20)  # alpha = 2^-20 (SP 800-90B §4.4 recommends 2^-20 <= alpha <= 2^-40)
APT_WINDOW = const(512)  # SP 800-90B §4.4.2: W = 512 for non-binary samples
# 1 + CRITBINOM(512, 2^-H, 1 - 2^-20) for H = 1..8 (SP 800-90B §4.4.2; Table 2 lists H = 1,
# 2, 4, 8: 311, 177, 62, 13).
_APT_CUTOFFS = (311, 177, 103, 62, 39, 25, 18, 13)
STARTUP_SAMPLES = const(1024)  # SP 800-90B §4.3: at least 1024 consecutive samples

SECURITY_STRENGTH = const(256)  # bits: the most HMAC_DRBG with SHA-256 supports
MAX_REQUEST_BYTES = const(65536)  # SP 800-90A §10.1 Table 2: 2^19 bits per request
RESEED_INTERVAL = const(65536)  # generate calls between reseeds (Table 2 maximum: 2^48)
_OUTLEN = const(32)  # SHA-256 output, bytes

try:
    _getpid = os.getpid
except AttributeError:  # MicroPython: no processes to fork
    _getpid = None


class RandomSourceError(DTLSError):
    """The entropy source failed a health test (SP 800-90B §4.4) or misbehaved; the generator
    that saw it gives no more output."""

    def __init__(self, message):
        super().__init__(message, INTERNAL_ERROR)


class HealthTests:
    """SP 800-90B §4.4 Repetition Count and Adaptive Proportion tests over a stream of
    bytes (8-bit samples), continued across feed() calls."""

    def __init__(self, min_entropy_bits=MIN_ENTROPY_BITS):
        h = min_entropy_bits
        if not (isinstance(h, int) and 1 <= h <= 8):
            raise ValueError("min_entropy_bits must be an integer 1..8")
        self.min_entropy_bits = h
        self.rct_cutoff = 1 + (_ALPHA_LOG2 + h - 1) // h  # 1 + ceil(20 / H), §4.4.1
        self.apt_cutoff = _APT_CUTOFFS[h - 1]
        self.samples = 0  # bytes tested so far
        self._rct_value = -1
        self._rct_count = 0
        self._apt_value = -1
        self._apt_count = 0
        self._apt_seen = 0  # samples of the current window seen (0: a new window starts)

    def feed(self, data):
        """Tests the next bytes of the stream; raises RandomSourceError on a failure."""
        rct_value, rct_count = self._rct_value, self._rct_count
        apt_value, apt_count, apt_seen = self._apt_value, self._apt_count, self._apt_seen
        rct_cutoff, apt_cutoff = self.rct_cutoff, self.apt_cutoff
        for b in data:
            # §4.4.1: count identical consecutive samples.
            if b == rct_value:
                rct_count += 1
                if rct_count >= rct_cutoff:
                    raise RandomSourceError(
                        "entropy source failed the repetition count test: one byte value "
                        "%d times in a row (cutoff %d, NIST SP 800-90B 4.4.1)"
                        % (rct_count, rct_cutoff))
            else:
                rct_value, rct_count = b, 1
            # §4.4.2: the first sample of each window of W, counted within the window.
            if apt_seen == 0:
                apt_value, apt_count = b, 1
            elif b == apt_value:
                apt_count += 1
                if apt_count >= apt_cutoff:
                    raise RandomSourceError(
                        "entropy source failed the adaptive proportion test: one byte value "
                        "%d times in a window of %d (cutoff %d, NIST SP 800-90B 4.4.2)"
                        % (apt_count, APT_WINDOW, apt_cutoff))
            apt_seen += 1
            if apt_seen == APT_WINDOW:
                apt_seen = 0
        self._rct_value, self._rct_count = rct_value, rct_count
        self._apt_value, self._apt_count, self._apt_seen = apt_value, apt_count, apt_seen
        self.samples += len(data)


class HmacDrbg:
    """HMAC_DRBG (NIST SP 800-90A Rev.1 §10.1.2) with HMAC-SHA-256, fed explicit inputs (the
    form the CAVP vectors test). HealthCheckedDrbg supplies the entropy."""

    def __init__(self, entropy_input, nonce=b"", personalization=b""):
        # §10.1.2.3: Key = 0x00..00, V = 0x01..01, then Update(seed_material).
        self._key = bytes(_OUTLEN)
        self._v = b"\x01" * _OUTLEN
        self._update((entropy_input, nonce, personalization))
        self.reseed_counter = 1
        self.reseed_interval = RESEED_INTERVAL

    def _update(self, provided):
        """§10.1.2.2 HMAC_DRBG_Update; provided: a tuple of byte strings, concatenated."""
        key = hmac_sha256(self._key, (self._v, b"\x00") + provided)
        v = hmac_sha256(key, self._v)
        for part in provided:
            if part:  # provided_data is not Null
                key = hmac_sha256(key, (v, b"\x01") + provided)
                v = hmac_sha256(key, v)
                break
        self._key, self._v = key, v

    def reseed(self, entropy_input, additional_input=b""):
        """§10.1.2.4."""
        self._update((entropy_input, additional_input))
        self.reseed_counter = 1

    def generate(self, n, additional_input=b""):
        """§10.1.2.5: n pseudorandom bytes."""
        if not 0 <= n <= MAX_REQUEST_BYTES:
            raise ValueError("HMAC_DRBG request must be 0..%d bytes" % MAX_REQUEST_BYTES)
        if self.reseed_counter > self.reseed_interval:
            raise ValueError("HMAC_DRBG needs a reseed (SP 800-90A 9.3.1)")
        if additional_input:
            self._update((additional_input,))
        pads = hmac_sha256_pads(self._key)  # the key is fixed while V runs
        v = self._v
        blocks = []
        for _ in range((n + _OUTLEN - 1) // _OUTLEN):
            v = hmac_sha256_with_pads(pads, v)
            blocks.append(v)
        self._v = v
        self._update((additional_input,))
        self.reseed_counter += 1
        out = b"".join(blocks)
        return out if len(out) == n else out[:n]


class HealthCheckedDrbg:
    """An HMAC_DRBG instantiated and reseeded from a health-tested entropy source.

    source:            callable(n) -> n bytes (default os.urandom).
    personalization:   optional personalization string (e.g. a device identifier;
                       SP 800-90A §8.7.1), mixed in at instantiation.
    min_entropy_bits:  the claimed min-entropy H per source byte, 1..8 (default 4): sets the
                       health-test cutoffs and how many bytes carry 256 bits of entropy.
    reseed_interval:   generate calls between automatic reseeds (default 2^16).
    prediction_resistance: reseed before every generate call (SP 800-90A §8.8).
    Calling the object, rng(n), is generate(n)."""

    def __init__(self, source=None, personalization=b"", min_entropy_bits=MIN_ENTROPY_BITS,
                 reseed_interval=RESEED_INTERVAL, prediction_resistance=False):
        if not 1 <= reseed_interval <= RESEED_INTERVAL:
            raise ValueError("reseed_interval must be 1..%d" % RESEED_INTERVAL)
        self._source = source or os.urandom
        self.health = HealthTests(min_entropy_bits)
        h = self.health.min_entropy_bits
        self._entropy_len = (SECURITY_STRENGTH + h - 1) // h
        self._nonce_len = (SECURITY_STRENGTH // 2 + h - 1) // h
        self.prediction_resistance = prediction_resistance
        self.failure = None  # the message of the failure that stopped this generator
        self.reseeds = 0
        self._draw(STARTUP_SAMPLES)  # SP 800-90B §4.3 start-up test; the samples are dropped
        self._drbg = HmacDrbg(self._draw(self._entropy_len), self._draw(self._nonce_len),
                              personalization)
        self._drbg.reseed_interval = reseed_interval
        self._pid = _getpid() if _getpid else None

    def _draw(self, n):
        """n bytes from the source, after the health tests."""
        if self.failure is not None:
            raise RandomSourceError(self.failure)
        data = self._source(n)
        try:
            if not isinstance(data, (bytes, bytearray)) or len(data) != n:
                raise RandomSourceError("entropy source returned %s bytes, not %d" % (
                    len(data) if isinstance(data, (bytes, bytearray)) else "no", n))
            self.health.feed(data)
        except RandomSourceError as e:
            self.failure = e.message
            raise
        return bytes(data)

    def reseed(self, additional_input=b""):
        """Fresh entropy from the source into the DRBG state (SP 800-90A §9.2)."""
        self._drbg.reseed(self._draw(self._entropy_len), additional_input)
        self.reseeds += 1

    def generate(self, n, additional_input=b"", prediction_resistance=False):
        """n random bytes (0..65536)."""
        if self.failure is not None:
            raise RandomSourceError(self.failure)
        drbg = self._drbg
        if _getpid is not None and _getpid() != self._pid:
            self._pid = _getpid()
            prediction_resistance = True
        # §9.3.1: a due or requested reseed takes the additional input; generate then has none.
        if prediction_resistance or self.prediction_resistance \
                or drbg.reseed_counter > drbg.reseed_interval:
            self.reseed(additional_input)
            additional_input = b""
        return drbg.generate(n, additional_input)

    def __call__(self, n):
        return self.generate(n)


_default = None
_default_failure = None


def default_generator():
    """The process-wide HealthCheckedDrbg over os.urandom, created (start-up test included)
    on the first call. After a health-test failure it raises RandomSourceError for good."""
    global _default, _default_failure
    if _default is None:
        if _default_failure is not None:
            raise RandomSourceError(_default_failure)
        try:
            _default = HealthCheckedDrbg()
        except RandomSourceError as e:
            _default_failure = e.message
            raise
    return _default
