/*
 * alert status: how far an archived alert got with each recipient state, from the
 * webhook deliveries and the acknowledgements that iactn-bridge archives.
 */
#include "admin.h"
#include "db.h"

#include <stdio.h>

/* One row per recipient state. An acknowledgement time is the first one the broker
 * received from that state with that status. */
static const char status_sql[] =
    "WITH alert AS (SELECT id, recipient_states, archived_at FROM alerts WHERE id = $1), "
    "hooks AS ("
    "  SELECT a.state_code AS state, "
    "         count(*) FILTER (WHERE d.status = 'delivered') AS delivered, "
    "         count(*) FILTER (WHERE d.status = 'dead') AS dead, count(*) AS total, "
    "         min(d.delivered_at) AS first_delivered "
    "  FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id "
    "  JOIN agencies a ON a.id = e.agency_id WHERE d.alert_id = $1 "
    "  GROUP BY a.state_code), "
    "acked AS ("
    "  SELECT recipient AS state, "
    "         min(received_at) FILTER (WHERE status = 'received') AS received, "
    "         min(received_at) FILTER (WHERE status = 'read') AS read, "
    "         min(received_at) FILTER (WHERE status = 'actioned') AS actioned "
    "  FROM acks WHERE alert_id = $1 GROUP BY recipient) "
    "SELECT s.state, "
    "       CASE WHEN h.delivered > 0 "
    "            THEN 'webhook ' || to_char(h.first_delivered, " ADMIN_SQL_ISO8601 ") "
    "            ELSE 'archive ' || to_char(alert.archived_at, " ADMIN_SQL_ISO8601 ") "
    "       END AS delivered, "
    "       CASE WHEN h.total IS NULL THEN NULL "
    "            ELSE h.delivered || '/' || h.total || ' delivered' "
    "                 || CASE WHEN h.dead > 0 THEN ', ' || h.dead || ' dead' ELSE '' END "
    "       END AS webhooks, "
    "       to_char(k.received, " ADMIN_SQL_ISO8601 ") AS received, "
    "       to_char(k.read, " ADMIN_SQL_ISO8601 ") AS read, "
    "       to_char(k.actioned, " ADMIN_SQL_ISO8601 ") AS actioned "
    "FROM alert CROSS JOIN LATERAL unnest(alert.recipient_states) AS s(state) "
    "LEFT JOIN hooks h ON h.state = s.state LEFT JOIN acked k ON k.state = s.state "
    "ORDER BY s.state";

static int alert_status(struct admin_ctx *ctx, const struct admin_args *args)
{
    PGresult *res;
    int rc = admin_db_query_alert(ctx, status_sql, args->arg[0], &res);

    if (rc != ADMIN_EXIT_OK) {
        return rc;
    }
    admin_db_print(ctx, res);
    PQclear(res);
    return ADMIN_EXIT_OK;
}

const struct admin_command alert_status_commands[] = {
    {
        .group = "alert",
        .verb = "status",
        .run = alert_status,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "alert status ID",
        .description =
            "Shows, for each recipient state of alert ID, how the alert reached it and "
            "how far the state has acknowledged it. delivered is \"webhook\" and the "
            "time of the first delivery to an endpoint of the state's agencies, or else "
            "\"archive\" and the time iactn-bridge archived it. webhooks counts the "
            "deliveries to the state's endpoints. received, read and actioned are the "
            "times (UTC) "
            "of the state's first acknowledgement with that status.",
    },
    {0},
};
