# The unix port's standard frozen modules (asyncio, ...) plus the dtls package.
include("$(PORT_DIR)/variants/manifest.py")
# dtls (PSK base), dtls-aio (asyncio), dtls-ecc (ECDHE-ECDSA, X.509) and coap, file lists
# from lib/*/manifest.py; for PSK-only firmware use include("../../lib/dtls") instead (see
# boards/README.md).
include("../../lib")
