#include "webhook.h"

#include "database.h"
#include "endpoints.h"
#include "log.h"
#include "thread.h"
#include "webhook_request.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Due deliveries are claimed at least this often, also those queued by other bridges
 * and those whose retry time has come. */
#define POLL_MS 1000L

/* A claim lasts the request timeout plus this margin. */
#define LEASE_MARGIN_MS 60000L

#define DB_RETRY_FIRST_MS 500L
#define DB_RETRY_MAX_MS 30000L

/* Endpoints are reloaded at least this often, in case a notification was missed. */
#define ENDPOINTS_MAX_AGE_SECONDS 300

enum outcome_kind {
    OUTCOME_DELIVERED,
    OUTCOME_FAILED,   /* retry after retry_ms, or dead after the last attempt */
    OUTCOME_RELEASED, /* not attempted after all: hand the claim back */
};

/* The result of one claim, waiting to be written to the deliveries table. */
struct outcome {
    enum outcome_kind kind;
    long long delivery_id;
    int attempt;
    long retry_ms;
    char error[300];
    struct outcome *next;
};

/* Consecutive failures of an endpoint, so that only the first of a series is logged
 * as a warning. */
struct endpoint_health {
    long long endpoint_id;
    unsigned failures;
};

struct webhook_worker {
    struct webhook_options options;
    struct webhook_request_options request_options;
    const atomic_int *stop;
    CURLM *multi;
    PGconn *conn;
    struct endpoint_set endpoints;
    int endpoints_stale;
    time_t endpoints_loaded_at;
    struct webhook_request *requests; /* in flight */
    struct outcome *outcomes;         /* not yet recorded, oldest first */
    struct endpoint_health *health;
    size_t health_count;
    atomic_int woken;
    long long next_claim_ms; /* monotonic time of the next claim */
    int backlog;             /* the last claim filled every endpoint's room */
    long long db_retry_at_ms;
    struct database_backoff db_backoff;
    int db_outage;
    pthread_t thread;
    int thread_started;
    atomic_int thread_ended;
};

static const char claim_sql[] =
    "WITH room AS ("
    "  SELECT * FROM unnest($1::bigint[], $2::int[]) AS r(endpoint_id, n)), "
    "claimed AS ("
    "  SELECT c.id FROM room CROSS JOIN LATERAL ("
    "    SELECT id FROM deliveries "
    "    WHERE endpoint_id = room.endpoint_id AND status = 'pending' "
    "      AND next_attempt_at <= now() "
    "    ORDER BY next_attempt_at LIMIT room.n FOR UPDATE SKIP LOCKED) c) "
    "UPDATE deliveries d SET attempts = d.attempts + 1, last_attempt_at = now(), "
    "  claimed_until = now() + $3::bigint * interval '1 millisecond', "
    "  next_attempt_at = now() + $3::bigint * interval '1 millisecond' "
    "FROM claimed c, alerts a WHERE d.id = c.id AND a.id = d.alert_id "
    "RETURNING d.id, d.endpoint_id, d.attempts, coalesce(a.raw_payload, a.payload::text)";

static const char delivered_sql[] =
    "UPDATE deliveries SET status = 'delivered', delivered_at = now(), "
    "  claimed_until = NULL, last_error = NULL "
    "WHERE id = $1 AND status <> 'delivered'";

/* Ignored when another bridge has claimed the row again since (attempts differ). */
static const char failed_sql[] =
    "UPDATE deliveries SET "
    "  status = CASE WHEN attempts >= $3::int THEN 'dead' ELSE 'pending' END, "
    "  next_attempt_at = now() + $4::bigint * interval '1 millisecond', "
    "  claimed_until = NULL, last_error = $5 "
    "WHERE id = $1 AND attempts = $2::int AND status = 'pending'";

static const char released_sql[] =
    "UPDATE deliveries SET attempts = attempts - 1, next_attempt_at = now(), "
    "  claimed_until = NULL "
    "WHERE id = $1 AND attempts = $2::int AND status = 'pending'";

static long long monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Returns the delay before the attempt after `attempt` (1 for the first): uniform in
 * [0, min(backoff_max, backoff_first * 2^(attempt - 1))] milliseconds. */
static long retry_delay_ms(const struct webhook_options *options, int attempt)
{
    long cap = options->backoff_first_ms;

    for (int i = 1; i < attempt && cap < options->backoff_max_ms; i++) {
        cap *= 2;
    }
    if (cap > options->backoff_max_ms) {
        cap = options->backoff_max_ms;
    }
    return (long)arc4random_uniform((uint32_t)cap + 1);
}

