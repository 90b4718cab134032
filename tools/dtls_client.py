"""Command-line DTLS 1.2 client (runs under MicroPython; CPython works too): see HELP."""

import sys
import time


def _add_lib_path():
    # Let `micropython tools/dtls_client.py` find lib/dtls without MICROPYPATH.
    script = sys.argv[0] if sys.argv else ""
    i = script.rfind("/")
    tools = script[:i] if i >= 0 else "."
    lib = tools + "/../lib"
    if lib not in sys.path:
        sys.path.append(lib)


_add_lib_path()

import dtls  # noqa: E402

# A plain string, not the docstring: MicroPython compiles docstrings out.
HELP = """Command-line DTLS 1.2 client (runs under MicroPython; CPython works too).

    micropython tools/dtls_client.py HOST PORT [options]
      --psk-identity TEXT  --psk-key HEX     PSK credentials
      --ca FILE            trust anchor(s) for the server certificate (PEM/DER); repeatable
      --server-rpk FILE    the server's pinned raw public key (PEM/DER SubjectPublicKeyInfo)
      --sni NAME           server name to send (SNI) and to check in its certificate
      --cert FILE --key FILE   our certificate chain and private key (client authentication)
      --key FILE --rpk     authenticate with our raw public key instead of a certificate
      --cipher NAME        offer only this suite (IANA name); repeatable
      --send TEXT          one application record to send after the handshake; repeatable
      --send-hex HEX       the same, given as hex
      --send-file PATH     the same, read from a file (for payloads too long for an
                           argument: the unix port crashes on arguments over 254 bytes)
      --hex                print received application data as hex
      --wait SECONDS       how long to keep receiving after the last send (default 2)
      --timeout SECONDS    overall handshake timeout (default 60)
      --max-datagram N     largest datagram to send (handshake messages are fragmented)
      --rfc7925-timers     initial retransmission timer 9 s (RFC 7925 §11) instead of 1 s
      --reconnect          after the first exchange close, connect again resuming the session,
                           and repeat the exchange; prints "resumed: yes|no" per handshake
      --tickets            ask for RFC 5077 session tickets (resumption also works by session ID)
      --heartbeat          negotiate RFC 6520 heartbeat; after the sends, probe the server
                           once and print "heartbeat: answered|unanswered|refused"
      --probe-mtu          with --heartbeat: probe the path MTU with padded heartbeats after
                           the handshake and print "path mtu: N|unknown"
      --mfl N              ask for max_fragment_length N (512, 1024, 2048, 4096; RFC 6066)
      --record-size-limit N  announce record_size_limit N (RFC 8449)
      --cid                negotiate a Connection ID (RFC 9146); prints "cid: <hex>|none"
      --keylog FILE        append NSS key-log lines (for Wireshark/tshark; exposes the keys)
      --cached-info FILE   RFC 7924: offer the server certificate information kept in FILE
                           (if it exists) and write this handshake's there; prints
                           "cached_info: hit|miss"
      --trusted-ca-keys KIND  name our --ca anchors in RFC 6066 trusted_ca_keys
                           (key_sha1_hash, x509_name or cert_sha1_hash)
      --cert-url URL       RFC 6066 client_certificate_url: send this URL instead of our
                           certificate when the server agrees; repeatable (leaf first)
      --cert-url-sha1 HEX  the SHA-1 of what the corresponding --cert-url holds (default:
                           computed from --cert); repeatable
      --pkipath            the one --cert-url holds the whole chain as a PkiPath
      -v                   trace flights, retransmissions and alerts on stderr

stdout: "cipher: <IANA name>" when the handshake completes, "crypto: python|native", then
"recv: <text or hex>" per application record. Exit 0 on success; otherwise "error: <reason>"
on stderr and exit 1 (2 for bad usage).
"""

USAGE = "usage: dtls_client.py HOST PORT [--psk-identity TEXT --psk-key HEX] [--ca FILE]... " \
        "[--server-rpk FILE] [--sni NAME] [--cert FILE --key FILE | --key FILE --rpk] " \
        "[--cipher NAME]... " \
        "[--send TEXT]... [--send-hex HEX]... [--send-file PATH]... [--hex] [--wait S] " \
        "[--timeout S] " \
        "[--max-datagram N] [--rfc7925-timers] [--reconnect] [--tickets] [--heartbeat] " \
        "[--probe-mtu] [--mfl N] [--record-size-limit N] [--cid] [--keylog FILE] " \
        "[--cached-info FILE] [--trusted-ca-keys KIND] " \
        "[--cert-url URL [--cert-url-sha1 HEX]]... [--pkipath] [-v]"


class UsageError(Exception):
    pass


def _unhex(text, what):
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageError("%s is not valid hex" % what)


def _read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        raise UsageError("cannot read " + path)


def _number(text, what, conv=float):
    try:
        return conv(text)
    except ValueError:
        raise UsageError("%s must be a number" % what)


