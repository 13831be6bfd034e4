/*
 * acl add, acl list, acl remove: the topic_acl rows that decide who may publish and
 * subscribe to which topics.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"
#include "validate.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define NOTE_MAX_CHARS 500
#define ID_TEXT_LEN 21

static bool validate_acl_add(const struct admin_args *args)
{
    const char *access = args->opt[OPT_ACCESS];
    const char *state = args->opt[OPT_STATE];
    const char *priority = args->opt[OPT_PRIORITY];
    const char *note = args->opt[OPT_NOTE];
    long ignored;

    if (!validate_role(args->opt[OPT_ROLE], true)) {
        return false;
    }
    if (strcmp(access, "publish") != 0 && strcmp(access, "subscribe") != 0) {
        admin_error("invalid --access '%s': expected publish or subscribe", access);
        return false;
    }
    return validate_topic_filter(args->opt[OPT_PATTERN]) &&
           (state == NULL || validate_id(ID_STATE, state)) &&
           (priority == NULL ||
            validate_long("--priority", priority, INT_MIN, INT_MAX, &ignored)) &&
           (note == NULL || validate_text("--note", note, NOTE_MAX_CHARS));
}

static int acl_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *state = args->opt[OPT_STATE];
    const char *params[] = {
        state,
        args->opt[OPT_ROLE],
        args->opt[OPT_ACCESS],
        args->opt[OPT_PATTERN],
        args->opt[OPT_ALLOW] ? "true" : "false",
        args->opt[OPT_PRIORITY] ? args->opt[OPT_PRIORITY] : "0",
        args->opt[OPT_NOTE] ? args->opt[OPT_NOTE] : "",
    };
    /* A row that differs only in its note is the same rule. find_sql mentions $7 only
     * because PostgreSQL must be able to infer the type of every parameter. */
    const struct numbered_insert ins = {
        .table = "topic_acl",
        .action = "acl-add",
        .find_sql = "SELECT id FROM topic_acl "
                    "WHERE state_code IS NOT DISTINCT FROM $1 AND role = $2 "
                    "  AND access = $3 AND pattern = $4 AND allow = $5 "
                    "  AND priority = $6 AND $7::text IS NOT NULL "
                    "ORDER BY id LIMIT 1",
        .insert_sql = "INSERT INTO topic_acl AS t "
                      "    (state_code, role, access, pattern, allow, priority, note) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING t.id, to_jsonb(t)",
        .nparams = 7,
        .params = params,
    };
    char id[ID_TEXT_LEN];
    int inserted;

    if (!validate_acl_add(args)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (state && entity_exists(ctx, &ENTITY_STATE, state) != 1) {
        goto fail;
    }
    inserted = numbered_insert(ctx, &ins, id);
    if (inserted < 0 || admin_db_commit(ctx) != 0) {
        goto fail;
    }
    if (inserted == 0) {
        admin_note("an identical topic rule exists with id %s; nothing changed", id);
    }
    printf("%s\n", id);
    return ADMIN_EXIT_OK;
fail:
    admin_db_rollback(ctx);
    return ADMIN_EXIT_FAILURE;
}

static int acl_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT id, coalesce(state_code, '*') AS state, role, access, pattern, "
        "       CASE WHEN allow THEN 'allow' ELSE 'deny' END AS decision, priority, note "
        "FROM topic_acl WHERE $1::text IS NULL OR state_code IS NULL OR state_code = $1 "
        "ORDER BY priority DESC, id";
    const char *state = args->opt[OPT_STATE];
    const char *params[] = {state};

    if (state && !validate_id(ID_STATE, state)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(ctx, sql, 1, params);
}

static int acl_remove(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *id = args->arg[0];
    long ignored;

    if (!validate_long("ID", id, 1, LONG_MAX, &ignored)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (numbered_delete(ctx, "topic_acl", "topic rule", "acl-remove", id) != 0 ||
        admin_db_commit(ctx) != 0) {
        admin_db_rollback(ctx);
        return ADMIN_EXIT_FAILURE;
    }
    printf("removed topic rule %s\n", id);
    return ADMIN_EXIT_OK;
}

const struct admin_command acl_commands[] = {
    {
        .group = "acl",
        .verb = "add",
        .run = acl_add,
        .options = OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_ACCESS) | OPT_BIT(OPT_PATTERN) |
                   OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY) | OPT_BIT(OPT_STATE) |
                   OPT_BIT(OPT_PRIORITY) | OPT_BIT(OPT_NOTE),
        .required = OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_ACCESS) | OPT_BIT(OPT_PATTERN),
        .choices = {OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY)},
        .synopsis = "acl add --role ROLE|'*' --access publish|subscribe --pattern FILTER "
                    "(--allow|--deny) [--state CODE] [--priority N] [--note TEXT]",
        .description =
            "Adds a topic rule and prints its id. FILTER is an MQTT topic filter ('+' as "
            "a whole level, '#' as the whole last level) of at most 256 characters, in "
            "which {state}, {agency} and {principal} stand for the client's own values. "
            "The rule applies to principals of ROLE ('*' for every role) and, with "
            "--state, only to those of state CODE. Among the rules that apply to a "
            "client, the one with the highest priority N (default 0; the default policy "
            "uses 100) whose filter concerns the topic decides; no rule means deny. An "
            "identical rule (the note aside) is not added twice: its id is printed "
            "instead.",
    },
    {
        .group = "acl",
        .verb = "list",
        .run = acl_list,
        .options = OPT_BIT(OPT_STATE),
        .synopsis = "acl list [--state CODE]",
        .description =
            "Lists the topic rules by decreasing priority: id, state ('*' for "
            "every state), role, access, pattern, decision, priority and note. "
            "With --state, only the rules that apply to principals of state "
            "CODE: its own and those for every state.",
    },
    {
        .group = "acl",
        .verb = "remove",
        .run = acl_remove,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "acl remove ID",
        .description = "Removes the topic rule ID, as shown by 'acl list'.",
    },
    {0},
};
