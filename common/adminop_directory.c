/*
 * The directory: agency-add, agency-suspend, agency-resume, agency-list; contact-add,
 * contact-edit, contact-remove, contact-list; oncall-add, oncall-remove, oncall-list.
 */
#include "adminop_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 200
#define EMAIL_MAX_CHARS 254
#define TIME_MAX_CHARS 40
#define LIST_MAX_ITEMS 10
#define PHONE_MAX_CHARS 32
#define LIST_JSON_SIZE (LIST_MAX_ITEMS * (PHONE_MAX_CHARS + 3) + 3)

/* The values of a new contact's columns, from $1 to $7. The lists come as JSON
 * arrays of strings and become text[] in the same order. */
#define SQL_CONTACT_VALUES                                                               \
    "$1, $2, $3,"                                                                        \
    " ARRAY(SELECT e FROM jsonb_array_elements_text($4::jsonb)"                          \
    "       WITH ORDINALITY AS x(e, n) ORDER BY n), $5,"                                 \
    " ARRAY(SELECT e FROM jsonb_array_elements_text($6::jsonb)"                          \
    "       WITH ORDINALITY AS x(e, n) ORDER BY n), $7"

static const char agency_state_sql[] = "SELECT state_code FROM agencies WHERE id = $1";

static const char contact_state_sql[] =
    "SELECT a.state_code FROM contacts c JOIN agencies a ON a.id = c.agency_id "
    "WHERE c.id = $1 FOR UPDATE OF c";

static const char shift_state_sql[] =
    "SELECT a.state_code FROM oncall_shifts s JOIN contacts c ON c.id = s.contact_id "
    "JOIN agencies a ON a.id = c.agency_id WHERE s.id = $1 FOR UPDATE OF s";

/* A phone number: '+' or a digit, then digits, spaces and ()-. with at least six
 * digits in all, for example "+57 601 555 0100". */
static bool phone_valid(const char *s)
{
    size_t len = strlen(s);
    int digits = 0;

    if (len < 6 || len > PHONE_MAX_CHARS || (s[0] != '+' && (s[0] < '0' || s[0] > '9'))) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            digits++;
        } else if (strchr(" ()-.", s[i]) == NULL) {
            return false;
        }
    }
    return digits + (s[0] != '+') >= 6;
}

/* A language: an ISO 639 code of two or three lower-case letters. */
static bool language_valid(const char *s)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < len; i++) {
        if (s[i] < 'a' || s[i] > 'z') {
            return false;
        }
    }
    return len == 2 || len == 3;
}

/* An e-mail address: one '@' between a non-empty local part and a domain with a dot,
 * no spaces, quotes or backslashes. Empty means none. */
static bool email_valid(const char *s)
{
    const char *at = strchr(s, '@');

    if (s[0] == '\0') {
        return true;
    }
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
        strchr(at + 1, '.') == NULL || at[1] == '.' || s[strlen(s) - 1] == '.') {
        return false;
    }
    return strpbrk(s, " \"\\<>,;") == NULL;
}

/* Reads an array of at most LIST_MAX_ITEMS strings that `valid` accepts into json
 * (LIST_JSON_SIZE bytes) as JSON text; "" when absent. The accepted characters need
 * no escaping in JSON. */
static int get_list(struct adminop_ctx *ctx, const char *name,
                    bool (*valid)(const char *), const char *expected, char *json)
{
    json_t *array = json_object_get(ctx->request, name);
    size_t used = 1;
    size_t i;
    json_t *item;

    json[0] = '\0';
    if (array == NULL || json_is_null(array)) {
        return 0;
    }
    if (!json_is_array(array) || json_array_size(array) > LIST_MAX_ITEMS) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "\"%s\" must be an array of at most %d strings", name,
                            LIST_MAX_ITEMS);
    }
    json[0] = '[';
    json_array_foreach(array, i, item)
    {
        const char *text = json_string_value(item);

        if (text == NULL || strlen(text) > PHONE_MAX_CHARS || !valid(text)) {
            return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                "invalid item %zu of \"%s\": expected %s", i + 1, name,
                                expected);
        }
        used += (size_t)snprintf(json + used, LIST_JSON_SIZE - used, "%s\"%s\"",
                                 i ? "," : "", text);
    }
    snprintf(json + used, LIST_JSON_SIZE - used, "]");
    return 0;
}

