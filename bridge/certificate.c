#include "certificate.h"

#include <errno.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

int certificate_common_name(const char *path, char *out, size_t out_size, char *err,
                            size_t err_size)
{
    X509 *cert = NULL;
    FILE *file;
    int len;
    int rc = -1;

    file = fopen(path, "r");
    if (file == NULL) {
        snprintf(err, err_size, "cannot open certificate %s: %s", path, strerror(errno));
        return -1;
    }
    cert = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    if (cert == NULL) {
        snprintf(err, err_size, "%s contains no PEM certificate", path);
        goto out;
    }

    len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out,
                                    (int)out_size);
    if (len <= 0 || (size_t)len >= out_size - 1 || strlen(out) != (size_t)len) {
        snprintf(err, err_size, "the subject of %s has no usable common name (CN)", path);
        goto out;
    }
    rc = 0;

out:
    X509_free(cert);
    return rc;
}
