/*
 * rule add, rule list, rule remove: the sharing_rules rows that decide which states may
 * receive an origin state's alerts.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"
#include "validate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX_CHARS 500
#define ID_TEXT_LEN 21

static bool validate_rule_add(const struct admin_args *args)
{
    const char *origin = args->opt[OPT_ORIGIN];
    const char *category = args->opt[OPT_CATEGORY];
    const char *to_state = args->opt[OPT_TO_STATE];
    const char *to_group = args->opt[OPT_TO_GROUP];
    const char *note = args->opt[OPT_NOTE];

    return (origin == NULL || validate_id(ID_STATE, origin)) &&
           (strcmp(category, "*") == 0 || validate_id(ID_CATEGORY, category)) &&
           (to_state == NULL || validate_id(ID_STATE, to_state)) &&
           (to_group == NULL || validate_id(ID_GROUP, to_group)) &&
           (note == NULL || validate_text("--note", note, NOTE_MAX_CHARS));
}

/* Checks inside the open transaction that every state, category and group the rule
 * names exists. Returns 0, or -1 after printing which does not. */
static int check_rule_references(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *origin = args->opt[OPT_ORIGIN];
    const char *category = args->opt[OPT_CATEGORY];
    const char *to_state = args->opt[OPT_TO_STATE];
    const char *to_group = args->opt[OPT_TO_GROUP];

    if ((origin && entity_exists(ctx, &ENTITY_STATE, origin) != 1) ||
        (strcmp(category, "*") != 0 &&
         entity_exists(ctx, &ENTITY_CATEGORY, category) != 1) ||
        (to_state && entity_exists(ctx, &ENTITY_STATE, to_state) != 1) ||
        (to_group && entity_exists(ctx, &ENTITY_GROUP, to_group) != 1)) {
        return -1;
    }
    return 0;
}

/* Tells the operator how an origin's own rules now relate to the network-wide ones:
 * an origin with at least one rule of its own ignores the network-wide rules. */
static void report_origin_rules(struct admin_ctx *ctx, const char *origin, bool added)
{
    const char *params[] = {origin};
    PGresult *res = admin_db_query(ctx,
                                   "SELECT count(*), count(*) FILTER (WHERE allow) "
                                   "FROM sharing_rules WHERE origin_state = $1",
                                   1, params);
    long total;
    long allows;

    if (res == NULL) {
        return;
    }
    total = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    allows = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    if (total == 0) {
        admin_note("origin %s has no rules of its own any more, so the network-wide "
                   "rules apply to it",
                   origin);
    } else if (allows == 0) {
        admin_warn("none of origin %s's own rules allows anything, and the network-wide "
                   "rules no longer apply to it: its alerts now reach only %s",
                   origin, origin);
    } else if (added && total == 1) {
        admin_note("origin %s now follows its own rules only; the network-wide rules "
                   "no longer apply to it",
                   origin);
    }
}

static int rule_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *origin = args->opt[OPT_ORIGIN];
    const char *params[] = {
        origin,
        args->opt[OPT_CATEGORY],
        args->opt[OPT_TO_STATE],
        args->opt[OPT_TO_GROUP],
        args->opt[OPT_ALLOW] ? "true" : "false",
        args->opt[OPT_NOTE] ? args->opt[OPT_NOTE] : "",
    };
    /* A row that differs only in its note is the same rule. find_sql mentions $6 only
     * because PostgreSQL must be able to infer the type of every parameter. */
    const struct numbered_insert ins = {
        .table = "sharing_rules",
        .action = "rule-add",
        .find_sql = "SELECT id FROM sharing_rules "
                    "WHERE origin_state IS NOT DISTINCT FROM $1 "
                    "  AND category_pattern = $2 "
                    "  AND target_state IS NOT DISTINCT FROM $3 "
                    "  AND target_group IS NOT DISTINCT FROM $4 "
                    "  AND allow = $5 AND $6::text IS NOT NULL "
                    "ORDER BY id LIMIT 1",
        .insert_sql = "INSERT INTO sharing_rules AS t (origin_state, category_pattern, "
                      "    target_state, target_group, allow, note) "
                      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING t.id, to_jsonb(t)",
        .nparams = 6,
        .params = params,
    };
    char id[ID_TEXT_LEN];
    int inserted;

    if (!validate_rule_add(args)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (check_rule_references(ctx, args) != 0) {
        goto fail;
    }
    inserted = numbered_insert(ctx, &ins, id);
    if (inserted < 0 || admin_db_commit(ctx) != 0) {
        goto fail;
    }
    if (inserted == 0) {
        admin_note("an identical sharing rule exists with id %s; nothing changed", id);
    }
    printf("%s\n", id);
    if (origin) {
        report_origin_rules(ctx, origin, inserted == 1);
    }
    return ADMIN_EXIT_OK;
fail:
    admin_db_rollback(ctx);
    return ADMIN_EXIT_FAILURE;
}

