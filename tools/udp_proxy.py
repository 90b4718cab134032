"""UDP relay on loopback for tests: client -> LISTEN port -> UPSTREAM port, and back.

It counts datagrams and bytes per direction and can impair each direction on its
own with a seeded random generator, so a run with the same seed and the same traffic
drops the same datagrams:
    loss       probability of dropping a datagram
    duplicate  probability of sending a datagram twice
    reorder    probability of holding a datagram back and sending it after the next
               one in that direction (or after `hold` seconds if none comes)
    drop       1-based indices of datagrams in that direction to drop, always
               (e.g. {2} drops the server's second datagram: deterministic tests)
    max_size   drop every datagram larger than this many bytes (a path MTU)

Each client address gets its own upstream socket, so the server sees one source
port per client, as behind a NAT. CPython only (tests and CLI), not MicroPython.

As a module:
    with UdpProxy(upstream_port=peer.port, seed=1,
                  server_to_client=Impairment(drop={2})) as proxy:
        run the client against ("127.0.0.1", proxy.port)
    proxy.stats()   # {"client_to_server": {"datagrams": 5, "bytes": 412, ...}, ...}

As a CLI (prints "listening on HOST:PORT", runs until SIGTERM/SIGINT or --duration):
    python tools/udp_proxy.py --upstream 4433 [--listen 0] [--seed 1]
        [--loss-c2s P] [--loss-s2c P] [--dup-c2s P] [--dup-s2c P]
        [--reorder-c2s P] [--reorder-s2c P] [--drop-c2s 1,3] [--drop-s2c 2]
        [--max-size-c2s N] [--max-size-s2c N]
        [--stats-json FILE]
"""
import argparse
import json
import random
import selectors
import signal
import socket
import sys
import threading
import time

CLIENT_TO_SERVER = "client_to_server"
SERVER_TO_CLIENT = "server_to_client"
MAX_DATAGRAM = 65535


class Impairment:
    """What one direction does to its datagrams. All off by default."""

    def __init__(self, loss=0.0, duplicate=0.0, reorder=0.0, drop=(), hold=0.2,
                 max_size=None):
        for name, p in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= p <= 1.0:
                raise ValueError("%s must be a probability, got %r" % (name, p))
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.drop = frozenset(drop)
        self.hold = hold
        self.max_size = max_size


class Direction:
    """Counters and impairment state of one direction."""

    def __init__(self, name, impairment, rng):
        self.name = name
        self.impairment = impairment or Impairment()
        self._rng = rng
        self._held = None           # (deadline, datagram, send) held back for reorder
        self.counts = {"datagrams": 0, "bytes": 0, "forwarded": 0, "forwarded_bytes": 0,
                       "dropped": 0, "duplicated": 0, "reordered": 0, "too_big": 0}

    def handle(self, data, send):
        """Count one received datagram and send it (or not) as the impairment says."""
        c = self.counts
        c["datagrams"] += 1
        c["bytes"] += len(data)
        imp = self.impairment
        # Draw every random number for every datagram, so that one setting does not
        # shift the random sequence of the others.
        lose = self._rng.random() < imp.loss
        twice = self._rng.random() < imp.duplicate
        hold_back = self._rng.random() < imp.reorder
        if c["datagrams"] in imp.drop or lose:
            c["dropped"] += 1
            return
        if imp.max_size is not None and len(data) > imp.max_size:
            c["too_big"] += 1
            return
        if hold_back and self._held is None:
            c["reordered"] += 1
            self._held = (time.monotonic() + imp.hold, data, send)
            return
        self._send(data, send)
        if twice:
            c["duplicated"] += 1
            self._send(data, send)
        self.release_held()

    def release_held(self, only_expired=False):
        if self._held is None:
            return
        deadline, data, send = self._held
        if only_expired and time.monotonic() < deadline:
            return
        self._held = None
        self._send(data, send)

    def _send(self, data, send):
        try:
            send(data)
        except OSError:
            return      # e.g. ECONNREFUSED from an earlier ICMP: UDP gives no promise
        self.counts["forwarded"] += 1
        self.counts["forwarded_bytes"] += len(data)


