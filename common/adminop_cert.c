/*
 * Reading a client certificate sent as PEM text in a cert-register request: the facts
 * the certificates table stores, in the formats iactn-admin uses, and an optional
 * check that the network CA issued it.
 */
#include "adminop_cert.h"

#include "cert_subject.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Returns the contents of a memory BIO as a new NUL-terminated string, or NULL. */
static char *bio_text(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *text = malloc((size_t)len + 1);

    if (text != NULL) {
        memcpy(text, data, (size_t)len);
        text[len] = '\0';
    }
    return text;
}

/* Returns the name as an RFC 2253 string, as `openssl x509 -nameopt RFC2253` prints
 * it, or NULL. */
static char *name_text(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;

    if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        text = bio_text(bio);
    }
    BIO_free(bio);
    return text;
}

/* Returns the serial number in upper-case hex, as `openssl x509 -serial` prints it. */
static char *serial_text(const ASN1_INTEGER *serial)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;

    if (bio != NULL && i2a_ASN1_INTEGER(bio, serial) > 0) {
        text = bio_text(bio);
    }
    BIO_free(bio);
    return text;
}

static int time_text(const ASN1_TIME *t, char out[ADMINOP_CERT_TIME_LEN + 1])
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, ADMINOP_CERT_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return -1;
    }
    return 0;
}

/* Reads exactly one certificate from the PEM text. */
static X509 *read_single(const char *pem, char *err, size_t err_size)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = NULL;
    X509 *second = NULL;

    if (bio == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL) {
        snprintf(err, err_size, "\"pem\" contains no PEM certificate");
        goto out;
    }
    second = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (second != NULL) {
        snprintf(err, err_size,
                 "\"pem\" contains more than one certificate; send only the client "
                 "certificate");
        X509_free(cert);
        cert = NULL;
    }
out:
    X509_free(second);
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

static int fill_facts(X509 *cert, struct adminop_cert *out)
{
    const X509_NAME *subject = X509_get_subject_name(cert);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || md_len != 32) {
        return -1;
    }
    for (unsigned int i = 0; i < md_len; i++) {
        snprintf(out->fingerprint + 2 * i, 3, "%02x", md[i]);
    }
    out->subject = name_text(subject);
    out->issuer = name_text(X509_get_issuer_name(cert));
    out->serial = serial_text(X509_get0_serialNumber(cert));
    cert_name_entry(subject, NID_commonName, out->common_name, sizeof(out->common_name));
    cert_name_entry(subject, NID_countryName, out->country, sizeof(out->country));
    if (out->subject == NULL || out->issuer == NULL || out->serial == NULL ||
        time_text(X509_get0_notBefore(cert), out->not_before) != 0 ||
        time_text(X509_get0_notAfter(cert), out->not_after) != 0) {
        return -1;
    }
    out->expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
    out->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
    return 0;
}

/* Checks that the CA in ca_file issued the certificate for client authentication and
 * that it is valid now. */
static int verify_issuer(X509 *cert, const char *ca_file, char *err, size_t err_size)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;

    if (store == NULL || ctx == NULL) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    if (X509_STORE_load_file(store, ca_file) != 1) {
        snprintf(err, err_size, "the bridge cannot read its CA file %s", ca_file);
        goto out;
    }
    if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1 ||
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        snprintf(err, err_size,
                 "the certificate cannot be used on this network: %s; issue it with the "
                 "network CA",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

int adminop_cert_read(const char *pem, const char *ca_file, struct adminop_cert *out,
                      char *err, size_t err_size)
{
    X509 *cert;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (strstr(pem, "PRIVATE KEY") != NULL) {
        snprintf(err, err_size,
                 "\"pem\" contains a private key; send only the certificate, and replace "
                 "the key if it has left its owner's machine");
        return -1;
    }
    cert = read_single(pem, err, err_size);
    if (cert == NULL) {
        return -1;
    }
    if (fill_facts(cert, out) != 0) {
        snprintf(err, err_size, "the certificate in \"pem\" cannot be decoded");
    } else if (ASN1_TIME_compare(X509_get0_notBefore(cert), X509_get0_notAfter(cert)) >=
               0) {
        snprintf(err, err_size,
                 "the certificate's notBefore %s is not before notAfter %s",
                 out->not_before, out->not_after);
    } else if (ca_file == NULL || verify_issuer(cert, ca_file, err, err_size) == 0) {
        rc = 0;
    }
    if (rc != 0) {
        adminop_cert_free(out);
    }
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

void adminop_cert_free(struct adminop_cert *cert)
{
    free(cert->subject);
    free(cert->issuer);
    free(cert->serial);
    cert->subject = cert->issuer = cert->serial = NULL;
}
