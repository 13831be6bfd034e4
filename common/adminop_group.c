/*
 * Sharing groups: group-add, group-member-add, group-member-remove, group-list.
 * Webhook endpoints: endpoint-add, endpoint-disable, endpoint-enable, endpoint-list.
 */
#include "adminop_internal.h"
#include "topic.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 2000
#define URL_MAX_CHARS 2048
#define SECRET_MIN_CHARS 16
#define SECRET_MAX_CHARS 256
#define SECRET_RANDOM_BYTES 32
#define FILTER_MAX_CHARS 256
#define ALERT_TOPIC_PREFIX "iactn/alerts/"

static const char endpoint_state_sql[] =
    "SELECT a.state_code FROM endpoints e JOIN agencies a ON a.id = e.agency_id "
    "WHERE e.id = $1 FOR UPDATE OF e";

static int group_add(struct adminop_ctx *ctx, json_t **result)
{
    const char *id, *name, *description, *owner;

    if (adminop_get_id(ctx, "id", ADMINOP_ID_AGENCY, true, &id) != 0 ||
        adminop_get_text(ctx, "name", NAME_MAX_CHARS, true, &name) != 0 ||
        adminop_get_nonempty_text(ctx, "description", DESCRIPTION_MAX_CHARS,
                                  &description) != 0 ||
        adminop_get_id(ctx, "owner", ADMINOP_ID_STATE, false, &owner) != 0) {
        return -1;
    }
    /* A state administrator's groups belong to its state. */
    owner = owner != NULL ? owner : ctx->own_state;
    if (adminop_require_state(ctx, owner, "a group owned by the network") != 0 ||
        (owner != NULL &&
         adminop_require_row(ctx, "member_states", "code", owner, "state") != 0)) {
        return -1;
    }

    const char *params[] = {id, name, description, owner};
    const struct adminop_keyed_insert ins = {
        .noun = "sharing group",
        .action = "group-add",
        .key = id,
        .insert_sql = "INSERT INTO sharing_groups AS t (id, name, description, "
                      "    owner_state) VALUES ($1, $2, coalesce($3, ''), $4) "
                      "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        .same_sql = "SELECT to_jsonb(t), t.name = $2 "
                    "       AND ($3::text IS NULL OR t.description = $3) "
                    "       AND t.owner_state IS NOT DISTINCT FROM $4 "
                    "FROM sharing_groups t WHERE t.id = $1",
        .nparams = 4,
        .params = params,
    };
    return adminop_insert_keyed(ctx, &ins, result);
}

/* Reads the group and the state of a membership change, locks the group and checks
 * that the actor owns it. */
static int read_membership(struct adminop_ctx *ctx, const char **group,
                           const char **state)
{
    static const char sql[] =
        "SELECT owner_state FROM sharing_groups WHERE id = $1 FOR UPDATE";
    char object[96];
    PGresult *res;
    int rc;

    if (adminop_get_id(ctx, "group", ADMINOP_ID_AGENCY, true, group) != 0 ||
        adminop_get_id(ctx, "state", ADMINOP_ID_STATE, true, state) != 0) {
        return -1;
    }
    res = adminop_query(ctx, sql, 1, group);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return adminop_fail(ctx, ADMINOP_NOT_FOUND, "sharing group %s not found", *group);
    }
    snprintf(object, sizeof(object), "sharing group %s", *group);
    rc = adminop_require_state(ctx, PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0),
                               object);
    PQclear(res);
    return rc != 0 ? -1
                   : adminop_require_row(ctx, "member_states", "code", *state, "state");
}

static int change_membership(struct adminop_ctx *ctx, bool adding, json_t **result)
{
    static const char add_sql[] =
        "INSERT INTO sharing_group_members AS t (group_id, state_code) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)";
    static const char remove_sql[] =
        "DELETE FROM sharing_group_members t WHERE t.group_id = $1 AND t.state_code = $2 "
        "RETURNING to_jsonb(t)";
    const char *params[2];
    PGresult *res;
    int rc = -1;

    if (read_membership(ctx, &params[0], &params[1]) != 0) {
        return -1;
    }
    res = adminop_query(ctx, adding ? add_sql : remove_sql, 2, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 1) {
        const char *row = PQgetvalue(res, 0, 0);

        if (adminop_audit(ctx, adding ? "group-member-add" : "group-member-remove",
                          params[0], adding ? NULL : row, adding ? row : NULL) == 0) {
            *result = adminop_change_result(true, NULL, "%s %s %s group %s",
                                            adding ? "added" : "removed", params[1],
                                            adding ? "to" : "from", params[0]);
            rc = 0;
        }
    } else if (adding) {
        *result = adminop_change_result(false, NULL,
                                        "%s is already a member of group %s; nothing "
                                        "changed",
                                        params[1], params[0]);
        rc = 0;
    } else {
        adminop_fail(ctx, ADMINOP_NOT_FOUND, "%s is not a member of group %s", params[1],
                     params[0]);
    }
    PQclear(res);
    return rc;
}

