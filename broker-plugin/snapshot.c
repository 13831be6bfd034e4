/*
 * The policy snapshot and the database connection that keeps it current.
 *
 * Only snapshot_start blocks. Afterwards the connection is a small state machine moved
 * on by the tick event with libpq's asynchronous calls: connect, LISTEN iactn_policy
 * and load in one round trip, then wait for notifications and reload. A new policy
 * replaces the old one whole; on any failure the last good policy stays in force and
 * the connection is retried with exponential backoff.
 */
#include "plugin.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RESULTS 16
#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_LOADING, LINK_LISTENING };

static struct {
    char *conninfo;
    PGconn *conn;
    enum link_state state;
    PostgresPollingStatusType poll_status;
    struct iactn_policy *policy;
    PGresult *results[MAX_RESULTS];
    int n_results;
    bool reload_pending;
    time_t next_attempt;
    int backoff_s;
    bool outage_logged;
} snap;

static const char listen_sql[] = "LISTEN iactn_policy;";

const struct iactn_policy *snapshot_policy(void)
{
    return snap.policy;
}

static void clear_results(void)
{
    for (int i = 0; i < snap.n_results; i++) {
        PQclear(snap.results[i]);
    }
    snap.n_results = 0;
}

static void swap_in(struct iactn_policy *fresh, const char *why)
{
    struct iactn_policy *old = snap.policy;

    snap.policy = fresh;
    policy_free(old);
    plugin_log(MOSQ_LOG_NOTICE,
               "policy loaded reason=%s certificates=%zu principals=%zu acl_rules=%zu "
               "sharing_rules=%zu",
               why, fresh->n_certs, fresh->n_principals, fresh->n_acl, fresh->n_rules);
}

/* Drops the connection and schedules the next attempt. The current policy stays. */
static void link_failed(const char *what)
{
    const char *detail = snap.conn ? PQerrorMessage(snap.conn) : "";

    if (!snap.outage_logged) {
        plugin_log(MOSQ_LOG_ERR,
                   "database %s failed: %s; %s, retrying with backoff up to %d s", what,
                   detail[0] ? detail : "no detail",
                   snap.policy ? "keeping the last policy" : "refusing every client",
                   BACKOFF_MAX_S);
        snap.outage_logged = true;
    }
    clear_results();
    if (snap.conn) {
        PQfinish(snap.conn);
        snap.conn = NULL;
    }
    snap.state = LINK_DOWN;
    snap.next_attempt = time(NULL) + snap.backoff_s;
    snap.backoff_s = snap.backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : snap.backoff_s * 2;
}

static void link_up(void)
{
    if (snap.outage_logged) {
        plugin_log(MOSQ_LOG_NOTICE, "database connection restored");
    }
    snap.outage_logged = false;
    snap.backoff_s = BACKOFF_MIN_S;
}

int snapshot_start(const char *conninfo)
{
    char err[256];
    struct iactn_policy *fresh;
    PGresult *res;

    snap.conninfo = strdup(conninfo);
    snap.backoff_s = BACKOFF_MIN_S;
    snap.conn = PQconnectdb(conninfo);
    if (PQstatus(snap.conn) != CONNECTION_OK) {
        link_failed("connection");
        return -1;
    }
    res = PQexec(snap.conn, listen_sql);
    PQclear(res);
    fresh = policy_load(snap.conn, err, sizeof(err));
    if (fresh == NULL) {
        plugin_log(MOSQ_LOG_ERR, "policy load failed: %s", err);
        link_failed("policy load");
        return -1;
    }
    swap_in(fresh, "start");
    if (PQsetnonblocking(snap.conn, 1) != 0) {
        link_failed("setup");
        return 0;
    }
    snap.state = LINK_LISTENING;
    return 0;
}

static bool socket_ready(short events)
{
    struct pollfd pfd = {.fd = PQsocket(snap.conn), .events = events};

    return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0;
}

static void send_load(bool with_listen)
{
    char *sql = malloc(sizeof(listen_sql) + strlen(policy_load_sql));

    if (sql == NULL) {
        link_failed("load");
        return;
    }
    sprintf(sql, "%s%s", with_listen ? listen_sql : "", policy_load_sql);
    if (!PQsendQuery(snap.conn, sql)) {
        free(sql);
        link_failed("load");
        return;
    }
    free(sql);
    snap.reload_pending = false;
    snap.state = LINK_LOADING;
}

static void tick_down(void)
{
    if (time(NULL) < snap.next_attempt) {
        return;
    }
    snap.conn = PQconnectStart(snap.conninfo);
    if (snap.conn == NULL || PQstatus(snap.conn) == CONNECTION_BAD) {
        link_failed("connection");
        return;
    }
    snap.poll_status = PGRES_POLLING_WRITING;
    snap.state = LINK_CONNECTING;
}

static void tick_connecting(void)
{
    short events = snap.poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;

    if (!socket_ready(events)) {
        return;
    }
    snap.poll_status = PQconnectPoll(snap.conn);
    if (snap.poll_status == PGRES_POLLING_FAILED) {
        link_failed("connection");
    } else if (snap.poll_status == PGRES_POLLING_OK) {
        if (PQsetnonblocking(snap.conn, 1) != 0) {
            link_failed("setup");
            return;
        }
        /* a reconnect may have missed notifications: always reload */
        send_load(true);
    }
}

static void tick_loading(void)
{
    PGresult *res;
    struct iactn_policy *fresh;
    char err[256];

    if (PQflush(snap.conn) < 0 || !PQconsumeInput(snap.conn)) {
        link_failed("policy load");
        return;
    }
    while (!PQisBusy(snap.conn)) {
        res = PQgetResult(snap.conn);
        if (res == NULL) {
            break;
        }
        if (snap.n_results < MAX_RESULTS) {
            snap.results[snap.n_results++] = res;
        } else {
            PQclear(res);
        }
    }
    if (PQisBusy(snap.conn)) {
        return;
    }
    fresh = policy_build(snap.results, snap.n_results, err, sizeof(err));
    clear_results();
    if (fresh == NULL) {
        plugin_log(MOSQ_LOG_ERR, "policy load failed: %s; keeping the last policy", err);
        link_failed("policy load");
        return;
    }
    link_up();
    swap_in(fresh, "change");
    snap.state = LINK_LISTENING;
}

static void tick_listening(void)
{
    PGnotify *note;

    if (!PQconsumeInput(snap.conn) || PQstatus(snap.conn) != CONNECTION_OK) {
        link_failed("connection");
        return;
    }
    while ((note = PQnotifies(snap.conn)) != NULL) {
        snap.reload_pending = true;
        PQfreemem(note);
    }
    if (snap.reload_pending) {
        send_load(false);
    }
}

void snapshot_tick(void)
{
    switch (snap.state) {
    case LINK_DOWN:
        tick_down();
        break;
    case LINK_CONNECTING:
        tick_connecting();
        break;
    case LINK_LOADING:
        tick_loading();
        break;
    case LINK_LISTENING:
        tick_listening();
        break;
    }
}

void snapshot_stop(void)
{
    clear_results();
    if (snap.conn) {
        PQfinish(snap.conn);
    }
    policy_free(snap.policy);
    free(snap.conninfo);
    memset(&snap, 0, sizeof(snap));
}
