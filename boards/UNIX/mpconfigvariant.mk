# Unix variant "microdtls" (VARIANT_DIR=boards/UNIX).
FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py
