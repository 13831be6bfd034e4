/*
 * alerts list, alert show: read-only views of the archive that iactn-bridge writes.
 */
#include "admin.h"
#include "db.h"
#include "validate.h"

#include <stdio.h>

#define LIST_LIMIT_DEFAULT "50"
#define LIST_LIMIT_MAX 100000

static int alerts_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT id, to_char(received_at, " ADMIN_SQL_ISO8601 ") AS received_at, "
        "       origin, category, tlp, sender, "
        "       array_to_string(recipient_states, ',') AS recipient_states "
        "FROM alerts WHERE $1::text IS NULL OR origin = $1 "
        "ORDER BY received_at DESC, id LIMIT $2";
    const char *origin = args->opt[OPT_ORIGIN];
    const char *limit = args->opt[OPT_LIMIT] ? args->opt[OPT_LIMIT] : LIST_LIMIT_DEFAULT;
    const char *params[] = {origin, limit};
    long ignored;

    if ((origin && !validate_id(ID_STATE, origin)) ||
        !validate_long("--limit", limit, 1, LIST_LIMIT_MAX, &ignored)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(ctx, sql, 2, params);
}

static int alert_show(struct admin_ctx *ctx, const struct admin_args *args)
{
    PGresult *res;
    int rc = admin_db_query_alert(
        ctx, "SELECT jsonb_pretty(payload) FROM alerts WHERE id = $1", args->arg[0],
        &res);

    if (rc != ADMIN_EXIT_OK) {
        return rc;
    }
    printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    return ADMIN_EXIT_OK;
}

const struct admin_command alerts_commands[] = {
    {
        .group = "alerts",
        .verb = "list",
        .run = alerts_list,
        .options = OPT_BIT(OPT_ORIGIN) | OPT_BIT(OPT_LIMIT),
        .synopsis = "alerts list [--origin CODE] [--limit N]",
        .description =
            "Lists the newest archived alerts first, at most N "
            "(default " LIST_LIMIT_DEFAULT ", at most 100000), or only those of origin "
            "CODE: id, time the broker received it (UTC), origin, category, "
            "TLP, sender principal and recipient states.",
    },
    {
        .group = "alert",
        .verb = "show",
        .run = alert_show,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "alert show ID",
        .description =
            "Prints the archived payload of alert ID (a UUID), including the "
            "broker's stamp, as indented JSON. PostgreSQL's jsonb type does not "
            "keep the original key order.",
    },
    {0},
};
