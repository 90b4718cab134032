"""Retransmission timer of the sans-I/O client with a fake clock, inside MicroPython.

RFC 6347 §4.2.4/§4.2.4.1: the first flight's timer starts at the initial value (1 s), each
expiry retransmits the flight and doubles the timer up to 60 s, and the handshake ends at the
overall timeout. RFC 7925 §11 profiles the initial value at 9 s."""
from mp import check_code

SCRIPT = """
import dtls
from dtls.client import Client
from dtls.errors import HandshakeTimeout
ctx = dtls.Context(psk=(b"id", b"k" * 16), timers=TIMERS, handshake_timeout_ms=TOTAL)
c = Client(ctx)
c.start(0)
first = c.pop_datagrams()
assert len(first) == 1
sends = [0]
now = 0
try:
    while True:
        d = c.next_deadline()
        # nothing happens before the deadline
        c.handle_timer(d - 1)
        assert c.pop_datagrams() == []
        now = d
        c.handle_timer(now)
        out = c.pop_datagrams()
        if out:
            # a retransmission is the same ClientHello with a new record sequence number
            assert len(out) == 1 and out[0][13:] == first[0][13:] and out[0][:11] != first[0][:11]
            sends.append(now)
except HandshakeTimeout as e:
    print("timeout", now, e)
print("sends", sends)
"""


def run(timers, total):
    code = SCRIPT.replace("TIMERS", timers).replace("TOTAL", str(total))
    return check_code(code)


def test_rfc6347_doubling_and_overall_timeout():
    out = run("dtls.TIMERS_RFC6347", 60000)
    # 1 s, then 2, 4, 8, 16, 32 s between transmissions; the next (64 s, capped to 60 s)
    # would fall after the 60 s overall timeout.
    assert "sends [0, 1000, 3000, 7000, 15000, 31000]" in out
    assert "timeout 60000" in out and "timed out" in out


def test_timer_caps_at_60_seconds():
    out = run("dtls.TIMERS_RFC6347", 250000)
    # ... 31 s, +32 s = 63 s, then the timer is capped at 60 s: 123 s, 183 s, 243 s.
    assert "sends [0, 1000, 3000, 7000, 15000, 31000, 63000, 123000, 183000, 243000]" in out
    assert "timeout 250000" in out


def test_rfc7925_initial_timer():
    out = run("dtls.TIMERS_RFC7925", 100000)
    # 9 s, then 18 s, 36 s, then capped at 60 s.
    assert "sends [0, 9000, 27000, 63000]" in out
    assert "timeout 100000" in out
