/*
 * Identities: principal-add, principal-suspend, principal-resume, principal-list;
 * cert-register, cert-revoke, cert-list. The broker trusts a client certificate only
 * through its SHA-256 fingerprint registered here.
 */
#include "adminop_cert.h"
#include "adminop_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 200
#define REASON_MAX_CHARS 500
#define PEM_MAX_BYTES 16384

static const char *const all_roles[] = {"liaison",  "agency-system", "admin",
                                        "archiver", "broker-bridge", NULL};

static const char principal_state_sql[] =
    "SELECT state_code FROM principals WHERE id = $1";

/* The values of a new principal. state, agency and name may be NULL. */
struct principal_values {
    const char *id, *role, *state, *agency, *name;
};

static bool is_member_role(const char *role)
{
    return strcmp(role, "liaison") == 0 || strcmp(role, "agency-system") == 0;
}

/* Checks what a state administrator may create: principals of its own state with a
 * role that belongs to a state. */
static int check_principal_rights(struct adminop_ctx *ctx,
                                  const struct principal_values *p)
{
    if (adminop_is_network(ctx)) {
        return 0;
    }
    if (adminop_require_state(ctx, p->state, "a principal without a state") != 0) {
        return -1;
    }
    if (!is_member_role(p->role) && strcmp(p->role, "admin") != 0) {
        return adminop_fail(ctx, ADMINOP_FORBIDDEN,
                            "administrators of %s may create principals with the role "
                            "liaison, agency-system or admin only, not %s",
                            ctx->own_state, p->role);
    }
    return 0;
}

/* Reads a new principal's values; its id comes from the member `id_field`. */
static int read_principal(struct adminop_ctx *ctx, const char *id_field,
                          struct principal_values *p)
{
    char agency_state[3];

    if (adminop_get_id(ctx, id_field, ADMINOP_ID_PRINCIPAL, true, &p->id) != 0 ||
        adminop_get_choice(ctx, "role", all_roles, true, &p->role) != 0 ||
        adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &p->state) != 0 ||
        adminop_get_id(ctx, "agency", ADMINOP_ID_AGENCY, false, &p->agency) != 0 ||
        adminop_get_nonempty_text(ctx, "name", NAME_MAX_CHARS, &p->name) != 0) {
        return -1;
    }
    if (p->state == NULL && p->agency != NULL) {
        p->state = ctx->own_state;
    }
    if (check_principal_rights(ctx, p) != 0) {
        return -1;
    }
    if ((p->state == NULL) != (p->agency == NULL)) {
        return adminop_fail(
            ctx, ADMINOP_INVALID_REQUEST,
            "\"state\" and \"agency\" go together: a principal belongs to "
            "an agency of a state, or to neither");
    }
    if (p->state == NULL && is_member_role(p->role)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "role %s needs \"state\" and \"agency\"", p->role);
    }
    if (p->agency == NULL) {
        return 0;
    }
    if (adminop_agency_state(ctx, p->agency, agency_state) != 0) {
        return -1;
    }
    if (strcmp(agency_state, p->state) != 0) {
        return adminop_fail(ctx, ADMINOP_CONFLICT,
                            "agency %s belongs to state %s, not %s", p->agency,
                            agency_state, p->state);
    }
    return 0;
}

static int insert_principal(struct adminop_ctx *ctx, const struct principal_values *p,
                            json_t **result)
{
    const char *params[] = {p->id, p->role, p->state, p->agency, p->name};
    const struct adminop_keyed_insert ins = {
        .noun = "principal",
        .action = "principal-add",
        .key = p->id,
        .insert_sql = "INSERT INTO principals AS t "
                      "    (id, role, state_code, agency_id, display_name) "
                      "VALUES ($1, $2, $3, $4, coalesce($5, '')) "
                      "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        .same_sql = "SELECT to_jsonb(t), t.role = $2 "
                    "       AND t.state_code IS NOT DISTINCT FROM $3 "
                    "       AND t.agency_id IS NOT DISTINCT FROM $4 "
                    "       AND ($5::text IS NULL OR t.display_name = $5) "
                    "FROM principals t WHERE t.id = $1",
        .nparams = 5,
        .params = params,
    };
    return adminop_insert_keyed(ctx, &ins, result);
}

