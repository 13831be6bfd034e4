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
 * check. It is a hash set because every publish to a checked topic looks in it. The
 * pointers are only compared, never followed. An address that mosquitto reuses for a
 * new connection leaves the set when that connection authenticates. */
struct gone_client {
    struct gone_client *next;
    const struct mosquitto *client;
};

static struct gone_client *gone[BUCKETS];

static unsigned int gone_bucket(const struct mosquitto *client)
{
    uintptr_t address = (uintptr_t)client;

    /* allocations are aligned, so the low bits carry little information */
    return (unsigned int)((address >> 4) ^ (address >> 14)) % BUCKETS;
}

void clients_forget_gone(const struct mosquitto *client)
{
    struct gone_client **link = &gone[gone_bucket(client)];

    while (*link) {
        struct gone_client *g = *link;

        if (g->client == client) {
            *link = g->next;
            free(g);
            return;
        }
        link = &g->next;
    }
}

bool clients_is_gone(const struct mosquitto *client)
{
    for (struct gone_client *g = gone[gone_bucket(client)]; g; g = g->next) {
        if (g->client == client) {
            return true;
        }
    }
    return false;
}

static void remember_gone(const struct mosquitto *client)
{
    struct gone_client *g;

    if (clients_is_gone(client)) {
        return;
    }
    g = malloc(sizeof(*g));
    if (g == NULL) {
        plugin_log(MOSQ_LOG_ERR, "out of memory: a will of this client may pass the "
                                 "write check without the message event");
        return;
    }
    g->client = client;
    g->next = gone[gone_bucket(client)];
    gone[gone_bucket(client)] = g;
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
    for (int b = 0; b < BUCKETS; b++) {
        while (gone[b]) {
            struct gone_client *g = gone[b];

            gone[b] = g->next;
            free(g);
        }
    }
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
