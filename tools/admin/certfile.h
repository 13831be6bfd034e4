/*
 * Reading a client certificate from a PEM file with OpenSSL, and the facts about it
 * that the certificates table stores.
 */
#ifndef IACTN_ADMIN_CERTFILE_H
#define IACTN_ADMIN_CERTFILE_H

#include <stdbool.h>

#include "validate.h"

#define CERTFILE_TIME_LEN 20 /* "2026-12-04T15:40:00Z" */

struct certfile_info {
    /* SHA-256 of the DER encoding, lower-case hex. */
    char fingerprint[FINGERPRINT_HEX_LEN + 1];
    /* Names as RFC 2253 strings, as `openssl x509 -nameopt RFC2253` prints them. */
    char *subject;
    char *issuer;
    /* Serial number in hex, as `openssl x509 -serial` prints it. */
    char *serial;
    char not_before[CERTFILE_TIME_LEN + 1]; /* UTC, ISO 8601 */
    char not_after[CERTFILE_TIME_LEN + 1];
    bool expired;       /* notAfter is in the past */
    bool not_yet_valid; /* notBefore is in the future */
    char *common_name;  /* first CN of the subject, UTF-8, or NULL */
    char *country;      /* first C of the subject, or NULL */
};

/* Reads the only certificate of the PEM file at path into info. Other PEM blocks,
 * such as a private key, are skipped. Returns 0, or -1 after printing why: the file
 * cannot be read, contains no certificate or more than one, or its validity period is
 * empty. On success the caller frees info with certfile_free(). */
int certfile_read(const char *path, struct certfile_info *info);

/* Frees the strings of info. Safe on a zeroed or already freed info. */
void certfile_free(struct certfile_info *info);

#endif
