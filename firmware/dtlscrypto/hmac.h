// HMAC-SHA-256 (RFC 2104) and the TLS 1.2 PRF (RFC 5246 section 5).
#ifndef DC_HMAC_H
#define DC_HMAC_H

#include "sha256.h"

// Keyed state: the inner and outer hashes after absorbing K^ipad / K^opad.
// Copying the struct reuses one key for many MACs (two compressions saved each).
typedef struct {
    dc_sha256 inner, outer;
} dc_hmac;

void dc_hmac_init(dc_hmac *ctx, const uint8_t *key, size_t key_len);
void dc_hmac_update(dc_hmac *ctx, const uint8_t *data, size_t len);
void dc_hmac_final(dc_hmac *ctx, uint8_t out[32]);  // finishes ctx
void dc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
    uint8_t out[32]);

// PRF(secret, label, seed) = P_SHA256(secret, label || seed), out_len bytes.
void dc_tls12_prf(const uint8_t *secret, size_t secret_len, const uint8_t *label, size_t label_len,
    const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len);

#endif
