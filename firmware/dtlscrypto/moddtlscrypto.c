// _dtlscrypto: the MicroPython binding of the microdtls crypto core.
//
// One source, two builds (the emlearn-micropython pattern):
// - dynamic native module (natmod, MICROPY_ENABLE_DYNRUNTIME): mpy_init()
//   stores the functions into the module's globals at import time;
// - user C module (micropython.mk / micropython.cmake): a static const
//   globals table and MP_REGISTER_MODULE.
// Functions take and return bytes-like objects; lib/dtls wraps them behind
// its pure-Python APIs (see lib/dtls/backend.py). Bad lengths raise
// ValueError, non-buffers TypeError; nothing here trusts its inputs. Messages are terse
// (flash); lib/dtls checks lengths first and raises the descriptive errors.
//
// DTLSCRYPTO_MBEDTLS=1 selects mbedtls_backend.c for AES-CCM, SHA-256 and
// P-256 instead of the portable core (ports that link mbedtls: ESP32).
#ifdef MICROPY_ENABLE_DYNRUNTIME
#include "py/dynruntime.h"
#else
#include "py/runtime.h"
#endif

#include "dc_api.h"

#if DTLSCRYPTO_MBEDTLS
#define BACKEND_NAME "mbedtls"
#else
#define BACKEND_NAME "portable"
#endif

// --- argument helpers ------------------------------------------------------------------------

static const uint8_t *buffer_of(mp_obj_t obj, size_t *len) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, MP_BUFFER_READ);
    *len = info.len;
    return (const uint8_t *)info.buf;
}

// A buffer of exactly `want` bytes, else ValueError(msg).
static const uint8_t *buffer_exact(mp_obj_t obj, size_t want, mp_rom_error_text_t msg) {
    size_t len;
    const uint8_t *buf = buffer_of(obj, &len);
    if (len != want) {
        mp_raise_ValueError(msg);
    }
    return buf;
}

// A bytes object made from a core routine's output: allocation on the heap
// (records can be large), copied into the bytes object, wiped, freed.
static mp_obj_t bytes_and_free(uint8_t *buf, size_t len, size_t alloc) {
    mp_obj_t out = mp_obj_new_bytes(buf, len);
    dc_wipe(buf, alloc);
    m_del(uint8_t, buf, alloc);
    return out;
}

// The AES key schedule travels as a bytes object; copy it into an aligned
// struct and check the round count so a forged schedule cannot read out of bounds.
static void aes_key_from(mp_obj_t obj, dc_aes_key *ks) {
    const uint8_t *buf = buffer_exact(obj, sizeof(dc_aes_key), MP_ERROR_TEXT("AES key schedule"));
    memcpy(ks, buf, sizeof(dc_aes_key));
    if (ks->rounds != 10 && ks->rounds != 12 && ks->rounds != 14) {
        mp_raise_ValueError(MP_ERROR_TEXT("AES key schedule"));
    }
}

// --- AES-CCM ---------------------------------------------------------------------------------

// aes_key(key) -> opaque key schedule (bytes); key of 16, 24 or 32 bytes.
static mp_obj_t dtlscrypto_aes_key(mp_obj_t key_in) {
    size_t len;
    const uint8_t *key = buffer_of(key_in, &len);
    dc_aes_key ks;
    if (dc_aes_setkey(&ks, key, len) != DC_OK) {
        mp_raise_ValueError(MP_ERROR_TEXT("AES key size"));
    }
    mp_obj_t out = mp_obj_new_bytes((const uint8_t *)&ks, sizeof(ks));
    dc_wipe(&ks, sizeof(ks));
    return out;
}
static MP_DEFINE_CONST_FUN_OBJ_1(dtlscrypto_aes_key_obj, dtlscrypto_aes_key);

typedef struct {
    dc_aes_key ks;
    size_t tag_len, nonce_len, aad_len, data_len;
    const uint8_t *nonce, *aad, *data;
} ccm_args;

