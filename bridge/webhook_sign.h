/*
 * The signature of a webhook request, which lets the receiving agency check that the
 * request comes from IACTN and was not changed or replayed: the value of the
 * X-IACTN-Signature header is "sha256=" followed by the lower-case hex HMAC-SHA256,
 * keyed with the endpoint's secret, of the X-IACTN-Timestamp value, a ".", and the
 * request body.
 */
#ifndef IACTN_WEBHOOK_SIGN_H
#define IACTN_WEBHOOK_SIGN_H

#include <stddef.h>

/* Bytes of a signature header value, NUL included: "sha256=" and 64 hex digits. */
#define WEBHOOK_SIGNATURE_SIZE 72

/*
 * Writes the signature of `body` (`len` bytes) sent at `timestamp` (decimal Unix
 * seconds, as sent in X-IACTN-Timestamp) into `out`. Returns 0, or -1 if OpenSSL
 * fails (out of memory, no HMAC or SHA-256 in the provider). Does not block.
 */
int webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len,
                 char out[WEBHOOK_SIGNATURE_SIZE]);

#endif
