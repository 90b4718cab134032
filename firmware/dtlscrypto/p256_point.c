// P-256 points: validation, complete addition, constant-time scalar multiplication, ECDH.
//
// Addition and doubling use the complete formulas of Renes, Costello and
// Batina ("Complete addition formulas for prime order elliptic curves",
// EUROCRYPT 2016, algorithms 4 and 6 for a = -3): they are correct for every
// input pair, the point at infinity and P + P included, so the scalar
// multiplication needs no branch on secret data to avoid exceptional cases.
#include "dc_api.h"
#include "p256.h"

#define P (&dc_p256_p)

// b * R mod p (the curve constant in the Montgomery domain), and G likewise.
static const uint32_t B_MONT[8] = {
    0x29c4bddf, 0xd89cdf62, 0x78843090, 0xacf005cd, 0xf7212ed6, 0xe5a220ab, 0x04874834, 0xdc30061d,
};
static const uint32_t GX_MONT[8] = {
    0x18a9143c, 0x79e730d4, 0x5fedb601, 0x75ba95fc, 0x77622510, 0x79fb732b, 0xa53755c6, 0x18905f76,
};
static const uint32_t GY_MONT[8] = {
    0xce95560a, 0xddf25357, 0xba19e45c, 0x8b4ab8e4, 0xdd21f325, 0xd2e88688, 0x25885d85, 0x8571ff18,
};

static void fmul(uint32_t r[8], const uint32_t a[8], const uint32_t b[8]) {
    dc_mod_mul(r, a, b, P);
}
static void fadd(uint32_t r[8], const uint32_t a[8], const uint32_t b[8]) {
    dc_mod_add(r, a, b, P);
}
static void fsub(uint32_t r[8], const uint32_t a[8], const uint32_t b[8]) {
    dc_mod_sub(r, a, b, P);
}

// The formulas run from tables: each step is one field operation on a small register file
// (an op code and three register numbers in 16 bits). That is a quarter of the code size of
// the straight-line calls (the armv6m natmod budget) for a few percent of speed.
enum { X1, Y1, Z1, X2, Y2, Z2, B, T0, T1, T2, T3, T4, X3, Y3, Z3, NUM_REGS };
enum { MUL, ADD, SUB };
#define OP(op, d, a, b) (uint16_t)((op) << 12 | (d) << 8 | (a) << 4 | (b))

// RCB16 algorithm 4 (a = -3): (X3, Y3, Z3) = (X1, Y1, Z1) + (X2, Y2, Z2), 12M + 2m_b.
static const uint16_t ADD_STEPS[] = {
    OP(MUL, T0, X1, X2), OP(MUL, T1, Y1, Y2), OP(MUL, T2, Z1, Z2), OP(ADD, T3, X1, Y1),
    OP(ADD, T4, X2, Y2), OP(MUL, T3, T3, T4), OP(ADD, T4, T0, T1), OP(SUB, T3, T3, T4),
    OP(ADD, T4, Y1, Z1), OP(ADD, X3, Y2, Z2), OP(MUL, T4, T4, X3), OP(ADD, X3, T1, T2),
    OP(SUB, T4, T4, X3), OP(ADD, X3, X1, Z1), OP(ADD, Y3, X2, Z2), OP(MUL, X3, X3, Y3),
    OP(ADD, Y3, T0, T2), OP(SUB, Y3, X3, Y3), OP(MUL, Z3, B, T2), OP(SUB, X3, Y3, Z3),
    OP(ADD, Z3, X3, X3), OP(ADD, X3, X3, Z3), OP(SUB, Z3, T1, X3), OP(ADD, X3, T1, X3),
    OP(MUL, Y3, B, Y3), OP(ADD, T1, T2, T2), OP(ADD, T2, T1, T2), OP(SUB, Y3, Y3, T2),
    OP(SUB, Y3, Y3, T0), OP(ADD, T1, Y3, Y3), OP(ADD, Y3, T1, Y3), OP(ADD, T1, T0, T0),
    OP(ADD, T0, T1, T0), OP(SUB, T0, T0, T2), OP(MUL, T1, T4, Y3), OP(MUL, T2, T0, Y3),
    OP(MUL, Y3, X3, Z3), OP(ADD, Y3, Y3, T2), OP(MUL, X3, T3, X3), OP(SUB, X3, X3, T1),
    OP(MUL, Z3, T4, Z3), OP(MUL, T1, T3, T0), OP(ADD, Z3, Z3, T1),
};

