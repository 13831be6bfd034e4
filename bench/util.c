#define _GNU_SOURCE /* memmem */
#include "util.h"

#include <mqtt_protocol.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_identity_parse(char *text, struct bench_identity *id)
{
    char *fields[4] = {NULL, NULL, NULL, NULL};
    char *save = NULL;
    int n = 0;

    for (char *f = strtok_r(text, ",", &save); f && n < 4;
         f = strtok_r(NULL, ",", &save)) {
        fields[n++] = f;
    }
    if (n < 3) {
        return -1;
    }
    id->cert = fields[0];
    id->key = fields[1];
    id->client_id = fields[2];
    id->extra = fields[3];
    return 0;
}

struct mosquitto *bench_client_new(const struct bench_broker *broker,
                                   const struct bench_identity *id, void *userdata)
{
    struct mosquitto *mosq = mosquitto_new(id->client_id, true, userdata);
    int rc;

    if (mosq == NULL) {
        fprintf(stderr, "client_id=%s: mosquitto_new failed\n", id->client_id);
        return NULL;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    rc = mosquitto_tls_set(mosq, broker->ca, NULL, id->cert, id->key, NULL);
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_tls_opts_set(mosq, 1, "tlsv1.2", NULL);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "client_id=%s: TLS setup failed: %s\n", id->client_id,
                mosquitto_strerror(rc));
        mosquitto_destroy(mosq);
        return NULL;
    }
    return mosq;
}

void bench_id_write(char *out, uint64_t when_ns, uint64_t sequence)
{
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(when_ns >> 32),
             (unsigned)((when_ns >> 16) & 0xffff), (unsigned)(when_ns & 0xffff),
             (unsigned)((sequence >> 48) & 0xffff),
             (unsigned long long)(sequence & 0xffffffffffffULL));
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

uint64_t bench_id_time(const void *payload, size_t len)
{
    static const char key[] = "\"id\":\"";
    const char *start = memmem(payload, len, key, sizeof(key) - 1);
    const char *end = (const char *)payload + len;
    uint64_t when = 0;
    int digits = 0;

    if (start == NULL) {
        return 0;
    }
    /* the first 16 hex digits, across the two dashes after digits 8 and 12 */
    for (const char *p = start + sizeof(key) - 1; p < end && digits < 16; p++) {
        int v = hex_value(*p);

        if (*p == '-') {
            continue;
        }
        if (v < 0) {
            return 0;
        }
        when = when << 4 | (uint64_t)v;
        digits++;
    }
    return digits == 16 ? when : 0;
}

int bench_fail(const char *program, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}