def parse_args(argv):
    opts = {"ciphers": [], "sends": [], "hex": False, "wait": 2.0, "timeout": 60.0,
            "verbose": False, "identity": None, "key": None, "max_datagram": None,
            "rfc7925": False, "ca": [], "server_rpk": None, "sni": None, "cert": None,
            "own_key": None, "rpk": False, "keylog": None,
            "reconnect": False, "tickets": False, "heartbeat": False, "cid": False,
            "mfl": None, "rsl": None, "probe_mtu": False, "cached_info": None,
            "trusted_ca_keys": None, "cert_urls": [], "cert_url_hashes": [],
            "pkipath": False}
    positional = []
    i = 0
    with_value = ("--psk-identity", "--psk-key", "--cipher", "--send", "--send-hex",
                  "--send-file", "--wait", "--timeout", "--max-datagram", "--ca",
                  "--server-rpk", "--sni", "--cert", "--key", "--keylog", "--mfl",
                  "--record-size-limit", "--cached-info", "--trusted-ca-keys", "--cert-url",
                  "--cert-url-sha1")
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(HELP)
            sys.exit(0)
        if a in with_value:
            if i + 1 >= len(argv):
                raise UsageError("%s needs a value" % a)
            v = argv[i + 1]
            i += 2
            if a == "--psk-identity":
                opts["identity"] = v
            elif a == "--psk-key":
                opts["key"] = _unhex(v, "--psk-key")
            elif a == "--cipher":
                opts["ciphers"].append(v)
            elif a == "--send":
                opts["sends"].append(v.encode())
            elif a == "--send-hex":
                opts["sends"].append(_unhex(v, "--send-hex"))
            elif a == "--send-file":
                opts["sends"].append(_read_file(v))
            elif a == "--wait":
                opts["wait"] = _number(v, a)
            elif a == "--timeout":
                opts["timeout"] = _number(v, a)
            elif a == "--max-datagram":
                opts["max_datagram"] = _number(v, a, int)
            elif a == "--ca":
                opts["ca"].append(_read_file(v))
            elif a == "--server-rpk":
                opts["server_rpk"] = _read_file(v)
            elif a == "--sni":
                opts["sni"] = v
            elif a == "--cert":
                opts["cert"] = _read_file(v)
            elif a == "--key":
                opts["own_key"] = _read_file(v)
            elif a == "--keylog":
                opts["keylog"] = v
            elif a == "--mfl":
                opts["mfl"] = _number(v, a, int)
            elif a == "--record-size-limit":
                opts["rsl"] = _number(v, a, int)
            elif a == "--cached-info":
                opts["cached_info"] = v
            elif a == "--trusted-ca-keys":
                opts["trusted_ca_keys"] = v
            elif a == "--cert-url":
                opts["cert_urls"].append(v)
            elif a == "--cert-url-sha1":
                opts["cert_url_hashes"].append(_unhex(v, a))
            continue
        if a == "--hex":
            opts["hex"] = True
        elif a == "-v":
            opts["verbose"] = True
        elif a == "--rfc7925-timers":
            opts["rfc7925"] = True
        elif a == "--rpk":
            opts["rpk"] = True
        elif a == "--reconnect":
            opts["reconnect"] = True
        elif a == "--tickets":
            opts["tickets"] = True
        elif a == "--heartbeat":
            opts["heartbeat"] = True
        elif a == "--probe-mtu":
            opts["probe_mtu"] = True
        elif a == "--cid":
            opts["cid"] = True
        elif a == "--pkipath":
            opts["pkipath"] = True
        elif a.startswith("-") and len(a) > 1:
            raise UsageError("unknown option " + a)
        else:
            positional.append(a)
        i += 1
    if len(positional) != 2:
        raise UsageError("HOST and PORT are required")
    opts["host"] = positional[0]
    opts["port"] = _number(positional[1], "PORT", int)
    if (opts["identity"] is None) != (opts["key"] is None):
        raise UsageError("--psk-identity and --psk-key go together")
    if opts["identity"] is None and not opts["ca"] and opts["server_rpk"] is None:
        raise UsageError("no credentials: give --psk-identity/--psk-key, --ca or --server-rpk")
    if opts["own_key"] is None and (opts["cert"] is not None or opts["rpk"]):
        raise UsageError("--cert and --rpk need --key")
    if opts["own_key"] is not None and opts["cert"] is None and not opts["rpk"] \
            and not opts["cert_urls"]:
        raise UsageError("--key goes with --cert, --rpk or --cert-url")
    if opts["cert_urls"] and opts["own_key"] is None:
        raise UsageError("--cert-url needs --key")
    if len(opts["cert_url_hashes"]) > len(opts["cert_urls"]):
        raise UsageError("more --cert-url-sha1 than --cert-url")
    return opts


def _printable(data):
    try:
        text = data.decode()
    except UnicodeError:
        return None
    for ch in text:
        if ord(ch) < 32 and ch not in "\t\r\n":
            return None
    return text


def _ms():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)  # CPython


