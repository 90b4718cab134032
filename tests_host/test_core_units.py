"""Unit tests of the record layer and handshake reassembly, run inside MicroPython.

Expected values come from the RFC rules (RFC 6347 §4.1.2.6 replay window, §4.2.3
fragmentation), not from the code's own output."""
from mp import check_code


def test_replay_window_rfc6347():
    out = check_code("""
from dtls.record import ReplayWindow
w = ReplayWindow()
for s in (5, 3, 70, 10, 7):
    assert not w.seen(s), s
    w.mark(s)
for s in (5, 70, 10, 7):
    assert w.seen(s), s          # duplicates are replays
assert w.seen(6)                 # 70-6 = 64: left of the 64-entry window -> rejected
assert not w.seen(8)             # inside the window, never seen
assert not w.seen(71)            # right of the window: new
w.mark(200)
assert w.seen(136)               # 200-136 = 64: outside
assert not w.seen(137)           # 200-137 = 63: inside, not seen
assert w.seen(200)
print("ok")
""")
    assert out.strip() == "ok"


def test_parse_datagram_several_records_and_truncation():
    out = check_code("""
import struct
from dtls.record import parse_datagram
def rec(t, epoch, seq, body):
    return struct.pack(">BHHHIH", t, 0xfefd, epoch, seq >> 32, seq & 0xffffffff, len(body)) + body
d = rec(22, 0, 1, b"abc") + rec(20, 0, 2, b"\\x01") + rec(23, 1, 0x123456789a, b"xyz")
r = parse_datagram(d)
assert len(r) == 3
assert r[0][0] == 22 and bytes(r[0][5]) == b"abc" and r[0][3] == 1
assert r[2][2] == 1 and r[2][3] == 0x123456789a and bytes(r[2][4]) == bytes.fromhex("000100123456789a")
# A length running past the end stops parsing; the complete records before it remain.
bad = rec(22, 0, 1, b"abc") + rec(22, 0, 2, b"defgh")[:-2]
assert len(parse_datagram(bad)) == 1
assert parse_datagram(b"") == [] and parse_datagram(b"\\x16\\xfe") == []
print("ok")
""")
    assert out.strip() == "ok"


def test_reassembly_out_of_order_duplicates_overlaps():
    out = check_code("""
from dtls.handshake import Reassembler, fragments, parse_fragments
body = bytes(range(256)) * 3            # 768-byte message
frs = fragments(11, 1, body, 100)       # 8 fragments of <= 100 bytes
assert len(frs) == 8
pieces = []
for f in frs:
    pieces += parse_fragments(f)
r = Reassembler(4096)
r.reset(1)
order = [7, 3, 3, 0, 5, 1, 6, 2]        # reordered, one duplicate, fragment 4 missing
for i in order:
    t, length, seq, off, fb = pieces[i]
    assert r.add(t, length, seq, off, fb)
    assert r.pop() is None
# an overlapping fragment covering the gap completes it
t, length, seq, off, fb = pieces[4]
lo = off - 10
assert r.add(t, length, seq, lo, body[lo:off + len(fb) + 5])
m = r.pop()
assert m == (11, 1, body), m[:2]
assert r.next_seq == 2
# fragments of released messages are reported as old (a retransmission)
assert r.add(t, length, seq, off, fb) is False
# a message larger than the limit is dropped, not buffered, and remembered
small = Reassembler(100)
assert small.add(11, 5000, 0, 0, b"x" * 50) and small.pop() is None and small.oversize == 5000
# an empty message (ServerHelloDone) completes with one empty fragment
e = Reassembler(100)
e.add(14, 0, 0, 0, b"")
assert e.pop() == (14, 0, b"")
print("ok")
""")
    assert out.strip() == "ok"


def test_reassembler_replaces_conflicting_partial():
    """A forged fragment claiming another length must not block the genuine message."""
    out = check_code("""
from dtls.handshake import Reassembler
r = Reassembler(1000)
r.reset(1)
r.add(2, 60, 1, 0, bytes(10))          # forged: total length 60
body = bytes(range(49))
r.add(2, 49, 1, 0, body)               # genuine, complete
print(r.pop() == (2, 1, body))
""")
    assert out.strip() == "True", out
