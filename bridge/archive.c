/*
 * The archive's writer. Every MQTT connection of the bridge hands its rows to one
 * writer thread and waits. The writer takes every row waiting at that moment (up to
 * BATCH_MAX) and commits them in one transaction. The alerts go in one statement
 * whose columns are arrays, and each acknowledgement in a statement of its own. All
 * of them travel as one libpq pipeline closed by a single Sync, so the batch costs
 * one round trip and one WAL flush. Only then does each waiting thread learn its
 * outcome and return, and only then does libmosquitto send the PUBACK (see
 * subscriber.c). Under load, the batch grows with the number of MQTT connections.
 *
 * Outcomes stay per row. A row the database rejects (bad data) aborts the whole
 * transaction, so the batch is then written again one row per transaction, to tell
 * the rejected row from the others. Rows are sorted by key, so that two bridges with
 * the same redelivered rows in their batches take the row locks in the same order. A
 * deadlock that happens anyway fails the batch, and its rows are retried one by one.
 */
#include "archive.h"

#include "database.h"
#include "endpoints.h"
#include "log.h"
#include "thread.h"

#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000

/* Times a batch is run again at once because the endpoints changed under it, before
 * it counts as a failure. */
#define ROUTING_RETRIES 5

/* Rows in one transaction, and the payload bytes after which a batch takes no more. */
#define BATCH_MAX 64
#define BATCH_BYTES (4L * 1024 * 1024)

/* How long the writer waits, at most, for the threads of its last batch to bring their
 * next rows before it commits what is queued. */
#define GATHER_US 2000L

/* Columns of the alerts statement after the routing version, each an array, and the
 * index of the payload among them. */
#define ALERT_COLUMNS 16
#define PAYLOAD_COLUMN 14

/* PostgreSQL's type ids (pg_type.oid) of the statements' parameters, and the bytes of
 * a one-dimensional array's header in its binary format. */
#define INT8_OID 20
#define TEXT_OID 25
#define TEXT_ARRAY_OID 1009
#define ARRAY_HEADER_BYTES 20

/* A column array longer than this is freed after its batch rather than kept. */
#define COLUMN_KEEP_BYTES (256L * 1024)

/* Outcomes of a statement or a batch that are not an enum archive_result. */
#define FAILED (-1)          /* worth retrying after a pause, error in `err` */
#define ROUTING_CHANGED (-2) /* endpoints changed since loaded; nothing inserted */
#define BATCH_REJECTED (-3)  /* one row of a batch is invalid; nothing inserted */
#define PENDING (-4)         /* not final yet */

#define ALERT_STATEMENT "iactn_archive_alerts"
#define ACK_STATEMENT "iactn_archive_ack"

/* A growing string for the array parameters. `failed` is set once memory runs out. */
struct text_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
};

/* One row handed to the writer, on the stack of the thread that waits for it. */
struct archive_item {
    const struct archive_row *alert; /* exactly one of alert and ack is set */
    const struct ack_row *ack;
    int outcome;      /* an enum archive_result, or PENDING; the writer's until done */
    int done;         /* set under the lock once outcome is final */
    pthread_cond_t wake; /* signalled once done is set */
    int current;      /* pipeline scratch: the routing version was current */
    long inserted;    /* pipeline scratch: rows the statement inserted */
    long deliveries;  /* pipeline scratch: deliveries queued with the alert */
    long retry_at_ms;    /* when a row the database failed is tried again */
    long retry_delay_ms; /* the wait before that, doubled after each failure */
    struct archive_item *next; /* in the queue, then in the writer's retry list */
};

struct archive {
    char *conninfo;
    char *name;
    const atomic_int *stop;
    archive_deliveries_hook hook;
    void *hook_arg;

    /* The writer's own; nothing else touches them once it runs. */
    PGconn *conn;
    struct endpoint_set endpoints;
    int endpoints_stale;      /* nonzero when the copy must be reloaded */
    int in_outage;            /* nonzero from the first failure until a commit */
    unsigned outage_attempts; /* failed attempts in the current outage */
    time_t outage_start;
    struct archive_item *retry; /* rows the database failed, each with its own delay */
    time_t row_error_logged;    /* when a failed row was last logged at error level */
    /* The column arrays of the alerts statement, kept from batch to batch so that
     * each batch does not grow them again from nothing. */
    struct text_buf columns[ALERT_COLUMNS];

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t work;  /* rows are waiting, or closing is set */
    struct archive_item *head;
    struct archive_item *tail;
    size_t queued; /* items from head to tail */
    size_t wake_at; /* submit() wakes the writer once this many items are queued */
    int closing;
    pthread_t thread;
    int thread_started;
};

/* One statement for all the alerts of a batch, each column an array with one element
 * per alert: the alerts and, for those that are new, their deliveries to the
 * endpoints listed in the last column. Nothing is inserted unless $1, the routing
 * version of the endpoints in memory, is still current. The first row reports
 * whether it is (id NULL, count 1 or 0). Each further row is an inserted alert and
 * the number of deliveries queued for it. Text arrays carry the recipient and
 * endpoint lists as array literals, cast per row. */
