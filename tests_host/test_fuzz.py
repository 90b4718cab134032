"""Property-based fuzzing of the sans-I/O core (issue 6): hypothesis under CPython for the
record parser, handshake fragment parser, reassembly, replay window and record protection,
and the client fed mutated server flights of a genuine handshake; then a corpus of mutated
flights replayed inside MicroPython with a small heap, which must reach the same outcome as
CPython (the same alert), never crash, and keep nothing after each case.

The only exception the core may raise is DTLSError (with the alert it sent); everything
else is a bug. tools/fuzz.py (make fuzz) runs the coverage-guided counterpart (atheris)."""
import os
import random
import struct
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flights
import mp
from dtls.errors import DTLSError
from dtls.handshake import Reassembler, fragments, parse_fragments
from dtls.record import EpochCipher, ReplayWindow, parse_datagram

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ record layer

@SETTINGS
@given(st.binary(max_size=300))
def test_parse_datagram_frames_a_prefix(data):
    recs = parse_datagram(data)
    pos = 0
    for ctype, version, epoch, seq, seq8, frag in recs:
        length = struct.unpack_from(">H", data, pos + 11)[0]
        assert ctype == data[pos] and version == struct.unpack_from(">H", data, pos + 1)[0]
        assert bytes(seq8) == data[pos + 3:pos + 11]
        assert (epoch << 48) | seq == int.from_bytes(data[pos + 3:pos + 11], "big")
        assert bytes(frag) == data[pos + 13:pos + 13 + length] and len(frag) == length
        pos += 13 + length
    assert pos <= len(data)
    # parsing stopped only where the next record cannot be framed
    rest = len(data) - pos
    if rest >= 13:
        n = struct.unpack_from(">H", data, pos + 11)[0]
        assert n > rest - 13 or n > 18432


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 3), st.integers(0, 2 ** 48 - 1),
                          st.binary(max_size=40)), max_size=5))
def test_parse_datagram_round_trip(records):
    data = b"".join(struct.pack(">BHHHIH", t, 0xFEFD, e, s >> 32, s & 0xFFFFFFFF, len(b)) + b
                    for t, e, s, b in records)
    got = [(r[0], r[2], r[3], bytes(r[5])) for r in parse_datagram(data)]
    assert got == [(t, e, s, b) for t, e, s, b in records]


@SETTINGS
@given(st.lists(st.integers(0, 300), max_size=60), st.integers(0, 300))
def test_replay_window_matches_model(marks, probe):
    """RFC 6347 §4.1.2.6 with a 64-entry window: a sequence number is a replay if it was
    accepted before or lies 64 or more behind the highest accepted one."""
    w = ReplayWindow()
    accepted = set()
    for s in marks:
        top = max(accepted) if accepted else -1
        expect_seen = s in accepted or (top - s >= 64)
        assert w.seen(s) == expect_seen, (s, sorted(accepted))
        if not expect_seen:
            w.mark(s)
            accepted.add(s)
    top = max(accepted) if accepted else -1
    assert w.seen(probe) == (probe in accepted or top - probe >= 64)


KEY = bytes(range(16))
SALT = b"\x01\x02\x03\x04"


@SETTINGS
@given(st.binary(max_size=100), st.integers(0, 2 ** 48 - 1), st.integers(0, 3),
       st.integers(0, 10 ** 6), st.integers(0, 7))
def test_record_protection_round_trip_and_tamper(plain, seq, epoch, where, bit):
    seq8 = struct.pack(">HHI", epoch, seq >> 32, seq & 0xFFFFFFFF)
    sealed = EpochCipher(KEY, SALT, 8).seal(seq8, 23, 0xFEFD, plain)
    opener = EpochCipher(KEY, SALT, 8)
    assert bytes(opener.open(seq8, 23, 0xFEFD, sealed)) == plain
    bad = bytearray(sealed)
    bad[where % len(bad)] ^= 1 << bit
    if where % len(bad) >= 8:       # the explicit nonce is not authenticated as such,
        assert opener.open(seq8, 23, 0xFEFD, bytes(bad)) is None    # the rest is
    assert opener.open(seq8, 22, 0xFEFD, sealed) is None            # type in the AAD
    other_seq = seq ^ 1  # another 48-bit sequence number (seq + 1 overflows at 2^48 - 1)
    other = struct.pack(">HHI", epoch, other_seq >> 32, other_seq & 0xFFFFFFFF)
    assert opener.open(other, 23, 0xFEFD, sealed) is None           # seq in the AAD


# ------------------------------------------------------------------ handshake framing

