/*
 * The policy snapshot and the loader thread that keeps it current.
 *
 * Only snapshot_start blocks mosquitto's main thread, to read the first policy. Then
 * a loader thread owns the database connection: it waits for NOTIFY iactn_policy,
 * reads and builds each new policy by itself, and hands it over. The main thread puts
 * it in force at its next tick, with a pointer swap followed by disconnecting the
 * clients that lost their rights. So neither a slow query nor the building of a large
 * policy stalls the broker, and a reload waits for one tick at most, not one per step
 * of the query.
 *
 * On any failure the last good policy stays in force and the thread reconnects with
 * backoff. After every reconnect it reloads, because notifications sent while the
 * connection was down are lost. A notification that arrives during a load is queued
 * by libpq and starts another load, since the load's snapshot may predate the change.
 * The thread never calls into mosquitto: its log lines are queued and written by the
 * main thread at the tick. snapshot_stop() cancels a load that waits on a lock.
 *
 * The thread gives itself a descriptor table of its own. While two threads share one,
 * Linux takes a reference on the file of every system call, and mosquitto makes about
 * 200 of them per alert sent to 35 subscribers (docs/benchmarks.md).
 */
#define _GNU_SOURCE /* unshare, CLONE_FILES, close_range */
#include "plugin.h"
#include "dblink.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30
#define MAX_QUEUED_LINES 16
#define LINE_SIZE 600

struct log_line {
    int level;
    char text[LINE_SIZE];
};

static struct {
    struct iactn_policy *policy; /* in force; the main thread's own */
    char *conninfo;
    PGconn *start_conn; /* the start's connection, with LISTEN active; the thread's */
    bool start_failed;
    pthread_t thread;
    bool thread_started;
    int wake[2]; /* a byte written to wake[1] stops the thread */

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t table_known;
    int table; /* 0 until the thread has tried to own its descriptor table, then 1 if it
                  does, -1 if it still shares the broker's */
    struct iactn_policy *ready; /* built by the thread, not yet in force */
    PGcancel *cancel;           /* cancels the loader connection's query, or NULL */
    struct log_line lines[MAX_QUEUED_LINES];
    int n_lines;
    int dropped_lines;
} snap = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .table_known = PTHREAD_COND_INITIALIZER,
          .wake = {-1, -1}};

static const char listen_sql[] = "LISTEN iactn_policy";

const struct iactn_policy *snapshot_policy(void)
{
    return snap.policy;
}

static const char *outage_consequence(bool have_policy)
{
    return have_policy ? "keeping the last policy" : "refusing every client";
}

static void swap_in(struct iactn_policy *fresh, const char *why)
{
    struct iactn_policy *old = snap.policy;
    char detail[160];

    snap.policy = fresh;
    plugin_log(MOSQ_LOG_NOTICE,
               "policy loaded reason=%s certificates=%zu principals=%zu acl_rules=%zu "
               "sharing_rules=%zu",
               why, fresh->n_certs, fresh->n_principals, fresh->n_acl, fresh->n_rules);
    snprintf(detail, sizeof(detail),
             "{\"reason\":\"%s\",\"certificates\":%zu,\"principals\":%zu,\"acl_rules\":%zu,"
             "\"sharing_rules\":%zu}",
             why, fresh->n_certs, fresh->n_principals, fresh->n_acl, fresh->n_rules);
    audit_record("broker", "policy-load", "", detail);
    /* clients whose rights are gone leave before the old policy is freed */
    clients_enforce(fresh);
    policy_free(old);
}

/* Queues a log line for the main thread (the loader thread's only way to log). */
static void queue_line(int level, const char *format, ...)
{
    va_list args;

    pthread_mutex_lock(&snap.lock);
    if (snap.n_lines == MAX_QUEUED_LINES) {
        snap.dropped_lines++;
    } else {
        va_start(args, format);
        vsnprintf(snap.lines[snap.n_lines].text, LINE_SIZE, format, args);
        va_end(args);
        snap.lines[snap.n_lines++].level = level;
    }
    pthread_mutex_unlock(&snap.lock);
}

