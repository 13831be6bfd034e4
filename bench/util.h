/*
 * Helpers shared by the benchmark load generators: clocks, MQTT 5 clients over mTLS,
 * and the alert id that carries its publish time.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One client identity given on the command line as CERT,KEY,CLIENT_ID[,EXTRA]. */
struct bench_identity {
    char *cert;
    char *key;
    char *client_id;
    char *extra; /* NULL when the fourth field is absent */
};

/* Where the broker listens and which CA signed its certificate. */
struct bench_broker {
    const char *host;
    int port;
    const char *ca;
};

/* Returns CLOCK_MONOTONIC in nanoseconds. The clock is shared by every process on
 * the machine, so a time taken by a publisher can be compared with a subscriber's. */
uint64_t bench_now_ns(void);

/* Splits "CERT,KEY,CLIENT_ID[,EXTRA]" in place into id. Returns 0, or -1 when a
 * field is missing. id points into text, which must outlive it. */
int bench_identity_parse(char *text, struct bench_identity *id);

/* Creates an MQTT 5 client with TLS 1.2, the identity's certificate and TCP_NODELAY,
 * and with clean start. Returns NULL (after printing why to stderr) on failure; free
 * with mosquitto_destroy. Does not connect. */
struct mosquitto *bench_client_new(const struct bench_broker *broker,
                                   const struct bench_identity *id, void *userdata);

/* Writes an alert id whose first 16 hex digits are when_ns and whose last 16 are
 * sequence, as a UUID (36 characters and a NUL into out). */
void bench_id_write(char *out, uint64_t when_ns, uint64_t sequence);

/* Finds the first "id":"..." member of a JSON payload and returns the publish time it
 * carries, or 0 when there is none. */
uint64_t bench_id_time(const void *payload, size_t len);

/* Prints an error line "PROGRAM: message" to stderr and returns 1, for main. */
int bench_fail(const char *program, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
