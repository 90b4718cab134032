# ESP32_GENERIC with microdtls: the port's standard frozen modules plus the dtls package.
include("$(PORT_DIR)/boards/manifest.py")
package("dtls", base_path="../../lib")
