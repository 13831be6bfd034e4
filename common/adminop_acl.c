/*
 * acl-add, acl-remove, acl-list: topic rules (topic_acl). rule-add, rule-remove,
 * rule-list: sharing rules (sharing_rules).
 */
#include "adminop_internal.h"
#include "topic.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX_CHARS 500
#define PATTERN_MAX 256

static const char *const roles_any[] = {
    "*", "liaison", "agency-system", "admin", "archiver", "broker-bridge", NULL};
static const char *const accesses[] = {"publish", "subscribe", NULL};
static const char *const scopes[] = {"any", "state", "network", NULL};

static const char control_characters[] =
    "control characters such as newline or tab are not allowed";

/* Returns NULL when `pattern` is a valid topic_acl pattern, or the reason it is not. A
 * pattern is an MQTT topic filter of 1 to 256 bytes without control characters or a
 * "$share/" prefix, whose only braces are {state}, {agency} and {principal}. */
static const char *pattern_problem(const char *pattern)
{
    static const char *const placeholders[] = {"{state}", "{agency}", "{principal}"};
    static const char bad_brace[] =
        "the only placeholders are {state}, {agency} and {principal}";
    char plain[PATTERN_MAX + 1];
    size_t used = 0;

    if (pattern[0] == '\0' || strlen(pattern) > PATTERN_MAX) {
        return "expected 1 to 256 bytes";
    }
    for (const char *p = pattern; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            return control_characters;
        }
    }
    if (strncmp(pattern, "$share/", 7) == 0) {
        return "rights are checked on the filter after its $share/{group}/ prefix, so a "
               "pattern never starts with it";
    }
    for (const char *p = pattern; *p != '\0';) {
        size_t skip = 0;

        for (size_t i = 0; *p == '{' && i < 3; i++) {
            if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0) {
                skip = strlen(placeholders[i]);
            }
        }
        if (*p == '}' || (*p == '{' && skip == 0)) {
            return bad_brace;
        }
        plain[used++] = skip ? 'x' : *p;
        p += skip ? skip : 1;
    }
    plain[used] = '\0';
    return topic_filter_is_valid(plain)
               ? NULL
               : "'+' must be a whole level, and '#' the whole last level";
}

/* Reads the required "pattern" and checks it, with the reason in the error. */
static int get_pattern(struct adminop_ctx *ctx, const char **pattern)
{
    json_t *value = json_object_get(ctx->request, "pattern");
    const char *problem;

    *pattern = json_string_value(value);
    if (value == NULL || json_is_null(value)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "the request has no \"pattern\"");
    }
    if (*pattern == NULL || strlen(*pattern) != json_string_length(value)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "\"pattern\" must be a string");
    }
    problem = pattern_problem(*pattern);
    if (problem == control_characters) {
        /* The value is not echoed: a newline or escape in it would garble the output. */
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "invalid topic filter: %s",
                            problem);
    }
    if (problem != NULL) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid topic filter '%.80s': %s", *pattern, problem);
    }
    return 0;
}

/* Reads the required "allow" of a new rule: true to allow, false to deny. */
static int get_allow(struct adminop_ctx *ctx, bool *allow)
{
    if (json_object_get(ctx->request, "allow") == NULL) {
        return adminop_fail(
            ctx, ADMINOP_INVALID_REQUEST,
            "the request has no \"allow\" (true to allow, false to deny)");
    }
    return adminop_get_bool(ctx, "allow", false, allow);
}

/* A state administrator's allow rule may only grant what a network-wide allow rule of
 * the same access grants the role (or every role), and must not reach into what a
 * network-wide deny rule takes away. Patterns are compared with {state} standing for
 * the administrator's state; {agency} and {principal} stay as they are, so they match
 * only the same placeholder. */
static int check_grant(struct adminop_ctx *ctx, const char *role, const char *access,
                       const char *pattern)
{
    static const char sql[] =
        "SELECT pattern, allow FROM topic_acl "
        "WHERE state_code IS NULL AND access = $1 AND (role = '*' OR role = $2) "
        "  AND principal_scope <> 'network'";
    const struct iactn_topic_vars vars = {ctx->own_state, "{agency}", "{principal}"};
    const char *params[] = {access, role};
    char wanted[TOPIC_MAX + 1];
    char granted[TOPIC_MAX + 1];
    bool covered = false;
    PGresult *res;

    if (topic_expand(pattern, &vars, wanted, sizeof(wanted)) != 0) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "invalid \"pattern\"");
    }
    res = adminop_query(ctx, sql, 2, params);
    if (res == NULL) {
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        bool allow = strcmp(PQgetvalue(res, i, 1), "t") == 0;

        if (topic_expand(PQgetvalue(res, i, 0), &vars, granted, sizeof(granted)) != 0) {
            continue;
        }
        if (!allow && topic_filters_intersect(granted, wanted)) {
            PQclear(res);
            return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                                "a network-wide rule denies %s on %s to role %s, and "
                                "state administrators cannot lift it",
                                access, PQgetvalue(res, i, 0), role);
        }
        covered = covered || (allow && topic_filter_covers(granted, wanted));
    }
    PQclear(res);
    if (!covered) {
        return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                            "no network-wide rule lets role %s %s on %s, and state "
                            "administrators may only narrow the network's topic rights",
                            role, access, pattern);
    }
    return 0;
}

