/*
 * One webhook request: an HTTPS POST of the stamped alert to an endpoint, run by a
 * libcurl multi handle. Only HTTPS is allowed, the server certificate is always
 * verified, redirects are not followed, and only a 2xx status counts as delivered.
 *
 * Headers: Content-Type: application/json, X-IACTN-Delivery (the deliveries row id),
 * X-IACTN-Timestamp (Unix seconds when the request was built) and X-IACTN-Signature
 * (see webhook_sign.h).
 */
#ifndef IACTN_WEBHOOK_REQUEST_H
#define IACTN_WEBHOOK_REQUEST_H

#include "endpoints.h"

#include <curl/curl.h>

/* Settings shared by every request of a worker. */
struct webhook_request_options {
    const char
        *ca_file;      /* CA bundle for endpoint certificates; NULL: libcurl's default */
    const char *proxy; /* proxy URL; NULL: none, even with https_proxy set */
    long timeout_ms;   /* whole request, connection included */
};

struct webhook_request {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    long long delivery_id;
    long long endpoint_id;
    int attempt;          /* the deliveries row's attempts after this claim */
    long long started_ms; /* monotonic clock */
    char error[CURL_ERROR_SIZE];
    struct webhook_request *next;
};

/* The outcome of a finished request. */
struct webhook_result {
    int delivered;    /* nonzero for a 2xx response */
    long http_status; /* 0 when no response arrived */
    char error[300];  /* why it failed, empty when delivered */
};

/*
 * Builds the request for delivery `delivery_id` of `body` (copied) to `endpoint`, whose
 * URL and secret must be loaded. The easy handle's private pointer is the request.
 * Returns NULL with the reason in `err` (out of memory, signing failed). Free with
 * webhook_request_free() after removing it from any multi handle. Does not block.
 */
struct webhook_request *webhook_request_new(const struct webhook_request_options *options,
                                            const struct endpoint *endpoint,
                                            long long delivery_id, int attempt,
                                            const char *body, size_t body_len, char *err,
                                            size_t err_size);

/*
 * Reads the outcome of a finished transfer whose libcurl result is `code`.
 */
void webhook_request_result(const struct webhook_request *request, CURLcode code,
                            struct webhook_result *result);

/*
 * Frees the request and its easy handle. Accepts NULL.
 */
void webhook_request_free(struct webhook_request *request);

#endif
