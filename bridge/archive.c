#include "archive.h"

#include "database.h"
#include "endpoints.h"
#include "log.h"
#include "thread.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000

/* Times an insert is run again at once because the endpoints changed under it, before
 * it counts as a failure. */
#define ROUTING_RETRIES 5

struct archive {
    char *conninfo;
    char *name;
    PGconn *conn;
    archive_deliveries_hook hook;
    void *hook_arg;
    struct endpoint_set endpoints;
    int endpoints_stale;      /* nonzero when the copy must be reloaded */
    int in_outage;            /* nonzero from the first failure until a commit */
    unsigned outage_attempts; /* failed attempts in the current outage */
    time_t outage_start;
};

/* One statement, so one transaction: the alert and, only if it is new, its deliveries
 * to the endpoints $16. Nothing is inserted unless $17, the routing version of the
 * endpoints in memory, is still current (the first column reports whether it is). */
static const char insert_sql[] =
    "WITH routing AS (SELECT version = $17::bigint AS current FROM webhook_routing), "
    "inserted AS ("
    "  INSERT INTO alerts (id, topic, origin, category, tlp, status, msg_type, sender, "
    "    sender_agency, recipient_states, recipient_agencies, sent, expires, "
    "    received_at, payload, raw_payload) "
    "  SELECT $1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11::text[], "
    "    $12::timestamptz, $13::timestamptz, $14::timestamptz, $15::text::jsonb, "
    "    $15::text "
    "  FROM routing WHERE routing.current "
    "  ON CONFLICT (id) DO NOTHING RETURNING id), "
    "queued AS ("
    "  INSERT INTO deliveries (alert_id, endpoint_id) "
    "  SELECT i.id, e.id FROM inserted i "
    "  JOIN endpoints e ON e.id = ANY ($16::bigint[]) AND e.active "
    "  RETURNING 1) "
    "SELECT (SELECT bool_and(current) FROM routing), (SELECT count(*) FROM inserted), "
    "  (SELECT count(*) FROM queued)";

/* Tells a redelivery of the same alert (same sender and broker time) from a second
 * alert that reuses an archived id. */
static const char existing_sql[] = "SELECT sender = $2 AND received_at = $3::timestamptz "
                                   "FROM alerts WHERE id = $1::uuid";

static const char insert_ack_sql[] =
    "INSERT INTO acks (alert_id, origin, recipient, sender, status, note, sent, "
    "received_at) "
    "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz) "
    "ON CONFLICT (alert_id, sender, status) DO NOTHING";

struct archive *archive_new(const char *conninfo, const char *name,
                            archive_deliveries_hook hook, void *hook_arg)
{
    struct archive *archive = calloc(1, sizeof(*archive));

    if (archive == NULL) {
        return NULL;
    }
    archive->conninfo = strdup(conninfo);
    archive->name = strdup(name);
    if (archive->conninfo == NULL || archive->name == NULL) {
        archive_free(archive);
        return NULL;
    }
    archive->hook = hook;
    archive->hook_arg = hook_arg;
    archive->endpoints_stale = 1;
    return archive;
}

void archive_free(struct archive *archive)
{
    if (archive == NULL) {
        return;
    }
    PQfinish(archive->conn);
    endpoint_set_clear(&archive->endpoints);
    free(archive->conninfo);
    free(archive->name);
    free(archive);
}

/*
 * Turns synchronous_commit on for the session when the server's setting is off. A
 * message is acknowledged to the broker as soon as its commit returns, so the commit
 * must survive a crash of the server. Stronger settings (remote_write, on,
 * remote_apply) and local are left alone. Returns 0, or -1 if a statement fails.
 */
