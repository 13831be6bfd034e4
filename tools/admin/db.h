/*
 * The PostgreSQL side of iactn-admin: the connection, parameterised statements,
 * transactions, audit rows and printing query results as tables.
 */
#ifndef IACTN_ADMIN_DB_H
#define IACTN_ADMIN_DB_H

#include "admin.h"

/* to_char() format, as an SQL literal, that prints a timestamptz as ISO 8601 UTC, for
 * example 2026-12-04T15:40:00Z. It relies on the session time zone UTC that
 * admin_db_open() sets. */
#define ADMIN_SQL_ISO8601 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"

/* Connects to ctx->conninfo unless already connected, then sets the session time zone
 * to UTC. Returns 0, or -1 after printing why. Blocks on the network for at most
 * 10 seconds unless the connection string sets its own connect_timeout. */
int admin_db_open(struct admin_ctx *ctx);

/* Closes the connection, if any. */
void admin_db_close(struct admin_ctx *ctx);

/* Runs one parameterised statement (text parameters, NULL for SQL NULL). Returns the
 * result, which the caller frees with PQclear, or NULL after printing the server's
 * error. Blocks until the server has sent the whole result. */
PGresult *admin_db_query(struct admin_ctx *ctx, const char *sql, int nparams,
                         const char *const *params);

/* Runs one parameterised statement and discards its rows. Returns the number of rows
 * it returned or changed, or -1 after printing the server's error. */
long admin_db_exec(struct admin_ctx *ctx, const char *sql, int nparams,
                   const char *const *params);

/* Opens the connection if needed and starts a transaction. Returns 0 or -1. */
int admin_db_begin(struct admin_ctx *ctx);

/* Commits the open transaction. Returns 0, or -1 after printing why. */
int admin_db_commit(struct admin_ctx *ctx);

/* Rolls back the open transaction, if any; does nothing otherwise. */
void admin_db_rollback(struct admin_ctx *ctx);

/* Appends an audit_log row inside the open transaction. Its actor is "db:" followed by
 * the session's current_user, then come the action (for example "cert-add") and the
 * object's id. Its detail document has "before" and "after", the row documents given
 * as JSON text, each left out when NULL, merged with extra (a JSON object as text, or
 * NULL). Returns 0 or -1. */
int admin_db_audit(struct admin_ctx *ctx, const char *action, const char *object,
                   const char *before, const char *after, const char *extra);

/* Prints the server's error in res (primary message, detail and hint), or the
 * connection's error when res carries none. */
void admin_db_report(const PGresult *res, const PGconn *conn);

/* Returns the value at (row, col), or NULL for SQL NULL. Points into res. */
const char *admin_db_value(const PGresult *res, int row, int col);

/* Prints res as a table with a header line, or as tab-separated rows without a header
 * when ctx->tsv is set. SQL NULL prints as "-" in a table and as "" in TSV. */
void admin_db_print(const struct admin_ctx *ctx, const PGresult *res);

/* Runs `sql` with the alert id `id` as its only parameter, connecting first if needed,
 * after checking that the id is a UUID. Returns ADMIN_EXIT_OK with *res, which has at
 * least one row and which the caller frees with PQclear, or another ADMIN_EXIT_* code
 * after printing why: ADMIN_EXIT_USAGE for an id that is not a UUID,
 * ADMIN_EXIT_FAILURE for a database error or an alert that is not in the archive. */
int admin_db_query_alert(struct admin_ctx *ctx, const char *sql, const char *id,
                         PGresult **res);

/* Runs a query and prints its rows with admin_db_print(). Returns an ADMIN_EXIT_*
 * code. */
int admin_db_list(struct admin_ctx *ctx, const char *sql, int nparams,
                  const char *const *params);

#endif
