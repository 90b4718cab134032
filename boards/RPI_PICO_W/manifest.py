# RPI_PICO_W with microdtls: the board's own manifest (networking bundle) plus the dtls package.
include("$(PORT_DIR)/boards/RPI_PICO_W/manifest.py")
# dtls (PSK base), dtls-aio (asyncio), dtls-ecc (ECDHE-ECDSA, X.509) and coap, file lists
# from lib/*/manifest.py; for PSK-only firmware use include("../../lib/dtls") instead (see
# boards/README.md).
include("../../lib")