static int check_time_zone(struct adminop_ctx *ctx, const char *zone)
{
    const char *params[] = {zone};
    PGresult *res;
    int found;

    if (zone == NULL) {
        return 0;
    }
    res =
        adminop_query(ctx, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, params);
    if (res == NULL) {
        return -1;
    }
    found = PQntuples(res);
    PQclear(res);
    return found ? 0
                 : adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                "unknown \"time_zone\" \"%.60s\": expected an IANA time "
                                "zone such as America/Bogota",
                                zone);
}

/* Checks the agency exists and belongs to a state the actor may change. */
static int check_agency(struct adminop_ctx *ctx, const char *agency)
{
    char state[3];
    char object[96];

    if (adminop_agency_state(ctx, agency, state) != 0) {
        return -1;
    }
    snprintf(object, sizeof(object), "agency %s", agency);
    return adminop_require_state(ctx, state, object);
}

static int agency_add(struct adminop_ctx *ctx, json_t **result)
{
    const char *id, *state, *name;

    if (adminop_get_id(ctx, "id", ADMINOP_ID_AGENCY, true, &id) != 0 ||
        adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &state) != 0 ||
        adminop_get_text(ctx, "name", NAME_MAX_CHARS, true, &name) != 0) {
        return -1;
    }
    state = state != NULL ? state : ctx->own_state;
    if (state == NULL) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "the request has no \"state\"");
    }
    if (adminop_require_state(ctx, state, "a new agency") != 0 ||
        adminop_require_row(ctx, "member_states", "code", state, "state") != 0) {
        return -1;
    }

    const char *params[] = {id, state, name};
    const struct adminop_keyed_insert ins = {
        .noun = "agency",
        .action = "agency-add",
        .key = id,
        .insert_sql = "INSERT INTO agencies AS t (id, state_code, name) "
                      "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        .same_sql = "SELECT to_jsonb(t), t.state_code = $2 AND t.name = $3 "
                    "FROM agencies t WHERE t.id = $1",
        .nparams = 3,
        .params = params,
    };
    return adminop_insert_keyed(ctx, &ins, result);
}

static int agency_suspend(struct adminop_ctx *ctx, json_t **result)
{
    return adminop_set_suspended(ctx, "agencies", "agency", ADMINOP_ID_AGENCY,
                                 agency_state_sql, true, result);
}

static int agency_resume(struct adminop_ctx *ctx, json_t **result)
{
    return adminop_set_suspended(ctx, "agencies", "agency", ADMINOP_ID_AGENCY,
                                 agency_state_sql, false, result);
}

static int agency_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', id, 'state', state_code, 'name', name, "
        "    'suspended', CASE WHEN suspended THEN 'yes' ELSE 'no' END) "
        "    ORDER BY state_code, id) "
        "FROM agencies WHERE $1::text IS NULL OR state_code = $1";
    const char *state;

    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &state) != 0) {
        return -1;
    }
    return adminop_query_json(ctx, sql, 1, &state, result);
}

/* The values of a contact-add or contact-edit request. Lists are JSON text, ""
 * when absent. */
struct contact_values {
    const char *agency, *name, *function, *email, *time_zone;
    char phones[LIST_JSON_SIZE];
    char languages[LIST_JSON_SIZE];
};

