/*
 * Operations that several command groups share on the tables keyed by a text id:
 * existence checks, idempotent inserts and the suspended flag, each audited.
 */
#ifndef IACTN_ADMIN_ENTITY_H
#define IACTN_ADMIN_ENTITY_H

#include "admin.h"
#include "validate.h"

/* A table keyed by one text column. The names are constants of this program and the
 * only identifiers ever formatted into SQL text. */
struct admin_entity {
    const char *noun;  /* "state", used in messages and audit actions */
    const char *table; /* "member_states" */
    const char *key;   /* "code" */
    enum id_kind kind;
};

extern const struct admin_entity ENTITY_STATE;
extern const struct admin_entity ENTITY_CATEGORY;
extern const struct admin_entity ENTITY_AGENCY;
extern const struct admin_entity ENTITY_PRINCIPAL;
extern const struct admin_entity ENTITY_GROUP;

/* Returns 1 when e has a row with that key, 0 after printing "<noun> '<key>' not
 * found", -1 after a database error. Connects if needed. */
int entity_exists(struct admin_ctx *ctx, const struct admin_entity *e, const char *key);

/* An insert that must not fail when the same row is already there. */
struct entity_insert {
    const struct admin_entity *entity;
    const char *key;
    /* INSERT ... ON CONFLICT DO NOTHING RETURNING to_jsonb(<row>) */
    const char *insert_sql;
    /* SELECT to_jsonb(t), <true when t matches the parameters> FROM ... WHERE key = $1 */
    const char *same_sql;
    int nparams;
    const char *const *params; /* shared by both statements; $1 is the key */
};

/* Inserts a row inside the open transaction and appends the "<noun>-add" audit row.
 * Returns 1 when it inserted, 0 when an identical row already existed (nothing
 * changed, nothing audited), -1 after printing an error: a database error, or an
 * existing row with other values, which the message shows. */
int entity_insert(struct admin_ctx *ctx, const struct entity_insert *ins);

/* Runs a whole "<noun> add" command around entity_insert(): begins, inserts, commits
 * and prints what happened. Returns an ADMIN_EXIT_* code. */
int entity_add_command(struct admin_ctx *ctx, const struct entity_insert *ins);

/* Sets or clears the suspended flag of one row in its own transaction, audited as
 * "<noun>-suspend" or "<noun>-resume" with the row before and after. A row already in
 * that state is left alone and not audited. Returns an ADMIN_EXIT_* code; a key of
 * the wrong format is a usage error and an unknown key a failure. */
int entity_set_suspended(struct admin_ctx *ctx, const struct admin_entity *e,
                         const char *key, bool suspended);

/* An insert into a table keyed by a bigserial id (topic_acl, sharing_rules), where
 * adding a row identical to an existing one must not add a second copy. */
struct numbered_insert {
    const char *table;  /* "topic_acl" */
    const char *action; /* audit action, "acl-add" */
    /* SELECT id FROM <table> WHERE <columns match the parameters> LIMIT 1 */
    const char *find_sql;
    /* INSERT INTO <table> AS t ... RETURNING t.id, to_jsonb(t) */
    const char *insert_sql;
    int nparams;
    const char *const *params; /* shared by both statements */
};

/* Inserts the row inside the open transaction with its audit row, unless an identical
 * row exists. The table is locked against concurrent writers for the rest of the
 * transaction so that two identical adds cannot both insert. Copies the new or
 * existing id into id (at least 21 bytes). Returns 1 when it inserted, 0 when the row
 * existed, -1 after printing a database error. */
int numbered_insert(struct admin_ctx *ctx, const struct numbered_insert *ins, char *id);

/* Deletes the row with that id (already validated as a positive integer) from table
 * inside the open transaction, audited as action with the row before. noun names the
 * row in messages ("topic rule"). Returns 0, or -1 after printing why (not found,
 * database error). */
int numbered_delete(struct admin_ctx *ctx, const char *table, const char *noun,
                    const char *action, const char *id);

#endif
