/*
 * The subject of a client certificate. IACTN certificates carry
 * /C={STATE}/O={agency}/OU={role}/CN={principal}, and those of network principals no
 * C, so the programs that connect take their principal id from CN and their state from
 * C.
 */
#ifndef IACTN_CERT_SUBJECT_H
#define IACTN_CERT_SUBJECT_H

#include <openssl/x509.h>
#include <stddef.h>

struct cert_subject {
    char common_name[128]; /* the principal id */
    char country[3]; /* "" for a network principal, or a C that is not a state code */
};

/*
 * Reads the subject of the first certificate in the PEM file at `path` into `out`.
 * Returns 0, or -1 with a sentence in `err` when the file cannot be read, contains no
 * certificate, or the subject has no CN that fits `out->common_name`. A missing C, or
 * one that is not two upper-case letters, leaves `country` empty. Blocks on file I/O.
 */
int cert_subject_read(const char *path, struct cert_subject *out, char *err,
                      size_t err_size);

/*
 * Copies the first entry `nid` (NID_commonName, NID_countryName, ...) of `name` as
 * UTF-8 into `out`. Returns its length in bytes, or -1 with `out` empty when the entry
 * is missing, contains a NUL character or does not fit in `out_size` bytes.
 */
int cert_name_entry(const X509_NAME *name, int nid, char *out, size_t out_size);

#endif
