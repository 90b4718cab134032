"""Which crypto implementation `dtls` uses: the C module `_dtlscrypto` or pure MicroPython.

The C module (firmware/dtlscrypto) is either linked into the firmware (user C module) or
installed as a dynamic native module: `dist/<arch>_6.3/_dtlscrypto.mpy` copied to the board's
/lib. dtls.aes/ccm/hmac/prf/p256/ecdsa keep their APIs and call into it when it is here.

    DTLS_CRYPTO unset (or "auto")  native when `_dtlscrypto` imports, else python
    DTLS_CRYPTO=native             native, and ImportError at import time if it is missing
    DTLS_CRYPTO=python             pure MicroPython even when the module is present

Ports without os.getenv (ESP32, RP2040) always take the automatic choice.
"""
import os

_getenv = getattr(os, "getenv", None)
_requested = (_getenv("DTLS_CRYPTO") if _getenv else None) or "auto"

native = None  # the _dtlscrypto module, or None for pure Python
if _requested == "native" or _requested == "auto":
    try:
        import _dtlscrypto as native
    except ImportError:
        if _requested == "native":
            raise ImportError("DTLS_CRYPTO=native, but the C module _dtlscrypto is not importable "
                              "(build it with `make natmod` and put dist/<arch>_6.3 on sys.path, "
                              "or link it into the firmware)")
elif _requested != "python":
    raise ImportError("DTLS_CRYPTO must be 'python' or 'native', not %r" % _requested)

NAME = "native" if native is not None else "python"
