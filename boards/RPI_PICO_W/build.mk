# Called by firmware/Makefile with MPY_DIR, ROOT, BOARDS_DIR, CRYPTO set.
# Upstream board RPI_PICO_W, our manifest, _dtlscrypto via USER_C_MODULES (CMake).
THIS_DIR := $(BOARDS_DIR)/RPI_PICO_W

all:
	@command -v arm-none-eabi-gcc >/dev/null || { echo "firmware: RP2040 needs arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi)" >&2; exit 2; }
	@command -v cmake >/dev/null || { echo "firmware: RP2040 needs cmake" >&2; exit 2; }
	@test "$(CRYPTO)" != mbedtls || { echo "firmware: the rp2 port has no mbedtls accelerator; use CRYPTO=portable" >&2; exit 2; }
	$(MAKE) -C $(MPY_DIR)/ports/rp2 BOARD=RPI_PICO_W submodules
	$(MAKE) -C $(MPY_DIR)/ports/rp2 BOARD=RPI_PICO_W \
		USER_C_MODULES=$(ROOT)/firmware/micropython.cmake \
		FROZEN_MANIFEST=$(THIS_DIR)/manifest.py
	@echo "firmware: $(MPY_DIR)/ports/rp2/build-RPI_PICO_W/firmware.uf2"