/* The rights-related checks on a new topic rule. */
static int check_acl_rights(struct adminop_ctx *ctx, const char *state, const char *role,
                            const char *access, const char *pattern, bool allow,
                            const char *scope)
{
    char object[64];

    if (state != NULL && strcmp(scope, "network") == 0) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "a rule for state %s cannot have scope network, which "
                            "reaches only principals without a state",
                            state);
    }
    if (adminop_is_network(ctx)) {
        return 0;
    }
    snprintf(object, sizeof(object), "a topic rule for %s%s",
             state ? "state " : "every state", state ? state : "");
    if (adminop_require_state(ctx, state, object) != 0) {
        return -1;
    }
    if (strcmp(role, "archiver") == 0 || strcmp(role, "broker-bridge") == 0) {
        return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                            "the topic rights of the network role %s are set by network "
                            "administrators only",
                            role);
    }
    return allow ? check_grant(ctx, role, access, pattern) : 0;
}

static int acl_add(struct adminop_ctx *ctx, json_t **result)
{
    const char *state, *role, *access, *pattern, *note, *scope;
    char priority[21];
    bool allow;

    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &state) != 0 ||
        adminop_get_choice(ctx, "role", roles_any, true, &role) != 0 ||
        adminop_get_choice(ctx, "access", accesses, true, &access) != 0 ||
        get_pattern(ctx, &pattern) != 0 ||
        adminop_get_integer(ctx, "priority", INT32_MIN, INT32_MAX, false, priority) !=
            0 ||
        adminop_get_nonempty_text(ctx, "note", NOTE_MAX_CHARS, &note) != 0 ||
        adminop_get_choice(ctx, "scope", scopes, false, &scope) != 0) {
        return -1;
    }
    if (get_allow(ctx, &allow) != 0) {
        return -1;
    }
    state = state != NULL ? state : ctx->own_state;
    scope = scope != NULL ? scope : "any";
    if (check_acl_rights(ctx, state, role, access, pattern, allow, scope) != 0 ||
        (state != NULL &&
         adminop_require_row(ctx, "member_states", "code", state, "state") != 0)) {
        return -1;
    }

    const char *params[] = {state,
                            role,
                            access,
                            pattern,
                            allow ? "true" : "false",
                            priority[0] ? priority : "0",
                            note ? note : "",
                            scope};
    /* A row that differs only in its note is the same rule. */
    const struct adminop_numbered_insert ins = {
        .table = "topic_acl",
        .noun = "topic rule",
        .action = "acl-add",
        .find_sql = "SELECT id FROM topic_acl "
                    "WHERE state_code IS NOT DISTINCT FROM $1 AND role = $2 "
                    "  AND access = $3 AND pattern = $4 AND allow = $5 "
                    "  AND priority = $6 AND principal_scope = $8 "
                    "  AND $7::text IS NOT NULL "
                    "ORDER BY id LIMIT 1",
        .insert_sql = "INSERT INTO topic_acl AS t (state_code, role, access, pattern, "
                      "    allow, priority, note, principal_scope) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                      "RETURNING t.id, to_jsonb(t)",
        .nparams = 8,
        .params = params,
    };
    return adminop_insert_numbered(ctx, &ins, result);
}

static int acl_remove(struct adminop_ctx *ctx, json_t **result)
{
    return adminop_delete_numbered(
        ctx, "topic_acl", "topic rule", "acl-remove",
        "SELECT state_code FROM topic_acl WHERE id = $1 FOR UPDATE", result);
}

/* Reads the optional state filter of a list. A state administrator gets its own
 * state's rows and the network-wide ones. */
static int list_state(struct adminop_ctx *ctx, const char **state)
{
    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, state) != 0) {
        return -1;
    }
    if (*state == NULL) {
        *state = ctx->own_state;
        return 0;
    }
    return adminop_is_network(ctx) || strcmp(*state, ctx->own_state) == 0
               ? 0
               : adminop_fail(ctx, ADMINOP_FORBIDDEN,
                              "administrators of %s may list only their own state's "
                              "rules and the network-wide ones",
                              ctx->own_state);
}