/* Database ------------------------------------------------------------------------ */

static void drop_connection(struct webhook_worker *w, const char *err)
{
    char quoted[600];

    PQfinish(w->conn);
    w->conn = NULL;
    w->db_retry_at_ms = monotonic_ms() + database_backoff_next(&w->db_backoff);
    if (!w->db_outage) {
        w->db_outage = 1;
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"webhook worker cannot use the database; deliveries wait, and it "
                "reconnects with backoff\" connection=%s error=%s",
                w->options.name, database_quote_error(quoted, sizeof(quoted), err));
    }
}

static int open_connection(struct webhook_worker *w)
{
    char err[512];

    w->conn = database_connect(w->options.conninfo, w->options.name,
                               "LISTEN iactn_policy", err, sizeof(err));
    if (w->conn == NULL) {
        drop_connection(w, err);
        return -1;
    }
    w->endpoints_stale = 1;
    database_backoff_reset(&w->db_backoff);
    if (w->db_outage) {
        w->db_outage = 0;
        log_msg(LOG_LEVEL_INFO,
                "msg=\"webhook worker connected to the database again\" connection=%s",
                w->options.name);
    }
    return 0;
}

/* Returns 0 with a working connection, or -1 while the database is unavailable. */
static int ensure_database(struct webhook_worker *w)
{
    if (w->conn != NULL && PQstatus(w->conn) == CONNECTION_OK) {
        return 0;
    }
    if (w->conn != NULL) {
        drop_connection(w, PQerrorMessage(w->conn));
    }
    if (monotonic_ms() < w->db_retry_at_ms) {
        return -1;
    }
    return open_connection(w);
}

static int concerns_endpoints(const char *table)
{
    return strcmp(table, "endpoints") == 0 || strcmp(table, "agencies") == 0 ||
           strcmp(table, "member_states") == 0;
}

/* Reloads the endpoints after a notification, or when the copy is old. Returns 0, or
 * -1 after dropping a broken connection. */
static int refresh_endpoints(struct webhook_worker *w)
{
    char err[512];
    PGnotify *notification;

    if (!PQconsumeInput(w->conn)) {
        drop_connection(w, PQerrorMessage(w->conn));
        return -1;
    }
    while ((notification = PQnotifies(w->conn)) != NULL) {
        w->endpoints_stale |= concerns_endpoints(notification->extra);
        PQfreemem(notification);
    }
    if (!w->endpoints_stale &&
        time(NULL) - w->endpoints_loaded_at < ENDPOINTS_MAX_AGE_SECONDS) {
        return 0;
    }
    if (endpoint_set_load(&w->endpoints, w->conn, ENDPOINT_WITH_SECRETS, err,
                          sizeof(err)) != 0) {
        drop_connection(w, err);
        return -1;
    }
    w->endpoints_stale = 0;
    w->endpoints_loaded_at = time(NULL);
    w->next_claim_ms = 0;
    log_msg(LOG_LEVEL_DEBUG, "msg=\"webhook endpoints loaded\" connection=%s count=%zu",
            w->options.name, w->endpoints.count);
    return 0;
}

/* Outcomes -------------------------------------------------------------------------- */

static void add_outcome(struct webhook_worker *w, enum outcome_kind kind,
                        const struct webhook_request *request, const char *error)
{
    struct outcome *outcome = calloc(1, sizeof(*outcome));
    struct outcome **tail = &w->outcomes;

    if (outcome == NULL) {
        /* The lease ends on its own and the delivery is attempted again. */
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"out of memory; delivery outcome lost\" "
                "delivery=%lld",
                request->delivery_id);
        return;
    }
    outcome->kind = kind;
    outcome->delivery_id = request->delivery_id;
    outcome->attempt = request->attempt;
    snprintf(outcome->error, sizeof(outcome->error), "%s", error ? error : "");
    if (kind == OUTCOME_FAILED) {
        outcome->retry_ms = retry_delay_ms(&w->options, request->attempt);
    }
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = outcome;
}

/* Writes one outcome. Returns 0 when it is done with (written, or rejected by the
 * database for good), -1 when the connection failed and it must be written later. */
