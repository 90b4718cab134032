// AES block encryption (FIPS-197), bitsliced and constant-time.
#ifndef DC_AES_H
#define DC_AES_H

#include "dc_common.h"

#if DTLSCRYPTO_MBEDTLS
// mbedtls_backend.c: mbedtls contexts hold heap pointers, so the "schedule"
// that travels through Python is the raw key; each call sets up a context.
typedef struct {
    uint8_t key[32];
    uint32_t key_len;
    uint32_t rounds;  // 10, 12 or 14, as below
} dc_aes_key;
#else
// Expanded key: round keys in the bitsliced layout of aes.c, both lanes filled.
typedef struct {
    uint32_t rk[15][8];
    uint32_t rounds;  // 10, 12 or 14
} dc_aes_key;
#endif

// key_len 16, 24 or 32; returns DC_OK or DC_ERR_INPUT.
int dc_aes_setkey(dc_aes_key *ks, const uint8_t *key, size_t key_len);

// Encrypt two independent blocks at once (the cost of one): a and b.
void dc_aes_encrypt2(const dc_aes_key *ks, const uint8_t in_a[16], const uint8_t in_b[16],
    uint8_t out_a[16], uint8_t out_b[16]);

#endif