static int require_durable_commit(struct archive *archive)
{
    static atomic_int warned;
    PGresult *result = PQexec(archive->conn, "SHOW synchronous_commit");
    int off = PQresultStatus(result) == PGRES_TUPLES_OK &&
              strcmp(PQgetvalue(result, 0, 0), "off") == 0;
    int rc = PQresultStatus(result) == PGRES_TUPLES_OK ? 0 : -1;

    PQclear(result);
    if (rc != 0 || !off) {
        return rc;
    }
    result = PQexec(archive->conn, "SET synchronous_commit TO on");
    rc = PQresultStatus(result) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(result);
    if (rc == 0 && !atomic_exchange(&warned, 1)) {
        log_msg(
            LOG_LEVEL_WARNING,
            "msg=\"the server runs with synchronous_commit off; the bridge turns it on "
            "for its own sessions, because it acknowledges each message once its "
            "commit returns\"");
    }
    return rc;
}

/* Opens a connection whose commits survive a crash of the server. Returns 0, or -1
 * with the error, quoted for a log line, in `err`. */
static int open_connection(struct archive *archive, char *err, size_t err_size)
{
    char reason[512];

    PQfinish(archive->conn);
    archive->conn =
        database_connect(archive->conninfo, archive->name, NULL, reason, sizeof(reason));
    if (archive->conn == NULL) {
        log_quote(err, err_size, reason);
        return -1;
    }
    if (require_durable_commit(archive) != 0) {
        database_quote_error(err, err_size, PQerrorMessage(archive->conn));
        PQfinish(archive->conn);
        archive->conn = NULL;
        return -1;
    }
    return 0;
}

int archive_connect(struct archive *archive)
{
    char err[600];

    if (open_connection(archive, err, sizeof(err)) != 0) {
        log_msg(
            LOG_LEVEL_ERROR,
            "msg=\"cannot connect to the database; alerts wait unacknowledged until it "
            "is reachable\" connection=%s error=%s",
            archive->name, err);
        return -1;
    }
    log_msg(LOG_LEVEL_INFO,
            "msg=\"connected to the database\" connection=%s server_version=%d",
            archive->name, PQserverVersion(archive->conn));
    return 0;
}

/* Reloads the endpoints if the copy is stale. Returns 0, or -1 with the error in `err`.
 */
static int refresh_endpoints(struct archive *archive, char *err, size_t err_size)
{
    char load_err[512];
    size_t before = archive->endpoints.count;

    if (!archive->endpoints_stale) {
        return 0;
    }
    if (endpoint_set_load(&archive->endpoints, archive->conn, ENDPOINT_ROUTING, load_err,
                          sizeof(load_err)) != 0) {
        database_quote_error(err, err_size, load_err);
        return -1;
    }
    archive->endpoints_stale = 0;
    log_msg(archive->endpoints.count != before ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
            "msg=\"webhook endpoints loaded\" connection=%s count=%zu version=%lld",
            archive->name, archive->endpoints.count, archive->endpoints.version);
    return 0;
}

/* Connects if there is no working connection, and brings the endpoints up to date.
 * Returns 0, or -1 with the error in `err`. */
static int prepare(struct archive *archive, char *err, size_t err_size)
{
    if (archive->conn == NULL || PQstatus(archive->conn) != CONNECTION_OK) {
        if (open_connection(archive, err, err_size) != 0) {
            return -1;
        }
    }
    return refresh_endpoints(archive, err, err_size);
}

/*
 * Returns nonzero if an error with this SQLSTATE comes from the data itself, so that
 * the same insert can never succeed: data exceptions (class 22), integrity constraint
 * violations (23) and program limits such as an oversized value (54). Everything else
 * (connection loss, shutdown, missing table, lock timeouts) may pass with time or an
 * operator's fix, so the insert is retried.
 */
static int is_permanent(const char *sqlstate)
{
    return sqlstate != NULL &&
           (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 ||
            strncmp(sqlstate, "54", 2) == 0);
}

/*
 * Classifies a failed statement about `what` ("alert" or "acknowledgement") `id`.
 * Returns ARCHIVE_REJECTED after logging it when the data is at fault, or -1 for a
 * failure worth retrying. The error goes into `err` either way.
 */
