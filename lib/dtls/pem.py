"""PEM (RFC 7468) to DER: certificates, CA bundles, public and private keys.

Strict textual encoding: each block is "-----BEGIN LABEL-----", base64 lines,
"-----END LABEL-----" with the same label. Text outside blocks is ignored (RFC 7468
§2 explanatory text); headers such as "Proc-Type:" (legacy encrypted keys) are
rejected. MicroPython's a2b_base64 skips invalid characters silently, so the
alphabet is checked here first.
"""
import binascii

_BEGIN = b"-----BEGIN "
_END = b"-----END "
_DASHES = b"-----"

MAX_BLOCKS = 16  # a CA bundle for a device should be small
MAX_PEM_SIZE = 65536

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _check_base64(body):
    pad = 0
    for c in body:
        if c == 0x3D:  # '='
            pad += 1
        elif pad or c not in _B64:
            raise ValueError("PEM: bad base64")
    if pad > 2 or len(body) % 4:
        raise ValueError("PEM: bad base64 length")


def _label_of(line, prefix):
    if not line.endswith(_DASHES) or len(line) < len(prefix) + len(_DASHES):
        raise ValueError("PEM: bad boundary line")
    return line[len(prefix):len(line) - len(_DASHES)]


def pem_blocks(text, label=None):
    """All blocks of `text` (str or bytes) as a list of (label_str, der).

    With `label` (e.g. "CERTIFICATE"), blocks with other labels are skipped.
    Raises ValueError on a malformed block or if no block matches.
    """
    if isinstance(text, str):
        text = text.encode()
    else:
        text = bytes(text)
    if len(text) > MAX_PEM_SIZE:
        raise ValueError("PEM: input too large")
    if label is not None and not isinstance(label, bytes):
        label = label.encode()
    out = []
    block_label = None
    body = []
    for raw in text.split(b"\n"):
        line = raw.strip()
        if block_label is None:
            if line.startswith(_BEGIN):
                block_label = _label_of(line, _BEGIN)
                body = []
            continue
        if line.startswith(_END):
            if _label_of(line, _END) != block_label:
                raise ValueError("PEM: END label does not match BEGIN")
            if label is None or block_label == label:
                if len(out) >= MAX_BLOCKS:
                    raise ValueError("PEM: too many blocks")
                data = b"".join(body)
                _check_base64(data)
                der = binascii.a2b_base64(data)
                if not der:
                    raise ValueError("PEM: empty block")
                out.append((block_label.decode(), der))
            block_label = None
            continue
        if line.startswith(_BEGIN):
            raise ValueError("PEM: nested BEGIN")
        if line:
            body.append(line)
    if block_label is not None:
        raise ValueError("PEM: missing END line")
    if not out:
        raise ValueError("PEM: no matching block")
    return out


def pem_to_der_list(text, label=None):
    """DER bytes of every block (of `label` if given), e.g. all certs of a CA bundle."""
    return [der for _, der in pem_blocks(text, label)]


def load_der_or_pem(data, label=None):
    """A DER object (starts with SEQUENCE 0x30) as a one-item list, else PEM blocks."""
    if isinstance(data, str):
        return pem_to_der_list(data, label)
    if len(data) and data[0] == 0x30:
        return [bytes(data)]
    return pem_to_der_list(data, label)