static int record_outcome(struct webhook_worker *w, const struct outcome *outcome)
{
    char id[24], attempt[16], attempts[16], retry[24];
    const char *params[] = {id, attempt, attempts, retry, outcome->error};
    const char *sql = outcome->kind == OUTCOME_DELIVERED ? delivered_sql
                      : outcome->kind == OUTCOME_FAILED  ? failed_sql
                                                         : released_sql;
    int nparams = outcome->kind == OUTCOME_DELIVERED ? 1
                  : outcome->kind == OUTCOME_FAILED  ? 5
                                                     : 2;
    char quoted[600];
    PGresult *result;
    int rc = 0;

    snprintf(id, sizeof(id), "%lld", outcome->delivery_id);
    snprintf(attempt, sizeof(attempt), "%d", outcome->attempt);
    snprintf(attempts, sizeof(attempts), "%ld", w->options.attempts);
    snprintf(retry, sizeof(retry), "%ld", outcome->retry_ms);
    result = PQexecParams(w->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        if (PQstatus(w->conn) != CONNECTION_OK) {
            rc = -1;
        } else {
            log_msg(LOG_LEVEL_ERROR,
                    "msg=\"database rejected a delivery outcome\" delivery=%lld error=%s",
                    outcome->delivery_id,
                    database_quote_error(quoted, sizeof(quoted),
                                         PQresultErrorMessage(result)));
        }
    } else if (strcmp(PQcmdTuples(result), "0") == 0) {
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"delivery outcome not recorded; the row changed meanwhile\" "
                "delivery=%lld attempt=%d",
                outcome->delivery_id, outcome->attempt);
    }
    PQclear(result);
    return rc;
}

/* Writes the waiting outcomes, oldest first, until the connection fails. */
static void record_outcomes(struct webhook_worker *w)
{
    while (w->outcomes != NULL) {
        struct outcome *outcome = w->outcomes;

        if (record_outcome(w, outcome) != 0) {
            drop_connection(w, PQerrorMessage(w->conn));
            return;
        }
        if (outcome->kind == OUTCOME_FAILED && outcome->retry_ms < POLL_MS &&
            monotonic_ms() + outcome->retry_ms < w->next_claim_ms) {
            w->next_claim_ms = monotonic_ms() + outcome->retry_ms;
        }
        w->outcomes = outcome->next;
        free(outcome);
    }
}

/* Logging of finished requests ------------------------------------------------------ */

static struct endpoint_health *health_of(struct webhook_worker *w, long long endpoint_id)
{
    struct endpoint_health *grown;

    for (size_t i = 0; i < w->health_count; i++) {
        if (w->health[i].endpoint_id == endpoint_id) {
            return &w->health[i];
        }
    }
    grown = realloc(w->health, (w->health_count + 1) * sizeof(*grown));
    if (grown == NULL) {
        return NULL;
    }
    w->health = grown;
    grown[w->health_count] = (struct endpoint_health){endpoint_id, 0};
    return &grown[w->health_count++];
}

static void log_delivered(struct webhook_worker *w, const struct webhook_request *request,
                          const struct webhook_result *result)
{
    struct endpoint_health *health = health_of(w, request->endpoint_id);

    if (health != NULL && health->failures > 0) {
        log_msg(LOG_LEVEL_INFO,
                "msg=\"webhook endpoint responds with 2xx again\" endpoint=%lld "
                "failed_attempts=%u",
                request->endpoint_id, health->failures);
        health->failures = 0;
    }
    log_msg(LOG_LEVEL_INFO,
            "msg=\"webhook delivered\" delivery=%lld endpoint=%lld attempt=%d "
            "http_status=%ld ms=%lld",
            request->delivery_id, request->endpoint_id, request->attempt,
            result->http_status, monotonic_ms() - request->started_ms);
}

static void log_failed(struct webhook_worker *w, const struct webhook_request *request,
                       const struct webhook_result *result)
{
    struct endpoint_health *health = health_of(w, request->endpoint_id);
    char quoted[400];
    int first = health == NULL || health->failures == 0;

    if (health != NULL) {
        health->failures++;
    }
    log_quote(quoted, sizeof(quoted), result->error);
    if (request->attempt >= w->options.attempts) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"webhook delivery is dead after its last attempt; re-queue it with "
                "'iactn-admin deliveries retry'\" delivery=%lld endpoint=%lld "
                "attempts=%d error=%s",
                request->delivery_id, request->endpoint_id, request->attempt, quoted);
        return;
    }
    log_msg(first ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG,
            "msg=\"webhook attempt failed; it will be retried%s\" delivery=%lld "
            "endpoint=%lld attempt=%d error=%s",
            first ? ", and further failures of this endpoint are logged at debug level "
                    "until it responds with 2xx"
                  : "",
            request->delivery_id, request->endpoint_id, request->attempt, quoted);
}

/* Requests -------------------------------------------------------------------------- */