// (schedule, tag_len, nonce, aad or None, data)
static void ccm_parse(const mp_obj_t *args, ccm_args *a) {
    aes_key_from(args[0], &a->ks);
    mp_int_t tag_len = mp_obj_get_int(args[1]);
    if (tag_len < 4 || tag_len > 16 || (tag_len & 1)) {
        mp_raise_ValueError(MP_ERROR_TEXT("CCM tag size"));
    }
    a->tag_len = (size_t)tag_len;
    a->nonce = buffer_of(args[2], &a->nonce_len);
    if (a->nonce_len < 7 || a->nonce_len > 13) {
        mp_raise_ValueError(MP_ERROR_TEXT("CCM nonce size"));
    }
    if (args[3] == mp_const_none) {
        a->aad = (const uint8_t *)"";
        a->aad_len = 0;
    } else {
        a->aad = buffer_of(args[3], &a->aad_len);
    }
    a->data = buffer_of(args[4], &a->data_len);
}

// ccm(schedule, tag_len, nonce, aad, data, decrypt) ->
//   decrypt false: data is the plaintext; returns ciphertext || tag
//   decrypt true: data is ciphertext || tag; returns the plaintext, or None when the record
//   is not authentic (or too short to hold a tag). One entry point for both directions
//   keeps the armv6m module small.
static mp_obj_t dtlscrypto_ccm(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    ccm_args a;
    ccm_parse(args, &a);
    int decrypt = mp_obj_is_true(args[5]);
    size_t out_len;
    if (decrypt) {
        if (a.data_len < a.tag_len) {
            return mp_const_none;
        }
        out_len = a.data_len - a.tag_len;
    } else {
        out_len = a.data_len + a.tag_len;
    }
    size_t alloc = out_len ? out_len : 1;
    uint8_t *out = m_new(uint8_t, alloc);
    int rc = (decrypt ? dc_ccm_open : dc_ccm_seal)(&a.ks, a.tag_len, a.nonce, a.nonce_len,
        a.aad, a.aad_len, a.data, a.data_len, out);
    dc_wipe(&a.ks, sizeof(a.ks));
    if (rc != DC_OK) {
        m_del(uint8_t, out, alloc);
        if (decrypt) {
            return mp_const_none;
        }
        mp_raise_ValueError(MP_ERROR_TEXT("CCM input too long"));
    }
    return bytes_and_free(out, out_len, alloc);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(dtlscrypto_ccm_obj, 6, 6, dtlscrypto_ccm);

// --- SHA-256, HMAC ----------------------------------------------------------------------

// (The TLS PRF stays in Python, on these copyable HMAC states: in C it saved 4 us per call
// on x64 for 350 bytes of armv6m code.)
//
// The state lives in a caller-owned bytearray of SHA256_STATE_SIZE bytes, so
// copying the hash is bytearray(state). Copied in and out of an aligned
// struct; a forged buffer count is refused (it indexes the block buffer).
static void *sha_state(mp_obj_t obj, dc_sha256 *ctx) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, MP_BUFFER_RW);
    if (info.len != sizeof(dc_sha256)) {
        mp_raise_ValueError(MP_ERROR_TEXT("SHA-256 state"));
    }
    memcpy(ctx, info.buf, sizeof(dc_sha256));
    if (ctx->buf_len >= 64) {
        mp_raise_ValueError(MP_ERROR_TEXT("SHA-256 state"));
    }
    return info.buf;
}

static mp_obj_t dtlscrypto_sha256_init(mp_obj_t state_in) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(state_in, &info, MP_BUFFER_RW);
    if (info.len != sizeof(dc_sha256)) {
        mp_raise_ValueError(MP_ERROR_TEXT("SHA-256 state"));
    }
    dc_sha256 ctx;
    dc_sha256_init(&ctx);
    memcpy(info.buf, &ctx, sizeof(ctx));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(dtlscrypto_sha256_init_obj, dtlscrypto_sha256_init);

