// The binding's AES-CCM, P-256 and ECDSA API on top of mbedtls (DTLSCRYPTO_MBEDTLS=1).
//
// For ports that link mbedtls anyway: on ESP32, ESP-IDF's mbedtls routes AES and bignum
// work to the hardware accelerators, and the portable aes.c/ccm.c/p256_*.c/ecdsa.c are
// left out of the firmware. SHA-256, HMAC and the PRF stay portable (sha256.c, hmac.c):
// the binding needs a plain, copyable hash state.
//
// Works with mbedtls 2.28 (checked on Debian's libmbedtls-dev: tests_host/test_native_core.py
// runs the same vectors as for the portable core) and 3.x (ESP-IDF 5, MicroPython's lib/mbedtls;
// only struct-member access differs, through MBEDTLS_PRIVATE). Differences from the portable
// core, all outside what DTLS uses: mbedtls 2.28 refuses CCM additional data of 0xFF00 bytes
// or more (DTLS uses 13), and the scalar multiplications are mbedtls's own (constant-time
// comb/ladder with coordinate randomisation).
#include "dc_api.h"

#include "mbedtls/ccm.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/version.h"

#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(member) member  // mbedtls 2.x: members are public
#endif

// --- AES-CCM ---------------------------------------------------------------------------------

int dc_aes_setkey(dc_aes_key *ks, const uint8_t *key, size_t key_len) {
    if (key_len != 16 && key_len != 24 && key_len != 32) {
        return DC_ERR_INPUT;
    }
    memset(ks, 0, sizeof(*ks));
    memcpy(ks->key, key, key_len);
    ks->key_len = (uint32_t)key_len;
    ks->rounds = (uint32_t)(key_len / 4 + 6);
    return DC_OK;
}

static int ccm_context(mbedtls_ccm_context *ctx, const dc_aes_key *ks) {
    mbedtls_ccm_init(ctx);
    // key_len is re-derived from the checked round count: a forged schedule cannot
    // make mbedtls read past the key buffer.
    unsigned bits = (unsigned)(ks->rounds - 6) * 32;
    if (mbedtls_ccm_setkey(ctx, MBEDTLS_CIPHER_ID_AES, ks->key, bits) != 0) {
        mbedtls_ccm_free(ctx);
        return DC_ERR_INPUT;
    }
    return DC_OK;
}

int dc_ccm_seal(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out) {
    mbedtls_ccm_context ctx;
    if (nonce_len < 7 || nonce_len > 13 || tag_len < 4 || tag_len > 16 || (tag_len & 1)) {
        return DC_ERR_INPUT;
    }
    if (ccm_context(&ctx, ks) != DC_OK) {
        return DC_ERR_INPUT;
    }
    int ret = mbedtls_ccm_encrypt_and_tag(&ctx, pt_len, nonce, nonce_len, aad, aad_len,
        pt, out, out + pt_len, tag_len);
    mbedtls_ccm_free(&ctx);
    return ret == 0 ? DC_OK : DC_ERR_INPUT;
}

int dc_ccm_open(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *data, size_t data_len, uint8_t *out) {
    mbedtls_ccm_context ctx;
    if (nonce_len < 7 || nonce_len > 13 || tag_len < 4 || tag_len > 16 || (tag_len & 1)) {
        return DC_ERR_INPUT;
    }
    if (data_len < tag_len) {
        return DC_ERR_AUTH;
    }
    if (ccm_context(&ctx, ks) != DC_OK) {
        return DC_ERR_INPUT;
    }
    size_t ct_len = data_len - tag_len;
    int ret = mbedtls_ccm_auth_decrypt(&ctx, ct_len, nonce, nonce_len, aad, aad_len,
        data, out, data + ct_len, tag_len);
    mbedtls_ccm_free(&ctx);
    if (ret == MBEDTLS_ERR_CCM_AUTH_FAILED) {
        return DC_ERR_AUTH;  // mbedtls has already zeroed out
    }
    return ret == 0 ? DC_OK : DC_ERR_INPUT;
}

// --- P-256 -----------------------------------------------------------------------------------

// mbedtls wants an RNG for blinding (projective coordinate randomisation). There is no RNG
// in C here by design, so the blinding values come from HMAC-SHA-256 keyed with the private
// scalar and the operation's input: unpredictable to anyone without the key, which is what
// blinding needs, and reproducible.
typedef struct {
    dc_hmac keyed;
    uint32_t counter;
} blind_rng;

static void blind_init(blind_rng *rng, const uint8_t priv[32], const uint8_t *input, size_t len) {
    dc_hmac_init(&rng->keyed, priv, 32);
    dc_hmac_update(&rng->keyed, input, len);
    rng->counter = 0;
}

static int blind_bytes(void *ctx, unsigned char *out, size_t len) {
    blind_rng *rng = (blind_rng *)ctx;
    while (len) {
        dc_hmac h = rng->keyed;
        uint8_t block[32], ctr[4];
        dc_store32_be(ctr, rng->counter++);
        dc_hmac_update(&h, ctr, 4);
        dc_hmac_final(&h, block);
        size_t n = len < 32 ? len : 32;
        memcpy(out, block, n);
        out += n;
        len -= n;
        dc_wipe(block, sizeof(block));
    }
    return 0;
}

typedef struct {
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q, r;
    mbedtls_mpi d, s1, s2;
} ec_work;

