// AES encryption (FIPS-197) without secret-dependent table lookups or branches.
//
// Why bitsliced: a table-driven AES (T-tables or a 256-byte S-box indexed by
// key-dependent bytes) leaks the key through cache timing on parts with a
// cache and through flash wait-states on some MCUs. Here the state is stored
// as 8 bit-planes: plane j holds bit j of every state byte, so SubBytes is a
// boolean circuit evaluated on whole planes, and ShiftRows / MixColumns become
// fixed shifts and masks. Everything runs in a fixed sequence of operations.
//
// Layout: a uint32_t plane carries two blocks ("lanes"): bit 16*lane + pos is
// bit j of byte `pos` of that lane's block, pos = 4*column + row (the FIPS-197
// input order). CCM encrypts a CBC-MAC block and a counter block together in
// the two lanes, so the second lane is rarely wasted.
//
// The S-box circuit is the depth-16, 113-gate circuit published by Boyar and
// Peralta ("A depth-16 circuit for the AES S-box", 2011; also in "A new
// combinational logic minimization technique with applications to
// cryptology", SEA 2010); tests_host/test_native_core.py checks it against
// the S-box computed from its definition (inverse in GF(2^8) + affine map)
// for all 256 inputs.
#include "aes.h"

// The S-box applied to 32 bytes (both lanes) at once. q[j] = plane of bit j.
static void sub_bytes(uint32_t q[8]) {
    // The circuit numbers bits from the most significant: x0 = bit 7.
    uint32_t x0 = q[7], x1 = q[6], x2 = q[5], x3 = q[4];
    uint32_t x4 = q[3], x5 = q[2], x6 = q[1], x7 = q[0];
    uint32_t y1, y2, y3, y4, y5, y6, y7, y8, y9, y10, y11, y12, y13, y14, y15, y16;
    uint32_t y17, y18, y19, y20, y21;
    uint32_t t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15;
    uint32_t t16, t17, t18, t19, t20, t21, t22, t23, t24, t25, t26, t27, t28, t29;
    uint32_t t30, t31, t32, t33, t34, t35, t36, t37, t38, t39, t40, t41, t42, t43;
    uint32_t t44, t45, t46, t47, t48, t49, t50, t51, t52, t53, t54, t55, t56, t57;
    uint32_t t58, t59, t60, t61, t62, t63, t64, t65, t66, t67;
    uint32_t z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11, z12, z13, z14, z15;
    uint32_t z16, z17;
    uint32_t s0, s1, s2, s3, s4, s5, s6, s7;

    // Top linear layer.
    y14 = x3 ^ x5;
    y13 = x0 ^ x6;
    y9 = x0 ^ x3;
    y8 = x0 ^ x5;
    t0 = x1 ^ x2;
    y1 = t0 ^ x7;
    y4 = y1 ^ x3;
    y12 = y13 ^ y14;
    y2 = y1 ^ x0;
    y5 = y1 ^ x6;
    y3 = y5 ^ y8;
    t1 = x4 ^ y12;
    y15 = t1 ^ x5;
    y20 = t1 ^ x1;
    y6 = y15 ^ x7;
    y10 = y15 ^ t0;
    y11 = y20 ^ y9;
    y7 = x7 ^ y11;
    y17 = y10 ^ y11;
    y19 = y10 ^ y8;
    y16 = t0 ^ y11;
    y21 = y13 ^ y16;
    y18 = x0 ^ y16;

    // Middle non-linear layer (inversion in GF(2^8) through GF(2^4)).
    t2 = y12 & y15;
    t3 = y3 & y6;
    t4 = t3 ^ t2;
    t5 = y4 & x7;
    t6 = t5 ^ t2;
    t7 = y13 & y16;
    t8 = y5 & y1;
    t9 = t8 ^ t7;
    t10 = y2 & y7;
    t11 = t10 ^ t7;
    t12 = y9 & y11;
    t13 = y14 & y17;
    t14 = t13 ^ t12;
    t15 = y8 & y10;
    t16 = t15 ^ t12;
    t17 = t4 ^ t14;
    t18 = t6 ^ t16;
    t19 = t9 ^ t14;
    t20 = t11 ^ t16;
    t21 = t17 ^ y20;
    t22 = t18 ^ y19;
    t23 = t19 ^ y21;
    t24 = t20 ^ y18;
    t25 = t21 ^ t22;
    t26 = t21 & t23;
    t27 = t24 ^ t26;
    t28 = t25 & t27;
    t29 = t28 ^ t22;
    t30 = t23 ^ t24;
    t31 = t22 ^ t26;
    t32 = t31 & t30;
    t33 = t32 ^ t24;
    t34 = t23 ^ t33;
    t35 = t27 ^ t33;
    t36 = t24 & t35;
    t37 = t36 ^ t34;
    t38 = t27 ^ t36;
    t39 = t29 & t38;
    t40 = t25 ^ t39;
    t41 = t40 ^ t37;
    t42 = t29 ^ t33;
    t43 = t29 ^ t40;
    t44 = t33 ^ t37;
    t45 = t42 ^ t41;
    z0 = t44 & y15;
    z1 = t37 & y6;
    z2 = t33 & x7;
    z3 = t43 & y16;
    z4 = t40 & y1;
    z5 = t29 & y7;
    z6 = t42 & y11;
    z7 = t45 & y17;
    z8 = t41 & y10;
    z9 = t44 & y12;
    z10 = t37 & y3;
    z11 = t33 & y4;
    z12 = t43 & y13;
    z13 = t40 & y5;
    z14 = t29 & y2;
    z15 = t42 & y9;
    z16 = t45 & y14;
    z17 = t41 & y8;

    // Bottom linear layer, with the affine constant 0x63 folded in as NOTs.
    t46 = z15 ^ z16;
    t47 = z10 ^ z11;
    t48 = z5 ^ z13;
    t49 = z9 ^ z10;
    t50 = z2 ^ z12;
    t51 = z2 ^ z5;
    t52 = z7 ^ z8;
    t53 = z0 ^ z3;
    t54 = z6 ^ z7;
    t55 = z16 ^ z17;
    t56 = z12 ^ t48;
    t57 = t50 ^ t53;
    t58 = z4 ^ t46;
    t59 = z3 ^ t54;
    t60 = t46 ^ t57;
    t61 = z14 ^ t57;
    t62 = t52 ^ t58;
    t63 = t49 ^ t58;
    t64 = z4 ^ t59;
    t65 = t61 ^ t62;
    t66 = z1 ^ t63;
    s0 = t59 ^ t63;
    s6 = t56 ^ ~t62;
    s7 = t48 ^ ~t60;
    t67 = t64 ^ t65;
    s3 = t53 ^ t66;
    s4 = t51 ^ t66;
    s5 = t47 ^ t65;
    s1 = t64 ^ ~s3;
    s2 = t55 ^ ~t67;

    q[7] = s0;
    q[6] = s1;
    q[5] = s2;
    q[4] = s3;
    q[3] = s4;
    q[2] = s5;
    q[1] = s6;
    q[0] = s7;
}

