#include "archive.h"

#include "log.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000

struct archive {
    char *conninfo;
    PGconn *conn;
    int in_outage;            /* nonzero from the first failure until a commit */
    unsigned outage_attempts; /* failed attempts in the current outage */
    time_t outage_start;
};

static const char insert_sql[] =
    "INSERT INTO alerts (id, topic, origin, category, tlp, status, msg_type, sender, "
    "sender_agency, recipient_states, recipient_agencies, sent, expires, received_at, "
    "payload) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], "
    "$11::text[], "
    "$12::timestamptz, $13::timestamptz, $14::timestamptz, $15::jsonb) "
    "ON CONFLICT (id) DO NOTHING";

/* Tells a redelivery of the same alert (same sender and broker time) from a second
 * alert that reuses an archived id. */
static const char existing_sql[] = "SELECT sender = $2 AND received_at = $3::timestamptz "
                                   "FROM alerts WHERE id = $1::uuid";

struct archive *archive_new(const char *conninfo)
{
    struct archive *archive = calloc(1, sizeof(*archive));

    if (archive == NULL) {
        return NULL;
    }
    archive->conninfo = strdup(conninfo);
    if (archive->conninfo == NULL) {
        free(archive);
        return NULL;
    }
    return archive;
}

void archive_free(struct archive *archive)
{
    if (archive == NULL) {
        return;
    }
    PQfinish(archive->conn);
    free(archive->conninfo);
    free(archive);
}

/* Returns the first line of libpq's error message, quoted for a log line. */
static const char *quoted_error(const char *message, char *buf, size_t size)
{
    char line[512];
    size_t len = strcspn(message, "\n");

    if (len >= sizeof(line)) {
        len = sizeof(line) - 1;
    }
    memcpy(line, message, len);
    line[len] = '\0';
    return log_quote(buf, size, line);
}

/*
 * Opens a connection. Defaults placed before the connection string let it override
 * them: a connection timeout, and TCP keepalives so that a dead server is noticed in
 * about a minute rather than after the kernel's two hours.
 */
static int open_connection(struct archive *archive, char *err, size_t err_size)
{
    static const char *const keywords[] = {"connect_timeout",
                                           "keepalives_idle",
                                           "keepalives_interval",
                                           "keepalives_count",
                                           "application_name",
                                           "dbname",
                                           NULL};
    const char *values[] = {"10", "30", "10", "3", "iactn-bridge", archive->conninfo,
                            NULL};

    PQfinish(archive->conn);
    archive->conn = PQconnectdbParams(keywords, values, 1);
    if (archive->conn == NULL) {
        log_quote(err, err_size, "out of memory");
        return -1;
    }
    if (PQstatus(archive->conn) != CONNECTION_OK) {
        quoted_error(PQerrorMessage(archive->conn), err, err_size);
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
            "is reachable\" error=%s",
            err);
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "msg=\"connected to the database\" server_version=%d",
            PQserverVersion(archive->conn));
    return 0;
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

/*
 * Runs the insert once. Returns ARCHIVE_INSERTED, ARCHIVE_DUPLICATE or
 * ARCHIVE_REJECTED, or -1 for a failure worth retrying, with the error in `err`.
 */
static int try_insert(struct archive *archive, const struct archive_row *row, char *err,
                      size_t err_size)
{
    const char *params[] = {
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
    const char *sqlstate;
    PGresult *result;
    int rc;

    if (archive->conn == NULL || PQstatus(archive->conn) != CONNECTION_OK) {
        if (open_connection(archive, err, err_size) != 0) {
            return -1;
        }
    }

    result = PQexecParams(archive->conn, insert_sql, 15, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) == PGRES_COMMAND_OK) {
        rc = strcmp(PQcmdTuples(result), "1") == 0 ? ARCHIVE_INSERTED : ARCHIVE_DUPLICATE;
        PQclear(result);
        return rc == ARCHIVE_DUPLICATE ? (int)check_existing(archive, row) : rc;
    }

    sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    quoted_error(PQresultErrorMessage(result), err, err_size);
    rc = PQstatus(archive->conn) == CONNECTION_OK && is_permanent(sqlstate)
             ? ARCHIVE_REJECTED
             : -1;
    if (rc == ARCHIVE_REJECTED) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"database rejected the alert; it is not archived\" id=%s topic=%s "
                "sqlstate=%s error=%s",
                row->id, row->topic, sqlstate, err);
    }
    PQclear(result);
    return rc;
}

/* Sleeps `ms` milliseconds in short steps, returning early (nonzero) once `*stop` is set.
 */
static int sleep_unless_stopped(long ms, const atomic_int *stop)
{
    struct timespec step = {0, 100 * 1000000L};

    for (long slept = 0; slept < ms; slept += 100) {
        if (atomic_load(stop)) {
            return 1;
        }
        nanosleep(&step, NULL);
    }
    return atomic_load(stop);
}

static void note_failure(struct archive *archive, const struct archive_row *row,
                         const char *err)
{
    archive->outage_attempts++;
    if (archive->in_outage) {
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"database still unavailable\" id=%s attempt=%u error=%s", row->id,
                archive->outage_attempts, err);
        return;
    }
    archive->in_outage = 1;
    archive->outage_start = time(NULL);
    log_msg(LOG_LEVEL_ERROR,
            "msg=\"database unavailable; retrying, and the alert stays unacknowledged "
            "until it is archived\" id=%s topic=%s error=%s",
            row->id, row->topic, err);
}

static void note_recovery(struct archive *archive)
{
    if (!archive->in_outage) {
        return;
    }
    log_msg(LOG_LEVEL_INFO,
            "msg=\"database available again\" failed_attempts=%u outage_seconds=%ld",
            archive->outage_attempts, (long)(time(NULL) - archive->outage_start));
    archive->in_outage = 0;
    archive->outage_attempts = 0;
}

enum archive_result archive_insert(struct archive *archive, const struct archive_row *row,
                                   const atomic_int *stop)
{
    char err[600];
    long backoff_ms = BACKOFF_FIRST_MS;
    int rc;

    for (;;) {
        rc = try_insert(archive, row, err, sizeof(err));
        if (rc >= 0) {
            note_recovery(archive);
            return (enum archive_result)rc;
        }
        note_failure(archive, row, err);
        if (sleep_unless_stopped(backoff_ms, stop)) {
            return ARCHIVE_STOPPED;
        }
        backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
    }
}
