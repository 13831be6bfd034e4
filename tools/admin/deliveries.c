/*
 * deliveries, deliveries retry: the webhook deliveries that iactn-bridge queues with
 * each archived alert, and putting dead ones back in the queue.
 */
#include "admin.h"
#include "db.h"
#include "validate.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT "50"
#define LIST_LIMIT_MAX 100000

static int deliveries_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT d.id, d.alert_id AS alert, e.agency_id AS agency, d.endpoint_id AS "
        "       endpoint, d.status, d.attempts, "
        "       CASE WHEN d.status = 'pending' "
        "            THEN to_char(d.next_attempt_at, " ADMIN_SQL_ISO8601 ") END "
        "       AS next_attempt, "
        "       to_char(d.last_attempt_at, " ADMIN_SQL_ISO8601 ") AS last_attempt, "
        "       to_char(d.delivered_at, " ADMIN_SQL_ISO8601 ") AS delivered, "
        "       d.last_error "
        "FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id "
        "WHERE (NOT $1 OR d.status = 'dead') "
        "  AND ($2::uuid IS NULL OR d.alert_id = $2::uuid) "
        "ORDER BY d.id DESC LIMIT $3";
    const char *alert = args->opt[OPT_ALERT];
    const char *limit = args->opt[OPT_LIMIT] ? args->opt[OPT_LIMIT] : LIST_LIMIT_DEFAULT;
    const char *params[] = {args->opt[OPT_DEAD] ? "true" : "false", alert, limit};
    long ignored;

    if ((alert && !validate_uuid(alert)) ||
        !validate_long("--limit", limit, 1, LIST_LIMIT_MAX, &ignored)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(ctx, sql, 3, params);
}

/* Re-queues the dead or pending delivery `id` inside the open transaction. Returns an
 * ADMIN_EXIT_* code after printing what happened. */
static int retry_one(struct admin_ctx *ctx, const char *id)
{
    static const char lock_sql[] =
        "SELECT to_jsonb(d), d.status, d.claimed_until > now(), e.active "
        "FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id "
        "WHERE d.id = $1 FOR UPDATE OF d";
    static const char requeue_sql[] =
        "UPDATE deliveries d SET status = 'pending', attempts = 0, "
        "  next_attempt_at = now(), claimed_until = NULL "
        "WHERE d.id = $1 RETURNING to_jsonb(d)";
    const char *params[] = {id};
    PGresult *row = admin_db_query(ctx, lock_sql, 1, params);
    PGresult *after = NULL;
    int rc = ADMIN_EXIT_FAILURE;

    if (row == NULL) {
        goto out;
    }
    if (PQntuples(row) == 0) {
        admin_error("delivery %s not found", id);
        goto out;
    }
    if (strcmp(PQgetvalue(row, 0, 1), "delivered") == 0) {
        admin_error("delivery %s was delivered already; nothing changed", id);
        goto out;
    }
    if (strcmp(PQgetvalue(row, 0, 2), "t") == 0) {
        admin_error("delivery %s is being attempted right now; check it again with "
                    "'iactn-admin deliveries' in a minute",
                    id);
        goto out;
    }
    after = admin_db_query(ctx, requeue_sql, 1, params);
    if (after == NULL || PQntuples(after) != 1 ||
        admin_db_audit(ctx, "delivery-retry", id, PQgetvalue(row, 0, 0),
                       PQgetvalue(after, 0, 0), NULL) != 0 ||
        admin_db_commit(ctx) != 0) {
        goto out;
    }
    printf("delivery %s queued for a new attempt\n", id);
    if (strcmp(PQgetvalue(row, 0, 3), "f") == 0) {
        admin_warn("its endpoint is disabled, so it waits until 'iactn-admin endpoint "
                   "enable'");
    }
    rc = ADMIN_EXIT_OK;
out:
    PQclear(row);
    PQclear(after);
    return rc;
}

/* Re-queues every dead delivery inside the open transaction, with one audit row. */
static int retry_all_dead(struct admin_ctx *ctx)
{
    static const char sql[] =
        "WITH requeued AS ("
        "  UPDATE deliveries SET status = 'pending', attempts = 0, "
        "    next_attempt_at = now(), claimed_until = NULL "
        "  WHERE status = 'dead' RETURNING id) "
        "SELECT count(*), json_build_object('count', count(*))::text FROM requeued";
    PGresult *res = admin_db_query(ctx, sql, 0, NULL);
    int rc = ADMIN_EXIT_FAILURE;

    if (res == NULL || PQntuples(res) != 1) {
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0 &&
        admin_db_audit(ctx, "delivery-retry-all-dead", "deliveries", NULL, NULL,
                       PQgetvalue(res, 0, 1)) != 0) {
        goto out;
    }
    if (admin_db_commit(ctx) != 0) {
        goto out;
    }
    printf("%s dead deliveries queued for a new attempt\n", PQgetvalue(res, 0, 0));
    rc = ADMIN_EXIT_OK;
out:
    PQclear(res);
    return rc;
}

static int deliveries_retry(struct admin_ctx *ctx, const struct admin_args *args)
{
    bool all_dead = args->opt[OPT_ALL_DEAD] != NULL;
    long ignored;
    int rc;

    if (all_dead == (args->nargs == 1)) {
        admin_error("give either a delivery ID or --all-dead");
        return ADMIN_EXIT_USAGE;
    }
    if (!all_dead && !validate_long("delivery id", args->arg[0], 1, LONG_MAX, &ignored)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    rc = all_dead ? retry_all_dead(ctx) : retry_one(ctx, args->arg[0]);
    admin_db_rollback(ctx);
    return rc;
}

const struct admin_command deliveries_commands[] = {
    {
        .group = "deliveries",
        .run = deliveries_list,
        .options = OPT_BIT(OPT_DEAD) | OPT_BIT(OPT_ALERT) | OPT_BIT(OPT_LIMIT),
        .synopsis = "deliveries [--dead] [--alert ID] [--limit N]",
        .description =
            "Lists webhook deliveries, newest first, at most N "
            "(default " LIST_LIMIT_DEFAULT
            "): id, alert, agency, endpoint, status (pending, "
            "delivered or dead), attempts so far, time of the next attempt, of the last "
            "attempt and of delivery (UTC), and the last error. --dead shows only "
            "dead deliveries, which iactn-bridge no longer attempts; --alert only "
            "those of alert ID.",
    },
    {
        .group = "deliveries",
        .verb = "retry",
        .run = deliveries_retry,
        .options = OPT_BIT(OPT_ALL_DEAD),
        .max_args = 1,
        .synopsis = "deliveries retry ID|--all-dead",
        .description =
            "Queues delivery ID, or every dead delivery, for a new attempt within a "
            "second, with its attempt count reset so that it gets the whole retry "
            "schedule again. A delivered delivery, or one in flight, is left alone.",
    },
    {0},
};
