#include "db.h"

#include "table.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_SECONDS "10"

/* Returns the length of msg without its trailing newlines; libpq ends its messages
 * with one. */
static int trimmed_length(const char *msg)
{
    size_t len = strlen(msg);

    while (len > 0 && msg[len - 1] == '\n') {
        len--;
    }
    return (int)len;
}

void admin_db_report(const PGresult *res, const PGconn *conn)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

    if (primary == NULL) {
        const char *msg = PQerrorMessage(conn);

        admin_error("database error: %.*s", trimmed_length(msg), msg);
        return;
    }
    admin_error("database error: %s", primary);
    if (detail) {
        fprintf(stderr, "  detail: %s\n", detail);
    }
    if (hint) {
        fprintf(stderr, "  hint: %s\n", hint);
    }
}

int admin_db_open(struct admin_ctx *ctx)
{
    /* connect_timeout comes before dbname so that a connection string that sets its
     * own value overrides it: libpq keeps the last value of a repeated keyword. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *values[] = {CONNECT_TIMEOUT_SECONDS, "iactn-admin", ctx->conninfo, NULL};
    PGresult *res;

    if (ctx->conn) {
        return 0;
    }
    ctx->conn = PQconnectdbParams(keys, values, 1);
    if (ctx->conn == NULL || PQstatus(ctx->conn) != CONNECTION_OK) {
        const char *msg = ctx->conn ? PQerrorMessage(ctx->conn) : "out of memory";

        admin_error("cannot connect to the database: %.*s", trimmed_length(msg), msg);
        admin_db_close(ctx);
        return -1;
    }

    /* Times print in UTC whatever the server's default, and notices such as
     * "relation already exists, skipping" stay off the terminal. */
    res = admin_db_query(ctx,
                         "SELECT set_config('TimeZone', 'UTC', false), "
                         "set_config('client_min_messages', 'warning', false)",
                         0, NULL);
    if (res == NULL) {
        admin_db_close(ctx);
        return -1;
    }
    PQclear(res);
    return 0;
}

void admin_db_close(struct admin_ctx *ctx)
{
    if (ctx->conn) {
        PQfinish(ctx->conn);
        ctx->conn = NULL;
    }
}

PGresult *admin_db_query(struct admin_ctx *ctx, const char *sql, int nparams,
                         const char *const *params)
{
    PGresult *res = PQexecParams(ctx->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return res;
    }
    admin_db_report(res, ctx->conn);
    PQclear(res);
    return NULL;
}

long admin_db_exec(struct admin_ctx *ctx, const char *sql, int nparams,
                   const char *const *params)
{
    PGresult *res = admin_db_query(ctx, sql, nparams, params);
    long rows;

    if (res == NULL) {
        return -1;
    }
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        rows = PQntuples(res);
    } else {
        rows = strtol(PQcmdTuples(res), NULL, 10);
    }
    PQclear(res);
    return rows;
}

int admin_db_begin(struct admin_ctx *ctx)
{
    if (admin_db_open(ctx) != 0) {
        return -1;
    }
    return admin_db_exec(ctx, "BEGIN", 0, NULL) < 0 ? -1 : 0;
}

int admin_db_commit(struct admin_ctx *ctx)
{
    return admin_db_exec(ctx, "COMMIT", 0, NULL) < 0 ? -1 : 0;
}

void admin_db_rollback(struct admin_ctx *ctx)
{
    PGresult *res;

    if (ctx->conn == NULL || PQtransactionStatus(ctx->conn) == PQTRANS_IDLE) {
        return;
    }
    res = PQexecParams(ctx->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
    PQclear(res);
}

int admin_db_audit(struct admin_ctx *ctx, const char *action, const char *object,
                   const char *before, const char *after, const char *extra)
{
    static const char sql[] =
        "INSERT INTO audit_log (actor, action, object, detail) "
        "VALUES ('db:' || current_user, $1, $2, "
        "        CASE WHEN $3::jsonb IS NULL THEN '{}'::jsonb "
        "             ELSE jsonb_build_object('before', $3::jsonb) END "
        "     || CASE WHEN $4::jsonb IS NULL THEN '{}'::jsonb "
        "             ELSE jsonb_build_object('after', $4::jsonb) END "
        "     || coalesce($5::jsonb, '{}'::jsonb))";
    const char *params[] = {action, object, before, after, extra};

    return admin_db_exec(ctx, sql, 5, params) < 0 ? -1 : 0;
}

const char *admin_db_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        return NULL;
    }
    return PQgetvalue(res, row, col);
}

void admin_db_print(const struct admin_ctx *ctx, const PGresult *res)
{
    int rows = PQntuples(res);
    int cols = PQnfields(res);
    const char **header = calloc((size_t)cols + 1, sizeof(*header));
    const char **cells = calloc((size_t)rows * (size_t)cols + 1, sizeof(*cells));

    if (header == NULL || cells == NULL) {
        admin_error("out of memory");
        goto out;
    }
    for (int c = 0; c < cols; c++) {
        header[c] = PQfname(res, c);
        for (int r = 0; r < rows; r++) {
            cells[r * cols + c] = admin_db_value(res, r, c);
        }
    }
    table_print(header, cells, rows, cols, ctx->tsv);
out:
    free(header);
    free(cells);
}

int admin_db_query_alert(struct admin_ctx *ctx, const char *sql, const char *id,
                         PGresult **res)
{
    const char *params[] = {id};

    *res = NULL;
    if (!validate_uuid(id)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_open(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    *res = admin_db_query(ctx, sql, 1, params);
    if (*res == NULL) {
        return ADMIN_EXIT_FAILURE;
    }
    if (PQntuples(*res) == 0) {
        admin_error("alert %s not found in the archive", id);
        PQclear(*res);
        *res = NULL;
        return ADMIN_EXIT_FAILURE;
    }
    return ADMIN_EXIT_OK;
}

int admin_db_list(struct admin_ctx *ctx, const char *sql, int nparams,
                  const char *const *params)
{
    PGresult *res;

    if (admin_db_open(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    res = admin_db_query(ctx, sql, nparams, params);
    if (res == NULL) {
        return ADMIN_EXIT_FAILURE;
    }
    admin_db_print(ctx, res);
    PQclear(res);
    return ADMIN_EXIT_OK;
}
