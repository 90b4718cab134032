"""coap:// and coaps:// URIs (RFC 7252 §6) split into what a request needs."""

DEFAULT_PORTS = {"coap": 5683, "coaps": 5684}


def _unquote(text):
    """Percent-decoding (RFC 3986 §2.1), to bytes then UTF-8 text."""
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode()
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == 0x25:  # '%'
            if i + 3 > n:
                raise ValueError("bad percent-encoding in URI")
            try:
                out.append(int(raw[i + 1:i + 3].decode(), 16))
            except ValueError:
                raise ValueError("bad percent-encoding in URI")
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode()


def split_uri(uri):
    """Returns (scheme, host, port, path_segments, query_items) for a coap(s) URI,
    following RFC 7252 §6.4: the path becomes one Uri-Path per segment, the query one
    Uri-Query per "&"-separated item, both percent-decoded; fragments are refused."""
    i = uri.find("://")
    if i <= 0:
        raise ValueError("not an absolute URI: " + uri)
    scheme = uri[:i].lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("scheme must be coap or coaps, not " + scheme)
    rest = uri[i + 3:]
    if "#" in rest:
        raise ValueError("CoAP URIs have no fragment (RFC 7252 §6.4)")
    end = len(rest)
    for sep in "/?":
        j = rest.find(sep)
        if 0 <= j < end:
            end = j
    authority, rest = rest[:end], rest[end:]
    if not authority:
        raise ValueError("URI has no host")
    port = DEFAULT_PORTS[scheme]
    if authority.startswith("["):
        j = authority.find("]")
        if j < 0:
            raise ValueError("unterminated IPv6 literal")
        host = authority[1:j]
        tail = authority[j + 1:]
        if tail:
            if not tail.startswith(":"):
                raise ValueError("junk after IPv6 literal")
            port = _port(tail[1:])
    elif ":" in authority:
        host, p = authority.rsplit(":", 1)
        port = _port(p)
    else:
        host = authority
    query = ""
    j = rest.find("?")
    if j >= 0:
        rest, query = rest[:j], rest[j + 1:]
    path = []
    if rest not in ("", "/"):
        path = [_unquote(seg) for seg in rest[1:].split("/")]
    items = [_unquote(q) for q in query.split("&")] if query else []
    return scheme, host, port, path, items


def _port(text):
    try:
        port = int(text)
    except ValueError:
        raise ValueError("bad port in URI: " + text)
    if not 0 < port < 65536:
        raise ValueError("port out of range: " + text)
    return port
