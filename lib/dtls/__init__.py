"""microdtls: a DTLS 1.2 client for MicroPython following the RFC 7925 IoT profile.

    import dtls
    ctx = dtls.Context(psk=(b"Client_identity", bytes.fromhex("000102...")))
    with ctx.connect("192.0.2.1", 5684) as conn:
        conn.send(b"hello")
        print(conn.recv())
"""
from .const import (TLS_ECDHE_ECDSA_WITH_AES_128_CCM, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
                    TLS_PSK_WITH_AES_128_CCM, TLS_PSK_WITH_AES_128_CCM_8)
from .context import TIMERS_RFC6347, TIMERS_RFC7925, Context
from .errors import AlertReceived, ConnectionClosed, DTLSError, HandshakeTimeout
from .session import Session

__version__ = "0.1.0"


def crypto_backend():
    """Which crypto implementation is in use: "python" (pure MicroPython) or "native"."""
    from .backend import NAME
    return NAME
