// ECDSA P-256 / SHA-256: signing with RFC 6979 nonces, verification.
#include "ecdsa.h"
#include "hmac.h"
#include "p256.h"

#define N (&dc_p256_n)


// HMAC_K(v || [sep] || [x || h1]) into out (RFC 6979 3.2 steps d to h).
static void drbg_mac(const uint8_t key[32], const uint8_t v[32], int sep, const uint8_t *x,
    const uint8_t *h1, uint8_t out[32]) {
    dc_hmac ctx;
    dc_hmac_init(&ctx, key, 32);
    dc_hmac_update(&ctx, v, 32);
    if (sep >= 0) {
        uint8_t b = (uint8_t)sep;
        dc_hmac_update(&ctx, &b, 1);
    }
    if (x) {
        dc_hmac_update(&ctx, x, 32);
        dc_hmac_update(&ctx, h1, 32);
    }
    dc_hmac_final(&ctx, out);
}

int dc_ecdsa_sign(const uint8_t priv[32], const uint8_t digest[32], uint8_t sig[64]) {
    uint32_t d[8], e[8], k[8], r[8], t[8], kinv[8];
    uint8_t h1[32], key[32], v[32], enc[65];
    dc_point g, pt;
    int rc = dc_p256_scalar(d, priv);
    if (rc != DC_OK) {
        return rc;
    }
    // e = bits2int(digest) mod n; digest < 2^256 < 2n, so one subtraction.
    dc_u256_from_be(e, digest);
    dc_u256_reduce_once(e, e, N->m);
    dc_u256_to_be(h1, e);  // bits2octets(h1)
    memset(v, 0x01, 32);
    memset(key, 0x00, 32);
    drbg_mac(key, v, 0x00, priv, h1, key);
    drbg_mac(key, v, -1, NULL, NULL, v);
    drbg_mac(key, v, 0x01, priv, h1, key);
    drbg_mac(key, v, -1, NULL, NULL, v);
    dc_p256_generator(&g);
    rc = DC_ERR_INPUT;
    // Each candidate fails with probability about 2^-32 (k >= n) or less
    // (r or s zero); the cap only guarantees termination.
    for (int tries = 0; tries < 64; tries++) {
        drbg_mac(key, v, -1, NULL, NULL, v);
        if (dc_p256_scalar(k, v) == DC_OK) {
            dc_p256_mul(&pt, k, &g);
            if (dc_p256_encode(enc, &pt) == DC_OK) {
                dc_u256_from_be(r, enc + 1);
                dc_u256_reduce_once(r, r, N->m);  // x < p < 2n
                if (!dc_u256_is_zero(r)) {
                    // s = k^-1 (e + r d) mod n, in the Montgomery domain of n:
                    // mul(aR, b) = ab, so one factor in the domain gives plain results.
                    dc_mod_mul(t, k, N->r2, N);       // kR
                    dc_mod_inv(kinv, t, N);           // k^-1 R
                    dc_mod_mul(t, r, N->r2, N);       // rR
                    dc_mod_mul(t, t, d, N);           // r d
                    dc_mod_add(t, t, e, N);           // e + r d
                    dc_mod_mul(t, t, kinv, N);        // k^-1 (e + r d)
                    if (!dc_u256_is_zero(t)) {
                        dc_u256_to_be(sig, r);
                        dc_u256_to_be(sig + 32, t);
                        rc = DC_OK;
                        break;
                    }
                }
            }
        }
        // RFC 6979 3.2 step h.3
        drbg_mac(key, v, 0x00, NULL, NULL, key);
        drbg_mac(key, v, -1, NULL, NULL, v);
    }
    dc_wipe(d, sizeof(d));
    dc_wipe(k, sizeof(k));
    dc_wipe(kinv, sizeof(kinv));
    dc_wipe(t, sizeof(t));
    dc_wipe(key, sizeof(key));
    dc_wipe(v, sizeof(v));
    dc_wipe(&pt, sizeof(pt));
    return rc;
}

int dc_ecdsa_verify(const uint8_t pub[65], const uint8_t digest[32], const uint8_t sig[64]) {
    uint32_t e[8], r[8], s[8], w[8], u1[8], u2[8], x[8];
    uint8_t enc[65];
    dc_point q, pt;
    if (dc_p256_decode(&q, pub) != DC_OK) {
        return DC_ERR_INPUT;
    }
    if (dc_p256_scalar(r, sig) != DC_OK || dc_p256_scalar(s, sig + 32) != DC_OK) {
        return DC_ERR_AUTH;  // r, s must lie in [1, n-1]
    }
    dc_u256_from_be(e, digest);
    dc_u256_reduce_once(e, e, N->m);
    dc_mod_mul(w, s, N->r2, N);  // sR
    dc_mod_inv(w, w, N);         // s^-1 R
    dc_mod_mul(u1, e, w, N);     // e s^-1
    dc_mod_mul(u2, r, w, N);     // r s^-1
    dc_p256_mul2(&pt, u1, u2, &q);
    if (dc_p256_encode(enc, &pt) != DC_OK) {
        return DC_ERR_AUTH;  // infinity
    }
    dc_u256_from_be(x, enc + 1);
    dc_u256_reduce_once(x, x, N->m);
    uint32_t diff = 0;
    for (int j = 0; j < 8; j++) {
        diff |= x[j] ^ r[j];
    }
    return diff ? DC_ERR_AUTH : DC_OK;
}