// Bits at row r of every column, both lanes.
#define ROW_MASK(r) (0x11111111u << (r))
// Rotate each 16-bit lane right by s (0 < s < 16).
#define LANE_ROTR(x, s) ((((x) >> (s)) & ((0xffffu >> (s)) * 0x00010001u)) \
    | (((x) << (16 - (s))) & (((0xffffu << (16 - (s))) & 0xffffu) * 0x00010001u)))

// Row r moves r columns to the left: new[4c + r] = old[4(c + r) + r], so the
// bits of row r shift right by 4r inside each lane.
static void shift_rows(uint32_t q[8]) {
    for (int j = 0; j < 8; j++) {
        uint32_t x = q[j];
        q[j] = (x & ROW_MASK(0))
            | LANE_ROTR(x & ROW_MASK(1), 4)
            | LANE_ROTR(x & ROW_MASK(2), 8)
            | LANE_ROTR(x & ROW_MASK(3), 12);
    }
}

// Inside each column (4-bit nibble): new row r = old row r + k (mod 4).
static inline uint32_t col_rot1(uint32_t x) {
    return ((x >> 1) & 0x77777777u) | ((x << 3) & 0x88888888u);
}
static inline uint32_t col_rot2(uint32_t x) {
    return ((x >> 2) & 0x33333333u) | ((x << 2) & 0xccccccccu);
}

// b_r = 2*(a_r ^ a_{r+1}) ^ a_{r+1} ^ a_{r+2} ^ a_{r+3}
//     = xtime(t) ^ t ^ rot2(t) ^ a, with t = a ^ rot1(a).
static void mix_columns(uint32_t q[8]) {
    uint32_t t[8];
    for (int j = 0; j < 8; j++) {
        t[j] = q[j] ^ col_rot1(q[j]);
    }
    uint32_t hi = t[7];  // xtime: shift up one bit-plane, reduce by 0x1b (bits 0, 1, 3, 4)
    for (int j = 0; j < 8; j++) {
        uint32_t xt = j ? t[j - 1] : 0;
        if (j == 0 || j == 1 || j == 3 || j == 4) {  // public loop index, not data
            xt ^= hi;
        }
        q[j] ^= xt ^ t[j] ^ col_rot2(t[j]);
    }
}

// 16 bytes of one lane -> planes (OR into q, which the caller zeroed).
static void load_lane(uint32_t q[8], const uint8_t in[16], int lane) {
    for (int c = 0; c < 4; c++) {
        uint32_t w = (uint32_t)in[4 * c] | ((uint32_t)in[4 * c + 1] << 8)
            | ((uint32_t)in[4 * c + 2] << 16) | ((uint32_t)in[4 * c + 3] << 24);
        int shift = 16 * lane + 4 * c;
        for (int j = 0; j < 8; j++) {
            uint32_t v = (w >> j) & 0x01010101u;  // bit j of each row, at bits 0, 8, 16, 24
            v = (v | (v >> 7) | (v >> 14) | (v >> 21)) & 0xfu;
            q[j] |= v << shift;
        }
    }
}

