// AES-CCM (RFC 3610). The CBC-MAC chain and the CTR keystream are computed
// in the two lanes of dc_aes_encrypt2, in lockstep:
//   step k, lane A: X_{k+1} = E(X_k ^ B_k), B_0 | encoded AAD | message, padded
//   step k, lane B: S_{k+2} = E(A_{k+2}), while there are message blocks left
// (S_0 and S_1 are computed together before the loop). The message blocks of
// the MAC are plaintext. When opening, plaintext block j needs S_{j+1}, ready
// after step j - 1, and the MAC reads it at step 1 + aad_blocks + j, so
// decrypting as the keystream arrives always stays ahead of the MAC.
// Seal therefore must not work in place (the ciphertext would overwrite
// plaintext the MAC has not read yet); open may (out == data).
#include "ccm.h"

typedef struct {
    const uint8_t *aad;
    size_t aad_len;
    size_t head_len;      // size of the AAD length encoding: 0, 2, 6 or 10
    uint8_t head[10];
    size_t aad_blocks;    // blocks of encoded AAD, padded
    const uint8_t *msg;   // plaintext (seal: input; open: output being filled)
    size_t msg_len;
} mac_input;

// The AAD part of the MAC input: head || aad || zero padding; block i >= 0.
static void aad_block(const mac_input *in, size_t i, uint8_t blk[16]) {
    size_t pos = 16 * i;  // offset into head || aad
    for (size_t k = 0; k < 16; k++, pos++) {  // AAD and its length are public
        uint8_t v = 0;
        if (pos < in->head_len) {
            v = in->head[pos];
        } else if (pos - in->head_len < in->aad_len) {
            v = in->aad[pos - in->head_len];
        }
        blk[k] = v;
    }
}

static void msg_block(const mac_input *in, size_t j, uint8_t blk[16]) {
    size_t off = 16 * j;
    size_t n = in->msg_len - off < 16 ? in->msg_len - off : 16;
    memcpy(blk, in->msg + off, n);
    memset(blk + n, 0, 16 - n);
}

// A_i = Flags | Nonce | i with i in the last L bytes (Flags and nonce set already).
static void counter_block(uint8_t ctr[16], size_t size_len, size_t i) {
    for (size_t k = 0; k < size_len; k++) {
        ctr[15 - k] = (uint8_t)i;
        i >>= 8;
    }
}

// dst block j = src block j XOR keystream (a short last block is partial).
static void xor_block(uint8_t *dst, const uint8_t *src, const uint8_t s[16], size_t len, size_t j) {
    size_t off = 16 * j;
    size_t n = len - off < 16 ? len - off : 16;
    for (size_t i = 0; i < n; i++) {
        dst[off + i] = src[off + i] ^ s[i];
    }
}