static int principal_add(struct adminop_ctx *ctx, json_t **result)
{
    struct principal_values p;

    if (read_principal(ctx, "id", &p) != 0) {
        return -1;
    }
    return insert_principal(ctx, &p, result);
}

static int principal_suspend(struct adminop_ctx *ctx, json_t **result)
{
    return adminop_set_suspended(ctx, "principals", "principal", ADMINOP_ID_PRINCIPAL,
                                 principal_state_sql, true, result);
}

static int principal_resume(struct adminop_ctx *ctx, json_t **result)
{
    return adminop_set_suspended(ctx, "principals", "principal", ADMINOP_ID_PRINCIPAL,
                                 principal_state_sql, false, result);
}

static int principal_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('id', p.id, 'role', p.role, "
        "    'state', p.state_code, 'agency', p.agency_id, 'name', p.display_name, "
        "    'suspended', CASE WHEN p.suspended THEN 'yes' ELSE 'no' END, "
        "    'certificates', (SELECT count(*) FROM certificates c "
        "                     WHERE c.principal_id = p.id AND c.revoked_at IS NULL "
        "                       AND now() < c.not_after)) "
        "    ORDER BY p.state_code NULLS FIRST, p.id) "
        "FROM principals p WHERE $1::text IS NULL OR p.state_code = $1";
    const char *state;

    if (adminop_get_id(ctx, "state", ADMINOP_ID_STATE, false, &state) != 0) {
        return -1;
    }
    if (!adminop_is_network(ctx) &&
        adminop_require_state(ctx, state ? state : ctx->own_state, "the list") != 0) {
        return -1;
    }
    state = state != NULL ? state : ctx->own_state;
    return adminop_query_json(ctx, sql, 1, &state, result);
}

/* Copies the state of the principal into state ("" for a network-wide one) after
 * checking that the actor may manage its certificates. */
static int check_principal_owner(struct adminop_ctx *ctx, const char *principal)
{
    const char *params[] = {principal};
    PGresult *res = adminop_query(ctx, principal_state_sql, 1, params);
    char object[96];
    int rc;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return adminop_fail(ctx, ADMINOP_NOT_FOUND,
                            "principal %s not found; create it with principal-add or "
                            "\"create_principal\": true",
                            principal);
    }
    snprintf(object, sizeof(object), "principal %s", principal);
    rc = adminop_require_state(ctx, PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0),
                               object);
    PQclear(res);
    return rc;
}

/* Explains why a certificate that is already registered cannot be added again, or
 * accepts it when it is the same principal's and not revoked. */
