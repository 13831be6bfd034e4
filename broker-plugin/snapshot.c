/*
 * The policy snapshot and the database link that keeps it current.
 *
 * Only snapshot_start blocks. Afterwards the link is moved on by the tick event with
 * libpq's asynchronous calls: connect, LISTEN iactn_policy and load in one round trip,
 * then wait for notifications and reload. A new policy replaces the old one whole; on
 * any failure the last good policy stays in force and the link is retried with
 * backoff. After every reconnect the policy is reloaded, because notifications sent
 * while the link was down are lost.
 */
#include "plugin.h"
#include "dblink.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RESULTS 16
#define LOAD_BUDGET_US 20000

static struct {
    struct iactn_dblink link;
    bool loading;
    bool reload_pending;
    struct iactn_policy *policy;
    PGresult *results[MAX_RESULTS];
    int n_results;
} snap;

static const char listen_sql[] = "LISTEN iactn_policy;";

const struct iactn_policy *snapshot_policy(void)
{
    return snap.policy;
}

static const char *outage_consequence(void)
{
    return snap.policy ? "keeping the last policy" : "refusing every client";
}

static void clear_results(void)
{
    for (int i = 0; i < snap.n_results; i++) {
        PQclear(snap.results[i]);
    }
    snap.n_results = 0;
}

static void fail(const char *what)
{
    clear_results();
    snap.loading = false;
    dblink_fail(&snap.link, what, outage_consequence());
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

int snapshot_start(const char *conninfo)
{
    char err[256];
    struct iactn_policy *fresh;

    dblink_init(&snap.link, "policy", conninfo);
    if (dblink_connect_blocking(&snap.link) != 0) {
        fail("connection");
        return -1;
    }
    PQclear(PQexec(snap.link.conn, listen_sql));
    fresh = policy_load(snap.link.conn, err, sizeof(err));
    if (fresh == NULL) {
        plugin_log(MOSQ_LOG_ERR, "policy load failed: %s", err);
        fail("policy load");
        return -1;
    }
    swap_in(fresh, "start");
    if (dblink_make_nonblocking(&snap.link) != 0) {
        fail("setup");
    }
    return 0;
}

static void send_load(bool with_listen)
{
    char *sql = malloc(sizeof(listen_sql) + strlen(policy_load_sql));

    if (sql == NULL) {
        fail("policy load");
        return;
    }
    sprintf(sql, "%s%s", with_listen ? listen_sql : "", policy_load_sql);
    if (!PQsendQuery(snap.link.conn, sql)) {
        free(sql);
        fail("policy load");
        return;
    }
    free(sql);
    snap.reload_pending = false;
    snap.loading = true;
}

static long elapsed_us(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000L + (now.tv_nsec - since->tv_nsec) / 1000;
}

static bool socket_readable(PGconn *conn)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

    return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0;
}

/* Collects results of a load in progress; swaps the policy in once all are there. A
 * large policy arrives in many network reads, so this keeps reading while data is
 * waiting, for at most LOAD_BUDGET_US per tick, instead of one read per tick. */
static void continue_load(void)
{
    PGconn *conn = snap.link.conn;
    struct iactn_policy *fresh;
    struct timespec start;
    PGresult *res;
    char err[256];

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        while (!PQisBusy(conn) && (res = PQgetResult(conn)) != NULL) {
            if (snap.n_results < MAX_RESULTS) {
                snap.results[snap.n_results++] = res;
            } else {
                PQclear(res);
            }
        }
        if (!PQisBusy(conn) || elapsed_us(&start) > LOAD_BUDGET_US ||
            !socket_readable(conn)) {
            break;
        }
        if (!PQconsumeInput(conn)) {
            fail("policy load");
            return;
        }
    }
    if (PQisBusy(conn)) {
        return;
    }
    snap.loading = false;
    fresh = policy_build(snap.results, snap.n_results, err, sizeof(err));
    clear_results();
    if (fresh == NULL) {
        plugin_log(MOSQ_LOG_ERR, "policy load failed: %s", err);
        fail("policy load");
        return;
    }
    swap_in(fresh, "change");
}

void snapshot_tick(void)
{
    PGnotify *note;

    if (!dblink_poll(&snap.link, outage_consequence())) {
        return;
    }
    if (snap.link.just_connected) {
        snap.link.just_connected = false;
        send_load(true);
        return;
    }
    if (PQflush(snap.link.conn) < 0 || !PQconsumeInput(snap.link.conn) ||
        PQstatus(snap.link.conn) != CONNECTION_OK) {
        fail(snap.loading ? "policy load" : "connection");
        return;
    }
    while ((note = PQnotifies(snap.link.conn)) != NULL) {
        snap.reload_pending = true;
        PQfreemem(note);
    }
    if (snap.loading) {
        continue_load();
    } else if (snap.reload_pending) {
        send_load(false);
    }
}

void snapshot_stop(void)
{
    clear_results();
    dblink_close(&snap.link);
    policy_free(snap.policy);
    memset(&snap, 0, sizeof(snap));
}
