#include "webhook_request.h"

#include "webhook_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Connecting may take at most this long, or the whole timeout if that is shorter. */
#define CONNECT_TIMEOUT_MS 10000L

/* The response body is not used; only the status code counts. */
static size_t discard_body(char *data, size_t size, size_t count, void *arg)
{
    (void)data;
    (void)arg;
    return size * count;
}

static long long monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Adds the request headers. Returns 0, or -1 when signing fails or memory runs out;
 * webhook_request_free() frees what was added either way. */
static int add_headers(struct webhook_request *request, const struct endpoint *endpoint)
{
    char timestamp[24];
    char signature[WEBHOOK_SIGNATURE_SIZE];
    char lines[5][160];
    struct curl_slist *next;

    snprintf(timestamp, sizeof(timestamp), "%lld", (long long)time(NULL));
    if (webhook_sign(endpoint->secret, timestamp, request->body, request->body_len,
                     signature) != 0) {
        return -1;
    }
    snprintf(lines[0], sizeof(lines[0]), "Content-Type: application/json");
    /* An empty Expect header keeps libcurl from waiting for "100 Continue". */
    snprintf(lines[1], sizeof(lines[1]), "Expect:");
    snprintf(lines[2], sizeof(lines[2]), "X-IACTN-Delivery: %lld", request->delivery_id);
    snprintf(lines[3], sizeof(lines[3]), "X-IACTN-Timestamp: %s", timestamp);
    snprintf(lines[4], sizeof(lines[4]), "X-IACTN-Signature: %s", signature);
    for (int i = 0; i < 5; i++) {
        next = curl_slist_append(request->headers, lines[i]);
        if (next == NULL) {
            return -1;
        }
        request->headers = next;
    }
    return 0;
}

/* Sets the transfer options. Returns 0, or -1 if libcurl refuses one. */
static int set_options(struct webhook_request *request,
                       const struct webhook_request_options *options, const char *url)
{
    CURL *easy = request->easy;
    long connect_ms = options->timeout_ms < CONNECT_TIMEOUT_MS ? options->timeout_ms
                                                               : CONNECT_TIMEOUT_MS;
    int failed = 0;

    failed |= curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    if (options->ca_file != NULL) {
        failed |= curl_easy_setopt(easy, CURLOPT_CAINFO, options->ca_file) != CURLE_OK;
    }
    /* An empty proxy string turns off the proxies named in the environment. */
    failed |= curl_easy_setopt(easy, CURLOPT_PROXY,
                               options->proxy != NULL ? options->proxy : "") != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, options->timeout_ms) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_USERAGENT, "iactn-bridge") != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->headers) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t)request->body_len) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_body) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->error) != CURLE_OK;
    failed |= curl_easy_setopt(easy, CURLOPT_PRIVATE, request) != CURLE_OK;
    return failed ? -1 : 0;
}

struct webhook_request *webhook_request_new(const struct webhook_request_options *options,
                                            const struct endpoint *endpoint,
                                            long long delivery_id, int attempt,
                                            const char *body, size_t body_len, char *err,
                                            size_t err_size)
{
    struct webhook_request *request = calloc(1, sizeof(*request));

    if (request == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    request->delivery_id = delivery_id;
    request->endpoint_id = endpoint->id;
    request->attempt = attempt;
    request->body_len = body_len;
    request->body = malloc(body_len + 1);
    request->easy = curl_easy_init();
    if (request->body == NULL || request->easy == NULL) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    memcpy(request->body, body, body_len);
    request->body[body_len] = '\0';
    if (add_headers(request, endpoint) != 0) {
        snprintf(err, err_size, "cannot sign the request (OpenSSL HMAC-SHA256 failed)");
        goto fail;
    }
    if (set_options(request, options, endpoint->url) != 0) {
        snprintf(err, err_size, "libcurl rejected a transfer option");
        goto fail;
    }
    request->started_ms = monotonic_ms();
    return request;

fail:
    webhook_request_free(request);
    return NULL;
}

void webhook_request_result(const struct webhook_request *request, CURLcode code,
                            struct webhook_result *result)
{
    memset(result, 0, sizeof(*result));
    if (code != CURLE_OK) {
        snprintf(result->error, sizeof(result->error), "%s: %s", curl_easy_strerror(code),
                 request->error[0] != '\0' ? request->error : "no detail");
        return;
    }
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &result->http_status);
    if (result->http_status >= 200 && result->http_status <= 299) {
        result->delivered = 1;
        return;
    }
    snprintf(result->error, sizeof(result->error),
             "HTTP status %ld; only 2xx counts as delivered", result->http_status);
}

void webhook_request_free(struct webhook_request *request)
{
    if (request == NULL) {
        return;
    }
    curl_easy_cleanup(request->easy);
    curl_slist_free_all(request->headers);
    free(request->body);
    free(request);
}
