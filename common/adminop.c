/*
 * Request dispatch, transactions and the helpers every operation uses. The operations
 * themselves live in adminop_acl.c, adminop_directory.c, adminop_identity.c and
 * adminop_group.c.
 */
#include "adminop_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct adminop_op *const op_tables[] = {
    adminop_acl_ops, adminop_directory_ops, adminop_identity_ops, adminop_group_ops, NULL,
};

static const struct adminop_op *find_op(const char *name)
{
    for (size_t t = 0; op_tables[t] != NULL; t++) {
        for (const struct adminop_op *op = op_tables[t]; op->name != NULL; op++) {
            if (strcmp(op->name, name) == 0) {
                return op;
            }
        }
    }
    return NULL;
}

bool adminop_is_read_only(const char *op)
{
    const struct adminop_op *found = find_op(op);

    return found != NULL && found->read_only;
}

int adminop_fail(struct adminop_ctx *ctx, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (ctx->err->code != NULL) {
        return -1;
    }
    ctx->err->code = code;
    va_start(ap, fmt);
    vsnprintf(ctx->err->message, sizeof(ctx->err->message), fmt, ap);
    va_end(ap);
    return -1;
}

bool adminop_is_network(const struct adminop_ctx *ctx)
{
    return ctx->own_state == NULL;
}

int adminop_require_state(struct adminop_ctx *ctx, const char *state, const char *object)
{
    if (adminop_is_network(ctx)) {
        return 0;
    }
    if (state == NULL || state[0] == '\0') {
        return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                            "%s is network-wide, and only network administrators may "
                            "change it",
                            object);
    }
    if (strcmp(state, ctx->own_state) != 0) {
        return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                            "%s belongs to state %s, and administrators of %s may change "
                            "only their own state's rows",
                            object, state, ctx->own_state);
    }
    return 0;
}

static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

bool adminop_id_valid(enum adminop_id_kind kind, const char *value)
{
    static const char lower_digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    const char *first = lower_digits;
    const char *rest = "abcdefghijklmnopqrstuvwxyz0123456789-";
    size_t max = 63;
    size_t len = strlen(value);

    switch (kind) {
    case ADMINOP_ID_STATE:
        return len == 2 && value[0] >= 'A' && value[0] <= 'Z' && value[1] >= 'A' &&
               value[1] <= 'Z';
    case ADMINOP_ID_AGENCY:
        break;
    case ADMINOP_ID_PRINCIPAL:
        rest = "abcdefghijklmnopqrstuvwxyz0123456789._-";
        break;
    case ADMINOP_ID_CATEGORY:
        first = "abcdefghijklmnopqrstuvwxyz";
        max = 32;
        break;
    }
    if (len == 0 || len > max || !in_set(value[0], first)) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!in_set(value[i], rest)) {
            return false;
        }
    }
    return true;
}

static const char *const id_formats[] = {
    [ADMINOP_ID_STATE] = "a two-letter upper-case state code such as CO",
    [ADMINOP_ID_AGENCY] = "lower-case letters, digits and '-', at most 63, starting "
                          "with a letter or digit",
    [ADMINOP_ID_PRINCIPAL] = "lower-case letters, digits, '.', '_' and '-', at most 63, "
                             "starting with a letter or digit",
    [ADMINOP_ID_CATEGORY] = "a category slug such as attack",
};

/* Returns the member, or NULL after failing when it is present but not a string or
 * contains a NUL character. */
static json_t *string_member(struct adminop_ctx *ctx, const char *name, bool required,
                             bool *failed)
{
    json_t *value = json_object_get(ctx->request, name);

    *failed = false;
    if (value == NULL || json_is_null(value)) {
        if (required) {
            *failed = true;
            adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "the request has no \"%s\"", name);
        }
        return NULL;
    }
    if (!json_is_string(value) ||
        strlen(json_string_value(value)) != json_string_length(value)) {
        *failed = true;
        adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "\"%s\" must be a string", name);
        return NULL;
    }
    return value;
}

int adminop_get_id(struct adminop_ctx *ctx, const char *name, enum adminop_id_kind kind,
                   bool required, const char **out)
{
    bool failed;
    json_t *value = string_member(ctx, name, required, &failed);

    *out = NULL;
    if (value == NULL) {
        return failed ? -1 : 0;
    }
    if (!adminop_id_valid(kind, json_string_value(value))) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid \"%s\" \"%.80s\": expected %s", name,
                            json_string_value(value), id_formats[kind]);
    }
    *out = json_string_value(value);
    return 0;
}