static int read_contact(struct adminop_ctx *ctx, struct contact_values *v, bool adding)
{
    if (adminop_get_id(ctx, "agency", ADMINOP_ID_AGENCY, adding, &v->agency) != 0 ||
        adminop_get_text(ctx, "name", NAME_MAX_CHARS, adding, &v->name) != 0 ||
        adminop_get_text(ctx, "function", NAME_MAX_CHARS, false, &v->function) != 0 ||
        adminop_get_text(ctx, "email", EMAIL_MAX_CHARS, false, &v->email) != 0 ||
        adminop_get_text(ctx, "time_zone", 64, false, &v->time_zone) != 0 ||
        get_list(ctx, "phones", phone_valid,
                 "a phone number such as \"+57 601 555 0100\"", v->phones) != 0 ||
        get_list(ctx, "languages", language_valid, "an ISO 639 language code such as es",
                 v->languages) != 0) {
        return -1;
    }
    if (v->name != NULL && v->name[0] == '\0') {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "\"name\" must not be empty");
    }
    if (v->email != NULL && !email_valid(v->email)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid \"email\" \"%.80s\": expected an address such as "
                            "duty@example.org",
                            v->email);
    }
    if (check_time_zone(ctx, v->time_zone) != 0) {
        return -1;
    }
    return v->agency != NULL ? check_agency(ctx, v->agency) : 0;
}

static int contact_add(struct adminop_ctx *ctx, json_t **result)
{
    struct contact_values v;

    if (read_contact(ctx, &v, true) != 0) {
        return -1;
    }

    const char *params[] = {
        v.agency,
        v.name,
        v.function ? v.function : "",
        v.phones[0] ? v.phones : "[]",
        v.email ? v.email : "",
        v.languages[0] ? v.languages : "[]",
        v.time_zone ? v.time_zone : "UTC",
    };
    const struct adminop_numbered_insert ins = {
        .table = "contacts",
        .noun = "contact",
        .action = "contact-add",
        .find_sql = "SELECT id FROM contacts "
                    "WHERE (agency_id, name, function, phones, email, languages, "
                    "       time_zone) = (" SQL_CONTACT_VALUES ") "
                    "ORDER BY id LIMIT 1",
        .insert_sql = "INSERT INTO contacts AS t (agency_id, name, function, phones, "
                      "    email, languages, time_zone) "
                      "VALUES (" SQL_CONTACT_VALUES ") RETURNING t.id, to_jsonb(t)",
        .nparams = 7,
        .params = params,
    };
    return adminop_insert_numbered(ctx, &ins, result);
}