static const char insert_sql[] =
    "WITH routing AS (SELECT version = $1::bigint AS current FROM webhook_routing), "
    "input AS ("
    "  SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], "
    "    $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::text[], "
    "    $17::text[]) "
    "  AS t(id, topic, origin, category, tlp, status, msg_type, sender, sender_agency, "
    "    recipient_states, recipient_agencies, sent, expires, received_at, payload, "
    "    endpoint_ids)), "
    "inserted AS ("
    "  INSERT INTO alerts (id, topic, origin, category, tlp, status, msg_type, sender, "
    "    sender_agency, recipient_states, recipient_agencies, sent, expires, "
    "    received_at, payload, raw_payload) "
    "  SELECT id, topic, origin, category, tlp, status, msg_type, sender, sender_agency, "
    "    recipient_states::text[], recipient_agencies::text[], sent, expires, "
    "    received_at, payload::jsonb, payload "
    "  FROM input, routing WHERE routing.current "
    "  ON CONFLICT (id) DO NOTHING RETURNING id), "
    "queued AS ("
    "  INSERT INTO deliveries (alert_id, endpoint_id) "
    "  SELECT i.id, e.id FROM inserted i JOIN input USING (id) "
    "  JOIN endpoints e ON e.id = ANY (input.endpoint_ids::bigint[]) AND e.active "
    "  RETURNING alert_id) "
    "SELECT NULL::text, (SELECT count(*) FILTER (WHERE current) FROM routing) "
    "UNION ALL "
    "SELECT i.id::text, count(q.alert_id) FROM inserted i "
    "  LEFT JOIN queued q ON q.alert_id = i.id GROUP BY i.id";

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
                            archive_deliveries_hook hook, void *hook_arg,
                            const atomic_int *stop)
{
    struct archive *archive = calloc(1, sizeof(*archive));
    pthread_condattr_t attr;

    if (archive == NULL) {
        return NULL;
    }
    pthread_mutex_init(&archive->lock, NULL);
    /* The writer's timed waits follow the monotonic clock, so that a step of the wall
     * clock neither stretches nor cuts them. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&archive->work, &attr);
    pthread_condattr_destroy(&attr);
    archive->conninfo = strdup(conninfo);
    archive->name = strdup(name);
    if (archive->conninfo == NULL || archive->name == NULL) {
        archive_free(archive);
        return NULL;
    }
    archive->stop = stop;
    archive->hook = hook;
    archive->hook_arg = hook_arg;
    archive->endpoints_stale = 1;
    archive->wake_at = 1;
    return archive;
}

void archive_free(struct archive *archive)
{
    if (archive == NULL) {
        return;
    }
    if (archive->thread_started) {
        pthread_mutex_lock(&archive->lock);
        archive->closing = 1;
        pthread_cond_signal(&archive->work);
        pthread_mutex_unlock(&archive->lock);
        pthread_join(archive->thread, NULL);
    }
    PQfinish(archive->conn);
    endpoint_set_clear(&archive->endpoints);
    for (int i = 0; i < ALERT_COLUMNS; i++) {
        free(archive->columns[i].data);
    }
    pthread_cond_destroy(&archive->work);
    pthread_mutex_destroy(&archive->lock);
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

/* Prepares the two insert statements on the new connection. Returns 0, or -1. */
static int prepare_statements(PGconn *conn)
{
    /* The alerts statement takes the routing version and then text arrays, which its
     * SQL casts to the columns' types. */
    static const Oid alert_types[ALERT_COLUMNS + 1] = {
        INT8_OID,       TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID,
        TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID,
        TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID, TEXT_ARRAY_OID,
        TEXT_ARRAY_OID, TEXT_ARRAY_OID,
    };
    static const struct {
        const char *name;
        const char *sql;
        int params;
        const Oid *types;
    } statements[] = {
        {ALERT_STATEMENT, insert_sql, ALERT_COLUMNS + 1, alert_types},
        {ACK_STATEMENT, insert_ack_sql, 8, NULL},
    };

    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
        PGresult *result = PQprepare(conn, statements[i].name, statements[i].sql,
                                     statements[i].params, statements[i].types);
        int ok = PQresultStatus(result) == PGRES_COMMAND_OK;

        PQclear(result);
        if (!ok) {
            return -1;
        }
    }
    return 0;
}

/* Opens a connection whose commits survive a crash of the server, with the insert
 * statements prepared. Returns 0, or -1 with the error, quoted for a log line, in
 * `err`. */
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
    if (require_durable_commit(archive) != 0 || prepare_statements(archive->conn) != 0) {
        database_quote_error(err, err_size, PQerrorMessage(archive->conn));
        PQfinish(archive->conn);
        archive->conn = NULL;
        return -1;
    }
    return 0;
}

/* Closes a connection left in an unknown state, so that the next attempt opens a new
 * one. */