/* Formats the line that reports the first failure of an outage. */
static void format_failure(char *out, size_t size, const char *what, const char *error,
                           bool have_policy)
{
    char detail[256];

    dblink_one_line(error, detail, sizeof(detail));
    snprintf(out, size,
             "database link=policy failed=\"%s\" error=\"%s\" consequence=\"%s\" "
             "retry_max_s=%d",
             what, detail[0] ? detail : "no detail", outage_consequence(have_policy),
             BACKOFF_MAX_S);
}

/* The loader thread's view of the connection. */
struct loader {
    PGconn *conn;
    bool outage; /* from a failure until the next successful load */
    bool have_policy;
    int backoff_s;
};

/* Sets the handle snapshot_stop() cancels a running query with (NULL to clear it). */
static void set_cancel(PGconn *conn)
{
    PGcancel *fresh = conn != NULL ? PQgetCancel(conn) : NULL;
    PGcancel *old;

    pthread_mutex_lock(&snap.lock);
    old = snap.cancel;
    snap.cancel = fresh;
    pthread_mutex_unlock(&snap.lock);
    PQfreeCancel(old);
}

/* Opens a connection to conninfo with a 10 s connection timeout unless conninfo sets
 * one, so that a server that accepts the connection but never replies cannot block
 * the thread for good. */
static PGconn *open_connection(const char *conninfo)
{
    static const char *const keywords[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {"10", conninfo, NULL};

    return PQconnectdbParams(keywords, values, 1);
}

/* Logs the first failure of an outage, drops the connection and waits out the
 * backoff. Returns true if a stop was requested meanwhile. */
static bool fail_and_wait(struct loader *loader, const char *what, const char *error)
{
    char line[LINE_SIZE];
    struct pollfd wake = {.fd = snap.wake[0], .events = POLLIN};

    if (!loader->outage) {
        format_failure(line, sizeof(line), what, error, loader->have_policy);
        queue_line(MOSQ_LOG_ERR, "%s", line);
        loader->outage = true;
    }
    set_cancel(NULL);
    PQfinish(loader->conn);
    loader->conn = NULL;
    if (poll(&wake, 1, loader->backoff_s * 1000) > 0) {
        return true;
    }
    loader->backoff_s =
        loader->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : loader->backoff_s * 2;
    return false;
}

/* Opens the loader's connection and starts listening. Returns true on success. */
static bool connect_and_listen(struct loader *loader)
{
    PGresult *result;
    bool ok;

    loader->conn = open_connection(snap.conninfo);
    if (PQstatus(loader->conn) != CONNECTION_OK) {
        return false;
    }
    result = PQexec(loader->conn, listen_sql);
    ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (ok) {
        set_cancel(loader->conn);
    }
    return ok;
}

/* Hands a new policy to the main thread, replacing one it has not taken yet. */
static void publish(struct iactn_policy *fresh)
{
    struct iactn_policy *unused;

    pthread_mutex_lock(&snap.lock);
    unused = snap.ready;
    snap.ready = fresh;
    pthread_mutex_unlock(&snap.lock);
    policy_free(unused);
}

/* Takes the notifications libpq has queued. Returns true if there was any. */
static bool take_notifications(PGconn *conn)
{
    PGnotify *note;
    bool changed = false;

    while ((note = PQnotifies(conn)) != NULL) {
        changed = true;
        PQfreemem(note);
    }
    return changed;
}

/* Waits for a notification or a stop request. Returns 1 for a notification, 0 for
 * nothing new, -1 for a stop request, or -2 if the connection failed. Notifications
 * that libpq read during the last load count without waiting. */
static int wait_for_change(PGconn *conn)
{
    struct pollfd fds[2] = {
        {.fd = PQsocket(conn), .events = POLLIN},
        {.fd = snap.wake[0], .events = POLLIN},
    };

    if (take_notifications(conn)) {
        return 1;
    }
    if (poll(fds, 2, -1) < 0) {
        return errno == EINTR ? 0 : -2;
    }
    if (fds[1].revents != 0) {
        return -1;
    }
    if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
        return -2;
    }
    return take_notifications(conn) ? 1 : 0;
}