static int contact_edit(struct adminop_ctx *ctx, json_t **result)
{
    /* Absent values keep the column; the row changes only when a value differs. */
    static const char sql[] =
        "WITH old AS (SELECT * FROM contacts WHERE id = $1),"
        " new AS (SELECT coalesce($2, old.agency_id) AS agency_id,"
        "    coalesce($3, old.name) AS name, coalesce($4, old.function) AS function,"
        "    CASE WHEN $5::jsonb IS NULL THEN old.phones"
        "         ELSE ARRAY(SELECT e FROM jsonb_array_elements_text($5::jsonb)"
        "                    WITH ORDINALITY AS x(e, n) ORDER BY n) END AS phones,"
        "    coalesce($6, old.email) AS email,"
        "    CASE WHEN $7::jsonb IS NULL THEN old.languages"
        "         ELSE ARRAY(SELECT e FROM jsonb_array_elements_text($7::jsonb)"
        "                    WITH ORDINALITY AS x(e, n) ORDER BY n) END AS languages,"
        "    coalesce($8, old.time_zone) AS time_zone FROM old)"
        " UPDATE contacts t SET agency_id = new.agency_id, name = new.name,"
        "    function = new.function, phones = new.phones, email = new.email,"
        "    languages = new.languages, time_zone = new.time_zone"
        " FROM old, new WHERE t.id = $1"
        "  AND (t.agency_id, t.name, t.function, t.phones, t.email, t.languages,"
        "       t.time_zone) IS DISTINCT FROM (new.agency_id, new.name, new.function,"
        "       new.phones, new.email, new.languages, new.time_zone)"
        " RETURNING to_jsonb(old), to_jsonb(t)";
    struct contact_values v;
    char id[21];
    PGresult *res;
    int rc = -1;

    if (adminop_get_integer(ctx, "id", 1, INT64_MAX, true, id) != 0 ||
        adminop_check_row_state(ctx, contact_state_sql, "contact", id) != 0 ||
        read_contact(ctx, &v, false) != 0) {
        return -1;
    }

    const char *params[] = {id,
                            v.agency,
                            v.name,
                            v.function,
                            v.phones[0] ? v.phones : NULL,
                            v.email,
                            v.languages[0] ? v.languages : NULL,
                            v.time_zone};
    res = adminop_query(ctx, sql, 8, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        *result = adminop_change_result(false, id,
                                        "contact %s already has these values; "
                                        "nothing changed",
                                        id);
        rc = 0;
    } else if (adminop_audit(ctx, "contact-edit", id, PQgetvalue(res, 0, 0),
                             PQgetvalue(res, 0, 1)) == 0) {
        *result = adminop_change_result(true, id, "changed contact %s", id);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int contact_remove(struct adminop_ctx *ctx, json_t **result)
{
    /* The shifts go with the contact (ON DELETE CASCADE), so the audit row keeps
     * them too. */
    static const char sql[] =
        "WITH shifts AS (SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.id), '[]') "
        "                AS rows FROM oncall_shifts s WHERE s.contact_id = $1) "
        "DELETE FROM contacts t USING shifts WHERE t.id = $1 "
        "RETURNING to_jsonb(t) || jsonb_build_object('oncall_shifts', shifts.rows)";
    char id[21];
    const char *params[] = {id};
    PGresult *res;
    int rc = -1;

    if (adminop_get_integer(ctx, "id", 1, INT64_MAX, true, id) != 0 ||
        adminop_check_row_state(ctx, contact_state_sql, "contact", id) != 0) {
        return -1;
    }
    res = adminop_query(ctx, sql, 1, params);
    if (res != NULL && PQntuples(res) == 1 &&
        adminop_audit(ctx, "contact-remove", id, PQgetvalue(res, 0, 0), NULL) == 0) {
        *result =
            adminop_change_result(true, id, "removed contact %s and its shifts", id);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int contact_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', c.id, 'state', a.state_code,"
        "    'agency', c.agency_id, 'name', c.name, 'function', c.function,"
        "    'phones', c.phones, 'email', c.email, 'languages', c.languages,"
        "    'time_zone', c.time_zone,"
        "    'updated', to_char(c.updated_at, " ADMINOP_SQL_TIME_FORMAT "))"
        "    ORDER BY a.state_code, c.agency_id, c.id)"
        " FROM contacts c JOIN agencies a ON a.id = c.agency_id"
        " WHERE ($1::text IS NULL OR a.state_code = $1)"
        "  AND ($2::text IS NULL OR c.agency_id = $2)";
    const char *params[2];

    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &params[0]) != 0 ||
        adminop_get_id(ctx, "agency", ADMINOP_ID_AGENCY, false, &params[1]) != 0) {
        return -1;
    }
    return adminop_query_json(ctx, sql, 2, params, result);
}

/* The values of an oncall-add request, with the agency and state of its contact. */
struct shift_values {
    char contact[21];
    const char *position, *scope, *starts, *ends;
    char agency[64];
    char state[3];
};

static int read_shift(struct adminop_ctx *ctx, struct shift_values *v)
{
    static const char *const positions[] = {"primary", "backup", NULL};
    static const char *const shift_scopes[] = {"agency", "state", NULL};
    static const char sql[] =
        "SELECT a.id, a.state_code FROM contacts c JOIN agencies a ON a.id = c.agency_id "
        "WHERE c.id = $1";
    const char *params[] = {v->contact};
    char object[128];
    PGresult *res;

    if (adminop_get_integer(ctx, "contact", 1, INT64_MAX, true, v->contact) != 0 ||
        adminop_get_choice(ctx, "position", positions, true, &v->position) != 0 ||
        adminop_get_choice(ctx, "scope", shift_scopes, false, &v->scope) != 0 ||
        adminop_get_text(ctx, "starts_at", TIME_MAX_CHARS, true, &v->starts) != 0 ||
        adminop_get_text(ctx, "ends_at", TIME_MAX_CHARS, true, &v->ends) != 0) {
        return -1;
    }
    v->scope = v->scope != NULL ? v->scope : "agency";
    res = adminop_query(ctx, sql, 1, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return adminop_fail(ctx, ADMINOP_NOT_FOUND, "contact %s not found", v->contact);
    }
    snprintf(v->agency, sizeof(v->agency), "%s", PQgetvalue(res, 0, 0));
    snprintf(v->state, sizeof(v->state), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    snprintf(object, sizeof(object), "contact %s of agency %s", v->contact, v->agency);
    return adminop_require_state(ctx, v->state, object);
}

/* Rejects a shift that overlaps another of the same position and scope, so that who
 * is on call is never ambiguous. Runs after the table is locked. */
static int check_overlap(struct adminop_ctx *ctx, const struct shift_values *v)
{
    static const char sql[] =
        "SELECT s.id, c.name, to_char(s.starts_at, " ADMINOP_SQL_TIME_FORMAT "),"
        "    to_char(s.ends_at, " ADMINOP_SQL_TIME_FORMAT ")"
        " FROM oncall_shifts s JOIN contacts c ON c.id = s.contact_id"
        " JOIN agencies a ON a.id = c.agency_id"
        " WHERE s.position = $1 AND s.scope = $4"
        "  AND tstzrange(s.starts_at, s.ends_at)"
        "      && tstzrange($2::timestamptz, $3::timestamptz)"
        "  AND CASE WHEN $4 = 'agency' THEN a.id = $5 ELSE a.state_code = $6 END"
        " ORDER BY s.starts_at LIMIT 1";
    const char *params[] = {v->position, v->starts, v->ends,
                            v->scope,    v->agency, v->state};
    PGresult *res;
    int rc = 0;

    res = adminop_query(ctx, sql, 6, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) > 0) {
        rc = adminop_fail(ctx, ADMINOP_CONFLICT,
                          "shift %s (%s, %s to %s) already covers part of that time as "
                          "%s for %s %s",
                          PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                          PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), v->position,
                          v->scope,
                          strcmp(v->scope, "agency") == 0 ? v->agency : v->state);
    }
    PQclear(res);
    return rc;
}

