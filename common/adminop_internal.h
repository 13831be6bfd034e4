/*
 * Declarations shared by the files of the administration operations: the state of one
 * request, the operation table entry, field readers that validate as they read, and
 * database helpers that turn failures into a request error. Only adminop*.c include
 * this header.
 */
#ifndef IACTN_ADMINOP_INTERNAL_H
#define IACTN_ADMINOP_INTERNAL_H

#include "adminop.h"

#include <stdbool.h>

/* The state of one request while its operation runs. */
struct adminop_ctx {
    PGconn *conn;
    const struct adminop_actor *actor;
    json_t *request;
    struct adminop_error *err;
    const char *own_state; /* the actor's state, or NULL for a network administrator */
};

#define ADMINOP_MAX_FIELDS 12

/* One operation. run returns 0 with *result set (a new reference), or -1 with the
 * error set; the caller commits or rolls back. */
struct adminop_op {
    const char *name;
    int (*run)(struct adminop_ctx *ctx, json_t **result);
    const char *fields[ADMINOP_MAX_FIELDS]; /* request members it reads, NULL-ended */
    bool read_only;
};

/* Operation tables, each ended by an entry whose name is NULL. */
extern const struct adminop_op adminop_acl_ops[];
extern const struct adminop_op adminop_directory_ops[];
extern const struct adminop_op adminop_identity_ops[];
extern const struct adminop_op adminop_group_ops[];

/* Identifier formats of the schema's CHECK constraints. */
enum adminop_id_kind {
    ADMINOP_ID_STATE,     /* ^[A-Z]{2}$ */
    ADMINOP_ID_AGENCY,    /* ^[a-z0-9][a-z0-9-]{0,62}$, also sharing groups */
    ADMINOP_ID_PRINCIPAL, /* ^[a-z0-9][a-z0-9._-]{0,62}$ */
    ADMINOP_ID_CATEGORY,  /* ^[a-z][a-z0-9-]{0,31}$ */
};