static int check_existing_cert(struct adminop_ctx *ctx, const char *fingerprint,
                               const char *principal)
{
    static const char sql[] =
        "SELECT principal_id, to_char(revoked_at, " ADMINOP_SQL_TIME_FORMAT ")"
        " FROM certificates WHERE fingerprint = $1";
    const char *params[] = {fingerprint};
    PGresult *res = adminop_query(ctx, sql, 1, params);
    int rc = 0;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) != 1) {
        rc = adminop_fail(ctx, ADMINOP_CONFLICT,
                          "certificate %s conflicts with an "
                          "existing row",
                          fingerprint);
    } else if (strcmp(PQgetvalue(res, 0, 0), principal) != 0 && adminop_is_network(ctx)) {
        rc = adminop_fail(ctx, ADMINOP_CONFLICT,
                          "certificate %s is already registered for principal '%s'; "
                          "revoke it there first if it must change hands",
                          fingerprint, PQgetvalue(res, 0, 0));
    } else if (strcmp(PQgetvalue(res, 0, 0), principal) != 0) {
        /* The error does not name the principal to a state administrator, because it
         * may belong to another state. */
        rc = adminop_fail(ctx, ADMINOP_CONFLICT,
                          "certificate %s is already registered for another principal",
                          fingerprint);
    } else if (!PQgetisnull(res, 0, 1)) {
        rc = adminop_fail(ctx, ADMINOP_CONFLICT,
                          "certificate %s was revoked at %s and cannot be registered "
                          "again; issue a new one",
                          fingerprint, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

/* Inserts the certificate and its audit row. Sets *changed. */
static int insert_cert(struct adminop_ctx *ctx, const struct adminop_cert *cert,
                       const char *principal, bool *changed)
{
    static const char sql[] =
        "INSERT INTO certificates AS t (fingerprint, subject, issuer, serial, "
        "    not_before, not_after, principal_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)";
    const char *params[] = {cert->fingerprint, cert->subject,    cert->issuer,
                            cert->serial,      cert->not_before, cert->not_after,
                            principal};
    PGresult *res = adminop_query(ctx, sql, 7, params);
    int rc;

    if (res == NULL) {
        return -1;
    }
    *changed = PQntuples(res) == 1;
    if (*changed) {
        rc = adminop_audit(ctx, "cert-add", cert->fingerprint, NULL,
                           PQgetvalue(res, 0, 0));
    } else {
        rc = check_existing_cert(ctx, cert->fingerprint, principal);
    }
    PQclear(res);
    return rc;
}

/* Reads "pem": a string of PEM text, new lines allowed. */
static int get_pem(struct adminop_ctx *ctx, const char **pem)
{
    json_t *value = json_object_get(ctx->request, "pem");

    *pem = json_string_value(value);
    if (*pem == NULL || json_string_length(value) > PEM_MAX_BYTES ||
        strlen(*pem) != json_string_length(value)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "\"pem\" must be the PEM text of the certificate, at most %d "
                            "bytes",
                            PEM_MAX_BYTES);
    }
    return 0;
}

/* Creates the principal first when the request sets "create_principal". Otherwise
 * the principal must exist and its creation fields must be absent. */
static int prepare_principal(struct adminop_ctx *ctx, const char **principal)
{
    static const char *const creation_fields[] = {"role", "state", "agency", "name"};
    struct principal_values p;
    json_t *created = NULL;
    bool create;
    int rc;

    if (adminop_get_bool(ctx, "create_principal", false, &create) != 0) {
        return -1;
    }
    if (!create) {
        for (size_t i = 0; i < 4; i++) {
            if (json_object_get(ctx->request, creation_fields[i]) != NULL) {
                return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                                    "\"%s\" applies only with \"create_principal\": "
                                    "true",
                                    creation_fields[i]);
            }
        }
        return adminop_get_id(ctx, "principal", ADMINOP_ID_PRINCIPAL, true, principal);
    }
    if (read_principal(ctx, "principal", &p) != 0) {
        return -1;
    }
    *principal = p.id;
    rc = insert_principal(ctx, &p, &created);
    json_decref(created);
    return rc;
}

/* Lists what makes the certificate useless in practice: iactn-alert takes its client
 * id from the CN, and the broker requires the client id to start with the principal
 * id. */
static json_t *cert_warnings(struct adminop_ctx *ctx, const struct adminop_cert *cert,
                             const char *principal)
{
    const char *params[] = {principal};
    PGresult *res = adminop_query(
        ctx, "SELECT coalesce(state_code, '') FROM principals WHERE id = $1", 1, params);
    json_t *warnings = json_array();
    char text[400];

    /* Only a request without the network CA's check gets this far with such a
     * certificate: the broker rejects it until it is valid. */
    if (cert->expired) {
        snprintf(text, sizeof(text),
                 "certificate expired at %s; the broker will reject it", cert->not_after);
        json_array_append_new(warnings, json_string(text));
    }
    if (cert->not_yet_valid) {
        snprintf(text, sizeof(text), "certificate is not valid before %s",
                 cert->not_before);
        json_array_append_new(warnings, json_string(text));
    }
    if (strcmp(cert->common_name, principal) != 0) {
        snprintf(text, sizeof(text),
                 "subject CN '%s' differs from principal '%s'; iactn-alert derives its "
                 "client id from the CN, so the broker will reject its connections",
                 cert->common_name, principal);
        json_array_append_new(warnings, json_string(text));
    }
    if (res != NULL && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] != '\0' &&
        strcmp(PQgetvalue(res, 0, 0), cert->country) != 0) {
        snprintf(text, sizeof(text),
                 "subject C '%s' differs from the principal's state %s", cert->country,
                 PQgetvalue(res, 0, 0));
        json_array_append_new(warnings, json_string(text));
    }
    PQclear(res);
    return warnings;
}

