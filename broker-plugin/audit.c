/*
 * Audit rows for connections, refusals and policy loads, written to audit_log through
 * a bounded in-memory queue and a database link of their own. Callbacks only append
 * to the queue; the tick event sends batches with libpq's asynchronous calls. When
 * the queue is full, new rows are dropped, counted, and the count is logged.
 */
#include "plugin.h"
#include "dblink.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_CAPACITY 8192
#define BATCH_MAX 256
#define LIMITED_PER_SECOND 20                  /* denial rows per principal and second */
#define LIMITED_SHARE (QUEUE_CAPACITY * 3 / 4) /* the rest is kept for other rows */
#define LIMIT_SLOTS 1024

/* Denials counted per principal (by hash of its id; colliding ids share a slot). */
struct limit_slot {
    time_t second;
    unsigned count;                 /* denials within the rate in that second */
    unsigned long suppressed;       /* rows left out of audit_log */
    unsigned long lines_suppressed; /* denials left without a log line */
    char actor[64];
};

static struct limit_slot limits[LIMIT_SLOTS];

struct audit_row {
    char *actor;
    char *action;
    char *object;
    char *detail;
    char at[32];
};

static struct {
    struct iactn_dblink link;
    bool started;
    struct audit_row rows[QUEUE_CAPACITY];
    size_t head; /* oldest row */
    size_t count;
    size_t in_flight; /* rows of the batch being written, from head */
    unsigned long dropped;
    unsigned long dropped_logged;
} audit;

static void free_row(struct audit_row *r)
{
    free(r->actor);
    free(r->action);
    free(r->object);
    free(r->detail);
    memset(r, 0, sizeof(*r));
}