// Shared by seal and open: `src` XOR keystream goes to `dst` (seal: plaintext
// -> ciphertext; open: ciphertext -> plaintext); the MAC reads the plaintext
// (seal: src; open: dst). The 16-byte T XOR S_0 goes to `tag`.
static int ccm_run(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *src, uint8_t *dst, size_t msg_len,
    int opening, uint8_t tag[16]) {
    if (nonce_len < 7 || nonce_len > 13 || tag_len < 4 || tag_len > 16 || (tag_len & 1)) {
        return DC_ERR_INPUT;
    }
    size_t size_len = 15 - nonce_len;  // L
    if (size_len < sizeof(size_t) && (msg_len >> (8 * size_len)) != 0) {
        return DC_ERR_INPUT;
    }
    mac_input in;
    in.aad = aad;
    in.aad_len = aad_len;
    in.msg = opening ? dst : src;
    in.msg_len = msg_len;
    if (aad_len == 0) {
        in.head_len = 0;
    } else if (aad_len < 0xff00) {  // RFC 3610 2.2
        in.head_len = 2;
        in.head[0] = (uint8_t)(aad_len >> 8);
        in.head[1] = (uint8_t)aad_len;
    } else {
        in.head_len = 6;
        in.head[0] = 0xff;
        in.head[1] = 0xfe;
        dc_store32_be(in.head + 2, (uint32_t)aad_len);
        #if SIZE_MAX > 0xffffffffu
        if (aad_len >> 32) {
            in.head_len = 10;
            in.head[1] = 0xff;
            size_t v = aad_len;
            for (int i = 9; i >= 2; i--) {
                in.head[i] = (uint8_t)v;
                v >>= 8;
            }
        }
        #endif
    }
    in.aad_blocks = (in.head_len + aad_len + 15) / 16;
    size_t msg_blocks = (msg_len + 15) / 16;
    size_t mac_steps = 1 + in.aad_blocks + msg_blocks;

    uint8_t x[16];    // CBC-MAC chaining value X_k
    uint8_t ctr[16];  // A_k
    uint8_t blk[16], s[16], s0[16];
    // B_0 = Flags | Nonce | l(m); Flags = 64*Adata + 8*((M-2)/2) + (L-1)
    x[0] = (uint8_t)((aad_len ? 0x40 : 0) | (((tag_len - 2) / 2) << 3) | (size_len - 1));
    memcpy(x + 1, nonce, nonce_len);
    size_t v = msg_len;  // no 64-bit shifts: Cortex-M0 would need libgcc for them
    for (size_t i = 0; i < size_len; i++) {
        x[15 - i] = (uint8_t)v;
        v >>= 8;
    }
    // A_i = Flags | Nonce | i; Flags = L - 1
    memset(ctr, 0, 16);
    ctr[0] = (uint8_t)(size_len - 1);
    memcpy(ctr + 1, nonce, nonce_len);

    // S_0 and S_1 first; then lane B runs two counters ahead of the MAC
    // (step k computes S_{k+2}), so message block j is ready at step j.
    counter_block(ctr, size_len, 0);
    memcpy(blk, ctr, 16);
    counter_block(ctr, size_len, 1);
    dc_aes_encrypt2(ks, blk, ctr, s0, s);
    if (msg_blocks) {
        xor_block(dst, src, s, msg_len, 0);
    }
    for (size_t k = 0; k < mac_steps; k++) {
        if (k == 0) {
            memcpy(blk, x, 16);  // B_0, X_0 = 0
        } else {
            if (k <= in.aad_blocks) {
                aad_block(&in, k - 1, blk);
            } else {
                msg_block(&in, k - 1 - in.aad_blocks, blk);
            }
            for (int i = 0; i < 16; i++) {
                blk[i] ^= x[i];
            }
        }
        size_t c = k + 2;
        if (c <= msg_blocks) {
            counter_block(ctr, size_len, c);
            dc_aes_encrypt2(ks, blk, ctr, x, s);
            xor_block(dst, src, s, msg_len, c - 1);
        } else {
            dc_aes_encrypt2(ks, blk, blk, x, s);  // lane B idle
        }
    }
    // RFC 3610 2.4: U = first-M-bytes(T XOR S_0)
    for (int i = 0; i < 16; i++) {
        tag[i] = x[i] ^ s0[i];
    }
    dc_wipe(x, 16);
    dc_wipe(blk, 16);
    dc_wipe(s, 16);
    dc_wipe(s0, 16);
    return DC_OK;
}

int dc_ccm_seal(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out) {
    uint8_t tag[16];
    int rc = ccm_run(ks, tag_len, nonce, nonce_len, aad, aad_len, pt, out, pt_len, 0, tag);
    if (rc == DC_OK) {
        memcpy(out + pt_len, tag, tag_len);
    }
    dc_wipe(tag, 16);
    return rc;
}

int dc_ccm_open(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *data, size_t data_len, uint8_t *out) {
    if (data_len < tag_len) {
        return DC_ERR_AUTH;  // too short to be a record: not authentic
    }
    size_t ct_len = data_len - tag_len;
    uint8_t tag[16];
    uint8_t received[16];
    // Keep the received tag: out may overlap data.
    memcpy(received, data + ct_len, tag_len);
    int rc = ccm_run(ks, tag_len, nonce, nonce_len, aad, aad_len, data, out, ct_len, 1, tag);
    if (rc != DC_OK) {
        return rc;
    }
    // Compare every byte, no early exit (timing must not show where a forgery differs).
    uint32_t diff = 0;
    for (size_t i = 0; i < tag_len; i++) {
        diff |= (uint32_t)(tag[i] ^ received[i]);
    }
    dc_wipe(tag, 16);
    if (diff) {
        dc_wipe(out, ct_len);  // RFC 3610 2.5: release nothing of a forged message
        return DC_ERR_AUTH;
    }
    return DC_OK;
}