/* Checks the times: both readable and the start before the end. */
static int check_times(struct adminop_ctx *ctx, const struct shift_values *v)
{
    const char *params[] = {v->starts, v->ends};
    PGresult *res =
        adminop_query(ctx, "SELECT $1::timestamptz < $2::timestamptz", 2, params);
    bool ordered;

    if (res == NULL) {
        return -1;
    }
    ordered = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return ordered ? 0
                   : adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                  "\"starts_at\" must be before \"ends_at\"");
}

static int oncall_add(struct adminop_ctx *ctx, json_t **result)
{
    static const char find_sql[] =
        "SELECT id FROM oncall_shifts WHERE contact_id = $1 AND position = $2 "
        "  AND starts_at = $3::timestamptz AND ends_at = $4::timestamptz AND scope = $5 "
        "ORDER BY id LIMIT 1";
    struct shift_values v;
    PGresult *res;
    bool exists;

    if (read_shift(ctx, &v) != 0 || check_times(ctx, &v) != 0) {
        return -1;
    }
    const char *params[] = {v.contact, v.position, v.starts, v.ends, v.scope};
    const struct adminop_numbered_insert ins = {
        .table = "oncall_shifts",
        .noun = "shift",
        .action = "oncall-add",
        .find_sql = find_sql,
        .insert_sql = "INSERT INTO oncall_shifts AS t (contact_id, position, starts_at, "
                      "    ends_at, scope) VALUES ($1, $2, $3, $4, $5) "
                      "RETURNING t.id, to_jsonb(t)",
        .nparams = 5,
        .params = params,
    };

    /* Locked before the overlap check, so that two overlapping adds cannot both
     * pass it. adminop_insert_numbered() takes the same lock again. */
    res = adminop_query(ctx, "LOCK TABLE oncall_shifts IN SHARE ROW EXCLUSIVE MODE", 0,
                        NULL);
    PQclear(res);
    res = res ? adminop_query(ctx, find_sql, 5, params) : NULL;
    if (res == NULL) {
        return -1;
    }
    exists = PQntuples(res) > 0;
    PQclear(res);
    if (!exists && check_overlap(ctx, &v) != 0) {
        return -1;
    }
    return adminop_insert_numbered(ctx, &ins, result);
}