/* Closes the descriptors from first to last (both included, last may be ~0u). */
static void close_descriptors(unsigned first, unsigned last)
{
    struct rlimit limit;

    if (first > last || close_range(first, last, 0) == 0) {
        return;
    }
    /* close_range needs Linux 5.9: close them one by one up to the open-file limit */
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        limit.rlim_cur - 1 < last) {
        last = (unsigned)limit.rlim_cur - 1;
    }
    for (unsigned fd = first; fd <= last && fd < 1u << 20; fd++) {
        close((int)fd);
    }
}

/* Gives the calling thread a descriptor table of its own and closes in it every
 * descriptor it inherited but 0 to 2, the stop pipe and socket (-1 for none). So the
 * broker's table is no longer shared, and sockets the main thread closes later are not
 * kept open by this copy. Reports the outcome to snapshot_start(), which waits for it. */
static void own_descriptor_table(int socket)
{
    unsigned wake = (unsigned)snap.wake[0];
    unsigned own = socket >= 0 ? (unsigned)socket : wake;
    unsigned keep[2] = {wake < own ? wake : own, wake < own ? own : wake};
    unsigned next = 3;
    int table = -1;

    if (unshare(CLONE_FILES) == 0) {
        for (int i = 0; i < 2; i++) {
            if (keep[i] >= next) {
                close_descriptors(next, keep[i] - 1);
                next = keep[i] + 1;
            }
        }
        close_descriptors(next, ~0u);
        table = 1;
    } else {
        queue_line(
            MOSQ_LOG_WARNING,
            "policy loader shares the broker's descriptor table: unshare failed: %s",
            strerror(errno));
    }
    pthread_mutex_lock(&snap.lock);
    snap.table = table;
    pthread_cond_signal(&snap.table_known);
    pthread_mutex_unlock(&snap.lock);
}

static void *loader_main(void *arg)
{
    struct loader loader = {
        .conn = snap.start_conn,
        .outage = snap.start_failed,
        .have_policy = !snap.start_failed,
        .backoff_s = BACKOFF_MIN_S,
    };
    /* The start's connection listened before its load. A change committed during
     * that load left a notification in libpq's queue, and wait_for_change() takes it. */
    bool need_load = loader.conn == NULL;
    struct iactn_policy *fresh;
    char err[256];
    int waited;

    (void)arg;
    own_descriptor_table(loader.conn != NULL ? PQsocket(loader.conn) : -1);
    for (;;) {
        if (loader.conn == NULL) {
            if (!connect_and_listen(&loader)) {
                if (fail_and_wait(&loader, "connection", PQerrorMessage(loader.conn))) {
                    break;
                }
                continue;
            }
            need_load = true;
        }
        if (need_load) {
            fresh = policy_load(loader.conn, err, sizeof(err));
            if (fresh == NULL) {
                if (!loader.outage) {
                    queue_line(MOSQ_LOG_ERR, "policy load failed: %s", err);
                }
                if (fail_and_wait(&loader, "policy load", err)) {
                    break;
                }
                continue;
            }
            publish(fresh);
            loader.have_policy = true;
            need_load = false;
            /* Only a load ends an outage: a connection whose loads keep failing must
             * not reset the backoff or log "restored" each time. */
            if (loader.outage) {
                queue_line(MOSQ_LOG_NOTICE, "database link=policy restored");
            }
            loader.outage = false;
            loader.backoff_s = BACKOFF_MIN_S;
        }
        waited = wait_for_change(loader.conn);
        if (waited == -1) {
            break;
        }
        if (waited == -2 &&
            fail_and_wait(&loader, "connection", PQerrorMessage(loader.conn))) {
            break;
        }
        need_load = need_load || waited == 1;
    }
    set_cancel(NULL);
    PQfinish(loader.conn);
    return NULL;
}

