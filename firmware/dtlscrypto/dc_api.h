// Everything the binding calls. The portable core implements all of it; with
// DTLSCRYPTO_MBEDTLS=1, mbedtls_backend.c implements AES-CCM, P-256 and ECDSA
// instead (SHA-256, HMAC and the PRF stay portable: the binding needs a
// copyable plain-struct hash state).
#ifndef DC_API_H
#define DC_API_H

#include "ccm.h"
#include "ecdsa.h"
#include "hmac.h"

int dc_p256_public_key(const uint8_t priv[32], uint8_t pub[65]);
int dc_p256_ecdh(const uint8_t priv[32], const uint8_t peer[65], uint8_t out[32]);
// DC_OK if pub is a valid uncompressed point of P-256.
int dc_p256_check(const uint8_t pub[65]);

#endif