@SETTINGS
@given(st.binary(max_size=200))
def test_parse_fragments_only_decode_error(payload):
    try:
        frags = parse_fragments(payload)
    except DTLSError as e:
        assert e.alert == 50
        return
    total = 0
    for msg_type, length, seq, off, body in frags:
        assert off + len(body) <= length
        total += 12 + len(body)
    assert total == len(payload)


@st.composite
def fragment_plans(draw):
    body = draw(st.binary(max_size=300))
    n = len(body)
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=8))) | {0, n})
    pieces = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)] or [(0, 0)]
    # overlapping extras and duplicates
    extra = draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=4))
    pieces += [(min(a, b), max(a, b)) for a, b in extra]
    pieces += draw(st.lists(st.sampled_from(pieces), max_size=3))
    order = draw(st.permutations(pieces))
    return body, order


@SETTINGS
@given(fragment_plans(), st.integers(0, 5))
def test_reassembly_any_order_overlaps_duplicates(plan, seq):
    body, order = plan
    r = Reassembler(4096)
    r.reset(seq)
    got = []
    for a, b in order:
        rec = struct.pack(">B", 11) + len(body).to_bytes(3, "big") + struct.pack(">H", seq) + \
            a.to_bytes(3, "big") + (b - a).to_bytes(3, "big") + body[a:b]
        for t, length, s, off, frag in parse_fragments(rec):
            r.add(t, length, s, off, frag)
        m = r.pop()
        if m is not None:
            got.append(m)
    assert got == [(11, seq, body)]
    assert r.next_seq == seq + 1 and r.pop() is None


@SETTINGS
@given(st.binary(max_size=400), st.integers(1, 100), st.integers(0, 65535))
def test_fragments_reassemble(body, max_fragment, seq):
    r = Reassembler(1000)
    r.reset(seq)
    for f in reversed(fragments(12, seq, body, max_fragment)):
        for t, length, s, off, frag in parse_fragments(f):
            assert len(frag) <= max_fragment
            r.add(t, length, s, off, frag)
    assert r.pop() == (12, seq, body)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3000), st.integers(0, 12),
                          st.integers(0, 3000), st.integers(0, 300)), max_size=40))
def test_reassembler_memory_stays_bounded(adds):
    """Junk fragments (valid framing, random fields): never an exception, and never more
    than the budget held."""
    r = Reassembler(1000, window=8)
    r.reset(0)
    for t, length, seq, off, n in adds:
        n = min(n, length)
        off = min(off, length - n)
        r.add(t, length, seq, off, bytes(n))
        assert sum(len(p.body) for p in r._partial.values()) <= r.budget
        assert all(0 <= s - r.next_seq < 8 for s in r._partial)
        while r.pop() is not None:
            pass


# ------------------------------------------------------------------ the client

mutation = st.tuples(st.sampled_from(flights.MUTATION_KINDS), st.integers(0, 7),
                     st.integers(0, 1 << 12), st.integers(0, 300), st.binary(max_size=30))


def check_outcome(outcome, resealed=False):
    """What any (mutated) script may lead to."""
    if outcome[0] == "error":
        _, name, alert, sent = outcome
        if name == "AlertReceived":
            assert not sent                 # no alert in reply to an alert
        else:
            assert alert is not None and sent, outcome      # a fatal alert went out
    elif outcome[0] == "connected" and not resealed:
        # integrity: the only data that can arrive is what the server sent (a resealed
        # record is the server itself sending other data)
        assert outcome[1] in ([], [flights.APP_DATA]), outcome


@pytest.mark.parametrize("variant", flights.VARIANTS)
@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_client_survives_mutated_server_flights(variant, mutations):
    script, server = flights.genuine_script(variant)
    for kind, k, pos, val, data in mutations:
        script = flights.apply_mutation(script, server, kind, k, pos, val, data)
    resealed = any(m[0] == "reseal" for m in mutations)
    # anything but DTLSError propagates
    check_outcome(flights.replay(script, variant=variant), resealed)


@pytest.mark.parametrize("variant", flights.VARIANTS)
def test_genuine_script_connects(variant):
    script, _ = flights.genuine_script(variant)
    assert flights.replay(script, variant=variant) == ("connected", [flights.APP_DATA])


# ------------------------------------------------------------------ MicroPython replay

CORPUS_CASES = 600
# The replay imports the package, then fills the heap so that only this much stays free in
# one contiguous region (on a board the code is frozen in flash; on the unix port it sits in
# the heap and grows with the library). The whole corpus runs in 24 KB here.
FREE_BYTES = 32 * 1024
TIGHT_FREE_BYTES = 12 * 1024     # about a fifth of the cases run out of memory


