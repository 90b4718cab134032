# Called by firmware/Makefile with MPY_DIR, ROOT, BOARDS_DIR, CRYPTO set.
# A unix binary with lib/dtls frozen and _dtlscrypto linked (make-based USER_C_MODULES).
THIS_DIR := $(BOARDS_DIR)/UNIX

all:
	$(MAKE) -C $(MPY_DIR)/mpy-cross
	$(MAKE) -C $(MPY_DIR)/ports/unix VARIANT_DIR=$(THIS_DIR) VARIANT=microdtls submodules
	$(MAKE) -C $(MPY_DIR)/ports/unix VARIANT_DIR=$(THIS_DIR) VARIANT=microdtls \
		USER_C_MODULES=$(ROOT)/firmware DTLSCRYPTO_MBEDTLS=$(if $(filter mbedtls,$(CRYPTO)),1,0)
	@echo "firmware: $(MPY_DIR)/ports/unix/build-microdtls/micropython"