static int cert_register(struct adminop_ctx *ctx, json_t **result)
{
    struct adminop_cert cert = {0};
    const char *principal, *pem;
    char err[300];
    char id[70];
    bool changed;
    int rc = -1;

    if (get_pem(ctx, &pem) != 0 || prepare_principal(ctx, &principal) != 0 ||
        check_principal_owner(ctx, principal) != 0) {
        return -1;
    }
    if (adminop_cert_read(pem, ctx->actor->ca_file, &cert, err, sizeof(err)) != 0) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST, "%s", err);
    }
    if (insert_cert(ctx, &cert, principal, &changed) != 0) {
        goto out;
    }
    snprintf(id, sizeof(id), "\"%s\"", cert.fingerprint);
    *result = adminop_change_result(
        changed, id,
        changed ? "registered certificate %s for principal %s"
                : "certificate %s is already registered for principal %s; "
                  "nothing changed",
        cert.fingerprint, principal);
    if (*result != NULL) {
        json_object_set_new(*result, "warnings", cert_warnings(ctx, &cert, principal));
    }
    rc = 0;
out:
    adminop_cert_free(&cert);
    return rc;
}

/* Normalises a SHA-256 fingerprint written as 64 hex digits, in either case and with
 * or without ':' between bytes, into 64 lower-case digits. */
static bool normalise_fingerprint(const char *text, char out[65])
{
    size_t used = 0;

    for (const char *p = text; *p != '\0'; p++) {
        if (*p == ':') {
            continue;
        }
        if (!isxdigit((unsigned char)*p) || used == 64) {
            return false;
        }
        out[used++] = (char)tolower((unsigned char)*p);
    }
    out[used] = '\0';
    return used == 64;
}