def corpus(n, seed=6, variant="psk"):
    rng = random.Random(seed)
    script, server = flights.genuine_script(variant)
    cases = [script]
    while len(cases) < n:
        s = script
        for _ in range(rng.choice((1, 1, 2, 3))):
            s = flights.apply_mutation(s, server, rng.choice(flights.MUTATION_KINDS),
                                       rng.randrange(4), rng.randrange(1 << 12),
                                       rng.randrange(300), rng.randbytes(rng.randrange(12)))
        cases.append(s)
    return cases


def replay_in_micropython(cases, free, variant="psk"):
    """Outcome lines of each case and the heap figures (dict) from inside MicroPython."""
    fd, path = tempfile.mkstemp(suffix=".bin", prefix="flights-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(flights.encode_corpus(cases))
        res = mp.run_code(flights.REPLAY_MP, args=[path, free, variant], heapsize="1m",
                          timeout=120)
    finally:
        os.unlink(path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    lines = res.stdout.splitlines()
    summary = lines[-1].split()
    fig = dict(zip(summary[1::2], (int(x) for x in summary[2::2])))
    assert fig["cases"] == len(cases) and len(lines) - 1 == len(cases), lines[-1]
    return lines[:-1], fig


def expected_outcomes(cases, variant="psk"):
    return [flights.outcome_line(flights.replay(c, variant=variant)) for c in cases]


@pytest.fixture(scope="module")
def mutated_corpus():
    cases = corpus(CORPUS_CASES)
    expected = expected_outcomes(cases)
    # the corpus exercises every kind of ending
    kinds = {e.split()[0] + (" " + e.split()[2] if e.startswith("error") else "")
             for e in expected}
    assert {"connected", "open"} <= kinds and len(kinds) >= 7, kinds
    return cases, expected


def test_mutated_flights_replayed_in_micropython(mutated_corpus):
    cases, expected = mutated_corpus
    got, fig = replay_in_micropython(cases, FREE_BYTES)
    assert FREE_BYTES - 256 <= fig["free"] <= FREE_BYTES + 256, fig
    crashes = [(i, g) for i, g in enumerate(got) if g.startswith("CRASH") or g == "memoryerror"]
    assert not crashes, crashes[:5]
    diffs = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert not diffs, diffs[:5]
    # nothing is kept from one case to the next: after gc.collect() the heap returns to
    # where it was after the first case, give or take interned strings
    assert fig["retained_max"] <= 2048 and fig["last"] <= fig["retained_first"] + 512, fig


def test_heartbeat_flights_replayed_in_micropython():
    """The same with heartbeat negotiated and a HeartbeatRequest after the handshake."""
    cases = corpus(300, seed=15, variant="psk-heartbeat")
    expected = expected_outcomes(cases, "psk-heartbeat")
    got, fig = replay_in_micropython(cases, FREE_BYTES, "psk-heartbeat")
    diffs = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert not diffs, diffs[:5]
    assert fig["retained_max"] <= 2048 and fig["last"] <= fig["retained_first"] + 512, fig


def test_memory_error_leaves_nothing_behind(mutated_corpus):
    """With only 12 KB free some cases run out of memory mid-handshake: each case ends as
    under CPython or in a MemoryError, never anything else, and what a failed connection
    allocated is all reclaimed (the next cases still match, the heap stays flat)."""
    cases, expected = mutated_corpus
    got, fig = replay_in_micropython(cases, TIGHT_FREE_BYTES)
    oom = [i for i, g in enumerate(got) if g == "memoryerror"]
    assert len(oom) >= 10, len(oom)
    wrong = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got))
             if g != e and g != "memoryerror"]
    assert not wrong, wrong[:5]
    assert oom[-1] < len(cases) - 1 and got[oom[-1] + 1] == expected[oom[-1] + 1]
    assert fig["retained_max"] <= 2048 and fig["last"] <= fig["retained_first"] + 512, fig


# ------------------------------------------------------------------ atheris smoke run

def test_atheris_smoke_run():
    """A short coverage-guided run of every tools/fuzz.py target (make fuzz runs 1,000,000
    inputs); a crash makes tools/fuzz.py exit 1 and print the input's file."""
    import subprocess
    import sys
    res = subprocess.run([sys.executable, os.path.join(mp.TOOLS, "fuzz.py"), "--runs", "3000"],
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for name in ("datagram", "fragments", "client", "x509"):
        line = [ln for ln in res.stdout.splitlines() if ln.startswith(name)][0]
        assert int(line.split()[1]) == 3000 and line.endswith("ok"), line
