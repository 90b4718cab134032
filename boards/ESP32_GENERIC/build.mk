# Called by firmware/Makefile with MPY_DIR, ROOT, BOARDS_DIR, CRYPTO set.
# Upstream board ESP32_GENERIC, our manifest, _dtlscrypto via USER_C_MODULES (CMake).
THIS_DIR := $(BOARDS_DIR)/ESP32_GENERIC

all:
	@command -v idf.py >/dev/null || { echo "firmware: ESP32 needs ESP-IDF: source \$$IDF_PATH/export.sh first" >&2; exit 2; }
	DTLSCRYPTO_MBEDTLS=$(if $(filter mbedtls,$(CRYPTO)),1,0) \
	$(MAKE) -C $(MPY_DIR)/ports/esp32 BOARD=ESP32_GENERIC \
		USER_C_MODULES=$(ROOT)/firmware/micropython.cmake \
		FROZEN_MANIFEST=$(THIS_DIR)/manifest.py
	@echo "firmware: $(MPY_DIR)/ports/esp32/build-ESP32_GENERIC/firmware.bin (flash with 'make deploy' there)"