int adminop_get_text(struct adminop_ctx *ctx, const char *name, int max_chars,
                     bool required, const char **out)
{
    bool failed;
    json_t *value = string_member(ctx, name, required, &failed);
    int chars = 0;

    *out = NULL;
    if (value == NULL) {
        return failed ? -1 : 0;
    }
    for (const unsigned char *p = (const unsigned char *)json_string_value(value); *p;
         p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                "\"%s\" must not contain control characters", name);
        }
        chars += (*p & 0xC0) != 0x80;
    }
    if (chars > max_chars || (required && chars == 0)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "\"%s\" must have between %d and %d characters", name,
                            required ? 1 : 0, max_chars);
    }
    *out = json_string_value(value);
    return 0;
}

int adminop_get_nonempty_text(struct adminop_ctx *ctx, const char *name, int max_chars,
                              const char **out)
{
    if (adminop_get_text(ctx, name, max_chars, false, out) != 0) {
        return -1;
    }
    if (*out != NULL && (*out)[0] == '\0') {
        *out = NULL;
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "\"%s\" must have between 1 and %d characters; leave it out "
                            "for none",
                            name, max_chars);
    }
    return 0;
}

int adminop_get_bool(struct adminop_ctx *ctx, const char *name, bool fallback, bool *out)
{
    json_t *value = json_object_get(ctx->request, name);

    *out = fallback;
    if (value == NULL || json_is_null(value)) {
        return 0;
    }
    if (!json_is_boolean(value)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "\"%s\" must be true or false",
                            name);
    }
    *out = json_is_true(value);
    return 0;
}

int adminop_get_integer(struct adminop_ctx *ctx, const char *name, long long min,
                        long long max, bool required, char text[21])
{
    json_t *value = json_object_get(ctx->request, name);
    long long number = 0;
    bool valid = false;
    char *end;

    text[0] = '\0';
    if (value == NULL || json_is_null(value)) {
        return required ? adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                       "the request has no \"%s\"", name)
                        : 0;
    }
    if (json_is_integer(value)) {
        number = json_integer_value(value);
        valid = true;
    } else if (json_is_string(value) && json_string_value(value)[0] != '\0') {
        errno = 0;
        number = strtoll(json_string_value(value), &end, 10);
        valid = *end == '\0' && errno == 0;
    }
    if (!valid || number < min || number > max) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "\"%s\" must be an integer from %lld to %lld", name, min,
                            max);
    }
    snprintf(text, 21, "%lld", number);
    return 0;
}

int adminop_get_choice(struct adminop_ctx *ctx, const char *name,
                       const char *const *choices, bool required, const char **out)
{
    bool failed;
    json_t *value = string_member(ctx, name, required, &failed);
    char expected[160] = "";
    size_t used = 0;

    *out = NULL;
    if (value == NULL) {
        return failed ? -1 : 0;
    }
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcmp(choices[i], json_string_value(value)) == 0) {
            *out = choices[i];
            return 0;
        }
        used += (size_t)snprintf(expected + used, sizeof(expected) - used, "%s%s",
                                 i == 0 ? "" : ", ", choices[i]);
        if (used >= sizeof(expected)) {
            break;
        }
    }
    return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                        "invalid \"%s\" \"%.40s\": expected one of %s", name,
                        json_string_value(value), expected);
}

/* Turns a failed statement into the request's error. */
static void fail_from_result(struct adminop_ctx *ctx, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *message = primary ? primary : PQerrorMessage(ctx->conn);
    int len = (int)strcspn(message, "\n");

    if (PQstatus(ctx->conn) != CONNECTION_OK || state == NULL ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
        adminop_fail(ctx, ADMINOP_UNAVAILABLE,
                     "the database is unavailable (%.*s); try again later", len, message);
    } else if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0 ||
               strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        adminop_fail(ctx, ADMINOP_CONFLICT, "the change conflicts with other data: %.*s",
                     len, message);
    } else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) {
        adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "the database rejected a value: %.*s",
                     len, message);
    } else {
        adminop_fail(ctx, ADMINOP_INTERNAL, "the database reported an error: %.*s", len,
                     message);
    }
}