/* Reads which certificates to revoke, checking the actor's rights over their owner. */
static int revoke_target(struct adminop_ctx *ctx, char fingerprint[65],
                         const char **principal)
{
    static const char owner_sql[] =
        "SELECT principal_id FROM certificates WHERE fingerprint = $1";
    const char *text;
    const char *params[] = {fingerprint};
    PGresult *res;
    int rc;

    if (adminop_get_text(ctx, "fingerprint", 200, false, &text) != 0 ||
        adminop_get_id(ctx, "principal", ADMINOP_ID_PRINCIPAL, false, principal) != 0) {
        return -1;
    }
    if ((text == NULL) == (*principal == NULL)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "give either \"fingerprint\" or \"principal\"");
    }
    fingerprint[0] = '\0';
    if (text == NULL) {
        return check_principal_owner(ctx, *principal);
    }
    if (!normalise_fingerprint(text, fingerprint)) {
        return adminop_fail(ctx, ADMINOP_INVALID_REQUEST,
                            "invalid \"fingerprint\": expected 64 hex digits");
    }
    res = adminop_query(ctx, owner_sql, 1, params);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return adminop_fail(ctx, ADMINOP_NOT_FOUND, "certificate %s not found",
                            fingerprint);
    }
    rc = check_principal_owner(ctx, PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* Sets the result of revoking a fingerprint that revoke_target() found but that
 * matched no unrevoked certificate. */
static int explain_already_revoked(struct adminop_ctx *ctx, const char *fingerprint,
                                   json_t **result)
{
    static const char sql[] = "SELECT to_char(revoked_at, " ADMINOP_SQL_TIME_FORMAT ") "
                              "FROM certificates WHERE fingerprint = $1";
    const char *params[] = {fingerprint};
    PGresult *res = adminop_query(ctx, sql, 1, params);

    if (res == NULL) {
        return -1;
    }
    *result = adminop_change_result(false, NULL,
                                    "certificate %s was already revoked at %s; nothing "
                                    "changed",
                                    fingerprint,
                                    PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    return 0;
}

static int cert_revoke(struct adminop_ctx *ctx, json_t **result)
{
    /* The CTE keeps each row as it was before the update, for the audit row. */
    static const char sql[] =
        "WITH old AS (SELECT c.fingerprint, to_jsonb(c) AS row FROM certificates c "
        "             WHERE c.revoked_at IS NULL "
        "               AND (c.fingerprint = $1 OR c.principal_id = $2) "
        "             FOR UPDATE) "
        "UPDATE certificates t SET revoked_at = now(), revocation_reason = $3 "
        "FROM old WHERE t.fingerprint = old.fingerprint "
        "RETURNING t.fingerprint, old.row, to_jsonb(t)";
    char fingerprint[65];
    const char *principal, *reason;
    json_t *revoked = json_array();
    PGresult *res = NULL;
    int rc = -1;

    if (revoke_target(ctx, fingerprint, &principal) != 0 ||
        adminop_get_nonempty_text(ctx, "reason", REASON_MAX_CHARS, &reason) != 0) {
        goto out;
    }
    const char *params[] = {fingerprint[0] ? fingerprint : NULL, principal, reason};
    res = adminop_query(ctx, sql, 3, params);
    if (res == NULL) {
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        if (adminop_audit(ctx, "cert-revoke", PQgetvalue(res, i, 0),
                          PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)) != 0) {
            goto out;
        }
        json_array_append_new(revoked, json_string(PQgetvalue(res, i, 0)));
    }
    if (PQntuples(res) > 0) {
        *result = adminop_change_result(true, NULL, "revoked %d certificate(s)",
                                        PQntuples(res));
    } else if (principal != NULL) {
        *result = adminop_change_result(false, NULL,
                                        "principal %s has no unrevoked certificates; "
                                        "nothing changed",
                                        principal);
    } else if (explain_already_revoked(ctx, fingerprint, result) != 0) {
        goto out;
    }
    if (*result != NULL) {
        json_object_set(*result, "revoked", revoked);
    }
    rc = 0;
out:
    PQclear(res);
    json_decref(revoked);
    return rc;
}

static int cert_list(struct adminop_ctx *ctx, json_t **result)
{
    static const char sql[] =
        "SELECT json_agg(json_build_object('fingerprint', c.fingerprint,"
        "    'principal', c.principal_id,"
        "    'status', CASE WHEN c.revoked_at IS NOT NULL THEN 'revoked'"
        "                   WHEN now() >= c.not_after THEN 'expired'"
        "                   WHEN now() < c.not_before THEN 'not yet valid'"
        "                   ELSE 'valid' END,"
        "    'not_after', to_char(c.not_after, " ADMINOP_SQL_TIME_FORMAT "),"
        "    'subject', c.subject)"
        "    ORDER BY c.principal_id, c.not_after DESC)"
        " FROM certificates c JOIN principals p ON p.id = c.principal_id"
        " WHERE ($1::text IS NULL OR c.principal_id = $1)"
        "  AND ($2::text IS NULL OR p.state_code = $2)";
    const char *params[2];

    if (adminop_get_id(ctx, "principal", ADMINOP_ID_PRINCIPAL, false, &params[0]) != 0) {
        return -1;
    }
    /* A state administrator gets the certificates of its own state's principals only. */
    params[1] = ctx->own_state;
    return adminop_query_json(ctx, sql, 2, params, result);
}

const struct adminop_op adminop_identity_ops[] = {
    {"principal-add", principal_add, {"id", "role", "state", "agency", "name"}, false},
    {"principal-suspend", principal_suspend, {"id"}, false},
    {"principal-resume", principal_resume, {"id"}, false},
    {"principal-list", principal_list, {"state"}, true},
    {"cert-register",
     cert_register,
     {"pem", "principal", "create_principal", "role", "state", "agency", "name"},
     false},
    {"cert-revoke", cert_revoke, {"fingerprint", "principal", "reason"}, false},
    {"cert-list", cert_list, {"principal"}, true},
    {NULL, NULL, {NULL}, false},
};