static int acl_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', id, "
        "    'state', coalesce(state_code, '*'), 'role', role, 'access', access, "
        "    'pattern', pattern, "
        "    'decision', CASE WHEN allow THEN 'allow' ELSE 'deny' END, "
        "    'priority', priority, 'scope', principal_scope, 'note', note) "
        "    ORDER BY priority DESC, id) "
        "FROM topic_acl WHERE $1::text IS NULL OR state_code IS NULL OR state_code = $1";
    const char *state;

    if (list_state(ctx, &state) != 0) {
        return -1;
    }
    return adminop_query_json(ctx, sql, 1, &state, result);
}

/* Reads the origin of a new sharing rule into *origin: NULL for a network-wide rule,
 * which needs "network": true from a network administrator. */
static int rule_origin(struct adminop_ctx *ctx, const char **origin)
{
    bool network;

    if (adminop_get_id(ctx, "origin", ADMINOP_ID_STATE, false, origin) != 0 ||
        adminop_get_bool(ctx, "network", false, &network) != 0) {
        return -1;
    }
    if (network && *origin != NULL) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "give either \"origin\" or \"network\": true, not both");
    }
    if (!network && *origin == NULL) {
        if (adminop_is_network(ctx)) {
            return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                "give \"origin\", or \"network\": true for a rule of "
                                "every origin without rules of its own");
        }
        *origin = ctx->own_state;
    }
    if (adminop_require_state(ctx, *origin, "a sharing rule for every origin") != 0) {
        return -1;
    }
    return *origin == NULL
               ? 0
               : adminop_require_row(ctx, "member_states", "code", *origin, "state");
}

/* Checks that a group a state administrator's rule targets is its own or the
 * network's: the owner of a group decides who is in it. */
static int check_target_group(struct adminop_ctx *ctx, const char *group)
{
    const char *params[] = {group};
    PGresult *res = adminop_query(
        ctx, "SELECT owner_state FROM sharing_groups WHERE id = $1", 1, params);
    int rc = 0;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        rc = adminop_fail(ctx, ADMINOP_NOT_FOUND, "sharing group %s not found", group);
    } else if (!adminop_is_network(ctx) && !PQgetisnull(res, 0, 0) &&
               strcmp(PQgetvalue(res, 0, 0), ctx->own_state) != 0) {
        rc = adminop_fail(ctx, ADMINOP_FORBIDDEN,
                          "sharing group %s belongs to state %s, which decides its "
                          "members; rules of %s may name only its own groups and the "
                          "network's",
                          group, PQgetvalue(res, 0, 0), ctx->own_state);
    }
    PQclear(res);
    return rc;
}

/* Reads the recipients of a new sharing rule: exactly one of to_state, to_group and
 * to_all. */
static int rule_target(struct adminop_ctx *ctx, const char **to_state,
                       const char **to_group)
{
    bool to_all;

    if (adminop_get_id(ctx, "to_state", ADMINOP_ID_STATE, false, to_state) != 0 ||
        adminop_get_id(ctx, "to_group", ADMINOP_ID_AGENCY, false, to_group) != 0 ||
        adminop_get_bool(ctx, "to_all", false, &to_all) != 0) {
        return -1;
    }
    if ((*to_state != NULL) + (*to_group != NULL) + to_all != 1) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "give exactly one of \"to_state\", \"to_group\" and "
                            "\"to_all\": true");
    }
    if (*to_state != NULL) {
        return adminop_require_row(ctx, "member_states", "code", *to_state, "state");
    }
    return *to_group != NULL ? check_target_group(ctx, *to_group) : 0;
}

/* Explains in the result how the origin's own rules now relate to the network-wide
 * ones: an origin with at least one rule of its own follows only its own rules.
 * `added` is set when a rule of the origin was just added. Returns 0 or -1. */
static int explain_origin_rules(struct adminop_ctx *ctx, const char *origin, bool added,
                                json_t *result)
{
    static const char sql[] = "SELECT count(*), count(*) FILTER (WHERE allow) "
                              "FROM sharing_rules WHERE origin_state = $1";
    const char *params[] = {origin};
    PGresult *res = adminop_query(ctx, sql, 1, params);
    long total;
    long allows;

    if (res == NULL) {
        return -1;
    }
    total = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    allows = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    if (total == 0) {
        adminop_result_note(result, "notes",
                            "origin %s has no rules of its own any more, so the "
                            "network-wide rules apply to it",
                            origin);
    } else if (allows == 0) {
        adminop_result_note(result, "warnings",
                            "none of origin %s's own rules allows anything, and the "
                            "network-wide rules no longer apply to it: its alerts now "
                            "reach only %s",
                            origin, origin);
    } else if (added && total == 1) {
        adminop_result_note(result, "notes",
                            "origin %s now follows its own rules only; the network-wide "
                            "rules no longer apply to it",
                            origin);
    }
    return 0;
}

