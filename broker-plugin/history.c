/*
 * The alerts this broker has accepted, by id, with their origin state, category,
 * recipient states and payload hash. Updates, cancellations and acknowledgements are
 * checked against it from memory. At start a window of recent alerts is read from the
 * archive on a database link of its own, without blocking. Until that read completes,
 * references to older alerts are rejected rather than trusted.
 */
#include "plugin.h"
#include "dblink.h"
#include "siphash.h"

#include <openssl/rand.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 4096
#define MAX_CATEGORIES 255
#define NO_CATEGORY 255

struct entry {
    uint8_t id[16];
    char origin[2];
    bool used;
    uint32_t recipients; /* index into the interned recipient sets */
    uint64_t content;    /* hash of the payload as sent; 0 when read from the archive */
    uint8_t category;    /* index into the category names, NO_CATEGORY when unknown */
};

static struct {
    /* Category slugs seen so far; entries refer to them by index. */
    char *categories[MAX_CATEGORIES];
    size_t n_categories;
    /* Many alerts go to the same states, so each distinct set is stored once, found
     * through an open-addressing index of set numbers plus one (0: empty slot). */
    struct iactn_state_set *sets;
    size_t n_sets, cap_sets;
    uint32_t *set_slots;
    size_t n_set_slots;
    struct entry *slots;
    size_t n_slots;
    size_t n_used;
    struct iactn_dblink link;
    int window_days;
    uint8_t content_key[SIPHASH_KEY_BYTES]; /* for history_content_hash */
    bool window_loaded;
    bool querying;
} hist;

/* Reads a textual UUID (either case) into 16 bytes. Returns 0 or -1. */
static int parse_uuid(const char *text, uint8_t *out)
{
    size_t n = 0;

    for (const char *c = text; *c && n < 32; c++) {
        int v;

        if (*c == '-') {
            continue;
        }
        if (*c >= '0' && *c <= '9') {
            v = *c - '0';
        } else if ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'f') {
            v = (*c | 0x20) - 'a' + 10;
        } else {
            return -1;
        }
        out[n / 2] = (uint8_t)(n % 2 ? (out[n / 2] | v) : v << 4);
        n++;
    }
    return n == 32 ? 0 : -1;
}

/* A 64-bit finaliser (splitmix64): every input bit affects every output bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Hashes all 16 bytes of the id. Time-ordered ids (UUIDv7, or the sequential ids some
 * systems issue) share their leading bytes, so no part of the id may be taken as it
 * is. `n_slots` is a power of two. */
static size_t slot_of(const uint8_t *id, size_t n_slots)
{
    uint64_t high;
    uint64_t low;

    memcpy(&high, id, sizeof(high));
    memcpy(&low, id + 8, sizeof(low));
    return (size_t)(mix64(high ^ mix64(low)) & (n_slots - 1));
}

static struct entry *find_slot(struct entry *slots, size_t n_slots, const uint8_t *id)
{
    size_t i = slot_of(id, n_slots);

    while (slots[i].used && memcmp(slots[i].id, id, 16) != 0) {
        i = (i + 1) & (n_slots - 1);
    }
    return &slots[i];
}

static int grow(void)
{
    size_t n = hist.n_slots ? hist.n_slots * 2 : INITIAL_SLOTS; /* a power of two */
    struct entry *slots = calloc(n, sizeof(*slots));

    if (slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < hist.n_slots; i++) {
        if (hist.slots[i].used) {
            *find_slot(slots, n, hist.slots[i].id) = hist.slots[i];
        }
    }
    free(hist.slots);
    hist.slots = slots;
    hist.n_slots = n;
    return 0;
}

static size_t set_hash(const struct iactn_state_set *set)
{
    uint64_t h = 0;

    for (size_t i = 0; i < sizeof(set->bits) / sizeof(set->bits[0]); i++) {
        h = mix64(h ^ set->bits[i]);
    }
    return (size_t)h;
}

/* Returns the index slot where `set` is, or the empty slot where it belongs. */
static size_t find_set_slot(const uint32_t *slots, size_t n_slots,
                            const struct iactn_state_set *set)
{
    size_t i = set_hash(set) & (n_slots - 1);

    while (slots[i] != 0 && memcmp(&hist.sets[slots[i] - 1], set, sizeof(*set)) != 0) {
        i = (i + 1) & (n_slots - 1);
    }
    return i;
}

/* Doubles the index of sets. Returns 0, or -1 when memory runs out. */
static int grow_set_index(void)
{
    size_t n = hist.n_set_slots ? hist.n_set_slots * 2 : 64;
    uint32_t *slots = calloc(n, sizeof(*slots));

    if (slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < hist.n_sets; i++) {
        slots[find_set_slot(slots, n, &hist.sets[i])] = (uint32_t)(i + 1);
    }
    free(hist.set_slots);
    hist.set_slots = slots;
    hist.n_set_slots = n;
    return 0;
}

/* Returns the index of an interned copy of set, or -1 when memory runs out. */
static long intern_set(const struct iactn_state_set *set)
{
    size_t slot;

    if ((hist.n_sets + 1) * 2 > hist.n_set_slots && grow_set_index() != 0) {
        return -1;
    }
    slot = find_set_slot(hist.set_slots, hist.n_set_slots, set);
    if (hist.set_slots[slot] != 0) {
        return (long)(hist.set_slots[slot] - 1);
    }
    if (hist.n_sets == hist.cap_sets) {
        size_t cap = hist.cap_sets ? hist.cap_sets * 2 : 16;
        struct iactn_state_set *grown = realloc(hist.sets, cap * sizeof(*grown));

        if (grown == NULL) {
            return -1;
        }
        hist.sets = grown;
        hist.cap_sets = cap;
    }
    hist.sets[hist.n_sets] = *set;
    hist.set_slots[slot] = (uint32_t)(hist.n_sets + 1);
    return (long)hist.n_sets++;
}

