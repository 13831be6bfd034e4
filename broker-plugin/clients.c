/*
 * Live connections and their certificates, so that a revocation, a suspension or an
 * expiry disconnects clients that are already connected.
 */
#include "plugin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024

struct tracked_client {
    struct tracked_client *next;
    const struct mosquitto *client; /* identifies the connection; ids can be reused */
    char fingerprint[POLICY_FINGERPRINT_LEN + 1];
    char client_id[];
};

static struct tracked_client *buckets[BUCKETS];

/* Clients that have disconnected and not authenticated again. mosquitto 2.0.11 runs
 * the disconnect event before it checks and publishes a client's will, and never runs
 * the message event for a will, so a write check for a client in this set is a will
 * check. The pointers are only compared, never followed. */
static const struct mosquitto **gone;
static size_t n_gone, cap_gone;

static size_t gone_index(const struct mosquitto *client)
{
    size_t i;

    for (i = 0; i < n_gone && gone[i] != client; i++) {
    }
    return i;
}

void clients_forget_gone(const struct mosquitto *client)
{
    size_t i = gone_index(client);

    if (i < n_gone) {
        gone[i] = gone[--n_gone];
    }
}

bool clients_is_gone(const struct mosquitto *client)
{
    return gone_index(client) < n_gone;
}

static void remember_gone(const struct mosquitto *client)
{
    if (clients_is_gone(client)) {
        return;
    }
    if (n_gone == cap_gone) {
        size_t cap = cap_gone ? cap_gone * 2 : 64;
        const struct mosquitto **grown = realloc(gone, cap * sizeof(*gone));

        if (grown == NULL) {
            return;
        }
        gone = grown;
        cap_gone = cap;
    }
    gone[n_gone++] = client;
}

static unsigned int bucket_of(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h % BUCKETS;
}

int clients_add(const struct mosquitto *client, const char *client_id,
                const char *fingerprint)
{
    size_t n = strlen(client_id) + 1;
    struct tracked_client *c = malloc(sizeof(*c) + n);

    if (c == NULL) {
        return -1;
    }
    c->client = client;
    memcpy(c->client_id, client_id, n);
    snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", fingerprint);
    c->next = buckets[bucket_of(client_id)];
    buckets[bucket_of(client_id)] = c;
    return 0;
}

void clients_remove(const struct mosquitto *client, const char *client_id)
{
    struct tracked_client **link = &buckets[bucket_of(client_id)];

    while (*link) {
        struct tracked_client *c = *link;

        if (c->client == client) {
            *link = c->next;
            free(c);
            return;
        }
        link = &c->next;
    }
}

void clients_mark_replaced(const struct mosquitto *client, const char *client_id)
{
    for (struct tracked_client *c = buckets[bucket_of(client_id)]; c; c = c->next) {
        if (c->client != client && strcmp(c->client_id, client_id) == 0) {
            remember_gone(c->client);
        }
    }
}

void clients_enforce(const struct iactn_policy *p)
{
    for (int b = 0; b < BUCKETS; b++) {
        struct tracked_client **link = &buckets[b];

        while (*link) {
            struct tracked_client *c = *link;
            const struct iactn_cert *cert = policy_find_cert(p, c->fingerprint);
            const char *reason = cert ? auth_refusal_reason(p, cert) : "certificate_unknown";
            char detail[160];

            if (reason == NULL) {
                link = &c->next;
                continue;
            }
            plugin_log(MOSQ_LOG_NOTICE,
                       "client disconnected client_id=%s fingerprint=%s reason=%s",
                       c->client_id, c->fingerprint, reason);
            snprintf(detail, sizeof(detail), "{\"fingerprint\":\"%s\",\"reason\":\"%s\"}",
                     c->fingerprint, reason);
            audit_record(cert ? cert->principal->id : "-", "disconnect", c->client_id,
                         detail);
            /* unlink first: the kick may run the disconnect event, which edits the list */
            *link = c->next;
            mosquitto_kick_client_by_clientid(c->client_id, false);
            free(c);
        }
    }
}

void clients_clear(void)
{
    free(gone);
    gone = NULL;
    n_gone = cap_gone = 0;
    for (int b = 0; b < BUCKETS; b++) {
        while (buckets[b]) {
            struct tracked_client *c = buckets[b];

            buckets[b] = c->next;
            free(c);
        }
    }
}

int clients_on_disconnect(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_disconnect *ed = event_data;
    const char *client_id = mosquitto_client_id(ed->client);

    (void)event;
    (void)userdata;
    if (client_id) {
        clients_remove(ed->client, client_id);
    }
    remember_gone(ed->client);
    return MOSQ_ERR_SUCCESS;
}
