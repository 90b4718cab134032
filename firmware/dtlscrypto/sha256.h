// SHA-256 (FIPS 180-4) with a plain-struct state that can be copied.
#ifndef DC_SHA256_H
#define DC_SHA256_H

#include "dc_common.h"

typedef struct {
    uint32_t h[8];
    uint32_t len_lo, len_hi;  // message length in bytes (64 bits)
    uint32_t buf_len;         // bytes waiting in buf, always < 64
    uint8_t buf[64];
} dc_sha256;

void dc_sha256_init(dc_sha256 *ctx);
void dc_sha256_update(dc_sha256 *ctx, const uint8_t *data, size_t len);
// Finishes ctx (it must be re-initialised before reuse); copy the struct
// first to keep hashing after a digest (the TLS handshake transcript).
void dc_sha256_final(dc_sha256 *ctx, uint8_t out[32]);

#endif
