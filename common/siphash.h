/*
 * SipHash-2-4, the keyed 64-bit hash of Aumasson and Bernstein. It is designed so that
 * without the secret key, two inputs with the same hash can only be found by
 * guessing. An unkeyed hash such as FNV offers no such bound against someone who
 * chooses the inputs.
 */
#ifndef IACTN_SIPHASH_H
#define IACTN_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_BYTES 16

/* Returns the SipHash-2-4 of len bytes of data under key. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_BYTES], const void *data, size_t len);

#endif
