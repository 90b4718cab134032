// Constant-time arithmetic modulo the P-256 prime p and the group order n.
//
// One Montgomery multiplication (CIOS, 32-bit limbs, 64-bit products) serves
// both moduli, so the code is small (the armv6m natmod budget) and has no
// data-dependent branch: the final subtraction is a masked select. On
// Cortex-M0 the 32x32->64 products go through libgcc's __aeabi_lmul, which
// runs in fixed time on the RP2040's single-cycle multiplier.
#include "p256.h"

const dc_mod dc_p256_p = {
    .m = {0xffffffff, 0xffffffff, 0xffffffff, 0x00000000, 0x00000000, 0x00000000, 0x00000001, 0xffffffff},
    .m0inv = 0x00000001,
    .r2 = {0x00000003, 0x00000000, 0xffffffff, 0xfffffffb, 0xfffffffe, 0xffffffff, 0xfffffffd, 0x00000004},
    .one = {0x00000001, 0x00000000, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0x00000000},
    .m_minus_2 = {0xfffffffd, 0xffffffff, 0xffffffff, 0x00000000, 0x00000000, 0x00000000, 0x00000001, 0xffffffff},
};

const dc_mod dc_p256_n = {
    .m = {0xfc632551, 0xf3b9cac2, 0xa7179e84, 0xbce6faad, 0xffffffff, 0xffffffff, 0x00000000, 0xffffffff},
    .m0inv = 0xee00bc4f,
    .r2 = {0xbe79eea2, 0x83244c95, 0x49bd6fa6, 0x4699799c, 0x2b6bec59, 0x2845b239, 0xf3d95620, 0x66e12d94},
    .one = {0x039cdaaf, 0x0c46353d, 0x58e8617b, 0x43190552, 0x00000000, 0x00000000, 0xffffffff, 0x00000000},
    .m_minus_2 = {0xfc63254f, 0xf3b9cac2, 0xa7179e84, 0xbce6faad, 0xffffffff, 0xffffffff, 0x00000000, 0xffffffff},
};

// r = mask ? a : b
static void select(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], uint32_t mask) {
    for (int j = 0; j < 8; j++) {
        r[j] = (a[j] & mask) | (b[j] & ~mask);
    }
}

// d = a - m; returns the final borrow (0 or 1).
static uint32_t sub_borrow(uint32_t d[8], const uint32_t a[8], const uint32_t m[8]) {
    uint32_t borrow = 0;
    for (int j = 0; j < 8; j++) {
        uint64_t diff = (uint64_t)a[j] - m[j] - borrow;
        d[j] = (uint32_t)diff;
        borrow = (uint32_t)(diff >> 32) & 1;
    }
    return borrow;
}

void dc_mod_mul(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], const dc_mod *md) {
    const uint32_t *m = md->m;
    uint32_t t[9] = {0};
    for (int i = 0; i < 8; i++) {
        uint64_t c = 0;
        uint32_t bi = b[i];
        for (int j = 0; j < 8; j++) {
            c += (uint64_t)a[j] * bi + t[j];
            t[j] = (uint32_t)c;
            c >>= 32;
        }
        c += t[8];
        t[8] = (uint32_t)c;
        uint32_t top = (uint32_t)(c >> 32);
        // Add u * m so that the low limb becomes zero, then drop it.
        uint32_t u = t[0] * md->m0inv;
        c = ((uint64_t)u * m[0] + t[0]) >> 32;
        for (int j = 1; j < 8; j++) {
            c += (uint64_t)u * m[j] + t[j];
            t[j - 1] = (uint32_t)c;
            c >>= 32;
        }
        c += t[8];
        t[7] = (uint32_t)c;
        t[8] = top + (uint32_t)(c >> 32);
    }
    // t < 2m here: subtract m once if t >= m (t[8] set, or no borrow).
    uint32_t d[8];
    uint32_t borrow = sub_borrow(d, t, m);
    select(r, d, t, 0u - (t[8] | (borrow ^ 1)));
}

void dc_mod_add(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], const dc_mod *md) {
    uint32_t s[8], d[8];
    uint64_t c = 0;
    for (int j = 0; j < 8; j++) {
        c += (uint64_t)a[j] + b[j];
        s[j] = (uint32_t)c;
        c >>= 32;
    }
    uint32_t borrow = sub_borrow(d, s, md->m);
    select(r, d, s, 0u - ((uint32_t)c | (borrow ^ 1)));
}

void dc_mod_sub(uint32_t r[8], const uint32_t a[8], const uint32_t b[8], const dc_mod *md) {
    uint32_t d[8];
    uint32_t mask = 0u - sub_borrow(d, a, b);
    uint64_t c = 0;
    for (int j = 0; j < 8; j++) {
        c += (uint64_t)d[j] + (md->m[j] & mask);
        r[j] = (uint32_t)c;
        c >>= 32;
    }
}

// a^(m-2) by square-and-multiply over the bits of the public exponent m - 2: the sequence
// of operations depends only on m, never on a.
void dc_mod_inv(uint32_t r[8], const uint32_t a[8], const dc_mod *md) {
    uint32_t acc[8];
    memcpy(acc, md->one, 32);
    for (int bit = 255; bit >= 0; bit--) {
        dc_mod_mul(acc, acc, acc, md);
        if ((md->m_minus_2[bit >> 5] >> (bit & 31)) & 1) {  // public exponent bit
            dc_mod_mul(acc, acc, a, md);
        }
    }
    memcpy(r, acc, 32);
    dc_wipe(acc, sizeof(acc));
}

void dc_u256_from_be(uint32_t r[8], const uint8_t b[32]) {
    for (int j = 0; j < 8; j++) {
        r[j] = dc_load32_be(b + 28 - 4 * j);
    }
}

void dc_u256_to_be(uint8_t b[32], const uint32_t a[8]) {
    for (int j = 0; j < 8; j++) {
        dc_store32_be(b + 28 - 4 * j, a[j]);
    }
}

uint32_t dc_u256_lt(const uint32_t a[8], const uint32_t b[8]) {
    uint32_t d[8];
    return sub_borrow(d, a, b);
}

uint32_t dc_u256_is_zero(const uint32_t a[8]) {
    uint32_t acc = 0;
    for (int j = 0; j < 8; j++) {
        acc |= a[j];
    }
    return 1 ^ (dc_mask_nonzero(acc) & 1);
}

void dc_u256_reduce_once(uint32_t r[8], const uint32_t a[8], const uint32_t m[8]) {
    uint32_t d[8];
    uint32_t borrow = sub_borrow(d, a, m);
    select(r, d, a, borrow - 1);  // no borrow: a >= m, take a - m
}
