# _dtlscrypto as a user C module for make-based ports (unix, ...):
#     make USER_C_MODULES=/path/to/microdtls/firmware [DTLSCRYPTO_MBEDTLS=1]
# DTLSCRYPTO_MBEDTLS=1 uses the port's mbedtls for AES-CCM and P-256 (the unix port links it
# for its tls module) instead of the portable constant-time core.
DTLSCRYPTO_DIR := $(USERMOD_DIR)
DTLSCRYPTO_MBEDTLS ?= 0

SRC_USERMOD_C += $(DTLSCRYPTO_DIR)/moddtlscrypto.c $(DTLSCRYPTO_DIR)/sha256.c $(DTLSCRYPTO_DIR)/hmac.c
ifeq ($(DTLSCRYPTO_MBEDTLS),1)
SRC_USERMOD_C += $(DTLSCRYPTO_DIR)/mbedtls_backend.c
else
SRC_USERMOD_C += $(addprefix $(DTLSCRYPTO_DIR)/, aes.c ccm.c p256_field.c p256_point.c ecdsa.c)
endif
CFLAGS_USERMOD += -I$(DTLSCRYPTO_DIR) -DDTLSCRYPTO_MBEDTLS=$(DTLSCRYPTO_MBEDTLS)