static void drop_connection(struct archive *archive, char *err, size_t err_size)
{
    database_quote_error(err, err_size, PQerrorMessage(archive->conn));
    PQfinish(archive->conn);
    archive->conn = NULL;
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
 * Returns ARCHIVE_REJECTED after logging it when the data is at fault, or FAILED for
 * a failure worth retrying. The error goes into `err` either way.
 */
static int classify_failure(struct archive *archive, const PGresult *result,
                            const char *what, const char *id, const char *topic,
                            char *err, size_t err_size)
{
    const char *sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    char quoted_topic[300];

    database_quote_error(err, err_size, PQresultErrorMessage(result));
    if (PQstatus(archive->conn) != CONNECTION_OK || !is_permanent(sqlstate)) {
        return FAILED;
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

/* The id and topic of an item, for log lines. */
static const char *item_id(const struct archive_item *item)
{
    return item->alert != NULL ? item->alert->id : item->ack->alert_id;
}

static const char *item_topic(const struct archive_item *item)
{
    return item->alert != NULL ? item->alert->topic : item->ack->topic;
}

static void buf_append(struct text_buf *buf, const char *text, size_t len)
{
    if (buf->failed) {
        return;
    }
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        char *data;

        while (cap < buf->len + len + 1) {
            cap *= 2;
        }
        data = realloc(buf->data, cap);
        if (data == NULL) {
            buf->failed = 1;
            return;
        }
        buf->data = data;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, text, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

/* The alerts statement's columns travel as text[] in PostgreSQL's binary array
 * format: a header, then each element as its length and its bytes. Unlike the text
 * form, nothing is quoted or escaped, and the server does not parse the literal. */

static void put_be32(char *out, uint32_t v)
{
    out[0] = (char)(v >> 24);
    out[1] = (char)(v >> 16);
    out[2] = (char)(v >> 8);
    out[3] = (char)v;
}

/* Starts a one-dimensional text array in `buf`: dimensions, flags, element type,
 * then the length and lower bound of its dimension. array_finish() sets the length. */
static void array_start(struct text_buf *buf)
{
    char header[ARRAY_HEADER_BYTES];

    put_be32(header, 1);
    put_be32(header + 4, 0);
    put_be32(header + 8, TEXT_OID);
    put_be32(header + 12, 0);
    put_be32(header + 16, 1);
    buf->len = 0;
    buf->failed = 0;
    buf_append(buf, header, sizeof(header));
}

/* Appends one element: NULL, or the len bytes of value. */
static void array_add(struct text_buf *buf, const char *value, size_t len)
{
    char size[4];

    put_be32(size, value == NULL ? UINT32_MAX : (uint32_t)len);
    buf_append(buf, size, sizeof(size));
    if (value != NULL) {
        buf_append(buf, value, len);
    }
}

/* Writes the element count into the header, and the flag that some are NULL. */
static void array_finish(struct text_buf *buf, size_t count, int has_null)
{
    if (!buf->failed) {
        put_be32(buf->data + 4, has_null ? 1 : 0);
        put_be32(buf->data + 12, (uint32_t)count);
    }
}

/* One statement of a batch: all its alerts, or one acknowledgement. */
struct statement {
    struct archive_item **items;
    size_t count;
    int alerts;
};

/* The parameters of a statement, ready for libpq. */
struct bound {
    const char *name;
    int count;
    const char *values[ALERT_COLUMNS + 1];
    int lengths[ALERT_COLUMNS + 1]; /* of the binary values; libpq ignores the rest */
    int formats[ALERT_COLUMNS + 1]; /* 1 for binary, 0 (as zeroed) for text */
    struct text_buf *columns; /* the writer's, emptied by bind_statement() */
    char version[24];
};

/* Frees the column arrays that one large batch made long. */
static void bound_clear(struct bound *bound)
{
    for (int i = 0; bound->columns != NULL && i < ALERT_COLUMNS; i++) {
        if (bound->columns[i].cap > COLUMN_KEEP_BYTES) {
            free(bound->columns[i].data);
            bound->columns[i] = (struct text_buf){0};
        }
    }
}

/* Adds one alert to the column arrays, noting in has_null the columns that got a
 * NULL. Returns 0, or -1 if memory runs out. */
static int bind_alert(struct archive *archive, const struct archive_row *row,
                      struct bound *bound, int has_null[ALERT_COLUMNS])
{
    char *endpoint_ids = endpoint_set_match(&archive->endpoints, row->topic, row->payload,
                                            row->payload_len);
    const char *values[ALERT_COLUMNS] = {
        row->id,          row->topic,           row->origin,
        row->category,    row->tlp,             row->status,
        row->msg_type,    row->sender,          row->sender_agency,
        row->recipient_states, row->recipient_agencies, row->sent,
        row->expires,     row->received_at,     row->payload,
        endpoint_ids,
    };

    if (endpoint_ids == NULL) {
        return -1;
    }
    for (int i = 0; i < ALERT_COLUMNS; i++) {
        size_t len = i == PAYLOAD_COLUMN ? row->payload_len
                     : values[i] != NULL  ? strlen(values[i])
                                          : 0;

        array_add(&bound->columns[i], values[i], len);
        has_null[i] |= values[i] == NULL;
    }
    free(endpoint_ids);
    return 0;
}

/*
 * Fills `bound` for `statement`. An alert whose id equals the one before it (the
 * items are sorted) is left out: it is a second copy, settled after the commit as a
 * duplicate. Returns 0, or -1 if memory runs out; free with bound_clear() either way.
 */
static int bind_statement(struct archive *archive, const struct statement *statement,
                          struct bound *bound)
{
    int has_null[ALERT_COLUMNS] = {0};
    const struct ack_row *ack;
    size_t rows = 0;

    memset(bound, 0, sizeof(*bound));
    if (!statement->alerts) {
        ack = statement->items[0]->ack;
        bound->name = ACK_STATEMENT;
        bound->count = 8;
        bound->values[0] = ack->alert_id;
        bound->values[1] = ack->origin;
        bound->values[2] = ack->recipient;
        bound->values[3] = ack->sender;
        bound->values[4] = ack->status;
        bound->values[5] = ack->note;
        bound->values[6] = ack->sent;
        bound->values[7] = ack->received_at;
        return 0;
    }
    bound->name = ALERT_STATEMENT;
    bound->count = ALERT_COLUMNS + 1;
    bound->columns = archive->columns;
    for (int i = 0; i < ALERT_COLUMNS; i++) {
        array_start(&archive->columns[i]);
    }
    snprintf(bound->version, sizeof(bound->version), "%lld", archive->endpoints.version);
    bound->values[0] = bound->version;
    for (size_t i = 0; i < statement->count; i++) {
        const struct archive_row *row = statement->items[i]->alert;

        if (i > 0 && strcasecmp(row->id, statement->items[i - 1]->alert->id) == 0) {
            continue;
        }
        if (bind_alert(archive, row, bound, has_null) != 0) {
            return -1;
        }
        rows++;
    }
    for (int i = 0; i < ALERT_COLUMNS; i++) {
        array_finish(&bound->columns[i], rows, has_null[i]);
        if (bound->columns[i].failed || bound->columns[i].len > INT_MAX) {
            return -1;
        }
        bound->values[i + 1] = bound->columns[i].data;
        bound->lengths[i + 1] = (int)bound->columns[i].len;
        bound->formats[i + 1] = 1;
    }
    return 0;
}

/* Returns nonzero if `result` is the successful outcome of `statement`. */
static int statement_succeeded(const struct statement *statement, const PGresult *result)
{
    if (!statement->alerts) {
        return PQresultStatus(result) == PGRES_COMMAND_OK;
    }
    return PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) >= 1 &&
           PQnfields(result) == 2;
}

/* Notes, in the scratch fields of the statement's items, what it did. */
static void note_counts(const struct statement *statement, const PGresult *result)
{
    int current = 1;

    for (size_t i = 0; i < statement->count; i++) {
        statement->items[i]->inserted = 0;
        statement->items[i]->deliveries = 0;
    }
    if (!statement->alerts) {
        statement->items[0]->current = 1;
        statement->items[0]->inserted = strcmp(PQcmdTuples((PGresult *)result), "1") == 0;
        return;
    }
    for (int r = 0; r < PQntuples(result); r++) {
        const char *id = PQgetvalue(result, r, 0);
        long count = strtol(PQgetvalue(result, r, 1), NULL, 10);

        if (PQgetisnull(result, r, 0)) {
            current = count > 0;
            continue;
        }
        /* The first item with this id is the one the statement carried. */
        for (size_t i = 0; i < statement->count; i++) {
            struct archive_item *item = statement->items[i];

            if (!item->inserted && strcasecmp(item->alert->id, id) == 0) {
                item->inserted = 1;
                item->deliveries = count;
                break;
            }
        }
    }
    for (size_t i = 0; i < statement->count; i++) {
        statement->items[i]->current = current;
    }
}

/*
 * Sets the final outcome of an item whose statement committed, from its counts.
 * Returns the number of deliveries it queued, or -1 if its routing version was stale
 * and it stays pending.
 */
static long settle(struct archive *archive, struct archive_item *item)
{
    if (!item->current) {
        return -1;
    }
    if (item->inserted == 0) {
        item->outcome = item->alert != NULL ? (int)check_existing(archive, item->alert)
                                            : ARCHIVE_DUPLICATE;
        return 0;
    }
    item->outcome = ARCHIVE_INSERTED;
    if (item->deliveries > 0) {
        log_msg(LOG_LEVEL_DEBUG, "msg=\"webhook deliveries queued\" id=%s count=%ld",
                item->alert->id, item->deliveries);
    }
    return item->deliveries;
}

/* Settles every pending item after a commit, calls the hook if deliveries were
 * queued, and returns 0, or ROUTING_CHANGED if some items must run again. */
static int settle_all(struct archive *archive, struct archive_item **items, size_t n)
{
    long deliveries = 0;
    int routing_changed = 0;

    for (size_t i = 0; i < n; i++) {
        long queued;

        if (items[i]->outcome != PENDING) {
            continue;
        }
        queued = settle(archive, items[i]);
        if (queued < 0) {
            routing_changed = 1;
        } else {
            deliveries += queued;
        }
    }
    if (deliveries > 0 && archive->hook != NULL) {
        archive->hook(archive->hook_arg);
    }
    if (routing_changed) {
        archive->endpoints_stale = 1;
        return ROUTING_CHANGED;
    }
    return 0;
}

/*
 * Runs the statement of one pending item in a transaction of its own and settles it.
 * Returns 0, FAILED or ROUTING_CHANGED, with the error in `err`.
 */
static int run_single(struct archive *archive, struct archive_item *item, char *err,
                      size_t err_size)
{
    struct statement statement = {&item, 1, item->alert != NULL};
    struct bound bound;
    PGresult *result;
    int rc;

    if (bind_statement(archive, &statement, &bound) != 0) {
        bound_clear(&bound);
        log_quote(err, err_size, "out of memory");
        return FAILED;
    }
    result = PQexecPrepared(archive->conn, bound.name, bound.count, bound.values,
                            bound.lengths, bound.formats, 0);
    bound_clear(&bound);
    if (!statement_succeeded(&statement, result)) {
        rc = classify_failure(archive, result,
                              item->ack != NULL ? "acknowledgement" : "alert",
                              item_id(item), item_topic(item), err, err_size);
        if (rc == ARCHIVE_REJECTED) {
            item->outcome = ARCHIVE_REJECTED;
            rc = 0;
        }
    } else {
        note_counts(&statement, result);
        rc = settle_all(archive, &item, 1);
    }
    PQclear(result);
    return rc;
}

/* Sends `statement` into the pipeline. Returns 0, or -1 with the error in `err`. */
static int send_statement(struct archive *archive, const struct statement *statement,
                          char *err, size_t err_size)
{
    struct bound bound;
    int sent = 0;

    if (bind_statement(archive, statement, &bound) != 0) {
        log_quote(err, err_size, "out of memory");
    } else {
        sent = PQsendQueryPrepared(archive->conn, bound.name, bound.count, bound.values,
                                   bound.lengths, bound.formats, 0);
        if (!sent) {
            database_quote_error(err, err_size, PQerrorMessage(archive->conn));
        }
    }
    bound_clear(&bound);
    return sent ? 0 : -1;
}

/*
 * Reads the results of a pipeline of `count` statements up to its Sync, noting what
 * each did in its items. Returns 0 if every statement succeeded and the transaction
 * committed, BATCH_REJECTED if a row was rejected for its data, or FAILED with the
 * error in `err`. A failure leaves nothing inserted.
 */
static int read_pipeline(struct archive *archive, const struct statement *statements,
                         size_t count, char *err, size_t err_size)
{
    size_t next = 0;
    int rc = 0;
    PGresult *result;

    for (;;) {
        result = PQgetResult(archive->conn);
        if (result == NULL) {
            if (PQstatus(archive->conn) != CONNECTION_OK) {
                return FAILED;
            }
            continue; /* the end of one statement's results */
        }
        if (PQresultStatus(result) == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            return rc;
        }
        if (PQresultStatus(result) == PGRES_FATAL_ERROR) {
            /* An error after the last statement is the commit's own, for example
             * from a deferred constraint; the rows then go one by one as well. */
            const char *sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);

            if (rc == 0) {
                database_quote_error(err, err_size, PQresultErrorMessage(result));
                rc = is_permanent(sqlstate) ? BATCH_REJECTED : FAILED;
            }
        } else if (next < count && statement_succeeded(&statements[next], result)) {
            note_counts(&statements[next], result);
        } else if (PQresultStatus(result) != PGRES_PIPELINE_ABORTED && rc == 0) {
            log_quote(err, err_size, "unexpected result in the archive's pipeline");
            rc = FAILED;
        }
        if (next < count) {
            next++;
        }
        PQclear(result);
    }
}

/*
 * Commits the pending items in one transaction: one statement for the alerts and one
 * per acknowledgement, sent as a pipeline closed by one Sync. Returns 0 or
 * ROUTING_CHANGED after settling them, BATCH_REJECTED if one row is invalid (nothing
 * is inserted), or FAILED with the error in `err`.
 */
static int run_pipeline(struct archive *archive, struct archive_item **items, size_t n,
                        char *err, size_t err_size)
{
    struct archive_item *pending[BATCH_MAX];
    struct statement statements[BATCH_MAX];
    size_t count = 0;
    size_t alerts = 0;
    size_t statement_count = 0;
    int rc;

    /* The items are sorted with the alerts first. */
    for (size_t i = 0; i < n; i++) {
        if (items[i]->outcome == PENDING) {
            alerts += items[i]->alert != NULL;
            pending[count++] = items[i];
        }
    }
    if (alerts > 0) {
        statements[statement_count++] = (struct statement){pending, alerts, 1};
    }
    for (size_t i = alerts; i < count; i++) {
        statements[statement_count++] = (struct statement){&pending[i], 1, 0};
    }

    if (!PQenterPipelineMode(archive->conn)) {
        drop_connection(archive, err, err_size);
        return FAILED;
    }
    for (size_t i = 0; i < statement_count; i++) {
        if (send_statement(archive, &statements[i], err, err_size) != 0) {
            PQfinish(archive->conn);
            archive->conn = NULL;
            return FAILED;
        }
    }
    if (!PQpipelineSync(archive->conn)) {
        drop_connection(archive, err, err_size);
        return FAILED;
    }
    rc = read_pipeline(archive, statements, statement_count, err, err_size);
    if (PQstatus(archive->conn) != CONNECTION_OK) {
        return FAILED;
    }
    if (!PQexitPipelineMode(archive->conn)) {
        drop_connection(archive, err, err_size);
        return FAILED;
    }
    if (rc == BATCH_REJECTED) {
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"database rejected a row of the batch; writing its rows one by "
                "one\" connection=%s rows=%zu error=%s",
                archive->name, count, err);
    }
    if (rc != 0) {
        return rc;
    }
    log_msg(LOG_LEVEL_DEBUG, "msg=\"rows committed together\" connection=%s rows=%zu",
            archive->name, count);
    return settle_all(archive, pending, count);
}

static size_t count_pending(struct archive_item *const *items, size_t n)
{
    size_t pending = 0;

    for (size_t i = 0; i < n; i++) {
        pending += items[i]->outcome == PENDING;
    }
    return pending;
}

/*
 * One attempt at the batch: connects if needed, commits the pending items together,
 * and falls back to one transaction per item when the database rejects one of them.
 * Returns 0 once every item is final, ROUTING_CHANGED if some must run again with the
 * reloaded endpoints, or FAILED with the error in `err`.
 */
static int try_batch(struct archive *archive, struct archive_item **items, size_t n,
                     char *err, size_t err_size)
{
    int rc;

    if (prepare(archive, err, err_size) != 0) {
        return FAILED;
    }
    if (count_pending(items, n) > 1) {
        rc = run_pipeline(archive, items, n, err, err_size);
        if (rc != BATCH_REJECTED) {
            return rc;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i]->outcome != PENDING) {
            continue;
        }
        rc = run_single(archive, items[i], err, err_size);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Logs a failed attempt: the first of an outage at error level, the others at debug
 * level. `waiting` counts the messages held unacknowledged, in the batch and queued
 * behind it. */
static void note_failure(struct archive *archive, const char *id, const char *topic,
                         size_t waiting, const char *err)
{
    char quoted_topic[300];

    archive->outage_attempts++;
    if (archive->in_outage) {
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"database still unavailable\" connection=%s id=%s attempt=%u "
                "waiting=%zu error=%s",
                archive->name, id, archive->outage_attempts, waiting, err);
        return;
    }
    archive->in_outage = 1;
    archive->outage_start = time(NULL);
    log_msg(LOG_LEVEL_ERROR,
            "msg=\"database unavailable; retrying, and the messages stay unacknowledged "
            "until they are archived\" connection=%s id=%s topic=%s waiting=%zu error=%s",
            archive->name, id, log_quote(quoted_topic, sizeof(quoted_topic), topic),
            waiting, err);
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

/* Orders alerts before acknowledgements, each by key, so that concurrent writers
 * take the row locks of a shared key in the same order. */
static int compare_items(const void *a, const void *b)
{
    const struct archive_item *x = *(struct archive_item *const *)a;
    const struct archive_item *y = *(struct archive_item *const *)b;
    int rc;

    if ((x->ack != NULL) != (y->ack != NULL)) {
        return x->ack != NULL ? 1 : -1;
    }
    if (x->alert != NULL) {
        return strcmp(x->alert->id, y->alert->id);
    }
    rc = strcmp(x->ack->alert_id, y->ack->alert_id);
    if (rc == 0) {
        rc = strcmp(x->ack->sender, y->ack->sender);
    }
    return rc != 0 ? rc : strcmp(x->ack->status, y->ack->status);
}

/* Returns the number of items queued behind the batch. */
static size_t queued(struct archive *archive)
{
    size_t count;

    pthread_mutex_lock(&archive->lock);
    count = archive->queued;
    pthread_mutex_unlock(&archive->lock);
    return count;
}

/* Returns nonzero if the connection works and sits outside a transaction, so that a
 * failed statement was the rows' fault rather than the database's. */
static int connection_usable(const struct archive *archive)
{
    return archive->conn != NULL && PQstatus(archive->conn) == CONNECTION_OK &&
           PQtransactionStatus(archive->conn) == PQTRANS_IDLE;
}

/*
 * Runs each pending item in a transaction of its own, after the batch failed while
 * the database stayed reachable. Items whose statement fails again stay pending, to
 * be retried later without holding up the others. Returns 0, ROUTING_CHANGED, or
 * FAILED if the connection broke meanwhile.
 */
static int try_rows(struct archive *archive, struct archive_item **items, size_t n,
                    char *err, size_t err_size)
{
    for (size_t i = 0; i < n; i++) {
        int rc;

        if (items[i]->outcome != PENDING) {
            continue;
        }
        rc = run_single(archive, items[i], err, err_size);
        if (rc == ROUTING_CHANGED) {
            return rc;
        }
        if (rc == FAILED && !connection_usable(archive)) {
            return FAILED;
        }
    }
    return 0;
}

/* Logs the rows a reachable database failed: at error level at most every 10 s, at
 * debug level in between, so that a failing schema does not log every alert. */
static void note_failed_rows(struct archive *archive, struct archive_item **items,
                             size_t n, const char *err)
{
    time_t now = time(NULL);
    int level = now - archive->row_error_logged >= 10 ? LOG_LEVEL_ERROR : LOG_LEVEL_DEBUG;
    char quoted_topic[300];

    for (size_t i = 0; i < n; i++) {
        if (items[i]->outcome != PENDING) {
            continue;
        }
        log_msg(level,
                "msg=\"database failed the row; retrying it later, and its message stays "
                "unacknowledged\" connection=%s id=%s topic=%s error=%s",
                archive->name, item_id(items[i]),
                log_quote(quoted_topic, sizeof(quoted_topic), item_topic(items[i])), err);
        if (level == LOG_LEVEL_ERROR) {
            archive->row_error_logged = now;
            level = LOG_LEVEL_DEBUG;
        }
    }
}

/*
 * Writes a batch until every item is final, with two exceptions. While the database
 * is unavailable it retries the whole batch with backoff, and marks the rest
 * ARCHIVE_STOPPED once the stop flag is set. When the database is reachable but
 * fails some rows with an error worth retrying, it commits the others and returns
 * with those rows pending, for writer_main() to retry later.
 */
static void write_batch(struct archive *archive, struct archive_item **items, size_t n)
{
    struct database_backoff backoff = {BACKOFF_FIRST_MS, BACKOFF_MAX_MS, 0};
    int routing_rounds = 0;
    char err[600];
    int rc;

    qsort(items, n, sizeof(*items), compare_items);
    for (;;) {
        rc = try_batch(archive, items, n, err, sizeof(err));
        if (rc == FAILED && connection_usable(archive)) {
            rc = try_rows(archive, items, n, err, sizeof(err));
            if (rc == 0 && count_pending(items, n) > 0) {
                note_failed_rows(archive, items, n, err);
                return;
            }
        }
        if (rc == 0) {
            note_recovery(archive);
            return;
        }
        if (rc == ROUTING_CHANGED && ++routing_rounds < ROUTING_RETRIES) {
            continue;
        }
        if (rc == ROUTING_CHANGED) {
            log_quote(err, sizeof(err), "webhook endpoints kept changing during the insert");
        }
        routing_rounds = 0;
        note_failure(archive, item_id(items[0]), item_topic(items[0]),
                     count_pending(items, n) + queued(archive), err);
        if (thread_sleep_unless_stopped(database_backoff_next(&backoff), archive->stop)) {
            for (size_t i = 0; i < n; i++) {
                if (items[i]->outcome == PENDING) {
                    items[i]->outcome = ARCHIVE_STOPPED;
                }
            }
            return;
        }
    }
}

static long monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Puts the items still pending into the retry list, each with its delay doubled. */
static void schedule_retries(struct archive *archive, struct archive_item **items, size_t n)
{
    long now = monotonic_ms();

    for (size_t i = 0; i < n; i++) {
        struct archive_item *item = items[i];

        if (item->outcome != PENDING) {
            continue;
        }
        if (item->retry_delay_ms == 0) {
            item->retry_delay_ms = BACKOFF_FIRST_MS;
        } else if (item->retry_delay_ms * 2 > BACKOFF_MAX_MS) {
            item->retry_delay_ms = BACKOFF_MAX_MS;
        } else {
            item->retry_delay_ms *= 2;
        }
        item->retry_at_ms = now + item->retry_delay_ms;
        item->next = archive->retry;
        archive->retry = item;
    }
}

/* Moves the retry items that are due (all of them once the stop flag is set) into
 * `batch` after its first `n` items, up to BATCH_MAX. Returns the new count. */
static size_t take_due_retries(struct archive *archive, struct archive_item **batch,
                               size_t n)
{
    long now = monotonic_ms();
    int stopping = atomic_load(archive->stop);
    struct archive_item **link = &archive->retry;

    while (*link != NULL && n < BATCH_MAX) {
        struct archive_item *item = *link;

        if (stopping || item->retry_at_ms <= now) {
            *link = item->next;
            if (stopping) {
                item->outcome = ARCHIVE_STOPPED;
            }
            batch[n++] = item;
        } else {
            link = &item->next;
        }
    }
    return n;
}

/* Returns how long the writer may wait for new rows before a retry is due, in ms:
 * -1 without retries, at most 100 so that a stop request is seen. */
static long retry_wait_ms(const struct archive *archive)
{
    long now = monotonic_ms();
    long wait = -1;

    for (const struct archive_item *item = archive->retry; item != NULL;
         item = item->next) {
        long due = item->retry_at_ms - now;

        if (wait < 0 || due < wait) {
            wait = due < 0 ? 0 : due;
        }
    }
    if (wait > 100) {
        wait = 100;
    }
    return wait;
}

static size_t item_bytes(const struct archive_item *item)
{
    return item->alert != NULL ? item->alert->payload_len : 256;
}

/* Returns the time on the work condition's clock `us` microseconds from now. */
static struct timespec deadline_after(long us)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += us * 1000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    return until;
}

/* Waits on the work condition for at most `ms` milliseconds, or without limit when
 * `ms` is negative. Called with the lock held. */
static void wait_for_work(struct archive *archive, long ms)
{
    struct timespec until;

    if (ms < 0) {
        pthread_cond_wait(&archive->work, &archive->lock);
        return;
    }
    until = deadline_after(ms * 1000L);
    pthread_cond_timedwait(&archive->work, &archive->lock, &until);
}

/* Waits up to GATHER_US until `expected` items are queued. Under load the threads
 * released by the last commit come back with their next rows within that time, and
 * one commit of all of them costs the database far less than several small ones. At
 * low load the last batch is a single row, and nothing waits. Called with the lock
 * held and at least one item queued. */
static void gather(struct archive *archive, size_t expected)
{
    struct timespec until;

    if (expected > BATCH_MAX) {
        expected = BATCH_MAX;
    }
    if (archive->queued >= expected) {
        return;
    }
    until = deadline_after(GATHER_US);
    archive->wake_at = expected;
    while (archive->queued < expected && !archive->closing &&
           !atomic_load(archive->stop)) {
        if (pthread_cond_timedwait(&archive->work, &archive->lock, &until) != 0) {
            break;
        }
    }
    archive->wake_at = 1;
}

static void *writer_main(void *arg)
{
    struct archive *archive = arg;
    struct archive_item *batch[BATCH_MAX];
    size_t released = 0; /* threads the last batch released */

    for (;;) {
        size_t n = 0;
        long bytes = 0;
        long wait;

        pthread_mutex_lock(&archive->lock);
        while (archive->head == NULL && (wait = retry_wait_ms(archive)) != 0 &&
               !(archive->closing && archive->retry == NULL) &&
               !(archive->retry != NULL && atomic_load(archive->stop))) {
            wait_for_work(archive, wait);
        }
        if (archive->head == NULL && archive->retry == NULL) {
            pthread_mutex_unlock(&archive->lock);
            return NULL;
        }
        if (archive->head != NULL) {
            gather(archive, released);
        }
        while (archive->head != NULL && n < BATCH_MAX && bytes < BATCH_BYTES) {
            batch[n] = archive->head;
            archive->head = archive->head->next;
            archive->queued--;
            bytes += (long)item_bytes(batch[n]);
            n++;
        }
        if (archive->head == NULL) {
            archive->tail = NULL;
        }
        pthread_mutex_unlock(&archive->lock);

        n = take_due_retries(archive, batch, n);
        if (count_pending(batch, n) > 0) {
            write_batch(archive, batch, n);
        }
        schedule_retries(archive, batch, n);

        /* Each waiting thread is woken alone: a broadcast would also wake the
         * threads whose rows wait for the next batch. */
        pthread_mutex_lock(&archive->lock);
        released = 0;
        for (size_t i = 0; i < n; i++) {
            batch[i]->done = batch[i]->outcome != PENDING;
            if (batch[i]->done) {
                pthread_cond_signal(&batch[i]->wake);
                released++;
            }
        }
        pthread_mutex_unlock(&archive->lock);
    }
}

int archive_start(struct archive *archive)
{
    int rc = pthread_create(&archive->thread, NULL, writer_main, archive);

    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot start the archive thread\" error=\"%s\"",
                strerror(rc));
        return -1;
    }
    archive->thread_started = 1;
    return 0;
}

/* Hands `item` to the writer and waits until its outcome is final. */
static enum archive_result submit(struct archive *archive, struct archive_item *item)
{
    item->outcome = PENDING;
    item->done = 0;
    item->next = NULL;
    pthread_cond_init(&item->wake, NULL);
    pthread_mutex_lock(&archive->lock);
    if (archive->tail != NULL) {
        archive->tail->next = item;
    } else {
        archive->head = item;
    }
    archive->tail = item;
    archive->queued++;
    if (archive->queued >= archive->wake_at || archive->closing) {
        pthread_cond_signal(&archive->work);
    }
    while (!item->done) {
        pthread_cond_wait(&item->wake, &archive->lock);
    }
    pthread_mutex_unlock(&archive->lock);
    pthread_cond_destroy(&item->wake);
    return (enum archive_result)item->outcome;
}

enum archive_result archive_insert(struct archive *archive, const struct archive_row *row)
{
    struct archive_item item = {.alert = row};

    return submit(archive, &item);
}

enum archive_result archive_insert_ack(struct archive *archive, const struct ack_row *row)
{
    struct archive_item item = {.ack = row};

    return submit(archive, &item);
}