def _since(t0):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), t0)
    return _ms() - t0


def make_context(opts, trace=None):
    """The dtls.Context for parsed options (shared with tools/coap_client.py)."""
    kwargs = {"handshake_timeout_ms": int(opts["timeout"] * 1000)}
    if opts["verbose"] and trace is not None:
        kwargs["trace"] = trace
    if opts["max_datagram"]:
        kwargs["max_datagram"] = opts["max_datagram"]
    if opts["rfc7925"]:
        kwargs["timers"] = dtls.TIMERS_RFC7925
    if opts["keylog"]:
        kwargs["keylog"] = opts["keylog"]
    if opts["tickets"]:
        kwargs["session_tickets"] = True
    if opts["heartbeat"]:
        kwargs["heartbeat"] = True
    if opts["cid"]:
        kwargs["connection_id"] = True
    if opts["mfl"]:
        kwargs["max_fragment_length"] = opts["mfl"]
    if opts["rsl"]:
        kwargs["record_size_limit"] = opts["rsl"]
    if opts["identity"] is not None:
        kwargs["psk"] = (opts["identity"], opts["key"])
    if opts["ca"]:
        kwargs["ca"] = opts["ca"]
    if opts["server_rpk"] is not None:
        kwargs["server_rpk"] = opts["server_rpk"]
    if opts["own_key"] is not None:
        kwargs["key"] = opts["own_key"]
        kwargs["cert"] = opts["cert"]
        kwargs["client_rpk"] = opts["rpk"]
    if opts["trusted_ca_keys"]:
        kwargs["trusted_ca_keys"] = opts["trusted_ca_keys"]
    if opts["cert_urls"]:
        hashes = opts["cert_url_hashes"]
        kwargs["cert_urls"] = [(url, hashes[i] if i < len(hashes) else None)
                               for i, url in enumerate(opts["cert_urls"])]
        if opts["pkipath"]:
            kwargs["cert_url_type"] = "pkipath"
    if opts["cached_info"]:
        try:
            kwargs["cached_info"] = _read_file(opts["cached_info"])
        except UsageError:
            pass  # no cache yet: this handshake makes it
    return dtls.Context(ciphers=opts["ciphers"] or None, **kwargs)


def run(opts):
    start = _ms()

    def trace(line):
        sys.stderr.write("[%6d ms] %s\n" % (_since(start), line))

    ctx = make_context(opts, trace)
    session = exchange(ctx, opts, None, trace)
    if opts["reconnect"]:
        exchange(ctx, opts, session, trace)


def exchange(ctx, opts, session, trace):
    """One connection: handshake, sends, receive for --wait; returns its session."""
    conn = ctx.connect(opts["host"], opts["port"], server_hostname=opts["sni"],
                       session=session)
    try:
        print("cipher:", conn.cipher_suite)
        print("crypto:", dtls.crypto_backend())
        if opts["reconnect"]:
            print("resumed:", "yes" if conn.resumed else "no")
        if opts["cached_info"]:
            print("cached_info:", "hit" if conn.core.cached_info_used else "miss")
            if conn.core.cached_info is not None:
                with open(opts["cached_info"], "wb") as f:
                    f.write(conn.core.cached_info.to_bytes())
        if opts["cid"]:
            cid = conn.core.connection_id
            print("cid:", "none" if cid is None else (cid.hex() or "empty"))
        if opts["probe_mtu"] and conn.core.heartbeat_allowed:
            mtu = conn.probe_path_mtu()
            print("path mtu:", mtu or "unknown")
        for data in opts["sends"]:
            conn.send(data)
        if opts["heartbeat"]:
            if not conn.core.heartbeat_allowed:
                print("heartbeat: refused")
            else:
                print("heartbeat:", "answered" if conn.heartbeat(opts["wait"] or 2)
                      else "unanswered")
        wait_ms = int(opts["wait"] * 1000)
        t0 = _ms()
        while True:
            left = wait_ms - _since(t0)
            if left <= 0:
                break
            conn.settimeout(left / 1000)
            try:
                data = conn.recv()
            except OSError as e:
                if e.args and e.args[0] in (11, 110):
                    break
                raise
            if data == b"":
                if opts["verbose"]:
                    trace("server closed the connection")
                break
            text = None if opts["hex"] else _printable(data)
            print("recv:", data.hex() if text is None else text.rstrip("\r\n"))
    finally:
        conn.close()
    return conn.session


def main(argv):
    try:
        opts = parse_args(argv)
    except UsageError as e:
        sys.stderr.write("error: %s\n%s\n" % (e, USAGE))
        return 2
    try:
        run(opts)
    except dtls.DTLSError as e:
        sys.stderr.write("error: %s\n" % e)
        return 1
    except ValueError as e:
        sys.stderr.write("error: %s\n" % e)
        return 1
    except OSError as e:
        sys.stderr.write("error: network: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as e:  # a bug: still no traceback for the user, but say so
        sys.stderr.write("error: internal error (please report): %s: %s\n"
                         % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
