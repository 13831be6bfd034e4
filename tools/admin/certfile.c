#include "certfile.h"

#include "admin.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Returns the contents of a memory BIO as a new NUL-terminated string, or NULL. */
static char *bio_to_string(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *s = malloc((size_t)len + 1);

    if (s) {
        memcpy(s, data, (size_t)len);
        s[len] = '\0';
    }
    return s;
}

static char *name_to_string(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;

    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        s = bio_to_string(bio);
    }
    BIO_free(bio);
    return s;
}

static char *serial_to_string(const ASN1_INTEGER *serial)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;

    if (bio && i2a_ASN1_INTEGER(bio, serial) > 0) {
        s = bio_to_string(bio);
    }
    BIO_free(bio);
    return s;
}

/* Returns the first entry of the NID in name as a new UTF-8 string, or NULL. */
static char *name_entry(const X509_NAME *name, int nid)
{
    int index = X509_NAME_get_index_by_NID(name, nid, -1);
    unsigned char *utf8 = NULL;
    char *s = NULL;
    int len;

    if (index < 0) {
        return NULL;
    }
    len = ASN1_STRING_to_UTF8(&utf8,
                              X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
    if (len >= 0) {
        s = strndup((const char *)utf8, (size_t)len);
    }
    OPENSSL_free(utf8);
    return s;
}

static int format_time(const ASN1_TIME *t, char out[CERTFILE_TIME_LEN + 1])
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, CERTFILE_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return -1;
    }
    return 0;
}

/* Reads the first certificate of the file and makes sure no second one follows.
 * Returns the certificate or NULL after printing why. */
static X509 *read_single_certificate(const char *path)
{
    FILE *file = fopen(path, "r");
    BIO *bio = NULL;
    X509 *cert = NULL;
    X509 *second = NULL;

    if (file == NULL) {
        admin_error("cannot open certificate file '%s': %s", path, strerror(errno));
        return NULL;
    }
    bio = BIO_new_fp(file, BIO_CLOSE);
    if (bio == NULL) {
        admin_error("out of memory reading '%s'", path);
        fclose(file);
        return NULL;
    }
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL) {
        admin_error("no PEM certificate found in '%s'", path);
        goto out;
    }
    second = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (second) {
        admin_error("'%s' contains more than one certificate; pass a file that contains "
                    "only the client certificate",
                    path);
        X509_free(cert);
        cert = NULL;
    }
out:
    X509_free(second);
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

static int fill_info(X509 *cert, struct certfile_info *info)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 ||
        md_len * 2 != FINGERPRINT_HEX_LEN) {
        return -1;
    }
    for (unsigned int i = 0; i < md_len; i++) {
        snprintf(info->fingerprint + 2 * i, 3, "%02x", md[i]);
    }
    info->subject = name_to_string(X509_get_subject_name(cert));
    info->issuer = name_to_string(X509_get_issuer_name(cert));
    info->serial = serial_to_string(X509_get0_serialNumber(cert));
    info->common_name = name_entry(X509_get_subject_name(cert), NID_commonName);
    info->country = name_entry(X509_get_subject_name(cert), NID_countryName);
    if (info->subject == NULL || info->issuer == NULL || info->serial == NULL ||
        format_time(X509_get0_notBefore(cert), info->not_before) != 0 ||
        format_time(X509_get0_notAfter(cert), info->not_after) != 0) {
        return -1;
    }
    info->expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
    info->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
    return 0;
}

int certfile_read(const char *path, struct certfile_info *info)
{
    X509 *cert = read_single_certificate(path);
    int rc = -1;

    memset(info, 0, sizeof(*info));
    if (cert == NULL) {
        return -1;
    }
    if (fill_info(cert, info) != 0) {
        admin_error("cannot decode the certificate in '%s'", path);
        goto out;
    }
    if (ASN1_TIME_compare(X509_get0_notBefore(cert), X509_get0_notAfter(cert)) >= 0) {
        admin_error("certificate in '%s' has notBefore %s not earlier than notAfter %s",
                    path, info->not_before, info->not_after);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        certfile_free(info);
    }
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

void certfile_free(struct certfile_info *info)
{
    free(info->subject);
    free(info->issuer);
    free(info->serial);
    free(info->common_name);
    free(info->country);
    info->subject = info->issuer = info->serial = NULL;
    info->common_name = info->country = NULL;
}