// RCB16 algorithm 6 (a = -3): (X3, Y3, Z3) = 2 (X1, Y1, Z1), 8M + 3S + 2m_b.
static const uint16_t DOUBLE_STEPS[] = {
    OP(MUL, T0, X1, X1), OP(MUL, T1, Y1, Y1), OP(MUL, T2, Z1, Z1), OP(MUL, T3, X1, Y1),
    OP(ADD, T3, T3, T3), OP(MUL, Z3, X1, Z1), OP(ADD, Z3, Z3, Z3), OP(MUL, Y3, B, T2),
    OP(SUB, Y3, Y3, Z3), OP(ADD, X3, Y3, Y3), OP(ADD, Y3, X3, Y3), OP(SUB, X3, T1, Y3),
    OP(ADD, Y3, T1, Y3), OP(MUL, Y3, X3, Y3), OP(MUL, X3, X3, T3), OP(ADD, T3, T2, T2),
    OP(ADD, T2, T2, T3), OP(MUL, Z3, B, Z3), OP(SUB, Z3, Z3, T2), OP(SUB, Z3, Z3, T0),
    OP(ADD, T3, Z3, Z3), OP(ADD, Z3, Z3, T3), OP(ADD, T3, T0, T0), OP(ADD, T0, T3, T0),
    OP(SUB, T0, T0, T2), OP(MUL, T0, T0, Z3), OP(ADD, Y3, Y3, T0), OP(MUL, T0, Y1, Z1),
    OP(ADD, T0, T0, T0), OP(MUL, Z3, T0, Z3), OP(SUB, X3, X3, Z3), OP(MUL, Z3, T0, T1),
    OP(ADD, Z3, Z3, Z3), OP(ADD, Z3, Z3, Z3),
};

static void run_steps(uint32_t reg[NUM_REGS][8], const uint16_t *steps, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t s = steps[i];
        uint32_t *d = reg[(s >> 8) & 15];
        const uint32_t *a = reg[(s >> 4) & 15], *b = reg[s & 15];
        switch (s >> 12) {  // the step table is fixed: no data-dependent branch
            case MUL:
                dc_mod_mul(d, a, b, P);
                break;
            case ADD:
                dc_mod_add(d, a, b, P);
                break;
            default:
                dc_mod_sub(d, a, b, P);
                break;
        }
    }
}

// r = p1 + p2 (p2 NULL: r = 2 p1); r may alias the inputs.
static void point_op(dc_point *r, const dc_point *p1, const dc_point *p2) {
    uint32_t reg[NUM_REGS][8];
    memcpy(reg[X1], p1, sizeof(dc_point));  // X1, Y1, Z1 are consecutive, as in dc_point
    memcpy(reg[B], B_MONT, 32);
    if (p2) {
        memcpy(reg[X2], p2, sizeof(dc_point));
        run_steps(reg, ADD_STEPS, sizeof(ADD_STEPS) / sizeof(ADD_STEPS[0]));
    } else {
        run_steps(reg, DOUBLE_STEPS, sizeof(DOUBLE_STEPS) / sizeof(DOUBLE_STEPS[0]));
    }
    memcpy(r, reg[X3], sizeof(dc_point));
    dc_wipe(reg, sizeof(reg));
}

static void point_add(dc_point *r, const dc_point *p1, const dc_point *p2) {
    point_op(r, p1, p2);
}