static int rule_add(struct adminop_ctx *ctx, json_t **result)
{
    const char *origin, *category, *to_state, *to_group, *note;
    bool allow;

    if (rule_origin(ctx, &origin) != 0 ||
        adminop_get_text(ctx, "category", 32, true, &category) != 0 ||
        rule_target(ctx, &to_state, &to_group) != 0 ||
        adminop_get_nonempty_text(ctx, "note", NOTE_MAX_CHARS, &note) != 0) {
        return -1;
    }
    if (get_allow(ctx, &allow) != 0) {
        return -1;
    }
    if (strcmp(category, "*") != 0 &&
        (!adminop_id_valid(ADMINOP_ID_CATEGORY, category) ||
         adminop_require_row(ctx, "categories", "slug", category, "category") != 0)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid \"category\" \"%.40s\": expected '*' or a category "
                            "slug such as attack",
                            category);
    }

    const char *params[] = {
        origin, category, to_state, to_group, allow ? "true" : "false", note ? note : ""};
    const struct adminop_numbered_insert ins = {
        .table = "sharing_rules",
        .noun = "sharing rule",
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
    if (adminop_insert_numbered(ctx, &ins, result) != 0) {
        return -1;
    }
    return origin == NULL
               ? 0
               : explain_origin_rules(ctx, origin,
                                      json_is_true(json_object_get(*result, "changed")),
                                      *result);
}

static int rule_remove(struct adminop_ctx *ctx, json_t **result)
{
    static const char origin_sql[] =
        "SELECT coalesce(origin_state, '') FROM sharing_rules WHERE id = $1";
    char id[21];
    const char *params[] = {id};
    char origin[3] = "";
    PGresult *res;

    if (adminop_get_integer(ctx, "id", 1, INT64_MAX, true, id) != 0) {
        return -1;
    }
    /* A missing rule is reported by adminop_delete_numbered(). */
    res = adminop_query(ctx, origin_sql, 1, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 1) {
        snprintf(origin, sizeof(origin), "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (adminop_delete_numbered(
            ctx, "sharing_rules", "sharing rule", "rule-remove",
            "SELECT origin_state FROM sharing_rules WHERE id = $1 FOR UPDATE",
            result) != 0) {
        return -1;
    }
    return origin[0] == '\0' ? 0 : explain_origin_rules(ctx, origin, false, *result);
}

static int rule_list(struct adminop_ctx *ctx, json_t **result)
{
    /* $1 is the requested origin, whose rules alone are listed. $2 is a state
     * administrator's state: it gets its own rules and the network-wide ones. */
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', id, "
        "    'origin', coalesce(origin_state, 'network'), 'category', category_pattern, "
        "    'recipients', CASE WHEN target_state IS NOT NULL THEN 'state ' || "
        "target_state "
        "                       WHEN target_group IS NOT NULL THEN 'group ' || "
        "target_group "
        "                       ELSE 'all states' END, "
        "    'decision', CASE WHEN allow THEN 'allow' ELSE 'deny' END, 'note', note) "
        "    ORDER BY origin_state NULLS FIRST, id) "
        "FROM sharing_rules "
        "WHERE ($1::text IS NULL OR origin_state = $1) "
        "  AND ($2::text IS NULL OR origin_state IS NULL OR origin_state = $2)";
    const char *params[2];

    if (adminop_get_id(ctx, "origin", ADMINOP_ID_STATE, false, &params[0]) != 0) {
        return -1;
    }
    params[1] = ctx->own_state;
    if (params[0] != NULL && !adminop_is_network(ctx) &&
        strcmp(params[0], ctx->own_state) != 0) {
        return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                            "administrators of %s may list only their own state's rules "
                            "and the network-wide ones",
                            ctx->own_state);
    }
    return adminop_query_json(ctx, sql, 2, params, result);
}

const struct adminop_op adminop_acl_ops[] = {
    {"acl-add",
     acl_add,
     {"state", "role", "access", "pattern", "allow", "priority", "note", "scope"},
     false},
    {"acl-remove", acl_remove, {"id"}, false},
    {"acl-list", acl_list, {"state"}, true},
    {"rule-add",
     rule_add,
     {"origin", "network", "category", "to_state", "to_group", "to_all", "allow", "note"},
     false},
    {"rule-remove", rule_remove, {"id"}, false},
    {"rule-list", rule_list, {"origin"}, true},
    {NULL, NULL, {NULL}, false},
};
