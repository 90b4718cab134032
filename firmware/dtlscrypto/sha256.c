// SHA-256 (FIPS 180-4). No secret-dependent branches or indexing.
#include "sha256.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

void dc_wipe(void *p, size_t n) {
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) {
        *v++ = 0;
    }
}

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t h[8], const uint8_t block[64]) {
    uint32_t w[16];  // message schedule as a 16-word ring (FIPS 180-4 6.2.2)
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t wt;
        if (t < 16) {
            wt = dc_load32_be(block + 4 * t);
        } else {
            uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
            uint32_t s0 = ROTR(w15, 7) ^ ROTR(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = ROTR(w2, 17) ^ ROTR(w2, 19) ^ (w2 >> 10);
            wt = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
        }
        w[t & 15] = wt;
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + wt;
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
    dc_wipe(w, sizeof(w));
}

void dc_sha256_init(dc_sha256 *ctx) {
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(ctx->h, iv, sizeof(iv));
    ctx->len_lo = ctx->len_hi = 0;
    ctx->buf_len = 0;
}

void dc_sha256_update(dc_sha256 *ctx, const uint8_t *data, size_t len) {
    uint32_t lo = ctx->len_lo + (uint32_t)len;
    ctx->len_hi += (lo < ctx->len_lo);
    #if SIZE_MAX > 0xffffffffu
    ctx->len_hi += (uint32_t)((uint64_t)len >> 32);
    #endif
    ctx->len_lo = lo;
    if (ctx->buf_len) {
        size_t n = 64 - ctx->buf_len;
        if (n > len) {
            n = len;
        }
        memcpy(ctx->buf + ctx->buf_len, data, n);
        ctx->buf_len += (uint32_t)n;
        data += n;
        len -= n;
        if (ctx->buf_len < 64) {
            return;
        }
        compress(ctx->h, ctx->buf);
        ctx->buf_len = 0;
    }
    while (len >= 64) {
        compress(ctx->h, data);
        data += 64;
        len -= 64;
    }
    memcpy(ctx->buf, data, len);
    ctx->buf_len = (uint32_t)len;
}

void dc_sha256_final(dc_sha256 *ctx, uint8_t out[32]) {
    uint32_t bits_hi = (ctx->len_hi << 3) | (ctx->len_lo >> 29);
    uint32_t bits_lo = ctx->len_lo << 3;
    uint8_t pad[72];  // 0x80, zeros, 64-bit length: 9..72 bytes
    size_t pad_len = (ctx->buf_len < 56 ? 56 : 120) - ctx->buf_len;
    memset(pad, 0, sizeof(pad));
    pad[0] = 0x80;
    dc_store32_be(pad + pad_len, bits_hi);
    dc_store32_be(pad + pad_len + 4, bits_lo);
    dc_sha256_update(ctx, pad, pad_len + 8);
    for (int i = 0; i < 8; i++) {
        dc_store32_be(out + 4 * i, ctx->h[i]);
    }
    dc_wipe(ctx, sizeof(*ctx));
}