static mp_obj_t dtlscrypto_sha256_update(mp_obj_t state_in, mp_obj_t data_in) {
    dc_sha256 ctx;
    size_t len;
    const uint8_t *data = buffer_of(data_in, &len);
    void *dst = sha_state(state_in, &ctx);
    dc_sha256_update(&ctx, data, len);
    memcpy(dst, &ctx, sizeof(ctx));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(dtlscrypto_sha256_update_obj, dtlscrypto_sha256_update);

// Digest of what was absorbed so far; the state is left as it was.
static mp_obj_t dtlscrypto_sha256_digest(mp_obj_t state_in) {
    dc_sha256 ctx;
    uint8_t out[32];
    sha_state(state_in, &ctx);
    dc_sha256_final(&ctx, out);
    return mp_obj_new_bytes(out, 32);
}
static MP_DEFINE_CONST_FUN_OBJ_1(dtlscrypto_sha256_digest_obj, dtlscrypto_sha256_digest);

static mp_obj_t dtlscrypto_hmac_sha256(mp_obj_t key_in, mp_obj_t data_in) {
    size_t key_len, len;
    const uint8_t *key = buffer_of(key_in, &key_len);
    const uint8_t *data = buffer_of(data_in, &len);
    uint8_t out[32];
    dc_hmac_sha256(key, key_len, data, len, out);
    return mp_obj_new_bytes(out, 32);
}
static MP_DEFINE_CONST_FUN_OBJ_2(dtlscrypto_hmac_sha256_obj, dtlscrypto_hmac_sha256);

// --- P-256 and ECDSA -------------------------------------------------------------------------

#define PRIV_MSG MP_ERROR_TEXT("P-256 private key")
#define POINT_MSG MP_ERROR_TEXT("P-256 point")
#define DIGEST_MSG MP_ERROR_TEXT("digest size")

// p256_public_key(priv32) -> 65-byte uncompressed point
static mp_obj_t dtlscrypto_p256_public_key(mp_obj_t priv_in) {
    const uint8_t *priv = buffer_exact(priv_in, 32, PRIV_MSG);
    uint8_t pub[65];
    if (dc_p256_public_key(priv, pub) != DC_OK) {
        mp_raise_ValueError(PRIV_MSG);
    }
    return mp_obj_new_bytes(pub, 65);
}
static MP_DEFINE_CONST_FUN_OBJ_1(dtlscrypto_p256_public_key_obj, dtlscrypto_p256_public_key);

// p256_ecdh(priv32, peer65) -> 32-byte x-coordinate; ValueError for a bad key or point
static mp_obj_t dtlscrypto_p256_ecdh(mp_obj_t priv_in, mp_obj_t peer_in) {
    const uint8_t *priv = buffer_exact(priv_in, 32, PRIV_MSG);
    const uint8_t *peer = buffer_exact(peer_in, 65, POINT_MSG);
    uint8_t out[32];
    if (dc_p256_ecdh(priv, peer, out) != DC_OK) {
        mp_raise_ValueError(MP_ERROR_TEXT("P-256 key or point"));
    }
    mp_obj_t res = mp_obj_new_bytes(out, 32);
    dc_wipe(out, sizeof(out));
    return res;
}
static MP_DEFINE_CONST_FUN_OBJ_2(dtlscrypto_p256_ecdh_obj, dtlscrypto_p256_ecdh);

// ecdsa_sign(priv32, digest32) -> r || s (64 bytes), RFC 6979 nonce
static mp_obj_t dtlscrypto_ecdsa_sign(mp_obj_t priv_in, mp_obj_t digest_in) {
    const uint8_t *priv = buffer_exact(priv_in, 32, PRIV_MSG);
    const uint8_t *digest = buffer_exact(digest_in, 32,
        DIGEST_MSG);
    uint8_t sig[64];
    if (dc_ecdsa_sign(priv, digest, sig) != DC_OK) {
        mp_raise_ValueError(PRIV_MSG);
    }
    return mp_obj_new_bytes(sig, 64);
}
static MP_DEFINE_CONST_FUN_OBJ_2(dtlscrypto_ecdsa_sign_obj, dtlscrypto_ecdsa_sign);

// ecdsa_verify(pub65, digest32, r || s) -> bool; an invalid key is False
static mp_obj_t dtlscrypto_ecdsa_verify(mp_obj_t pub_in, mp_obj_t digest_in, mp_obj_t sig_in) {
    size_t pub_len;
    const uint8_t *pub = buffer_of(pub_in, &pub_len);
    const uint8_t *digest = buffer_exact(digest_in, 32,
        DIGEST_MSG);
    const uint8_t *sig = buffer_exact(sig_in, 64, MP_ERROR_TEXT("signature size"));
    if (pub_len != 65) {
        return mp_const_false;
    }
    return mp_obj_new_bool(dc_ecdsa_verify(pub, digest, sig) == DC_OK);
}
static MP_DEFINE_CONST_FUN_OBJ_3(dtlscrypto_ecdsa_verify_obj, dtlscrypto_ecdsa_verify);

// --- module ----------------------------------------------------------------------------------

#ifdef MICROPY_ENABLE_DYNRUNTIME

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_BACKEND, mp_obj_new_str(BACKEND_NAME, sizeof(BACKEND_NAME) - 1));
    mp_store_global(MP_QSTR_SHA256_STATE_SIZE, MP_OBJ_NEW_SMALL_INT(sizeof(dc_sha256)));
    mp_store_global(MP_QSTR_aes_key, MP_OBJ_FROM_PTR(&dtlscrypto_aes_key_obj));
    mp_store_global(MP_QSTR_ccm, MP_OBJ_FROM_PTR(&dtlscrypto_ccm_obj));
    mp_store_global(MP_QSTR_sha256_init, MP_OBJ_FROM_PTR(&dtlscrypto_sha256_init_obj));
    mp_store_global(MP_QSTR_sha256_update, MP_OBJ_FROM_PTR(&dtlscrypto_sha256_update_obj));
    mp_store_global(MP_QSTR_sha256_digest, MP_OBJ_FROM_PTR(&dtlscrypto_sha256_digest_obj));
    mp_store_global(MP_QSTR_hmac_sha256, MP_OBJ_FROM_PTR(&dtlscrypto_hmac_sha256_obj));
    mp_store_global(MP_QSTR_p256_public_key, MP_OBJ_FROM_PTR(&dtlscrypto_p256_public_key_obj));
    mp_store_global(MP_QSTR_p256_ecdh, MP_OBJ_FROM_PTR(&dtlscrypto_p256_ecdh_obj));
    mp_store_global(MP_QSTR_ecdsa_sign, MP_OBJ_FROM_PTR(&dtlscrypto_ecdsa_sign_obj));
    mp_store_global(MP_QSTR_ecdsa_verify, MP_OBJ_FROM_PTR(&dtlscrypto_ecdsa_verify_obj));
    MP_DYNRUNTIME_INIT_EXIT
}

