# RPI_PICO_W with microdtls: the board's own manifest (networking bundle) plus the dtls package.
include("$(PORT_DIR)/boards/RPI_PICO_W/manifest.py")
package("dtls", base_path="../../lib")
