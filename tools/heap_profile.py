"""Where an open connection's heap goes, from inside MicroPython (used by tools/bench.py).

    micropython tools/heap_profile.py HOST PORT [IDENTITY [KEY_HEX]]

Runs one PSK handshake against HOST:PORT, then prints one JSON line:
  kept      the heap the open connection keeps (gc.collect() + gc.mem_alloc() with the
            connection open, minus the same before connect; the Context is not counted);
  parts     the same heap taken apart: each object the connection holds, measured by
            dropping the connection's reference to it and collecting again, largest first;
            "rest" is what remains (the Connection and Client objects themselves, the
            socket, counters);
  objects   sizes of the building blocks made on their own (an EpochCipher per backend and
            direction, a fresh Client, a Reassembler, a SHA-256 transcript);
  backend   "python" or "native".
Heap figures are for this build (64-bit unix port): a 32-bit board's objects are smaller.
"""
import gc
import json
import sys

import dtls
import dtls.connection  # noqa: F401 (imported before measuring, as frozen code would be)
from dtls.client import Client
from dtls.handshake import Reassembler
from dtls.record import EpochCipher
from dtls.sha256 import Sha256


def alloc():
    gc.collect()
    return gc.mem_alloc()


def size_of(make, n=4):
    """Bytes kept by one of what make() returns: n of them at once, divided by n (the
    collector is conservative: a stale pointer may keep one object alive a while longer, so
    one object alone can come out too big or, later, negative)."""
    keep = [None] * n
    a = alloc()
    for i in range(n):
        keep[i] = make()
    b = alloc()
    keep = None  # noqa: F841
    return (b - a) // n


def drop(obj, name):
    """Bytes freed by dropping obj.name (None in its place)."""
    a = alloc()
    setattr(obj, name, None)
    return a - alloc()


def main():
    args = sys.argv[1:] + ["Client_identity", "000102030405060708090a0b0c0d0e0f"][
        len(sys.argv) - 3:]
    host, port, identity, key = args[0], int(args[1]), args[2], bytes.fromhex(args[3])
    ctx = dtls.Context(psk=(identity, key))
    out = {"backend": dtls.crypto_backend()}
    out["objects"] = {
        "EpochCipher (one direction)": size_of(lambda: EpochCipher(bytes(16), bytes(4), 8)),
        "Client (fresh)": size_of(lambda: Client(ctx, None, "127.0.0.1")),
        "Reassembler": size_of(lambda: Reassembler(ctx.max_handshake_message)),
        "Sha256 transcript": size_of(Sha256),
    }
    # Everything the measurement itself keeps is made before `base`, so that it is not
    # counted as the connection's: the parts must add up to `kept`.
    fields = ("session", "reassembler", "_flight", "_flight_messages", "_master",
              "_client_random", "_server_random", "session_id", "_cookie", "_offered",
              "_sh_extensions", "_future", "_out", "_events")
    names = ["write cipher (epoch 1)", "read cipher (epoch 1)", "RecordLayer rest"] + \
        list(fields) + ["poll object", "rest"]
    sizes = [0] * len(names)
    base = alloc()
    conn = ctx.connect(host, port)
    kept = alloc() - base
    core = conn.core
    records = core.records
    a = alloc()
    records.write_ciphers[1] = None
    sizes[0] = a - alloc()
    records.read_cipher = None  # the same object as core._server_write
    sizes[1] = drop(core, "_server_write")
    sizes[2] = drop(core, "records")
    for i in range(len(fields)):
        sizes[3 + i] = drop(core, fields[i])
    sizes[-2] = drop(conn, "_poll")
    sizes[-1] = alloc() - base
    conn = core = records = None
    out["kept"] = kept
    out["parts"] = sorted(([names[i], sizes[i]] for i in range(len(names)) if sizes[i]),
                          key=lambda kv: -kv[1])
    print(json.dumps(out))


main()
