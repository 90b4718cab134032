"""One measured PSK session over a lossy path, from inside MicroPython (tools/soak.py and
tests_host/test_lossy.py run it through tools/udp_proxy.py).

    micropython tools/lossy_client.py HOST PORT [--records N] [--size BYTES]
        [--echo-wait MS] [--timeout S] [--heap-every K] [--identity ID] [--key HEX]
        [--ca PEM]

PSK (TLS_PSK_WITH_AES_128_CCM_8) by default; with --ca, ECDHE-ECDSA (the library's default
certificate suites) with the server's X.509 chain checked against the anchors in that file.

After the handshake it sends N application records (each "NNNNNN:" + filler derived from
its number, so a corrupted or misattributed record is detected) and, when the server
echoes, waits up to --echo-wait ms for each echo before sending the next (DTLS does not
resend application data: a lost record stays lost). Every --heap-every records it runs
gc.collect() and notes gc.mem_alloc(). Prints one JSON line:
  ok, error, handshake_ms, retransmissions, sent, received (distinct records echoed),
  duplicates (a record delivered twice), corrupted, foreign (not a record we sent),
  heap [[records_done, bytes_allocated], ...], data_ms.
"""
import gc
import json
import sys
import time

_DEFAULTS = {"--records": "0", "--size": "64", "--echo-wait": "300", "--timeout": "60",
             "--heap-every": "0", "--identity": "Client_identity",
             "--key": "000102030405060708090a0b0c0d0e0f", "--ca": ""}


def parse(argv):
    opts = dict(_DEFAULTS)
    pos = []
    i = 0
    while i < len(argv):
        if argv[i] in _DEFAULTS:
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            pos.append(argv[i])
            i += 1
    opts["host"], opts["port"] = pos[0], int(pos[1])
    return opts


def payload(i, size):
    head = b"%06d:" % i
    fill = (b"%06d" % (i * 7919 % 1000000)) * (size // 6 + 1)
    return (head + fill)[:max(size, len(head))]


def number_of(data, size):
    """The record number if `data` is exactly one of our records, else -1."""
    try:
        i = int(data[:6])
    except ValueError:
        return -1
    return i if data == payload(i, size) else -1


def main():
    opts = parse(sys.argv[1:])
    import dtls
    n = int(opts["--records"])
    size = int(opts["--size"])
    echo_wait = int(opts["--echo-wait"]) / 1000
    heap_every = int(opts["--heap-every"])
    result = {"ok": False, "sent": 0, "received": 0, "duplicates": 0, "corrupted": 0,
              "foreign": 0, "heap": []}
    seen = bytearray(n)
    # heap figures go into preallocated slots, so that noting them allocates nothing
    marks = [0] * (2 * (n // heap_every + 2)) if heap_every else []
    nmarks = 0
    timeout_ms = int(float(opts["--timeout"]) * 1000)
    if opts["--ca"]:
        ctx = dtls.Context(ca=opts["--ca"], handshake_timeout_ms=timeout_ms)
    else:
        ctx = dtls.Context(psk=(opts["--identity"], bytes.fromhex(opts["--key"])),
                           handshake_timeout_ms=timeout_ms)
    conn = None
    t0 = time.ticks_ms()

    def take(data):
        i = number_of(data, size)
        if i < 0 or i >= n:
            if len(data) >= 7 and data[6:7] == b":":
                result["corrupted"] += 1
            else:
                result["foreign"] += 1
            return -1
        if seen[i]:
            result["duplicates"] += 1
        else:
            seen[i] = 1
            result["received"] += 1
        return i

    try:
        conn = ctx.connect(opts["host"], opts["port"])
        result["handshake_ms"] = time.ticks_diff(time.ticks_ms(), t0)
        result["retransmissions"] = conn.core.retransmissions
        t1 = time.ticks_ms()
        for i in range(n):
            if heap_every and i % heap_every == 0:
                gc.collect()
                marks[nmarks] = i
                marks[nmarks + 1] = gc.mem_alloc()
                nmarks += 2
            conn.send(payload(i, size))
            result["sent"] += 1
            if echo_wait <= 0:
                continue
            deadline = time.ticks_add(time.ticks_ms(), int(echo_wait * 1000))
            while True:
                left = time.ticks_diff(deadline, time.ticks_ms())
                if left <= 0:
                    break
                conn.settimeout(left / 1000)
                try:
                    data = conn.recv()
                except OSError:
                    break
                if data == b"":
                    raise ValueError("server closed the connection")
                if take(data) == i:
                    break
        # late echoes (reordered, delayed)
        if echo_wait > 0 and n:
            conn.settimeout(min(echo_wait, 0.5))
            while True:
                try:
                    data = conn.recv()
                except OSError:
                    break
                if data == b"":
                    break
                take(data)
        result["data_ms"] = time.ticks_diff(time.ticks_ms(), t1)
        if heap_every:
            gc.collect()
            marks[nmarks] = n
            marks[nmarks + 1] = gc.mem_alloc()
            nmarks += 2
        result["ok"] = True
    except Exception as e:  # reported as data: the caller decides
        result["error"] = "%s: %s" % (type(e).__name__, e)
        if "handshake_ms" not in result:
            result["failed_after_ms"] = time.ticks_diff(time.ticks_ms(), t0)
    if conn is not None:
        conn.close()
    result["heap"] = [[marks[j], marks[j + 1]] for j in range(0, nmarks, 2)]
    print(json.dumps(result))


main()