static int oncall_remove(struct adminop_ctx *ctx, json_t **result)
{
    return adminop_delete_numbered(ctx, "oncall_shifts", "shift", "oncall-remove",
                                   shift_state_sql, result);
}

static int oncall_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', s.id, 'state', a.state_code,"
        "    'scope', s.scope, 'agency', a.id, 'contact', c.id, 'name', c.name,"
        "    'position', s.position,"
        "    'starts_at', to_char(s.starts_at, " ADMINOP_SQL_TIME_FORMAT "),"
        "    'ends_at', to_char(s.ends_at, " ADMINOP_SQL_TIME_FORMAT "),"
        "    'status', CASE WHEN now() < s.starts_at THEN 'upcoming'"
        "                   WHEN now() < s.ends_at THEN 'on call' ELSE 'ended' END)"
        "    ORDER BY a.state_code, s.scope DESC, a.id, s.starts_at, s.position DESC)"
        " FROM oncall_shifts s JOIN contacts c ON c.id = s.contact_id"
        " JOIN agencies a ON a.id = c.agency_id"
        " WHERE ($1::text IS NULL OR a.state_code = $1)"
        "  AND ($2::text IS NULL OR a.id = $2)"
        "  AND (NOT $3::boolean OR s.ends_at > now())";
    const char *params[3];
    bool current;

    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &params[0]) != 0 ||
        adminop_get_id(ctx, "agency", ADMINOP_ID_AGENCY, false, &params[1]) != 0 ||
        adminop_get_bool(ctx, "current", false, &current) != 0) {
        return -1;
    }
    params[2] = current ? "true" : "false";
    return adminop_query_json(ctx, sql, 3, params, result);
}

const struct adminop_op adminop_directory_ops[] = {
    {"agency-add", agency_add, {"id", "state", "name"}, false},
    {"agency-suspend", agency_suspend, {"id"}, false},
    {"agency-resume", agency_resume, {"id"}, false},
    {"agency-list", agency_list, {"state"}, true},
    {"contact-add",
     contact_add,
     {"agency", "name", "function", "phones", "email", "languages", "time_zone"},
     false},
    {"contact-edit",
     contact_edit,
     {"id", "agency", "name", "function", "phones", "email", "languages", "time_zone"},
     false},
    {"contact-remove", contact_remove, {"id"}, false},
    {"contact-list", contact_list, {"state", "agency"}, true},
    {"oncall-add",
     oncall_add,
     {"contact", "position", "scope", "starts_at", "ends_at"},
     false},
    {"oncall-remove", oncall_remove, {"id"}, false},
    {"oncall-list", oncall_list, {"state", "agency", "current"}, true},
    {NULL, NULL, {NULL}, false},
};
