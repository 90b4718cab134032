// ECDSA over P-256 with a 32-byte (SHA-256) digest (FIPS 186-4 6.4).
#ifndef DC_ECDSA_H
#define DC_ECDSA_H

#include "dc_common.h"

// Deterministic nonce (RFC 6979 3.2, HMAC-SHA-256). sig = r || s, 32 bytes
// each, big-endian. DC_ERR_INPUT for a private key outside [1, n-1].
int dc_ecdsa_sign(const uint8_t priv[32], const uint8_t digest[32], uint8_t sig[64]);

// DC_OK if (r, s) = sig verifies; DC_ERR_AUTH if not (r or s out of range
// included); DC_ERR_INPUT if pub is not a valid uncompressed point.
int dc_ecdsa_verify(const uint8_t pub[65], const uint8_t digest[32], const uint8_t sig[64]);

#endif
