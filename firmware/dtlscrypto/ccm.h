// AES-CCM (RFC 3610, NIST SP 800-38C) on top of aes.c.
#ifndef DC_CCM_H
#define DC_CCM_H

#include "aes.h"

// nonce_len 7..13, tag_len 4, 6, ..., 16. Plaintext length must fit in
// L = 15 - nonce_len bytes. out receives pt_len + tag_len bytes and must
// not overlap pt. Returns DC_OK or DC_ERR_INPUT.
int dc_ccm_seal(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out);

// data = ciphertext || tag (data_len >= tag_len); out receives data_len - tag_len
// bytes (out may equal data). Returns DC_OK, DC_ERR_AUTH (out is zeroed) or
// DC_ERR_INPUT.
int dc_ccm_open(const dc_aes_key *ks, size_t tag_len, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *data, size_t data_len, uint8_t *out);

#endif
