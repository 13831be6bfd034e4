#include "entity.h"

#include "db.h"

#include <stdio.h>
#include <string.h>

const struct admin_entity ENTITY_STATE = {"state", "member_states", "code", ID_STATE};
const struct admin_entity ENTITY_CATEGORY = {"category", "categories", "slug",
                                             ID_CATEGORY};

/* Compares the requested values with the row that is already there. Returns 0 when
 * they match, -1 after printing the conflict or a database error. */
static int compare_existing(struct admin_ctx *ctx, const struct entity_insert *ins)
{
    PGresult *res = admin_db_query(ctx, ins->same_sql, ins->nparams, ins->params);
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) != 1) {
        /* The conflicting row is not the key's: another unique constraint. */
        admin_error("%s '%s' conflicts with an existing row", ins->entity->noun,
                    ins->key);
    } else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        admin_error("%s '%s' already exists with other values: %s", ins->entity->noun,
                    ins->key, PQgetvalue(res, 0, 0));
    } else {
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Inserts a row inside the open transaction and appends its audit row. Returns 1 when
 * it inserted, 0 when an identical row already existed, -1 after printing an error. */
static int entity_insert(struct admin_ctx *ctx, const struct entity_insert *ins)
{
    PGresult *res = admin_db_query(ctx, ins->insert_sql, ins->nparams, ins->params);
    char action[48];
    int rc;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return compare_existing(ctx, ins);
    }
    snprintf(action, sizeof(action), "%s-add", ins->entity->noun);
    rc = admin_db_audit(ctx, action, ins->key, NULL, PQgetvalue(res, 0, 0), NULL);
    PQclear(res);
    return rc == 0 ? 1 : -1;
}

int entity_add_command(struct admin_ctx *ctx, const struct entity_insert *ins)
{
    int inserted;

    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    inserted = entity_insert(ctx, ins);
    if (inserted < 0 || admin_db_commit(ctx) != 0) {
        admin_db_rollback(ctx);
        return ADMIN_EXIT_FAILURE;
    }
    if (inserted) {
        printf("added %s %s\n", ins->entity->noun, ins->key);
    } else {
        printf("%s %s already exists with the same values; nothing changed\n",
               ins->entity->noun, ins->key);
    }
    return ADMIN_EXIT_OK;
}

/* Locks the row and returns it, or NULL after printing why (not found or a database
 * error). The caller frees the result with PQclear. */
static PGresult *lock_row(struct admin_ctx *ctx, const struct admin_entity *e,
                          const char *key)
{
    const char *params[] = {key};
    char sql[160];
    PGresult *res;

    snprintf(sql, sizeof(sql),
             "SELECT to_jsonb(t), t.suspended FROM %s t WHERE t.%s = $1 FOR UPDATE",
             e->table, e->key);
    res = admin_db_query(ctx, sql, 1, params);
    if (res && PQntuples(res) == 0) {
        admin_error("%s '%s' not found", e->noun, key);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Updates the flag and audits it. Returns 0 or -1. */
static int update_suspended(struct admin_ctx *ctx, const struct admin_entity *e,
                            const char *key, bool suspended, const char *before)
{
    const char *params[] = {key, suspended ? "true" : "false"};
    char sql[160];
    char action[48];
    PGresult *res;
    int rc;

    snprintf(sql, sizeof(sql),
             "UPDATE %s t SET suspended = $2 WHERE t.%s = $1 RETURNING to_jsonb(t)",
             e->table, e->key);
    res = admin_db_query(ctx, sql, 2, params);
    if (res == NULL) {
        return -1;
    }
    snprintf(action, sizeof(action), "%s-%s", e->noun, suspended ? "suspend" : "resume");
    rc = admin_db_audit(ctx, action, key, before, PQgetvalue(res, 0, 0), NULL);
    PQclear(res);
    return rc;
}

int entity_set_suspended(struct admin_ctx *ctx, const struct admin_entity *e,
                         const char *key, bool suspended)
{
    const char *word = suspended ? "suspended" : "resumed";
    PGresult *row = NULL;
    bool already;
    int rc = ADMIN_EXIT_FAILURE;

    if (!validate_id(e->kind, key)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    row = lock_row(ctx, e, key);
    if (row == NULL) {
        goto out;
    }
    already = (strcmp(PQgetvalue(row, 0, 1), "t") == 0) == suspended;
    if (!already &&
        update_suspended(ctx, e, key, suspended, PQgetvalue(row, 0, 0)) != 0) {
        goto out;
    }
    if (admin_db_commit(ctx) != 0) {
        goto out;
    }
    if (already) {
        printf("%s %s is already %s; nothing changed\n", e->noun, key,
               suspended ? "suspended" : "active");
    } else {
        printf("%s %s %s\n", e->noun, key, word);
    }
    rc = ADMIN_EXIT_OK;
out:
    PQclear(row);
    admin_db_rollback(ctx);
    return rc;
}
