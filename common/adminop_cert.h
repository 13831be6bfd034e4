/*
 * A client certificate sent as PEM text in a cert-register request.
 */
#ifndef IACTN_ADMINOP_CERT_H
#define IACTN_ADMINOP_CERT_H

#include <stdbool.h>
#include <stddef.h>

#define ADMINOP_CERT_TIME_LEN 20 /* "2026-12-04T15:40:00Z" */

/* Facts about a certificate that the certificates table stores, in iactn-admin's
 * formats. */
struct adminop_cert {
    char fingerprint[65]; /* SHA-256 of the DER encoding, lower-case hex */
    char *subject;        /* RFC 2253 */
    char *issuer;         /* RFC 2253 */
    char *serial;         /* upper-case hex */
    char not_before[ADMINOP_CERT_TIME_LEN + 1];
    char not_after[ADMINOP_CERT_TIME_LEN + 1];
    char common_name[128]; /* "" when absent or too long */
    char country[3];       /* "" when absent */
    bool expired;          /* notAfter is in the past */
    bool not_yet_valid;    /* notBefore is in the future */
};

/*
 * Reads the only certificate of `pem`. When ca_file is not NULL the certificate must
 * chain to a CA in that PEM file, allow client authentication and be valid now.
 * Returns 0 with `out` filled (free it with adminop_cert_free()), or -1 with a
 * sentence in err: no certificate, several, a private key in the text, an empty
 * validity period, or a failed check against the CA.
 */
int adminop_cert_read(const char *pem, const char *ca_file, struct adminop_cert *out,
                      char *err, size_t err_size);

/* Frees the strings of `cert`. Safe on a zeroed or already freed one. */
void adminop_cert_free(struct adminop_cert *cert);

#endif