static int ec_begin(ec_work *w) {
    mbedtls_ecp_group_init(&w->grp);
    mbedtls_ecp_point_init(&w->q);
    mbedtls_ecp_point_init(&w->r);
    mbedtls_mpi_init(&w->d);
    mbedtls_mpi_init(&w->s1);
    mbedtls_mpi_init(&w->s2);
    return mbedtls_ecp_group_load(&w->grp, MBEDTLS_ECP_DP_SECP256R1) == 0 ? DC_OK : DC_ERR_INPUT;
}

static void ec_end(ec_work *w) {
    mbedtls_ecp_group_free(&w->grp);
    mbedtls_ecp_point_free(&w->q);
    mbedtls_ecp_point_free(&w->r);
    mbedtls_mpi_free(&w->d);
    mbedtls_mpi_free(&w->s1);
    mbedtls_mpi_free(&w->s2);
}

static int read_priv(ec_work *w, const uint8_t priv[32]) {
    if (mbedtls_mpi_read_binary(&w->d, priv, 32) != 0
        || mbedtls_ecp_check_privkey(&w->grp, &w->d) != 0) {  // 1 <= d < n
        return DC_ERR_INPUT;
    }
    return DC_OK;
}

static int read_point(ec_work *w, mbedtls_ecp_point *pt, const uint8_t in[65]) {
    if (in[0] != 0x04  // RFC 8422 5.1.2: uncompressed only
        || mbedtls_ecp_point_read_binary(&w->grp, pt, in, 65) != 0
        || mbedtls_ecp_check_pubkey(&w->grp, pt) != 0) {  // range, curve equation, not zero
        return DC_ERR_INPUT;
    }
    return DC_OK;
}

int dc_p256_check(const uint8_t pub[65]) {
    ec_work w;
    int rc = ec_begin(&w);
    if (rc == DC_OK) {
        rc = read_point(&w, &w.q, pub);
    }
    ec_end(&w);
    return rc;
}

int dc_p256_public_key(const uint8_t priv[32], uint8_t pub[65]) {
    ec_work w;
    blind_rng rng;
    size_t olen;
    int rc = ec_begin(&w);
    if (rc == DC_OK) {
        rc = read_priv(&w, priv);
    }
    if (rc == DC_OK) {
        blind_init(&rng, priv, (const uint8_t *)"public", 6);
        if (mbedtls_ecp_mul(&w.grp, &w.r, &w.d, &w.grp.MBEDTLS_PRIVATE(G), blind_bytes, &rng) != 0
            || mbedtls_ecp_point_write_binary(&w.grp, &w.r, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
                pub, 65) != 0 || olen != 65) {
            rc = DC_ERR_INPUT;
        }
        dc_wipe(&rng, sizeof(rng));
    }
    ec_end(&w);
    return rc;
}

int dc_p256_ecdh(const uint8_t priv[32], const uint8_t peer[65], uint8_t out[32]) {
    ec_work w;
    blind_rng rng;
    int rc = ec_begin(&w);
    if (rc == DC_OK) {
        rc = read_point(&w, &w.q, peer);
    }
    if (rc == DC_OK) {
        rc = read_priv(&w, priv);
    }
    if (rc == DC_OK) {
        blind_init(&rng, priv, peer, 65);
        if (mbedtls_ecp_mul(&w.grp, &w.r, &w.d, &w.q, blind_bytes, &rng) != 0
            || mbedtls_ecp_is_zero(&w.r)
            || mbedtls_mpi_write_binary(&w.r.MBEDTLS_PRIVATE(X), out, 32) != 0) {
            rc = DC_ERR_INPUT;
        }
        dc_wipe(&rng, sizeof(rng));
    }
    ec_end(&w);
    return rc;
}

// --- ECDSA -----------------------------------------------------------------------------------

int dc_ecdsa_sign(const uint8_t priv[32], const uint8_t digest[32], uint8_t sig[64]) {
    ec_work w;
    blind_rng rng;
    int rc = ec_begin(&w);
    if (rc == DC_OK) {
        rc = read_priv(&w, priv);
    }
    if (rc == DC_OK) {
        blind_init(&rng, priv, digest, 32);
        // RFC 6979 nonce, so the signature equals the portable core's.
        if (mbedtls_ecdsa_sign_det_ext(&w.grp, &w.s1, &w.s2, &w.d, digest, 32, MBEDTLS_MD_SHA256,
            blind_bytes, &rng) != 0
            || mbedtls_mpi_write_binary(&w.s1, sig, 32) != 0
            || mbedtls_mpi_write_binary(&w.s2, sig + 32, 32) != 0) {
            rc = DC_ERR_INPUT;
        }
        dc_wipe(&rng, sizeof(rng));
    }
    ec_end(&w);
    return rc;
}

int dc_ecdsa_verify(const uint8_t pub[65], const uint8_t digest[32], const uint8_t sig[64]) {
    ec_work w;
    int rc = ec_begin(&w);
    if (rc == DC_OK) {
        rc = read_point(&w, &w.q, pub);
    }
    if (rc == DC_OK) {
        // mbedtls_ecdsa_verify checks 1 <= r, s < n itself.
        if (mbedtls_mpi_read_binary(&w.s1, sig, 32) != 0
            || mbedtls_mpi_read_binary(&w.s2, sig + 32, 32) != 0
            || mbedtls_ecdsa_verify(&w.grp, digest, 32, &w.q, &w.s1, &w.s2) != 0) {
            rc = DC_ERR_AUTH;
        }
    }
    ec_end(&w);
    return rc;
}
