"""Command-line CoAP client over DTLS (runs under MicroPython; CPython works too): see HELP."""

import sys

import dtls_client  # noqa: E402  (also puts ../lib on sys.path)

import coap  # noqa: E402
import dtls  # noqa: E402
from coap.message import CONTENT_FORMATS, METHODS, TYPE_NAMES, Message, code_text  # noqa: E402
from dtls._io import is_ip_literal  # noqa: E402

# A plain string, not the docstring: MicroPython compiles docstrings out.
HELP = """Command-line CoAP client over DTLS (runs under MicroPython; CPython works too).

    micropython tools/coap_client.py coaps://HOST[:PORT]/path[?query] [options]
      -m, --method METHOD      get (default), post, put or delete
      -e, --payload TEXT       request payload
      -f, --payload-file PATH  request payload read from a file (binary, any size:
                               large payloads go out block-wise, RFC 7959 Block1)
      -t, --content-format F   Content-Format of the payload: text, link, xml, octet,
                               json, cbor or a number
      -A, --accept F           Accept option (same names)
      -N, --non                send a non-confirmable request (default: confirmable)
      -b, --block-size N       ask for N-byte response blocks (16..1024; RFC 7959 §2.4)
      --response-timeout S     how long to wait for a separate or NON response (default 60)
      --hex                    print the response payload as hex
    and the DTLS options of tools/dtls_client.py: --psk-identity TEXT --psk-key HEX,
    --ca FILE, --server-rpk FILE, --sni NAME, --cert FILE --key FILE, --key FILE --rpk,
    --cipher NAME, --timeout S, --max-datagram N, --rfc7925-timers, --keylog FILE, -v
    (-v also traces each CoAP message on stderr).

stdout: "code: <code> <name>" (e.g. "code: 2.05 Content"), then the payload: as text when
it is printable UTF-8, else (or with --hex) as hex. Exit 0 for a 2.xx response, 3 for a
4.xx/5.xx response (code and payload still printed), 1 on failure ("error: <reason>" on
stderr: DTLS, no answer, reset), 2 for bad usage.
"""

UsageError = dtls_client.UsageError

USAGE = "usage: coap_client.py coaps://HOST[:PORT]/PATH[?QUERY] [-m METHOD] [-e TEXT | " \
        "-f PATH] [-t FORMAT] [-A FORMAT] [-N] [-b SIZE] [--response-timeout S] [--hex] " \
        "[DTLS options of dtls_client.py]"

_OWN_WITH_VALUE = ("-m", "--method", "-e", "--payload", "-f", "--payload-file", "-t",
                   "--content-format", "-A", "--accept", "-b", "--block-size",
                   "--response-timeout")
# dtls_client.py options that make no sense for a CoAP request.
_REFUSED = ("--send", "--send-hex", "--send-file", "--wait")


def _format(text, what):
    if text in CONTENT_FORMATS:
        return CONTENT_FORMATS[text]
    try:
        n = int(text)
    except ValueError:
        raise UsageError("%s must be one of %s or a number"
                         % (what, ", ".join(sorted(CONTENT_FORMATS))))
    if not 0 <= n <= 65535:
        raise UsageError("%s out of range" % what)
    return n


