/*
 * The local operations on the tables keyed by a text id that have no administration
 * request form (member states and categories): idempotent inserts and the suspended
 * flag, each audited.
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

/* Runs a whole "<noun> add" command in one transaction: inserts the row and appends
 * the "<noun>-add" audit row, commits, and prints what happened. An identical row that
 * already exists changes nothing and is not audited; one with other values is an
 * error that shows them. Returns an ADMIN_EXIT_* code. */
int entity_add_command(struct admin_ctx *ctx, const struct entity_insert *ins);

/* Sets or clears the suspended flag of one row in its own transaction, audited as
 * "<noun>-suspend" or "<noun>-resume" with the row before and after. A row already in
 * that state is left alone and not audited. Returns an ADMIN_EXIT_* code; a key of
 * the wrong format is a usage error and an unknown key a failure. */
int entity_set_suspended(struct admin_ctx *ctx, const struct admin_entity *e,
                         const char *key, bool suspended);

#endif