static void unlink_request(struct webhook_worker *w, struct webhook_request *request)
{
    for (struct webhook_request **p = &w->requests; *p != NULL; p = &(*p)->next) {
        if (*p == request) {
            *p = request->next;
            return;
        }
    }
}

/* Collects the finished transfers and queues their outcomes. */
static void finish_transfers(struct webhook_worker *w)
{
    struct webhook_request *request;
    struct webhook_result result;
    CURLMsg *message;
    char *private_data;
    int left;

    while ((message = curl_multi_info_read(w->multi, &left)) != NULL) {
        if (message->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &private_data);
        request = (struct webhook_request *)private_data;
        webhook_request_result(request, message->data.result, &result);
        curl_multi_remove_handle(w->multi, request->easy);
        unlink_request(w, request);
        if (result.delivered) {
            log_delivered(w, request, &result);
            add_outcome(w, OUTCOME_DELIVERED, request, NULL);
        } else {
            log_failed(w, request, &result);
            add_outcome(w, OUTCOME_FAILED, request, result.error);
        }
        webhook_request_free(request);
        if (w->backlog) {
            w->next_claim_ms = 0;
        }
    }
}

static int in_flight(const struct webhook_worker *w, long long endpoint_id)
{
    int count = 0;

    for (const struct webhook_request *r = w->requests; r != NULL; r = r->next) {
        count += r->endpoint_id == endpoint_id;
    }
    return count;
}

/* Starts the request of one claimed row. */
static void start_request(struct webhook_worker *w, const PGresult *result, int row)
{
    struct webhook_request claimed = {0};
    struct webhook_request *request;
    const struct endpoint *endpoint;
    char err[200];

    claimed.delivery_id = strtoll(PQgetvalue(result, row, 0), NULL, 10);
    claimed.endpoint_id = strtoll(PQgetvalue(result, row, 1), NULL, 10);
    claimed.attempt = atoi(PQgetvalue(result, row, 2));
    endpoint = endpoint_set_find(&w->endpoints, claimed.endpoint_id);
    if (endpoint == NULL) {
        add_outcome(w, OUTCOME_RELEASED, &claimed, NULL);
        return;
    }
    request = webhook_request_new(&w->request_options, endpoint, claimed.delivery_id,
                                  claimed.attempt, PQgetvalue(result, row, 3),
                                  (size_t)PQgetlength(result, row, 3), err, sizeof(err));
    if (request == NULL || curl_multi_add_handle(w->multi, request->easy) != CURLM_OK) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"cannot start a webhook request\" delivery=%lld "
                "error=\"%s\"",
                claimed.delivery_id, request == NULL ? err : "curl_multi_add_handle");
        webhook_request_free(request);
        add_outcome(w, OUTCOME_FAILED, &claimed,
                    "the bridge could not start the request");
        return;
    }
    request->next = w->requests;
    w->requests = request;
}

/* Writes the free room of each endpoint as two array literals. Returns the total
 * room, or -1 if memory runs out. */
static long room_literals(const struct webhook_worker *w, char **ids, char **counts)
{
    size_t size = w->endpoints.count * 22 + 3;
    size_t used_ids = 1, used_counts = 1;
    long total = 0;

    *ids = malloc(size);
    *counts = malloc(size);
    if (*ids == NULL || *counts == NULL) {
        return -1;
    }
    strcpy(*ids, "{");
    strcpy(*counts, "{");
    for (size_t i = 0; i < w->endpoints.count; i++) {
        long long id = w->endpoints.items[i].id;
        int room = (int)w->options.concurrency - in_flight(w, id);

        if (room <= 0) {
            continue;
        }
        used_ids += (size_t)sprintf(*ids + used_ids, "%s%lld", total ? "," : "", id);
        used_counts +=
            (size_t)sprintf(*counts + used_counts, "%s%d", total ? "," : "", room);
        total += room;
    }
    strcpy(*ids + used_ids, "}");
    strcpy(*counts + used_counts, "}");
    return total;
}

/* Claims the due deliveries that fit the endpoints' room and starts their requests. */
static void claim(struct webhook_worker *w)
{
    char lease[24];
    char *ids = NULL, *counts = NULL;
    const char *params[] = {NULL, NULL, lease};
    long room = room_literals(w, &ids, &counts);
    PGresult *result = NULL;
    int rows;

    w->next_claim_ms = monotonic_ms() + POLL_MS;
    if (room <= 0) {
        goto out;
    }
    params[0] = ids;
    params[1] = counts;
    snprintf(lease, sizeof(lease), "%ld", w->options.timeout_ms + LEASE_MARGIN_MS);
    result = PQexecParams(w->conn, claim_sql, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        drop_connection(w, PQresultErrorMessage(result));
        goto out;
    }
    rows = PQntuples(result);
    w->backlog = rows >= room;
    for (int i = 0; i < rows; i++) {
        start_request(w, result, i);
    }
    if (rows > 0) {
        log_msg(LOG_LEVEL_DEBUG, "msg=\"webhook deliveries claimed\" count=%d", rows);
    }

out:
    PQclear(result);
    free(ids);
    free(counts);
}