class UdpProxy:
    """The relay. start() runs it in a daemon thread; stop() ends it and joins."""

    def __init__(self, upstream_port, listen_port=0, host="127.0.0.1",
                 upstream_host="127.0.0.1", seed=0, client_to_server=None,
                 server_to_client=None):
        self.host = host
        self.upstream = (upstream_host, upstream_port)
        self.seed = seed
        self.directions = {
            CLIENT_TO_SERVER: Direction(CLIENT_TO_SERVER, client_to_server,
                                        random.Random("%s/%s" % (seed, CLIENT_TO_SERVER))),
            SERVER_TO_CLIENT: Direction(SERVER_TO_CLIENT, server_to_client,
                                        random.Random("%s/%s" % (seed, SERVER_TO_CLIENT))),
        }
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._listen.bind((host, listen_port))
        self.port = self._listen.getsockname()[1]
        self._upstreams = {}        # client address -> socket connected to upstream
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listen, selectors.EVENT_READ, None)
        # Arrival times (time.monotonic) of the first datagram from a client and of the last
        # one from the server: their difference is the exchange's span on the wire.
        self._first_from_client = None
        self._last_from_server = None

    # --- running -----------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self.serve, name="udp-proxy", daemon=True)
        self._thread.start()
        return self

    def serve(self, duration=None):
        """Relay until stop() (or for `duration` seconds)."""
        end = None if duration is None else time.monotonic() + duration
        try:
            while not self._stop.is_set():
                if end is not None and time.monotonic() >= end:
                    break
                for key, _ in self._selector.select(timeout=0.05):
                    self._relay(key)
                with self._lock:
                    for d in self.directions.values():
                        d.release_held(only_expired=True)
        finally:
            self._close()

    def _relay(self, key):
        sock = key.fileobj
        try:
            data, addr = sock.recvfrom(MAX_DATAGRAM)
        except OSError:
            return      # ECONNREFUSED after the upstream was not there: keep going
        now = time.monotonic()
        with self._lock:
            if key.data is None:        # from a client, to the server
                if self._first_from_client is None:
                    self._first_from_client = now
                up = self._upstreams.get(addr)
                if up is None:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind((self.host, 0))
                    up.connect(self.upstream)
                    self._upstreams[addr] = up
                    self._selector.register(up, selectors.EVENT_READ, addr)
                self.directions[CLIENT_TO_SERVER].handle(data, up.send)
            else:                       # from the server, back to that client
                self._last_from_server = now
                client = key.data
                self.directions[SERVER_TO_CLIENT].handle(
                    data, lambda d: self._listen.sendto(d, client))

    def rebind(self):
        """Moves every client to a new upstream source port, as a NAT rebinding does: the
        server sees the same client arrive from another address (RFC 9146's use case)."""
        with self._lock:
            for addr, old in list(self._upstreams.items()):
                self._selector.unregister(old)
                old.close()
                up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.bind((self.host, 0))
                up.connect(self.upstream)
                self._upstreams[addr] = up
                self._selector.register(up, selectors.EVENT_READ, addr)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        else:
            self._close()

    def _close(self):
        try:
            self._selector.close()
        except (OSError, ValueError):
            pass
        for s in [self._listen] + list(self._upstreams.values()):
            s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- results -----------------------------------------------------------------
    def stats(self):
        """Counts per direction plus the client count, and span_ms: from the first datagram
        a client sent to the last one the server sent, as the relay saw them arrive (None
        before both); a fresh dict, safe to keep."""
        with self._lock:
            out = {name: dict(d.counts) for name, d in self.directions.items()}
            out["clients"] = len(self._upstreams)
            out["seed"] = self.seed
            first, last = self._first_from_client, self._last_from_server
            out["span_ms"] = None if first is None or last is None or last < first \
                else round((last - first) * 1000, 3)
        return out

    def write_stats(self, path):
        with open(path, "w") as f:
            json.dump(self.stats(), f, indent=2, sort_keys=True)
            f.write("\n")


def _indices(text):
    return [int(x) for x in text.split(",") if x.strip()] if text else []


def main(argv=None):
    ap = argparse.ArgumentParser(description="UDP relay with per-direction counts "
                                             "and seeded impairments.")
    ap.add_argument("--upstream", type=int, required=True, help="server port")
    ap.add_argument("--upstream-host", default="127.0.0.1")
    ap.add_argument("--listen", type=int, default=0, help="port for clients (0: any)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    ap.add_argument("--stats-json", help="write the counts here at exit")
    for short, name in (("c2s", "client to server"), ("s2c", "server to client")):
        ap.add_argument("--loss-" + short, type=float, default=0.0,
                        help="drop probability, " + name)
        ap.add_argument("--dup-" + short, type=float, default=0.0,
                        help="duplicate probability, " + name)
        ap.add_argument("--reorder-" + short, type=float, default=0.0,
                        help="reorder probability, " + name)
        ap.add_argument("--drop-" + short, default="",
                        help="comma-separated 1-based datagram numbers to drop, " + name)
        ap.add_argument("--max-size-" + short, type=int,
                        help="drop datagrams larger than this, " + name)
    args = ap.parse_args(argv)

    proxy = UdpProxy(
        args.upstream, listen_port=args.listen, host=args.host,
        upstream_host=args.upstream_host, seed=args.seed,
        client_to_server=Impairment(args.loss_c2s, args.dup_c2s, args.reorder_c2s,
                                    _indices(args.drop_c2s), max_size=args.max_size_c2s),
        server_to_client=Impairment(args.loss_s2c, args.dup_s2c, args.reorder_s2c,
                                    _indices(args.drop_s2c), max_size=args.max_size_s2c))

    def on_signal(signum, frame):
        proxy._stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("listening on %s:%d -> %s:%d" % ((args.host, proxy.port) + proxy.upstream),
          flush=True)
    proxy.serve(duration=args.duration)
    stats = proxy.stats()
    if args.stats_json:
        proxy.write_stats(args.stats_json)
    print(json.dumps(stats, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