/* Returns the index of category among the names seen, adding it when new, or
 * NO_CATEGORY when the table is full or memory runs out. */
static uint8_t intern_category(const char *category)
{
    for (size_t i = 0; i < hist.n_categories; i++) {
        if (strcmp(hist.categories[i], category) == 0) {
            return (uint8_t)i;
        }
    }
    if (hist.n_categories == MAX_CATEGORIES) {
        return NO_CATEGORY;
    }
    hist.categories[hist.n_categories] = strdup(category);
    return hist.categories[hist.n_categories] ? (uint8_t)hist.n_categories++ : NO_CATEGORY;
}

int history_add(const char *id, const char *origin, const char *category,
                const struct iactn_state_set *recipients, uint64_t content)
{
    uint8_t key[16];
    struct entry *e;
    long set;

    if (parse_uuid(id, key) != 0 || (set = intern_set(recipients)) < 0) {
        return -1;
    }
    if ((hist.n_used + 1) * 2 > hist.n_slots && grow() != 0) {
        return -1;
    }
    e = find_slot(hist.slots, hist.n_slots, key);
    if (!e->used) {
        memcpy(e->id, key, 16);
        memcpy(e->origin, origin, 2);
        e->recipients = (uint32_t)set;
        e->content = content;
        e->category = intern_category(category);
        e->used = true;
        hist.n_used++;
    }
    return 0;
}

enum history_answer history_lookup(const char *id, char *origin,
                                   const struct iactn_state_set **recipients,
                                   uint64_t *content, const char **category)
{
    uint8_t key[16];
    struct entry *e;

    if (parse_uuid(id, key) != 0 || hist.n_slots == 0) {
        return hist.window_loaded ? HISTORY_UNKNOWN : HISTORY_NOT_LOADED;
    }
    e = find_slot(hist.slots, hist.n_slots, key);
    if (!e->used) {
        return hist.window_loaded ? HISTORY_UNKNOWN : HISTORY_NOT_LOADED;
    }
    memcpy(origin, e->origin, 2);
    origin[2] = '\0';
    if (recipients) {
        *recipients = &hist.sets[e->recipients];
    }
    if (content) {
        *content = e->content;
    }
    if (category) {
        *category = e->category == NO_CATEGORY ? NULL : hist.categories[e->category];
    }
    return HISTORY_KNOWN;
}

uint64_t history_content_hash(const void *payload, size_t len)
{
    uint64_t h = siphash24(hist.content_key, payload, len);

    return h ? h : 1;
}

int history_start(const char *conninfo, int window_days)
{
    if (RAND_bytes(hist.content_key, sizeof(hist.content_key)) != 1) {
        return -1;
    }
    dblink_init(&hist.link, "history", conninfo);
    hist.window_days = window_days;
    return 0;
}

static void read_window(void)
{
    PGconn *conn = hist.link.conn;
    PGresult *res;

    if (!PQconsumeInput(conn)) {
        hist.querying = false;
        dblink_fail(&hist.link, "history read", "rejecting references to older alerts");
        return;
    }
    while (!PQisBusy(conn) && (res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            for (int r = 0; r < PQntuples(res); r++) {
                struct iactn_state_set recipients = {{0}};
                char *list = PQgetvalue(res, r, 2);

                for (char *code = strtok(list, ","); code; code = strtok(NULL, ",")) {
                    state_set_add(&recipients, code);
                }
                history_add(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                            PQgetvalue(res, r, 3), &recipients, 0);
            }
            hist.window_loaded = true;
            plugin_log(MOSQ_LOG_NOTICE, "alert history loaded alerts=%d days=%d",
                       PQntuples(res), hist.window_days);
        } else {
            plugin_log(MOSQ_LOG_ERR, "alert history read failed: %s",
                       PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    if (PQisBusy(conn)) {
        return;
    }
    hist.querying = false;
    if (hist.window_loaded) {
        /* the window is read once; afterwards every accepted alert is added here */
        dblink_close(&hist.link);
    } else {
        dblink_fail(&hist.link, "history read", "rejecting references to older alerts");
    }
}

void history_tick(void)
{
    char sql[192];

    if (hist.window_loaded ||
        !dblink_poll(&hist.link, "rejecting references to older alerts")) {
        return;
    }
    if (hist.querying) {
        read_window();
        return;
    }
    snprintf(sql, sizeof(sql),
             "SELECT id::text, origin, array_to_string(recipient_states, ','), category"
             " FROM alerts"
             " WHERE received_at > now() - interval '%d days'",
             hist.window_days);
    if (!PQsendQuery(hist.link.conn, sql)) {
        dblink_fail(&hist.link, "history read", "rejecting references to older alerts");
        return;
    }
    hist.querying = true;
}

void history_stop(void)
{
    if (hist.link.conninfo) {
        dblink_close(&hist.link);
    }
    free(hist.slots);
    free(hist.sets);
    free(hist.set_slots);
    for (size_t i = 0; i < hist.n_categories; i++) {
        free(hist.categories[i]);
    }
    memset(&hist, 0, sizeof(hist));
}
