// HMAC-SHA-256 (RFC 2104) and TLS 1.2 PRF with SHA-256 (RFC 5246 section 5).
#include "hmac.h"

void dc_hmac_init(dc_hmac *ctx, const uint8_t *key, size_t key_len) {
    uint8_t block[64];
    memset(block, 0, sizeof(block));
    if (key_len > 64) {  // RFC 2104: keys longer than B are hashed first
        dc_sha256_init(&ctx->inner);
        dc_sha256_update(&ctx->inner, key, key_len);
        dc_sha256_final(&ctx->inner, block);
    } else {
        memcpy(block, key, key_len);
    }
    for (int i = 0; i < 64; i++) {
        block[i] ^= 0x36;
    }
    dc_sha256_init(&ctx->inner);
    dc_sha256_update(&ctx->inner, block, 64);
    for (int i = 0; i < 64; i++) {
        block[i] ^= 0x36 ^ 0x5c;
    }
    dc_sha256_init(&ctx->outer);
    dc_sha256_update(&ctx->outer, block, 64);
    dc_wipe(block, sizeof(block));
}

void dc_hmac_update(dc_hmac *ctx, const uint8_t *data, size_t len) {
    dc_sha256_update(&ctx->inner, data, len);
}

void dc_hmac_final(dc_hmac *ctx, uint8_t out[32]) {
    uint8_t inner[32];
    dc_sha256_final(&ctx->inner, inner);
    dc_sha256_update(&ctx->outer, inner, 32);
    dc_sha256_final(&ctx->outer, out);
    dc_wipe(inner, sizeof(inner));
}

void dc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
    uint8_t out[32]) {
    dc_hmac ctx;
    dc_hmac_init(&ctx, key, key_len);
    dc_hmac_update(&ctx, data, len);
    dc_hmac_final(&ctx, out);
}

// P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
// A(0) = seed (here label || seed), A(i) = HMAC(secret, A(i-1)).
void dc_tls12_prf(const uint8_t *secret, size_t secret_len, const uint8_t *label, size_t label_len,
    const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len) {
    dc_hmac keyed, ctx;
    uint8_t a[32], block[32];
    dc_hmac_init(&keyed, secret, secret_len);
    ctx = keyed;
    dc_hmac_update(&ctx, label, label_len);
    dc_hmac_update(&ctx, seed, seed_len);
    dc_hmac_final(&ctx, a);  // A(1)
    while (out_len) {
        ctx = keyed;
        dc_hmac_update(&ctx, a, 32);
        dc_hmac_update(&ctx, label, label_len);
        dc_hmac_update(&ctx, seed, seed_len);
        dc_hmac_final(&ctx, block);
        size_t n = out_len < 32 ? out_len : 32;
        memcpy(out, block, n);
        out += n;
        out_len -= n;
        if (out_len) {
            ctx = keyed;
            dc_hmac_update(&ctx, a, 32);
            dc_hmac_final(&ctx, a);  // A(i + 1)
        }
    }
    dc_wipe(&keyed, sizeof(keyed));
    dc_wipe(a, sizeof(a));
    dc_wipe(block, sizeof(block));
}