/* Sets the request's error unless one is set already, and returns -1. */
int adminop_fail(struct adminop_ctx *ctx, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns true when the actor is a network administrator. */
bool adminop_is_network(const struct adminop_ctx *ctx);

/* Checks that the actor may change rows of `state`. Returns 0, or -1 with a
 * "forbidden" error that names `object` (for example "agency mx-cni"). */
int adminop_require_state(struct adminop_ctx *ctx, const char *state, const char *object);

/* Checks that `value` has the format of `kind`. */
bool adminop_id_valid(enum adminop_id_kind kind, const char *value);

/* Field readers. Each returns 0 with the value. When the member is absent and not
 * required, the output stays NULL (or the default) and the reader returns 0. When the
 * value is missing, of the wrong JSON type or invalid, the reader returns -1 with an
 * "invalid_request" error that names the member. Strings point into the request. */
int adminop_get_id(struct adminop_ctx *ctx, const char *name, enum adminop_id_kind kind,
                   bool required, const char **out);
int adminop_get_text(struct adminop_ctx *ctx, const char *name, int max_chars,
                     bool required, const char **out);
/* Reads an optional text that, when present, must not be empty: a note, a reason or a
 * description, whose column stores '' for none. */
int adminop_get_nonempty_text(struct adminop_ctx *ctx, const char *name, int max_chars,
                              const char **out);
int adminop_get_bool(struct adminop_ctx *ctx, const char *name, bool fallback, bool *out);
/* Reads an integer in [min, max], written as a JSON integer or a decimal string. It
 * goes into text (21 bytes) as decimal digits for a statement parameter, or "" when
 * absent. */
int adminop_get_integer(struct adminop_ctx *ctx, const char *name, long long min,
                        long long max, bool required, char text[21]);
/* Reads one of the NULL-ended `choices`. */
int adminop_get_choice(struct adminop_ctx *ctx, const char *name,
                       const char *const *choices, bool required, const char **out);

/* Runs one parameterised statement (text parameters, NULL for SQL NULL). Returns the
 * result for the caller to PQclear, or NULL with the error set from the server's
 * SQLSTATE: constraint violations become "conflict" or "invalid_request", a lost
 * connection "unavailable", anything else "internal". */
PGresult *adminop_query(struct adminop_ctx *ctx, const char *sql, int nparams,
                        const char *const *params);

/* Runs a statement that returns one row with one column holding JSON text (or SQL
 * NULL, read as an empty array) and parses it into *out. Returns 0 or -1. */
int adminop_query_json(struct adminop_ctx *ctx, const char *sql, int nparams,
                       const char *const *params, json_t **out);

/* Appends an audit_log row inside the open transaction: the actor, action, object and
 * detail {"before": before, "after": after}, each left out when NULL (JSON text).
 * Returns 0 or -1. */
int adminop_audit(struct adminop_ctx *ctx, const char *action, const char *object,
                  const char *before, const char *after);

/* Builds the result of a change: {"changed", "summary", "id"} with id parsed from the
 * JSON text `id_json` (left out when NULL). Returns NULL when memory runs out. */
json_t *adminop_change_result(bool changed, const char *id_json, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends a sentence to the array `key` of a change's result: "notes" for facts the
 * administrator should know, "warnings" for what may not work as intended. Does
 * nothing when result is NULL. */
void adminop_result_note(json_t *result, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies the state of agency `agency` into state (3 bytes). Returns 0, or -1 with
 * "not_found" when there is no such agency. */
int adminop_agency_state(struct adminop_ctx *ctx, const char *agency, char state[3]);

/* Returns 0 when a row of `table` has `key` = value, -1 with "not_found" naming
 * `noun` otherwise. table and key are constants of this library. */
int adminop_require_row(struct adminop_ctx *ctx, const char *table, const char *key,
                        const char *value, const char *noun);

/* Sets or clears the suspended flag of the row of `table` whose id is the request's
 * "id" (of format `kind`), locked first, after checking with `state_sql` (SELECT
 * state_code ... WHERE id = $1, may return NULL for network-wide rows, which only network
 * administrators may change) that the actor may change it. Audited as "{noun}-suspend" or
 * "{noun}-resume". Returns 0 with *result set, or -1. */
int adminop_set_suspended(struct adminop_ctx *ctx, const char *table, const char *noun,
                          enum adminop_id_kind kind, const char *state_sql,
                          bool suspended, json_t **result);

/* An insert into a table keyed by a bigserial id, where adding a row identical to an
 * existing one must not add a second copy. */
struct adminop_numbered_insert {
    const char *table;  /* "topic_acl" */
    const char *noun;   /* "topic rule", for the summary */
    const char *action; /* audit action, "acl-add" */
    /* SELECT id FROM <table> WHERE <columns match the parameters> LIMIT 1 */
    const char *find_sql;
    /* INSERT INTO <table> AS t ... RETURNING t.id, to_jsonb(t) */
    const char *insert_sql;
    int nparams;
    const char *const *params; /* shared by both statements */
};

/* Locks the table against other writers, then inserts the row with its audit row
 * unless an identical row exists. Returns 0 with *result set ("changed" false and the
 * existing id when the row existed), or -1. */
int adminop_insert_numbered(struct adminop_ctx *ctx,
                            const struct adminop_numbered_insert *ins, json_t **result);

/* Deletes the row of `table` whose id is the request's "id", after locking it and
 * checking with `state_sql` (SELECT <state> FROM ... WHERE id = $1 FOR UPDATE; NULL
 * for a network-wide row) that the actor may change it. Audited as `action` with the
 * row before. Returns 0 with *result set, or -1. */
int adminop_delete_numbered(struct adminop_ctx *ctx, const char *table, const char *noun,
                            const char *action, const char *state_sql, json_t **result);

/* Checks with `state_sql` (one parameter, the id; one row with the state, or NULL for
 * a network-wide row) that the row exists and that the actor may change it. */
int adminop_check_row_state(struct adminop_ctx *ctx, const char *state_sql,
                            const char *noun, const char *id);

/* The to_char() format, as an SQL literal, of a timestamptz as RFC 3339 UTC, for
 * example 2026-12-04T15:40:00Z. It relies on the session time zone UTC that
 * adminop_run() sets. */
#define ADMINOP_SQL_TIME_FORMAT "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"

/* An insert into a table keyed by a text id (agencies, principals, sharing groups),
 * which must not fail when the same row is already there. */
struct adminop_keyed_insert {
    const char *noun;   /* "agency" */
    const char *action; /* audit action, "agency-add" */
    const char *key;    /* the new row's id */
    /* INSERT ... ON CONFLICT DO NOTHING RETURNING to_jsonb(t) */
    const char *insert_sql;
    /* SELECT to_jsonb(t), <true when t matches the parameters> FROM ... WHERE id = $1 */
    const char *same_sql;
    int nparams;
    const char *const *params; /* shared by both statements; $1 is the key */
};

/* Inserts the row with its audit row. Returns 0 with *result set ("changed" false when
 * an identical row existed), or -1: a database error, or "conflict" when a row with
 * that id has other values. */
int adminop_insert_keyed(struct adminop_ctx *ctx, const struct adminop_keyed_insert *ins,
                         json_t **result);

#endif