static void point_double(dc_point *r, const dc_point *p1) {
    point_op(r, p1, NULL);
}

static void point_infinity(dc_point *r) {
    memset(r, 0, sizeof(*r));
    memcpy(r->y, dc_p256_p.one, 32);  // (0 : 1 : 0)
}

void dc_p256_generator(dc_point *g) {
    memcpy(g->x, GX_MONT, 32);
    memcpy(g->y, GY_MONT, 32);
    memcpy(g->z, dc_p256_p.one, 32);
}

// Windows of 3 bits: an 8-entry table (768 bytes of stack) and 86 windows.
#define WINDOW_BITS 3
#define TABLE_SIZE (1 << WINDOW_BITS)
#define WINDOWS ((256 + WINDOW_BITS - 1) / WINDOW_BITS)

// table[i] = i * pt
static void build_table(dc_point table[TABLE_SIZE], const dc_point *pt) {
    point_infinity(&table[0]);
    table[1] = *pt;
    for (int i = 2; i < TABLE_SIZE; i++) {
        point_add(&table[i], &table[i - 1], pt);
    }
}

// r = table[idx], reading every entry (no secret-dependent address).
static void table_select(dc_point *r, const dc_point table[TABLE_SIZE], uint32_t idx) {
    memset(r, 0, sizeof(*r));
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        uint32_t mask = 0u - (((i ^ idx) - 1u) >> 31);  // all ones iff i == idx
        const uint32_t *src = table[i].x;
        uint32_t *dst = r->x;
        for (int j = 0; j < 24; j++) {  // x, y, z are contiguous
            dst[j] |= src[j] & mask;
        }
    }
}

// Bits [WINDOW_BITS * w, WINDOW_BITS * (w + 1)) of k; w is public.
static uint32_t window(const uint32_t k[8], int w) {
    int bit = WINDOW_BITS * w;
    int limb = bit >> 5, off = bit & 31;
    uint32_t v = k[limb] >> off;
    if (off > 32 - WINDOW_BITS && limb < 7) {
        v |= k[limb + 1] << (32 - off);
    }
    return v & (TABLE_SIZE - 1);
}

// r = sum of k[i] * pt[i] (count 1 or 2) with shared doublings (Shamir's trick), fixed
// windows and masked table reads: the operation sequence never depends on the scalars.
static void mul_sum(dc_point *r, const uint32_t *const k[2], const dc_point *const pt[2], int count) {
    dc_point table[2][TABLE_SIZE], acc, sel;
    for (int i = 0; i < count; i++) {
        build_table(table[i], pt[i]);
    }
    point_infinity(&acc);
    for (int w = WINDOWS - 1; w >= 0; w--) {
        for (int i = 0; i < WINDOW_BITS; i++) {
            point_double(&acc, &acc);
        }
        for (int i = 0; i < count; i++) {
            table_select(&sel, table[i], window(k[i], w));
            point_add(&acc, &acc, &sel);  // complete: fine for sel = infinity
        }
    }
    *r = acc;
    dc_wipe(table, sizeof(table));
    dc_wipe(&acc, sizeof(acc));
    dc_wipe(&sel, sizeof(sel));
}

void dc_p256_mul(dc_point *r, const uint32_t k[8], const dc_point *pt) {
    const uint32_t *ks[2] = {k, k};
    const dc_point *pts[2] = {pt, pt};
    mul_sum(r, ks, pts, 1);
}

void dc_p256_mul2(dc_point *r, const uint32_t u1[8], const uint32_t u2[8], const dc_point *q) {
    dc_point g;
    dc_p256_generator(&g);
    const uint32_t *ks[2] = {u1, u2};
    const dc_point *pts[2] = {&g, q};
    mul_sum(r, ks, pts, 2);
}