PGresult *adminop_query(struct adminop_ctx *ctx, const char *sql, int nparams,
                        const char *const *params)
{
    PGresult *res = PQexecParams(ctx->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return res;
    }
    fail_from_result(ctx, res);
    PQclear(res);
    return NULL;
}

int adminop_query_json(struct adminop_ctx *ctx, const char *sql, int nparams,
                       const char *const *params, json_t **out)
{
    PGresult *res = adminop_query(ctx, sql, nparams, params);
    json_error_t error;

    *out = NULL;
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        *out = json_array();
    } else {
        *out = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, &error);
    }
    PQclear(res);
    if (*out == NULL) {
        return adminop_fail(ctx, ADMINOP_INTERNAL, "the database returned invalid JSON");
    }
    return 0;
}

int adminop_audit(struct adminop_ctx *ctx, const char *action, const char *object,
                  const char *before, const char *after)
{
    static const char sql[] =
        "INSERT INTO audit_log (actor, action, object, detail) "
        "VALUES (coalesce($1, 'db:' || current_user), $2, $3, "
        "        CASE WHEN $4::jsonb IS NULL THEN '{}'::jsonb "
        "             ELSE jsonb_build_object('before', $4::jsonb) END "
        "     || CASE WHEN $5::jsonb IS NULL THEN '{}'::jsonb "
        "             ELSE jsonb_build_object('after', $5::jsonb) END)";
    const char *params[] = {ctx->actor->principal, action, object, before, after};
    PGresult *res = adminop_query(ctx, sql, 5, params);

    PQclear(res);
    return res == NULL ? -1 : 0;
}

json_t *adminop_change_result(bool changed, const char *id_json, const char *fmt, ...)
{
    char summary[512];
    json_t *result;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(summary, sizeof(summary), fmt, ap);
    va_end(ap);
    result = json_pack("{s:b,s:s}", "changed", changed, "summary", summary);
    if (result != NULL && id_json != NULL) {
        json_object_set_new(result, "id", json_loads(id_json, JSON_DECODE_ANY, NULL));
    }
    return result;
}

void adminop_result_note(json_t *result, const char *key, const char *fmt, ...)
{
    json_t *list = json_object_get(result, key);
    char text[512];
    va_list ap;

    if (result == NULL) {
        return;
    }
    if (list == NULL) {
        list = json_array();
        json_object_set_new(result, key, list);
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_string(text));
}

int adminop_agency_state(struct adminop_ctx *ctx, const char *agency, char state[3])
{
    const char *params[] = {agency};
    PGresult *res =
        adminop_query(ctx, "SELECT state_code FROM agencies WHERE id = $1", 1, params);

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return adminop_fail(ctx, ADMINOP_NOT_FOUND, "agency %s not found", agency);
    }
    snprintf(state, 3, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int adminop_require_row(struct adminop_ctx *ctx, const char *table, const char *key,
                        const char *value, const char *noun)
{
    const char *params[] = {value};
    char sql[160];
    PGresult *res;
    int found;

    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE %s = $1", table, key);
    res = adminop_query(ctx, sql, 1, params);
    if (res == NULL) {
        return -1;
    }
    found = PQntuples(res);
    PQclear(res);
    return found ? 0
                 : adminop_fail(ctx, ADMINOP_NOT_FOUND, "%s %s not found", noun, value);
}

int adminop_check_row_state(struct adminop_ctx *ctx, const char *state_sql,
                            const char *noun, const char *id)
{
    const char *params[] = {id};
    PGresult *res = adminop_query(ctx, state_sql, 1, params);
    char object[128];
    int rc;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return adminop_fail(ctx, ADMINOP_NOT_FOUND, "%s %s not found", noun, id);
    }
    snprintf(object, sizeof(object), "%s %s", noun, id);
    rc = adminop_require_state(ctx, PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0),
                               object);
    PQclear(res);
    return rc;
}

