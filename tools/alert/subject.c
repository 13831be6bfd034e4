#include "subject.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* Copies the subject entry `nid` into `out`. Returns its length, or -1 if it is
 * missing, does not fit or contains a NUL byte. */
static int read_field(X509_NAME *name, int nid, char *out, size_t out_size)
{
    int len = X509_NAME_get_text_by_NID(name, nid, out, (int)out_size);

    if (len <= 0 || (size_t)len >= out_size || strlen(out) != (size_t)len) {
        out[0] = '\0';
        return -1;
    }
    return len;
}

int subject_read(const char *path, struct subject *out, char *err, size_t err_size)
{
    X509_NAME *name;
    X509 *cert;
    FILE *file;

    memset(out, 0, sizeof(*out));
    file = fopen(path, "r");
    if (file == NULL) {
        snprintf(err, err_size, "cannot open certificate %s: %s", path, strerror(errno));
        return -1;
    }
    cert = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    if (cert == NULL) {
        snprintf(err, err_size, "%s contains no PEM certificate", path);
        return -1;
    }

    name = X509_get_subject_name(cert);
    if (read_field(name, NID_commonName, out->common_name, sizeof(out->common_name)) <
        0) {
        snprintf(err, err_size, "the subject of %s has no usable common name (CN)", path);
        X509_free(cert);
        return -1;
    }
    if (read_field(name, NID_countryName, out->country, sizeof(out->country)) != 2 ||
        !isupper((unsigned char)out->country[0]) ||
        !isupper((unsigned char)out->country[1])) {
        out->country[0] = '\0';
    }
    X509_free(cert);
    return 0;
}