int snapshot_start(const char *conninfo)
{
    char line[LINE_SIZE];
    char err[256] = "";
    struct iactn_policy *fresh = NULL;
    PGconn *conn;
    PGresult *result;
    int rc;

    snap.conninfo = strdup(conninfo);
    if (snap.conninfo == NULL || pipe(snap.wake) != 0) {
        plugin_log(MOSQ_LOG_ERR, "policy loader cannot start: out of resources");
        return -1;
    }
    conn = open_connection(conninfo);
    if (PQstatus(conn) == CONNECTION_OK) {
        /* LISTEN first, so that a change committed during the load is not missed */
        result = PQexec(conn, listen_sql);
        if (PQresultStatus(result) == PGRES_COMMAND_OK) {
            fresh = policy_load(conn, err, sizeof(err));
            if (fresh == NULL) {
                plugin_log(MOSQ_LOG_ERR, "policy load failed: %s", err);
            }
        }
        PQclear(result);
    }
    if (fresh != NULL) {
        swap_in(fresh, "start");
    } else {
        bool connected = PQstatus(conn) == CONNECTION_OK;

        format_failure(line, sizeof(line), connected ? "policy load" : "connection",
                       connected && err[0] ? err : PQerrorMessage(conn), false);
        plugin_log(MOSQ_LOG_ERR, "%s", line);
        PQfinish(conn);
        conn = NULL;
    }
    snap.start_conn = conn;
    snap.start_failed = fresh == NULL;
    set_cancel(conn);

    rc = pthread_create(&snap.thread, NULL, loader_main, NULL);
    if (rc != 0) {
        plugin_log(MOSQ_LOG_ERR, "policy loader thread cannot start: %s", strerror(rc));
        PQfinish(conn);
        snap.start_conn = NULL;
        return -1;
    }
    snap.thread_started = true;
    /* The thread now owns the start's connection in a table of its own, and the copy
     * of its socket in the broker's table must go, or it would outlive the thread's
     * PQfinish. The wait lasts as long as the thread takes to close a few descriptors. */
    pthread_mutex_lock(&snap.lock);
    while (snap.table == 0) {
        pthread_cond_wait(&snap.table_known, &snap.lock);
    }
    pthread_mutex_unlock(&snap.lock);
    if (snap.table == 1 && conn != NULL) {
        close(PQsocket(conn));
    }
    return fresh != NULL ? 0 : -1;
}

void snapshot_tick(void)
{
    struct log_line lines[MAX_QUEUED_LINES];
    struct iactn_policy *fresh;
    int n_lines;
    int dropped;

    pthread_mutex_lock(&snap.lock);
    fresh = snap.ready;
    snap.ready = NULL;
    n_lines = snap.n_lines;
    memcpy(lines, snap.lines, sizeof(lines[0]) * (size_t)n_lines);
    snap.n_lines = 0;
    dropped = snap.dropped_lines;
    snap.dropped_lines = 0;
    pthread_mutex_unlock(&snap.lock);

    for (int i = 0; i < n_lines; i++) {
        plugin_log(lines[i].level, "%s", lines[i].text);
    }
    if (dropped > 0) {
        plugin_log(MOSQ_LOG_WARNING, "policy loader log lines dropped=%d", dropped);
    }
    if (fresh != NULL) {
        swap_in(fresh, "change");
    }
}

void snapshot_stop(void)
{
    char err[256];

    if (snap.thread_started) {
        if (write(snap.wake[1], "x", 1) != 1) {
            plugin_log(MOSQ_LOG_WARNING, "policy loader stop request failed: %s",
                       strerror(errno));
        }
        /* A load blocked on a lock would never look at the pipe. */
        pthread_mutex_lock(&snap.lock);
        if (snap.cancel != NULL && !PQcancel(snap.cancel, err, sizeof(err))) {
            plugin_log(MOSQ_LOG_WARNING, "policy load cancel failed: %s", err);
        }
        pthread_mutex_unlock(&snap.lock);
        pthread_join(snap.thread, NULL);
    } else {
        set_cancel(NULL);
        PQfinish(snap.start_conn);
    }
    for (int i = 0; i < 2; i++) {
        if (snap.wake[i] >= 0) {
            close(snap.wake[i]);
        }
        snap.wake[i] = -1;
    }
    policy_free(snap.ready);
    policy_free(snap.policy);
    free(snap.conninfo);
    snap.ready = NULL;
    snap.policy = NULL;
    snap.conninfo = NULL;
    snap.start_conn = NULL;
    snap.thread_started = false;
    snap.n_lines = 0;
    snap.dropped_lines = 0;
}