int dc_p256_decode(dc_point *pt, const uint8_t in[65]) {
    uint32_t x[8], y[8], lhs[8], rhs[8], t[8];
    if (in[0] != 0x04) {  // RFC 8422 5.1.2 / RFC 7925 4.3: uncompressed only
        return DC_ERR_INPUT;
    }
    dc_u256_from_be(x, in + 1);
    dc_u256_from_be(y, in + 33);
    if (!dc_u256_lt(x, dc_p256_p.m) || !dc_u256_lt(y, dc_p256_p.m)) {
        return DC_ERR_INPUT;
    }
    fmul(x, x, dc_p256_p.r2);  // into the Montgomery domain
    fmul(y, y, dc_p256_p.r2);
    // y^2 == x^3 - 3x + b (SEC 1 v2 3.2.2.1)
    fmul(lhs, y, y);
    fmul(t, x, x);
    fmul(rhs, t, x);
    fadd(t, x, x);
    fadd(t, t, x);
    fsub(rhs, rhs, t);
    fadd(rhs, rhs, B_MONT);
    fsub(t, lhs, rhs);
    if (!dc_u256_is_zero(t)) {
        return DC_ERR_INPUT;
    }
    memcpy(pt->x, x, 32);
    memcpy(pt->y, y, 32);
    memcpy(pt->z, dc_p256_p.one, 32);
    return DC_OK;
}

int dc_p256_encode(uint8_t out[65], const dc_point *pt) {
    uint32_t zinv[8], x[8], y[8];
    static const uint32_t one[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    if (dc_u256_is_zero(pt->z)) {
        return DC_ERR_INPUT;  // infinity has no affine form
    }
    dc_mod_inv(zinv, pt->z, P);
    fmul(x, pt->x, zinv);
    fmul(y, pt->y, zinv);
    fmul(x, x, one);  // out of the Montgomery domain
    fmul(y, y, one);
    out[0] = 0x04;
    dc_u256_to_be(out + 1, x);
    dc_u256_to_be(out + 33, y);
    dc_wipe(zinv, sizeof(zinv));
    dc_wipe(x, sizeof(x));
    dc_wipe(y, sizeof(y));
    return DC_OK;
}

int dc_p256_scalar(uint32_t k[8], const uint8_t priv[32]) {
    dc_u256_from_be(k, priv);
    // Both checks always run; only "valid or not" is revealed.
    uint32_t ok = dc_u256_lt(k, dc_p256_n.m) & (dc_u256_is_zero(k) ^ 1);
    return ok ? DC_OK : DC_ERR_INPUT;
}

int dc_p256_public_key(const uint8_t priv[32], uint8_t pub[65]) {
    uint32_t k[8];
    dc_point g, r;
    int rc = dc_p256_scalar(k, priv);
    if (rc == DC_OK) {
        dc_p256_generator(&g);
        dc_p256_mul(&r, k, &g);
        rc = dc_p256_encode(pub, &r);
    }
    dc_wipe(k, sizeof(k));
    dc_wipe(&r, sizeof(r));
    return rc;
}

int dc_p256_ecdh(const uint8_t priv[32], const uint8_t peer[65], uint8_t out[32]) {
    uint32_t k[8];
    dc_point q, r;
    uint8_t enc[65];
    int rc = dc_p256_decode(&q, peer);
    if (rc == DC_OK) {
        rc = dc_p256_scalar(k, priv);
    }
    if (rc == DC_OK) {
        dc_p256_mul(&r, k, &q);
        rc = dc_p256_encode(enc, &r);  // infinity: impossible for a valid point, refused anyway
        if (rc == DC_OK) {
            memcpy(out, enc + 1, 32);
        }
    }
    dc_wipe(k, sizeof(k));
    dc_wipe(&r, sizeof(r));
    dc_wipe(enc, sizeof(enc));
    return rc;
}

int dc_p256_check(const uint8_t pub[65]) {
    dc_point q;
    return dc_p256_decode(&q, pub);
}