/* Thread --------------------------------------------------------------------------- */

/* Waits for network activity, a notification, a wake-up or the next claim time. */
static void wait_for_work(struct webhook_worker *w)
{
    struct curl_waitfd database = {0};
    long long now = monotonic_ms();
    long long until = w->next_claim_ms;
    unsigned extra = 0;
    long timeout;

    if (w->conn == NULL) {
        until = w->db_retry_at_ms;
    } else {
        database.fd = PQsocket(w->conn);
        database.events = CURL_WAIT_POLLIN;
        extra = database.fd >= 0 ? 1 : 0;
    }
    timeout = until <= now ? 0 : (until - now > POLL_MS ? POLL_MS : (long)(until - now));
    curl_multi_poll(w->multi, extra ? &database : NULL, extra, (int)timeout, NULL);
}

/* Hands the claims of the requests in flight back, so that they go out again at once
 * (here or from another bridge) without counting as an attempt. */
static void release_all(struct webhook_worker *w)
{
    while (w->requests != NULL) {
        struct webhook_request *request = w->requests;

        w->requests = request->next;
        curl_multi_remove_handle(w->multi, request->easy);
        add_outcome(w, OUTCOME_RELEASED, request, NULL);
        webhook_request_free(request);
    }
    if (w->conn != NULL && PQstatus(w->conn) == CONNECTION_OK) {
        record_outcomes(w);
    }
}

static void *worker_main(void *arg)
{
    struct webhook_worker *w = arg;
    int running;

    while (!atomic_load(w->stop)) {
        if (atomic_exchange(&w->woken, 0)) {
            w->next_claim_ms = 0;
        }
        if (ensure_database(w) == 0 && refresh_endpoints(w) == 0) {
            record_outcomes(w);
        }
        if (w->conn != NULL && monotonic_ms() >= w->next_claim_ms) {
            claim(w);
        }
        curl_multi_perform(w->multi, &running);
        finish_transfers(w);
        if (w->conn != NULL && w->outcomes != NULL) {
            record_outcomes(w);
        }
        wait_for_work(w);
    }
    release_all(w);
    atomic_store(&w->thread_ended, 1);
    return NULL;
}

/* Public functions ------------------------------------------------------------------ */

struct webhook_worker *webhook_worker_new(const struct webhook_options *options,
                                          const atomic_int *stop)
{
    struct webhook_worker *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        return NULL;
    }
    w->options = *options;
    w->request_options.ca_file = options->ca_file;
    w->request_options.proxy = options->proxy;
    w->request_options.timeout_ms = options->timeout_ms;
    w->stop = stop;
    w->db_backoff.first_ms = DB_RETRY_FIRST_MS;
    w->db_backoff.max_ms = DB_RETRY_MAX_MS;
    w->endpoints_stale = 1;
    w->multi = curl_multi_init();
    if (w->multi == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot create the libcurl multi handle\"");
        free(w);
        return NULL;
    }
    return w;
}

int webhook_worker_start(struct webhook_worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);

    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot start the webhook thread\" error=\"%s\"",
                strerror(rc));
        return -1;
    }
    w->thread_started = 1;
    return 0;
}

void webhook_worker_wake(void *worker)
{
    struct webhook_worker *w = worker;

    atomic_store(&w->woken, 1);
    curl_multi_wakeup(w->multi);
}

int webhook_worker_stop(struct webhook_worker *w, int timeout_seconds)
{
    if (!w->thread_started) {
        return 0;
    }
    curl_multi_wakeup(w->multi);
    if (thread_join_within(w->thread, &w->thread_ended, timeout_seconds) != 0) {
        return -1;
    }
    w->thread_started = 0;
    return 0;
}

void webhook_worker_free(struct webhook_worker *w)
{
    if (w == NULL) {
        return;
    }
    while (w->outcomes != NULL) {
        struct outcome *next = w->outcomes->next;

        free(w->outcomes);
        w->outcomes = next;
    }
    curl_multi_cleanup(w->multi);
    PQfinish(w->conn);
    endpoint_set_clear(&w->endpoints);
    free(w->health);
    free(w);
}