static int classify_failure(struct archive *archive, const PGresult *result,
                            const char *what, const char *id, const char *topic,
                            char *err, size_t err_size)
{
    const char *sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    char quoted_topic[300];

    database_quote_error(err, err_size, PQresultErrorMessage(result));
    if (PQstatus(archive->conn) != CONNECTION_OK || !is_permanent(sqlstate)) {
        return -1;
    }
    log_msg(LOG_LEVEL_ERROR,
            "msg=\"database rejected the %s; it is not archived\" id=%s topic=%s "
            "sqlstate=%s error=%s",
            what, id, log_quote(quoted_topic, sizeof(quoted_topic), topic), sqlstate,
            err);
    return ARCHIVE_REJECTED;
}

/* Decides, after the insert touched no row, whether the archived row is this alert. */
static enum archive_result check_existing(struct archive *archive,
                                          const struct archive_row *row)
{
    const char *params[] = {row->id, row->sender, row->received_at};
    PGresult *result;
    int same;

    result = PQexecParams(archive->conn, existing_sql, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
        /* The insert is committed either way, so an unanswered check changes nothing. */
        PQclear(result);
        return ARCHIVE_DUPLICATE;
    }
    same = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    if (!same) {
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"alert id already archived for another sender or receive time; "
                "this copy is not archived\" id=%s sender=%s received=%s",
                row->id, row->sender, row->received_at);
    }
    return ARCHIVE_DUPLICATE;
}

/* Reads the counts of the insert statement, and calls the hook if deliveries were
 * queued. */
static int inserted_alert(struct archive *archive, const struct archive_row *row,
                          const PGresult *result)
{
    long alerts = strtol(PQgetvalue(result, 0, 1), NULL, 10);
    long deliveries = strtol(PQgetvalue(result, 0, 2), NULL, 10);

    if (alerts == 0) {
        return (int)check_existing(archive, row);
    }
    if (deliveries > 0) {
        log_msg(LOG_LEVEL_DEBUG, "msg=\"webhook deliveries queued\" id=%s count=%ld",
                row->id, deliveries);
        if (archive->hook != NULL) {
            archive->hook(archive->hook_arg);
        }
    }
    return ARCHIVE_INSERTED;
}

/* Runs the insert statement once with the endpoints in memory. Returns as try_insert()
 * does, or ROUTING_CHANGED when the endpoints changed since they were loaded and
 * nothing was inserted. */
#define ROUTING_CHANGED (-2)
static int run_insert(struct archive *archive, const struct archive_row *row, char *err,
                      size_t err_size)
{
    char version[24];
    const char *params[17] = {
        row->id,
        row->topic,
        row->origin,
        row->category,
        row->tlp,
        row->status,
        row->msg_type,
        row->sender,
        row->sender_agency,
        row->recipient_states,
        row->recipient_agencies,
        row->sent,
        row->expires,
        row->received_at,
        row->payload,
    };
    char *endpoint_ids;
    PGresult *result;
    int rc;

    endpoint_ids = endpoint_set_match(&archive->endpoints, row->topic, row->payload,
                                      row->payload_len);
    if (endpoint_ids == NULL) {
        log_quote(err, err_size, "out of memory");
        return -1;
    }
    snprintf(version, sizeof(version), "%lld", archive->endpoints.version);
    params[15] = endpoint_ids;
    params[16] = version;

    result = PQexecParams(archive->conn, insert_sql, 17, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
        rc = classify_failure(archive, result, "alert", row->id, row->topic, err,
                              err_size);
    } else if (strcmp(PQgetvalue(result, 0, 0), "t") != 0) {
        rc = ROUTING_CHANGED;
    } else {
        rc = inserted_alert(archive, row, result);
    }
    PQclear(result);
    free(endpoint_ids);
    return rc;
}

/*
 * Runs the alert insert, reloading the endpoints and running it again at once if they
 * changed in between. Returns ARCHIVE_INSERTED, ARCHIVE_DUPLICATE or ARCHIVE_REJECTED,
 * or -1 for a failure worth retrying, with the error in `err`.
 */