static void store_lane(const uint32_t q[8], uint8_t out[16], int lane) {
    for (int c = 0; c < 4; c++) {
        int shift = 16 * lane + 4 * c;
        uint32_t w = 0;
        for (int j = 0; j < 8; j++) {
            uint32_t n = (q[j] >> shift) & 0xfu;
            w |= ((n & 1u) | ((n & 2u) << 7) | ((n & 4u) << 14) | ((n & 8u) << 21)) << j;
        }
        out[4 * c] = (uint8_t)w;
        out[4 * c + 1] = (uint8_t)(w >> 8);
        out[4 * c + 2] = (uint8_t)(w >> 16);
        out[4 * c + 3] = (uint8_t)(w >> 24);
    }
}

// SubWord of the key schedule: the S-box on 4 bytes (lane 0, column 0).
static uint32_t sub_word(uint32_t w) {
    uint8_t b[16] = {0};
    uint32_t q[8] = {0};
    dc_store32_be(b, w);
    load_lane(q, b, 0);
    sub_bytes(q);
    store_lane(q, b, 0);
    uint32_t r = dc_load32_be(b);
    dc_wipe(b, sizeof(b));
    dc_wipe(q, sizeof(q));
    return r;
}

int dc_aes_setkey(dc_aes_key *ks, const uint8_t *key, size_t key_len) {
    if (key_len != 16 && key_len != 24 && key_len != 32) {
        return DC_ERR_INPUT;
    }
    int nk = (int)(key_len / 4);
    int rounds = nk + 6;
    int total = 4 * (rounds + 1);
    uint32_t w[60];  // FIPS-197 5.2 KeyExpansion, words big-endian
    uint32_t rcon = 1;
    for (int i = 0; i < nk; i++) {
        w[i] = dc_load32_be(key + 4 * i);
    }
    int pos = 0;  // i mod nk, counted: no division (Cortex-M0 has none)
    for (int i = nk; i < total; i++) {
        uint32_t t = w[i - 1];
        if (pos == 0) {  // i and nk are public
            t = sub_word((t << 8) | (t >> 24)) ^ (rcon << 24);
            rcon = (rcon << 1) ^ (0x11bu & (0u - (rcon >> 7)));
        } else if (nk > 6 && pos == 4) {
            t = sub_word(t);
        }
        w[i] = w[i - nk] ^ t;
        if (++pos == nk) {
            pos = 0;
        }
    }
    uint8_t block[16];
    for (int r = 0; r <= rounds; r++) {
        uint32_t q[8] = {0};
        for (int c = 0; c < 4; c++) {
            dc_store32_be(block + 4 * c, w[4 * r + c]);
        }
        load_lane(q, block, 0);
        for (int j = 0; j < 8; j++) {
            ks->rk[r][j] = q[j] | (q[j] << 16);  // same round key in both lanes
        }
    }
    ks->rounds = (uint32_t)rounds;
    dc_wipe(w, sizeof(w));
    dc_wipe(block, sizeof(block));
    return DC_OK;
}

void dc_aes_encrypt2(const dc_aes_key *ks, const uint8_t in_a[16], const uint8_t in_b[16],
    uint8_t out_a[16], uint8_t out_b[16]) {
    uint32_t q[8] = {0};
    load_lane(q, in_a, 0);
    load_lane(q, in_b, 1);
    uint32_t rounds = ks->rounds;
    for (int j = 0; j < 8; j++) {
        q[j] ^= ks->rk[0][j];
    }
    for (uint32_t r = 1; r < rounds; r++) {
        sub_bytes(q);
        shift_rows(q);
        mix_columns(q);
        for (int j = 0; j < 8; j++) {
            q[j] ^= ks->rk[r][j];
        }
    }
    sub_bytes(q);
    shift_rows(q);
    for (int j = 0; j < 8; j++) {
        q[j] ^= ks->rk[rounds][j];
    }
    store_lane(q, out_a, 0);
    store_lane(q, out_b, 1);
    dc_wipe(q, sizeof(q));
}

#ifdef DC_AES_SELFTEST
// For tests_host/test_native_core.py only: the circuit's S-box for all 256 inputs.
void dc_aes_sbox_table(uint8_t out[256]) {
    for (int base = 0; base < 256; base += 32) {
        uint8_t a[16], b[16];
        uint32_t q[8] = {0};
        for (int i = 0; i < 16; i++) {
            a[i] = (uint8_t)(base + i);
            b[i] = (uint8_t)(base + 16 + i);
        }
        load_lane(q, a, 0);
        load_lane(q, b, 1);
        sub_bytes(q);
        store_lane(q, out + base, 0);
        store_lane(q, out + base + 16, 1);
    }
}
#endif