static int group_member_add(struct adminop_ctx *ctx, json_t **result)
{
    return change_membership(ctx, true, result);
}

static int group_member_remove(struct adminop_ctx *ctx, json_t **result)
{
    return change_membership(ctx, false, result);
}

static int group_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', g.id, 'name', g.name, "
        "    'owner', coalesce(g.owner_state, 'network'), "
        "    'members', coalesce((SELECT string_agg(m.state_code, ',' "
        "                                           ORDER BY m.state_code) "
        "                         FROM sharing_group_members m "
        "                         WHERE m.group_id = g.id), '')) ORDER BY g.id) "
        "FROM sharing_groups g";

    return adminop_query_json(ctx, sql, 0, NULL, result);
}

/* Checks a webhook URL: https, a host, at most 2,048 bytes, no spaces or control
 * characters. The bridge reports anything libcurl still rejects as the delivery's last
 * error. */
static bool url_valid(const char *url)
{
    if (strncmp(url, "https://", 8) != 0 || url[8] == '\0' ||
        strchr("/?#:@", url[8]) != NULL || strlen(url) > URL_MAX_CHARS) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Checks the filter that selects which alerts an endpoint receives: a topic filter
 * under iactn/alerts/, without the placeholders of topic rules. */
static bool alert_filter_valid(const char *filter)
{
    return strncmp(filter, ALERT_TOPIC_PREFIX, strlen(ALERT_TOPIC_PREFIX)) == 0 &&
           strchr(filter, '{') == NULL && topic_filter_is_valid(filter);
}

/* Copies the secret of the request, or a new random one, into secret. */
static int endpoint_secret(struct adminop_ctx *ctx, char *secret, size_t size,
                           bool *generated)
{
    unsigned char random[SECRET_RANDOM_BYTES];
    const char *requested;

    if (adminop_get_text(ctx, "secret", SECRET_MAX_CHARS, false, &requested) != 0) {
        return -1;
    }
    *generated = requested == NULL;
    if (requested != NULL) {
        if (strlen(requested) < SECRET_MIN_CHARS) {
            return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                "\"secret\" must have %d to %d characters, for example "
                                "from 'openssl rand -hex 32', or be left out to get a "
                                "random one",
                                SECRET_MIN_CHARS, SECRET_MAX_CHARS);
        }
        snprintf(secret, size, "%s", requested);
        return 0;
    }
    if (RAND_bytes(random, sizeof(random)) != 1) {
        return adminop_fail(ctx, ADMINOP_INTERNAL, "no random secret could be made");
    }
    for (size_t i = 0; i < sizeof(random) && 2 * i + 2 < size; i++) {
        snprintf(secret + 2 * i, 3, "%02x", random[i]);
    }
    return 0;
}

static int endpoint_add(struct adminop_ctx *ctx, json_t **result)
{
    const char *agency, *url, *filter;
    char secret[SECRET_MAX_CHARS * 4 + 1];
    char state[3];
    char object[96];
    bool generated;

    if (adminop_get_id(ctx, "agency", ADMINOP_ID_AGENCY, true, &agency) != 0 ||
        adminop_get_text(ctx, "url", URL_MAX_CHARS, true, &url) != 0 ||
        adminop_get_text(ctx, "topic_filter", FILTER_MAX_CHARS, false, &filter) != 0 ||
        adminop_agency_state(ctx, agency, state) != 0) {
        return -1;
    }
    snprintf(object, sizeof(object), "agency %s", agency);
    if (adminop_require_state(ctx, state, object) != 0) {
        return -1;
    }
    if (!url_valid(url)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid \"url\": expected https://HOST[:PORT]/PATH without "
                            "spaces, at most %d bytes",
                            URL_MAX_CHARS);
    }
    if (filter != NULL && !alert_filter_valid(filter)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid \"topic_filter\" \"%.80s\": expected an MQTT topic "
                            "filter under " ALERT_TOPIC_PREFIX " without placeholders, "
                            "such as iactn/alerts/+/bomb-threat or iactn/alerts/CO/#",
                            filter);
    }
    if (endpoint_secret(ctx, secret, sizeof(secret), &generated) != 0) {
        return -1;
    }

    const char *params[] = {agency, url, secret,
                            filter != NULL ? filter : ALERT_TOPIC_PREFIX "#"};
    /* The same agency, URL, secret and filter on an active endpoint is the same
     * endpoint. The secret never goes into the audit row. */
    const struct adminop_numbered_insert ins = {
        .table = "endpoints",
        .noun = "endpoint",
        .action = "endpoint-add",
        .find_sql = "SELECT id FROM endpoints WHERE agency_id = $1 AND url = $2 "
                    "  AND secret = $3 AND topic_filter = $4 AND active "
                    "ORDER BY id LIMIT 1",
        .insert_sql = "INSERT INTO endpoints AS t (agency_id, url, secret, topic_filter) "
                      "VALUES ($1, $2, $3, $4) RETURNING t.id, to_jsonb(t) - 'secret'",
        .nparams = 4,
        .params = params,
    };
    if (adminop_insert_numbered(ctx, &ins, result) != 0) {
        return -1;
    }
    if (*result != NULL && generated) {
        json_object_set_new(*result, "secret", json_string(secret));
    }
    return 0;
}

