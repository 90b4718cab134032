// NIST P-256 (secp256r1, SEC 2 v2 2.4.2): field and scalar arithmetic, points, ECDH.
#ifndef DC_P256_H
#define DC_P256_H

#include "dc_common.h"

// 256-bit numbers are 8 little-endian 32-bit limbs.
typedef struct {
    uint32_t m[8];          // odd modulus (p or n)
    uint32_t m0inv;         // -m^-1 mod 2^32 (Montgomery reduction)
    uint32_t r2[8];         // R^2 mod m, R = 2^256 (into the Montgomery domain)
    uint32_t one[8];        // R mod m: 1 in the Montgomery domain
    uint32_t m_minus_2[8];  // Fermat inversion exponent
} dc_mod;

extern const dc_mod dc_p256_p;  // field prime p
extern const dc_mod dc_p256_n;  // group order n

// Montgomery arithmetic modulo md->m; inputs must be reduced (< m). r may
// alias a or b. All constant-time.
void dc_mod_mul(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], const dc_mod *md);
void dc_mod_add(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], const dc_mod *md);
void dc_mod_sub(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], const dc_mod *md);
// r = a^-1 for a in the Montgomery domain (0 gives 0); Fermat, fixed sequence.
void dc_mod_inv(uint32_t r[8], const uint32_t a[8], const dc_mod *md);

void dc_u256_from_be(uint32_t r[8], const uint8_t b[32]);
void dc_u256_to_be(uint8_t b[32], const uint32_t a[8]);
uint32_t dc_u256_lt(const uint32_t a[8], const uint32_t b[8]);  // 1 if a < b
uint32_t dc_u256_is_zero(const uint32_t a[8]);                  // 1 if a == 0
// r = a - m if a >= m else a (a < 2m); constant-time.
void dc_u256_reduce_once(uint32_t r[8], const uint32_t a[8], const uint32_t m[8]);

// Homogeneous projective point (x = X/Z, y = Y/Z), coordinates in the
// Montgomery domain of p; Z = 0 is the point at infinity.
typedef struct {
    uint32_t x[8], y[8], z[8];
} dc_point;

// 65-byte uncompressed SEC 1 point -> validated point (range and curve
// equation: with cofactor 1 that is full validation). DC_ERR_INPUT otherwise.
int dc_p256_decode(dc_point *pt, const uint8_t in[65]);
// Affine encoding; DC_ERR_INPUT for the point at infinity.
int dc_p256_encode(uint8_t out[65], const dc_point *pt);
void dc_p256_generator(dc_point *g);
// r = k * pt for any 256-bit k, constant-time (fixed windows, masked table reads).
void dc_p256_mul(dc_point *r, const uint32_t k[8], const dc_point *pt);
// r = u1 * G + u2 * q (ECDSA verification).
void dc_p256_mul2(dc_point *r, const uint32_t u1[8], const uint32_t u2[8], const dc_point *q);
// Private key bytes -> scalar; DC_ERR_INPUT unless 0 < k < n.
int dc_p256_scalar(uint32_t k[8], const uint8_t priv[32]);

int dc_p256_public_key(const uint8_t priv[32], uint8_t pub[65]);
// Shared secret of RFC 8422 5.10: x-coordinate of priv * peer. The peer point is validated.
int dc_p256_ecdh(const uint8_t priv[32], const uint8_t peer[65], uint8_t out[32]);

#endif