int adminop_set_suspended(struct adminop_ctx *ctx, const char *table, const char *noun,
                          enum adminop_id_kind kind, const char *state_sql,
                          bool suspended, json_t **result)
{
    const char *id = NULL;
    const char *params[2];
    char sql[256];
    char action[48];
    PGresult *res = NULL;
    int rc = -1;

    if (adminop_get_id(ctx, "id", kind, true, &id) != 0 ||
        adminop_check_row_state(ctx, state_sql, noun, id) != 0) {
        return -1;
    }
    params[0] = id;
    params[1] = suspended ? "true" : "false";
    /* The row is locked by the UPDATE; "old" keeps its value from before. */
    snprintf(sql, sizeof(sql),
             "WITH old AS (SELECT to_jsonb(t) AS row FROM %s t WHERE t.id = $1 "
             "             FOR UPDATE) "
             "UPDATE %s t SET suspended = $2 FROM old "
             "WHERE t.id = $1 AND t.suspended <> $2 RETURNING old.row, to_jsonb(t)",
             table, table);
    res = adminop_query(ctx, sql, 2, params);
    if (res == NULL) {
        return -1;
    }
    snprintf(action, sizeof(action), "%s-%s", noun, suspended ? "suspend" : "resume");
    if (PQntuples(res) == 1 && adminop_audit(ctx, action, id, PQgetvalue(res, 0, 0),
                                             PQgetvalue(res, 0, 1)) != 0) {
        goto out;
    }
    if (PQntuples(res) == 1) {
        *result = adminop_change_result(true, NULL, "%s %s %s", noun, id,
                                        suspended ? "suspended" : "resumed");
    } else {
        *result =
            adminop_change_result(false, NULL, "%s %s is already %s; nothing changed",
                                  noun, id, suspended ? "suspended" : "active");
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

int adminop_insert_numbered(struct adminop_ctx *ctx,
                            const struct adminop_numbered_insert *ins, json_t **result)
{
    char sql[96];
    PGresult *res;
    int rc = -1;

    /* SHARE ROW EXCLUSIVE conflicts with itself and with writers but not readers, so
     * two identical adds cannot both insert. */
    snprintf(sql, sizeof(sql), "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", ins->table);
    res = adminop_query(ctx, sql, 0, NULL);
    PQclear(res);
    if (res == NULL) {
        return -1;
    }
    res = adminop_query(ctx, ins->find_sql, ins->nparams, ins->params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) > 0) {
        *result = adminop_change_result(false, PQgetvalue(res, 0, 0),
                                        "an identical %s exists with id %s; nothing "
                                        "changed",
                                        ins->noun, PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
    }
    PQclear(res);

    res = adminop_query(ctx, ins->insert_sql, ins->nparams, ins->params);
    if (res != NULL && PQntuples(res) == 1 &&
        adminop_audit(ctx, ins->action, PQgetvalue(res, 0, 0), NULL,
                      PQgetvalue(res, 0, 1)) == 0) {
        *result = adminop_change_result(true, PQgetvalue(res, 0, 0), "added %s %s",
                                        ins->noun, PQgetvalue(res, 0, 0));
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int adminop_delete_numbered(struct adminop_ctx *ctx, const char *table, const char *noun,
                            const char *action, const char *state_sql, json_t **result)
{
    char id[21];
    const char *params[] = {id};
    char sql[128];
    PGresult *res;
    int rc = -1;

    if (adminop_get_integer(ctx, "id", 1, INT64_MAX, true, id) != 0 ||
        adminop_check_row_state(ctx, state_sql, noun, id) != 0) {
        return -1;
    }
    snprintf(sql, sizeof(sql), "DELETE FROM %s t WHERE t.id = $1 RETURNING to_jsonb(t)",
             table);
    res = adminop_query(ctx, sql, 1, params);
    if (res != NULL && PQntuples(res) == 1 &&
        adminop_audit(ctx, action, id, PQgetvalue(res, 0, 0), NULL) == 0) {
        *result = adminop_change_result(true, id, "removed %s %s", noun, id);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int adminop_insert_keyed(struct adminop_ctx *ctx, const struct adminop_keyed_insert *ins,
                         json_t **result)
{
    PGresult *res = adminop_query(ctx, ins->insert_sql, ins->nparams, ins->params);
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 1) {
        if (adminop_audit(ctx, ins->action, ins->key, NULL, PQgetvalue(res, 0, 0)) == 0) {
            *result =
                adminop_change_result(true, NULL, "added %s %s", ins->noun, ins->key);
            rc = 0;
        }
        PQclear(res);
        return rc;
    }
    PQclear(res);

    res = adminop_query(ctx, ins->same_sql, ins->nparams, ins->params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) != 1) {
        /* The conflicting row is not the key's: another unique constraint. */
        adminop_fail(ctx, ADMINOP_CONFLICT, "%s %s conflicts with an existing row",
                     ins->noun, ins->key);
    } else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        adminop_fail(ctx, ADMINOP_CONFLICT,
                     "%s %s already exists with other values: %.300s", ins->noun,
                     ins->key, PQgetvalue(res, 0, 0));
    } else {
        *result = adminop_change_result(false, NULL,
                                        "%s %s already exists with the same values; "
                                        "nothing changed",
                                        ins->noun, ins->key);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Checks that every member of the request is "op", "iactn" or a field of op. */
static int check_fields(struct adminop_ctx *ctx, const struct adminop_op *op)
{
    const char *key;
    json_t *value;

    json_object_foreach(ctx->request, key, value)
    {
        bool known = strcmp(key, "op") == 0 || strcmp(key, "iactn") == 0;

        for (size_t i = 0; !known && op->fields[i] != NULL; i++) {
            known = strcmp(key, op->fields[i]) == 0;
        }
        if (!known) {
            return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                "operation %s has no field \"%.60s\"", op->name, key);
        }
    }
    return 0;
}

static int run_statement(struct adminop_ctx *ctx, const char *sql)
{
    PGresult *res = adminop_query(ctx, sql, 0, NULL);

    PQclear(res);
    return res == NULL ? -1 : 0;
}

/* Resolves the operation named by the request. */
static const struct adminop_op *request_op(struct adminop_ctx *ctx)
{
    const char *name = json_string_value(json_object_get(ctx->request, "op"));
    const struct adminop_op *op;

    if (!json_is_object(ctx->request)) {
        adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "the request must be a JSON object");
        return NULL;
    }
    if (name == NULL) {
        adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                     "the request has no \"op\" naming the operation");
        return NULL;
    }
    op = find_op(name);
    if (op == NULL) {
        adminop_fail(ctx, ADMINOP_UNKNOWN_OP, "unknown operation \"%.60s\"", name);
        return NULL;
    }
    return check_fields(ctx, op) == 0 ? op : NULL;
}

json_t *adminop_run(PGconn *conn, const struct adminop_actor *actor, json_t *request,
                    struct adminop_error *err)
{
    struct adminop_ctx ctx = {conn, actor, request, err, NULL};
    const struct adminop_op *op;
    json_t *result = NULL;

    memset(err, 0, sizeof(*err));
    if (actor->state != NULL && actor->state[0] != '\0') {
        ctx.own_state = actor->state;
    }
    op = request_op(&ctx);
    if (op == NULL) {
        return NULL;
    }
    /* Times in results and audit rows are UTC whatever the server's default. */
    if (run_statement(&ctx, op->read_only ? "BEGIN READ ONLY" : "BEGIN") != 0 ||
        run_statement(&ctx, "SET LOCAL TimeZone = 'UTC'") != 0) {
        goto fail;
    }
    if (op->run(&ctx, &result) != 0) {
        goto fail;
    }
    if (result == NULL) {
        adminop_fail(&ctx, ADMINOP_INTERNAL, "out of memory");
        goto fail;
    }
    if (run_statement(&ctx, "COMMIT") != 0) {
        goto fail;
    }
    return result;

fail:
    json_decref(result);
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    if (err->code == NULL) {
        err->code = ADMINOP_INTERNAL;
        snprintf(err->message, sizeof(err->message), "the operation failed");
    }
    return NULL;
}

int adminop_audit_rejection(PGconn *conn, const struct adminop_actor *actor,
                            const char *op, const char *topic,
                            const struct adminop_error *err)
{
    static const char sql[] =
        "INSERT INTO audit_log (actor, action, object, detail) "
        "VALUES (coalesce($1, 'db:' || current_user), 'admin-request-rejected', $2, "
        "        jsonb_build_object('code', $3::text, 'error', $4::text) "
        "     || CASE WHEN $5::text IS NULL THEN '{}'::jsonb "
        "             ELSE jsonb_build_object('topic', $5::text) END)";
    const char *params[] = {actor->principal, op ? op : "", err->code, err->message,
                            topic};
    PGresult *res = PQexecParams(conn, sql, 5, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

    PQclear(res);
    return rc;
}