#else

static const mp_rom_map_elem_t dtlscrypto_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__dtlscrypto) },
    #if DTLSCRYPTO_MBEDTLS
    { MP_ROM_QSTR(MP_QSTR_BACKEND), MP_ROM_QSTR(MP_QSTR_mbedtls) },
    #else
    { MP_ROM_QSTR(MP_QSTR_BACKEND), MP_ROM_QSTR(MP_QSTR_portable) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_SHA256_STATE_SIZE), MP_ROM_INT(sizeof(dc_sha256)) },
    { MP_ROM_QSTR(MP_QSTR_aes_key), MP_ROM_PTR(&dtlscrypto_aes_key_obj) },
    { MP_ROM_QSTR(MP_QSTR_ccm), MP_ROM_PTR(&dtlscrypto_ccm_obj) },
    { MP_ROM_QSTR(MP_QSTR_sha256_init), MP_ROM_PTR(&dtlscrypto_sha256_init_obj) },
    { MP_ROM_QSTR(MP_QSTR_sha256_update), MP_ROM_PTR(&dtlscrypto_sha256_update_obj) },
    { MP_ROM_QSTR(MP_QSTR_sha256_digest), MP_ROM_PTR(&dtlscrypto_sha256_digest_obj) },
    { MP_ROM_QSTR(MP_QSTR_hmac_sha256), MP_ROM_PTR(&dtlscrypto_hmac_sha256_obj) },
    { MP_ROM_QSTR(MP_QSTR_p256_public_key), MP_ROM_PTR(&dtlscrypto_p256_public_key_obj) },
    { MP_ROM_QSTR(MP_QSTR_p256_ecdh), MP_ROM_PTR(&dtlscrypto_p256_ecdh_obj) },
    { MP_ROM_QSTR(MP_QSTR_ecdsa_sign), MP_ROM_PTR(&dtlscrypto_ecdsa_sign_obj) },
    { MP_ROM_QSTR(MP_QSTR_ecdsa_verify), MP_ROM_PTR(&dtlscrypto_ecdsa_verify_obj) },
};
static MP_DEFINE_CONST_DICT(dtlscrypto_globals, dtlscrypto_globals_table);

const mp_obj_module_t dtlscrypto_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&dtlscrypto_globals,
};

MP_REGISTER_MODULE(MP_QSTR__dtlscrypto, dtlscrypto_user_cmodule);

#endif
