# dtls: the DTLS 1.2 client with TLS_PSK_WITH_AES_128_CCM_8 / _CCM (RFC 7925 §4.2) and the
# blocking driver. Everything a PSK-only device needs and nothing more: the asyncio driver
# is dtls-aio (../dtls-aio); the ECDHE-ECDSA suites, P-256 and X.509 are the dtls-ecc
# extension (../dtls-ecc), loaded only when a Context is given certificates or raw public keys.
#
# Freeze it:   include("path/to/microdtls/lib/dtls")        (this manifest)
# or all:      include("path/to/microdtls/lib")              (dtls, dtls-aio, dtls-ecc, coap)
# mip:         lib/dtls/package.json lists the same files (tests_host/test_packaging.py
#              checks that both agree and that these files alone complete a handshake).
metadata(description="DTLS 1.2 client for MicroPython (RFC 7925 IoT profile), PSK base",
         version="0.1.0")
package("dtls", files=(
    "__init__.py", "_io.py", "aes.py", "backend.py", "ccm.py", "client.py",
    "connection.py", "const.py", "context.py", "errors.py", "handshake.py", "hmac.py",
    "keys.py", "prf.py", "record.py", "rng.py", "session.py", "sha256.py",
), base_path="..")