def parse_args(argv):
    """Splits argv into the CoAP options (ours) and the rest, which dtls_client.py's
    parser handles, so both tools take the same credential options."""
    opts = {"method": "get", "payload": b"", "content_format": None, "accept": None,
            "confirmable": True, "block_szx": None, "response_timeout": 60.0,
            "hex": False, "uri": None}
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(HELP)
            sys.exit(0)
        if a in _REFUSED:
            raise UsageError("%s is not a coap_client option (use -e/-f)" % a)
        if a in _OWN_WITH_VALUE:
            if i + 1 >= len(argv):
                raise UsageError("%s needs a value" % a)
            v = argv[i + 1]
            i += 2
            if a in ("-m", "--method"):
                if v.lower() not in METHODS:
                    raise UsageError("method must be get, post, put or delete")
                opts["method"] = v.lower()
            elif a in ("-e", "--payload"):
                opts["payload"] = v.encode()
            elif a in ("-f", "--payload-file"):
                opts["payload"] = dtls_client._read_file(v)
            elif a in ("-t", "--content-format"):
                opts["content_format"] = _format(v, "--content-format")
            elif a in ("-A", "--accept"):
                opts["accept"] = _format(v, "--accept")
            elif a in ("-b", "--block-size"):
                size = dtls_client._number(v, a, int)
                szx = 0
                while (16 << szx) < size and szx < 6:
                    szx += 1
                if 16 << szx != size:
                    raise UsageError("--block-size must be 16, 32, ..., 1024")
                opts["block_szx"] = szx
            elif a == "--response-timeout":
                opts["response_timeout"] = dtls_client._number(v, a)
            continue
        if a in ("-N", "--non"):
            opts["confirmable"] = False
        elif a == "--hex":
            opts["hex"] = True
        elif opts["uri"] is None and (a.startswith("coaps://") or a.startswith("coap://")):
            opts["uri"] = a
        else:
            rest.append(a)
        i += 1
    if opts["uri"] is None:
        raise UsageError("a coaps:// URI is required")
    try:
        scheme, host, port, path, query = coap.split_uri(opts["uri"])
    except ValueError as e:
        raise UsageError(str(e))
    if scheme != "coaps":
        raise UsageError("only coaps:// (CoAP over DTLS) is supported")
    opts.update(host=host, port=port, path=path, query=query)
    dtls_opts = dtls_client.parse_args([host, str(port)] + rest)
    return opts, dtls_opts


class _TracedConnection:
    """Wraps a dtls Connection to print each CoAP message sent and received (-v)."""

    def __init__(self, conn, trace):
        self._conn = conn
        self._trace = trace
        self.core = conn.core

    def send(self, data):
        self._show("send", data)
        return self._conn.send(data)

    def recv(self):
        data = self._conn.recv()
        if data:
            self._show("recv", data)
        return data

    def settimeout(self, seconds):
        self._conn.settimeout(seconds)

    def close(self):
        self._conn.close()

    def _show(self, direction, data):
        try:
            m = Message.decode(data)
        except coap.MessageFormatError as e:
            self._trace("coap %s malformed (%s)" % (direction, e))
            return
        self._trace("coap %s %s %s mid=%d token=%s options=%s payload=%d bytes" % (
            direction, TYPE_NAMES[m.mtype], code_text(m.code), m.mid, m.token.hex(),
            ",".join("%d:%s" % (n, v.hex()) for n, v in m.options), len(m.payload)))


def run(opts, dtls_opts):
    start = dtls_client._ms()

    def trace(line):
        sys.stderr.write("[%6d ms] %s\n" % (dtls_client._since(start), line))

    ctx = dtls_client.make_context(dtls_opts, trace)
    conn = ctx.connect(dtls_opts["host"], dtls_opts["port"],
                       server_hostname=dtls_opts["sni"])
    if dtls_opts["verbose"]:
        trace("dtls: %s" % conn.cipher_suite)
        conn = _TracedConnection(conn, trace)
    host = opts["host"]
    client = coap.Client(conn, uri_host=None if is_ip_literal(host) else host,
                         block2_szx=opts["block_szx"],
                         response_timeout_ms=int(opts["response_timeout"] * 1000))
    try:
        r = client.request(METHODS[opts["method"]], opts["path"], opts["payload"],
                           query=opts["query"], content_format=opts["content_format"],
                           accept=opts["accept"], confirmable=opts["confirmable"])
    finally:
        client.close()
    print("code:", r.name)
    if r.payload:
        text = None if opts["hex"] else dtls_client._printable(r.payload)
        if text is None:
            print(r.payload.hex())
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0 if r.success else 3


def main(argv):
    try:
        opts, dtls_opts = parse_args(argv)
    except UsageError as e:
        sys.stderr.write("error: %s\n%s\n" % (e, USAGE))
        return 2
    try:
        return run(opts, dtls_opts)
    except (dtls.DTLSError, coap.CoAPError, ValueError) as e:
        sys.stderr.write("error: %s\n" % e)
        return 1
    except OSError as e:
        sys.stderr.write("error: network: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