/* Sets the active flag of the endpoint whose id the request gives. */
static int set_endpoint_active(struct adminop_ctx *ctx, bool active, json_t **result)
{
    static const char sql[] =
        "WITH old AS (SELECT to_jsonb(e) - 'secret' AS row FROM endpoints e "
        "             WHERE e.id = $1) "
        "UPDATE endpoints t SET active = $2 FROM old "
        "WHERE t.id = $1 AND t.active <> $2 "
        "RETURNING old.row, to_jsonb(t) - 'secret'";
    const char *verb = active ? "enabled" : "disabled";
    char id[21];
    const char *params[] = {id, active ? "true" : "false"};
    PGresult *res;
    int rc = -1;

    if (adminop_get_integer(ctx, "id", 1, INT64_MAX, true, id) != 0 ||
        adminop_check_row_state(ctx, endpoint_state_sql, "endpoint", id) != 0) {
        return -1;
    }
    res = adminop_query(ctx, sql, 2, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        *result = adminop_change_result(
            false, id, "endpoint %s is already %s; nothing changed", id, verb);
        rc = 0;
    } else if (adminop_audit(ctx, active ? "endpoint-enable" : "endpoint-disable", id,
                             PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) == 0) {
        *result = adminop_change_result(true, id, "%s endpoint %s", verb, id);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int endpoint_disable(struct adminop_ctx *ctx, json_t **result)
{
    return set_endpoint_active(ctx, false, result);
}

static int endpoint_enable(struct adminop_ctx *ctx, json_t **result)
{
    return set_endpoint_active(ctx, true, result);
}

static int endpoint_list(struct adminop_ctx *ctx, json_t **result)
{
    /* $3 is a state administrator's state, which gets its own endpoints only. */
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', e.id, 'agency', e.agency_id, "
        "    'state', a.state_code, 'url', e.url, 'topic_filter', e.topic_filter, "
        "    'active', CASE WHEN e.active THEN 'yes' ELSE 'no' END, "
        "    'pending', (SELECT count(*) FROM deliveries d "
        "                WHERE d.endpoint_id = e.id AND d.status = 'pending'), "
        "    'dead', (SELECT count(*) FROM deliveries d "
        "             WHERE d.endpoint_id = e.id AND d.status = 'dead')) "
        "    ORDER BY e.id) "
        "FROM endpoints e JOIN agencies a ON a.id = e.agency_id "
        "WHERE ($1::text IS NULL OR a.state_code = $1) "
        "  AND ($2::text IS NULL OR e.agency_id = $2) "
        "  AND ($3::text IS NULL OR a.state_code = $3)";
    const char *params[3];

    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &params[0]) != 0 ||
        adminop_get_id(ctx, "agency", ADMINOP_ID_AGENCY, false, &params[1]) != 0) {
        return -1;
    }
    params[2] = ctx->own_state;
    return adminop_query_json(ctx, sql, 3, params, result);
}

const struct adminop_op adminop_group_ops[] = {
    {"group-add", group_add, {"id", "name", "description", "owner"}, false},
    {"group-member-add", group_member_add, {"group", "state"}, false},
    {"group-member-remove", group_member_remove, {"group", "state"}, false},
    {"group-list", group_list, {NULL}, true},
    {"endpoint-add", endpoint_add, {"agency", "url", "secret", "topic_filter"}, false},
    {"endpoint-disable", endpoint_disable, {"id"}, false},
    {"endpoint-enable", endpoint_enable, {"id"}, false},
    {"endpoint-list", endpoint_list, {"state", "agency"}, true},
    {NULL, NULL, {NULL}, false},
};
