"""AES block cipher with MicroPython's `cryptolib.aes` interface.

Under MicroPython this is `cryptolib.aes` itself (C, mbedtls or axTLS).
Only ECB (mode 1) and CBC (mode 2) encryption are used by `dtls`: CTR is
missing from several builds, and CCM (RFC 3610) never decrypts with AES.

Under CPython there is no cryptolib, so a small shim over the `cryptography`
package gives the same interface for the host tests:
    aes(key, mode, iv=None).encrypt(in_buf, out_buf=None)
- in_buf length must be a multiple of 16;
- without out_buf a new bytes object is returned, with out_buf the result is
  written into it (which may be in_buf itself) and out_buf is returned;
- in CBC mode the chaining state carries over from one call to the next.
"""

try:
    from cryptolib import aes  # noqa: F401  (MicroPython)
except ImportError:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    class aes:  # noqa: N801  (same name as cryptolib's class)
        def __init__(self, key, mode, iv=None):
            if mode == 1:
                chaining = modes.ECB()
            elif mode == 2:
                if iv is None or len(iv) != 16:
                    raise ValueError("IV")
                chaining = modes.CBC(bytes(iv))
            else:
                raise ValueError("mode")
            if len(key) not in (16, 24, 32):
                raise ValueError("key")
            self._encryptor = Cipher(algorithms.AES(bytes(key)), chaining).encryptor()

        def encrypt(self, in_buf, out_buf=None):
            n = len(in_buf)
            if n % 16:
                raise ValueError("blksize % 16")
            # bytes() copies first, so in_buf and out_buf may be the same buffer.
            result = self._encryptor.update(bytes(in_buf))
            if out_buf is None:
                return result
            if len(out_buf) < n:
                raise ValueError("output too small")
            out_buf[:n] = result
            return out_buf
