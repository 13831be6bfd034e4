#include "cert_subject.h"

#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

int cert_name_entry(const X509_NAME *name, int nid, char *out, size_t out_size)
{
    int index = X509_NAME_get_index_by_NID(name, nid, -1);
    unsigned char *utf8 = NULL;
    int len = -1;

    out[0] = '\0';
    if (index >= 0) {
        len = ASN1_STRING_to_UTF8(
            &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
    }
    if (len < 0 || (size_t)len >= out_size ||
        (len > 0 && memchr(utf8, '\0', (size_t)len) != NULL)) {
        len = -1;
    } else {
        memcpy(out, utf8, (size_t)len);
        out[len] = '\0';
    }
    OPENSSL_free(utf8);
    return len;
}

int cert_subject_read(const char *path, struct cert_subject *out, char *err,
                      size_t err_size)
{
    const X509_NAME *name;
    X509 *cert;
    FILE *file;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    file = fopen(path, "r");
    if (file == NULL) {
        snprintf(err, err_size, "cannot open certificate %s: %s", path, strerror(errno));
        return -1;
    }
    cert = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    ERR_clear_error();
    if (cert == NULL) {
        snprintf(err, err_size, "%s contains no PEM certificate", path);
        return -1;
    }

    name = X509_get_subject_name(cert);
    if (cert_name_entry(name, NID_commonName, out->common_name,
                        sizeof(out->common_name)) <= 0) {
        snprintf(err, err_size, "the subject of %s has no usable common name (CN)", path);
        goto out;
    }
    if (cert_name_entry(name, NID_countryName, out->country, sizeof(out->country)) != 2 ||
        out->country[0] < 'A' || out->country[0] > 'Z' || out->country[1] < 'A' ||
        out->country[1] > 'Z') {
        out->country[0] = '\0';
    }
    rc = 0;
out:
    X509_free(cert);
    return rc;
}