static int rule_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT id, coalesce(origin_state, 'network') AS origin, "
        "       category_pattern AS category, "
        "       CASE WHEN target_state IS NOT NULL THEN 'state ' || target_state "
        "            WHEN target_group IS NOT NULL THEN 'group ' || target_group "
        "            ELSE 'all states' END AS recipients, "
        "       CASE WHEN allow THEN 'allow' ELSE 'deny' END AS decision, note "
        "FROM sharing_rules WHERE $1::text IS NULL OR origin_state = $1 "
        "ORDER BY origin_state NULLS FIRST, id";
    const char *origin = args->opt[OPT_ORIGIN];
    const char *params[] = {origin};

    if (origin && !validate_id(ID_STATE, origin)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(ctx, sql, 1, params);
}

/* Copies the origin of rule id into origin ("" for a network-wide rule). Returns 0, or
 * -1 after printing why. */
static int lookup_rule_origin(struct admin_ctx *ctx, const char *id, char origin[3])
{
    const char *params[] = {id};
    PGresult *res = admin_db_query(
        ctx, "SELECT coalesce(origin_state, '') FROM sharing_rules WHERE id = $1", 1,
        params);

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        admin_error("sharing rule %s not found", id);
        PQclear(res);
        return -1;
    }
    snprintf(origin, 3, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int rule_remove(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *id = args->arg[0];
    char origin[3];
    long ignored;

    if (!validate_long("ID", id, 1, LONG_MAX, &ignored)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (lookup_rule_origin(ctx, id, origin) != 0 ||
        numbered_delete(ctx, "sharing_rules", "sharing rule", "rule-remove", id) != 0 ||
        admin_db_commit(ctx) != 0) {
        admin_db_rollback(ctx);
        return ADMIN_EXIT_FAILURE;
    }
    printf("removed sharing rule %s\n", id);
    if (origin[0]) {
        report_origin_rules(ctx, origin, false);
    }
    return ADMIN_EXIT_OK;
}

const struct admin_command rule_commands[] = {
    {
        .group = "rule",
        .verb = "add",
        .run = rule_add,
        .options = OPT_BIT(OPT_ORIGIN) | OPT_BIT(OPT_NETWORK) | OPT_BIT(OPT_CATEGORY) |
                   OPT_BIT(OPT_TO_STATE) | OPT_BIT(OPT_TO_GROUP) | OPT_BIT(OPT_TO_ALL) |
                   OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY) | OPT_BIT(OPT_NOTE),
        .required = OPT_BIT(OPT_CATEGORY),
        .choices = {OPT_BIT(OPT_ORIGIN) | OPT_BIT(OPT_NETWORK),
                    OPT_BIT(OPT_TO_STATE) | OPT_BIT(OPT_TO_GROUP) | OPT_BIT(OPT_TO_ALL),
                    OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY)},
        .synopsis = "rule add (--origin CODE | --network) --category SLUG|'*' "
                    "(--to-state CODE | --to-group ID | --to-all) (--allow | --deny) "
                    "[--note TEXT]",
        .description =
            "Adds a sharing rule and prints its id. The rule says whether alerts of "
            "origin state CODE (or, with --network, of every origin without rules of its "
            "own) in category SLUG ('*' for every category) may reach state CODE, the "
            "members of sharing group ID, or every member state. Deny rules win over "
            "allow rules. An origin's first rule of its own replaces the network-wide "
            "rules for that origin, so give it an allow rule too; the command warns when "
            "an origin is left with no allow rule. The origin always receives its own "
            "alerts. An identical rule (the note aside) is not added twice: its id is "
            "printed instead.",
    },
    {
        .group = "rule",
        .verb = "list",
        .run = rule_list,
        .options = OPT_BIT(OPT_ORIGIN),
        .synopsis = "rule list [--origin CODE]",
        .description = "Lists the sharing rules: id, origin ('network' for the "
                       "network-wide rules), category, recipients, decision and note. "
                       "With --origin, only the rules of origin CODE itself.",
    },
    {
        .group = "rule",
        .verb = "remove",
        .run = rule_remove,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "rule remove ID",
        .description = "Removes the sharing rule ID, as shown by 'rule list'.",
    },
    {0},
};