static int try_insert(struct archive *archive, const void *item, char *err,
                      size_t err_size)
{
    int rc = ROUTING_CHANGED;

    for (int i = 0; i < ROUTING_RETRIES && rc == ROUTING_CHANGED; i++) {
        if (prepare(archive, err, err_size) != 0) {
            return -1;
        }
        rc = run_insert(archive, item, err, err_size);
        if (rc == ROUTING_CHANGED) {
            archive->endpoints_stale = 1;
        }
    }
    if (rc == ROUTING_CHANGED) {
        log_quote(err, err_size, "webhook endpoints kept changing during the insert");
        return -1;
    }
    return rc;
}

/* Runs the acknowledgement insert once; returns as try_insert() does. */
static int try_insert_ack(struct archive *archive, const void *item, char *err,
                          size_t err_size)
{
    const struct ack_row *row = item;
    const char *params[] = {
        row->alert_id, row->origin, row->recipient, row->sender,
        row->status,   row->note,   row->sent,      row->received_at,
    };
    PGresult *result;
    int rc;

    if (prepare(archive, err, err_size) != 0) {
        return -1;
    }
    result = PQexecParams(archive->conn, insert_ack_sql, 8, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) == PGRES_COMMAND_OK) {
        rc = strcmp(PQcmdTuples(result), "1") == 0 ? ARCHIVE_INSERTED : ARCHIVE_DUPLICATE;
    } else {
        rc = classify_failure(archive, result, "acknowledgement", row->alert_id,
                              row->topic, err, err_size);
    }
    PQclear(result);
    return rc;
}

static void note_failure(struct archive *archive, const char *id, const char *topic,
                         const char *err)
{
    char quoted_topic[300];

    archive->outage_attempts++;
    if (archive->in_outage) {
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"database still unavailable\" connection=%s id=%s attempt=%u "
                "error=%s",
                archive->name, id, archive->outage_attempts, err);
        return;
    }
    archive->in_outage = 1;
    archive->outage_start = time(NULL);
    log_msg(LOG_LEVEL_ERROR,
            "msg=\"database unavailable; retrying, and the message stays unacknowledged "
            "until it is archived\" connection=%s id=%s topic=%s error=%s",
            archive->name, id, log_quote(quoted_topic, sizeof(quoted_topic), topic), err);
}

static void note_recovery(struct archive *archive)
{
    if (!archive->in_outage) {
        return;
    }
    log_msg(LOG_LEVEL_INFO,
            "msg=\"database available again\" connection=%s failed_attempts=%u "
            "outage_seconds=%ld",
            archive->name, archive->outage_attempts,
            (long)(time(NULL) - archive->outage_start));
    archive->in_outage = 0;
    archive->outage_attempts = 0;
}

/* Runs `attempt` on `item` until its outcome is final or `*stop` is set. */
static enum archive_result
insert_until_final(struct archive *archive,
                   int (*attempt)(struct archive *, const void *, char *, size_t),
                   const void *item, const char *id, const char *topic,
                   const atomic_int *stop)
{
    struct database_backoff backoff = {BACKOFF_FIRST_MS, BACKOFF_MAX_MS, 0};
    char err[600];
    int rc;

    for (;;) {
        rc = attempt(archive, item, err, sizeof(err));
        if (rc >= 0) {
            note_recovery(archive);
            return (enum archive_result)rc;
        }
        note_failure(archive, id, topic, err);
        if (thread_sleep_unless_stopped(database_backoff_next(&backoff), stop)) {
            return ARCHIVE_STOPPED;
        }
    }
}

enum archive_result archive_insert(struct archive *archive, const struct archive_row *row,
                                   const atomic_int *stop)
{
    return insert_until_final(archive, try_insert, row, row->id, row->topic, stop);
}

enum archive_result archive_insert_ack(struct archive *archive, const struct ack_row *row,
                                       const atomic_int *stop)
{
    return insert_until_final(archive, try_insert_ack, row, row->alert_id, row->topic,
                              stop);
}