void audit_record(const char *actor, const char *action, const char *object,
                  const char *detail)
{
    struct audit_row *r;
    struct timespec now;
    struct tm tm;

    if (!audit.started) {
        return;
    }
    if (audit.count == QUEUE_CAPACITY) {
        audit.dropped++;
        return;
    }
    r = &audit.rows[(audit.head + audit.count) % QUEUE_CAPACITY];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(r->at, 20, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(r->at + 19, sizeof(r->at) - 19, ".%06dZ", (int)(now.tv_nsec / 1000 % 1000000));
    r->actor = strdup(actor ? actor : "-");
    r->action = strdup(action);
    r->object = strdup(object ? object : "");
    r->detail = strdup(detail ? detail : "{}");
    if (!r->actor || !r->action || !r->object || !r->detail) {
        free_row(r);
        audit.dropped++;
        return;
    }
    audit.count++;
}

static unsigned int slot_of(const char *actor)
{
    uint32_t h = 2166136261u;

    for (; *actor; actor++) {
        h = (h ^ (unsigned char)*actor) * 16777619u;
    }
    return h % LIMIT_SLOTS;
}

/* Writes one row saying how many denial rows of a principal were left out, and one
 * log line saying how many of its denials had no line of their own. */
static void flush_suppressed(struct limit_slot *slot)
{
    char detail[64];

    if (slot->lines_suppressed > 0) {
        plugin_log(MOSQ_LOG_NOTICE,
                   "denials without a line of their own principal=%s count=%lu "
                   "second=%lld limit=%d/s",
                   slot->actor, slot->lines_suppressed, (long long)slot->second,
                   LIMITED_PER_SECOND);
        slot->lines_suppressed = 0;
    }
    if (slot->suppressed == 0) {
        return;
    }
    snprintf(detail, sizeof(detail), "{\"rows\":%lu}", slot->suppressed);
    audit_record(slot->actor, "audit-suppressed", "", detail);
    slot->suppressed = 0;
}

bool audit_record_limited(const char *actor, const char *action, const char *object,
                          const char *detail)
{
    time_t now = time(NULL);
    struct limit_slot *slot = &limits[slot_of(actor ? actor : "-")];

    if (slot->second != now || strcmp(slot->actor, actor ? actor : "-") != 0) {
        flush_suppressed(slot);
        slot->second = now;
        slot->count = 0;
        snprintf(slot->actor, sizeof(slot->actor), "%s", actor ? actor : "-");
    }
    if (slot->count >= LIMITED_PER_SECOND) {
        slot->suppressed++;
        slot->lines_suppressed++;
        return false;
    }
    slot->count++;
    if (audit.count >= LIMITED_SHARE) {
        slot->suppressed++;
    } else {
        audit_record(actor, action, object, detail);
    }
    return true;
}

void audit_start(const char *conninfo)
{
    dblink_init(&audit.link, "audit", conninfo);
    audit.started = true;
}

/* Appends text, or text as an escaped SQL literal, to a growing buffer. Returns false
 * when memory runs out. */
static bool append(PGconn *conn, char **sql, size_t *len, const char *text, bool literal)
{
    char *lit = literal ? PQescapeLiteral(conn, text, strlen(text)) : NULL;
    const char *piece = literal ? lit : text;
    size_t n;
    char *grown;

    if (piece == NULL) {
        return false;
    }
    n = strlen(piece);
    grown = realloc(*sql, *len + n + 1);
    if (grown) {
        memcpy(grown + *len, piece, n + 1);
        *sql = grown;
        *len += n;
    }
    PQfreemem(lit);
    return grown != NULL;
}

static bool append_row(PGconn *conn, char **sql, size_t *len, const struct audit_row *r,
                       bool first)
{
    return append(conn, sql, len, first ? "(" : ",(", false) &&
           append(conn, sql, len, r->at, true) &&
           append(conn, sql, len, "::timestamptz,", false) &&
           append(conn, sql, len, r->actor, true) && append(conn, sql, len, ",", false) &&
           append(conn, sql, len, r->action, true) && append(conn, sql, len, ",", false) &&
           append(conn, sql, len, r->object, true) && append(conn, sql, len, ",", false) &&
           append(conn, sql, len, r->detail, true) &&
           append(conn, sql, len, "::jsonb)", false);
}

/* Sends the oldest queued rows (up to BATCH_MAX) as one INSERT. */
static void send_batch(void)
{
    PGconn *conn = audit.link.conn;
    size_t n = audit.count < BATCH_MAX ? audit.count : BATCH_MAX;
    char *sql = NULL;
    size_t len = 0;
    bool ok = append(conn, &sql, &len,
                     "INSERT INTO audit_log (at, actor, action, object, detail) VALUES ",
                     false);

    for (size_t i = 0; ok && i < n; i++) {
        ok = append_row(conn, &sql, &len, &audit.rows[(audit.head + i) % QUEUE_CAPACITY],
                        i == 0);
    }
    if (ok && PQsendQuery(conn, sql)) {
        audit.in_flight = n;
    } else if (!ok) {
        plugin_log(MOSQ_LOG_ERR, "audit batch not built: out of memory");
    } else {
        dblink_fail(&audit.link, "audit write", "queueing audit rows");
    }
    free(sql);
}

/* Removes the rows of the batch just written (or rejected) from the queue. */
static void release_batch(void)
{
    for (size_t i = 0; i < audit.in_flight; i++) {
        free_row(&audit.rows[audit.head]);
        audit.head = (audit.head + 1) % QUEUE_CAPACITY;
        audit.count--;
    }
    audit.in_flight = 0;
}

/* Reads the result of the batch in flight, if it has arrived. */
static void finish_batch(void)
{
    PGconn *conn = audit.link.conn;
    PGresult *res;
    bool failed = false;

    if (PQflush(conn) < 0 || !PQconsumeInput(conn)) {
        audit.in_flight = 0; /* the rows stay queued and go again after reconnecting */
        dblink_fail(&audit.link, "audit write", "queueing audit rows");
        return;
    }
    while (!PQisBusy(conn) && (res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            plugin_log(MOSQ_LOG_ERR, "audit batch rejected rows=%zu error=\"%s\"",
                       audit.in_flight, PQresultErrorMessage(res));
            failed = true;
        }
        PQclear(res);
    }
    if (PQisBusy(conn)) {
        return;
    }
    if (failed) {
        audit.dropped += audit.in_flight;
    }
    /* a batch the database rejects would be rejected again: it is dropped and counted */
    release_batch();
}

static void log_drops(void)
{
    if (audit.dropped != audit.dropped_logged) {
        plugin_log(MOSQ_LOG_WARNING, "audit rows dropped=%lu since start", audit.dropped);
        audit.dropped_logged = audit.dropped;
    }
}

void audit_tick(void)
{
    time_t now = time(NULL);

    for (int i = 0; i < LIMIT_SLOTS; i++) {
        if ((limits[i].suppressed || limits[i].lines_suppressed) &&
            limits[i].second != now) {
            flush_suppressed(&limits[i]);
        }
    }
    log_drops();
    if (!audit.started || !dblink_poll(&audit.link, "queueing audit rows")) {
        return;
    }
    audit.link.just_connected = false;
    if (audit.in_flight) {
        finish_batch();
    } else if (audit.count) {
        send_batch();
    }
}

void audit_stop(void)
{
    while (audit.count) {
        free_row(&audit.rows[audit.head]);
        audit.head = (audit.head + 1) % QUEUE_CAPACITY;
        audit.count--;
    }
    dblink_close(&audit.link);
    audit.started = false;
}
