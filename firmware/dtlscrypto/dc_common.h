// Shared definitions of the microdtls crypto core (portable C99).
//
// The core never allocates, never calls an RNG and never reads or writes a
// mutable global: it is linked into MicroPython both as a dynamic native
// module (natmod, where writable globals are refused by the linker) and as
// a user C module. Callers pass every buffer in; results go to caller buffers.
#ifndef DC_COMMON_H
#define DC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Status codes of the core functions.
#define DC_OK 0
#define DC_ERR_INPUT (-1)  // bad length, value out of range, point not on the curve
#define DC_ERR_AUTH (-2)   // AES-CCM tag mismatch / signature does not verify

// Wipe secrets (sha256.c). Through a volatile pointer, so the stores are not removed as
// dead when the buffer is a local about to go out of scope; one out-of-line copy for size.
void dc_wipe(void *p, size_t n);

static inline uint32_t dc_load32_be(const uint8_t *b) {
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static inline void dc_store32_be(uint8_t *b, uint32_t v) {
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

// All-ones if x != 0, else 0, without a branch.
static inline uint32_t dc_mask_nonzero(uint32_t x) {
    return (uint32_t)0 - ((x | ((uint32_t)0 - x)) >> 31);
}

#endif
