/*
 * cert add, cert list, cert revoke. The broker trusts a client certificate only
 * through its SHA-256 fingerprint registered here.
 */
#include "certfile.h"
#include "db.h"
#include "entity.h"
#include "principal.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define REASON_MAX_CHARS 500

/* Options that only make sense with --create-principal. */
#define CREATE_OPTIONS                                                                   \
    (OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_STATE) | OPT_BIT(OPT_AGENCY) | OPT_BIT(OPT_NAME))

static bool validate_add_options(const struct admin_args *args,
                                 const struct principal_spec *spec)
{
    bool create = args->opt[OPT_CREATE_PRINCIPAL] != NULL;

    if (!create) {
        if (spec->role || spec->state || spec->agency || spec->name) {
            admin_error("--role, --state, --agency and --name apply only with "
                        "--create-principal");
            return false;
        }
        return validate_id(ID_PRINCIPAL, spec->id);
    }
    if (spec->role == NULL) {
        admin_error("--create-principal needs --role (and --state and --agency for "
                    "liaison and agency-system)");
        return false;
    }
    return principal_validate(spec);
}

/* Copies the principal's state code into state ("" for a network-wide principal).
 * Returns 0, or -1 after printing why (not found, database error). */
static int lookup_principal_state(struct admin_ctx *ctx, const char *id, char state[3])
{
    const char *params[] = {id};
    PGresult *res = admin_db_query(
        ctx, "SELECT coalesce(state_code, '') FROM principals WHERE id = $1", 1, params);

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        admin_error("principal '%s' not found; add it with 'iactn-admin principal add' "
                    "or pass --create-principal",
                    id);
        PQclear(res);
        return -1;
    }
    snprintf(state, 3, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* Warns about what will make the certificate useless in practice. iactn-alert takes
 * its client id from the subject's CN and its default origin from C, and the broker
 * requires the client id to start with the principal id. */
static void warn_about_certificate(const struct certfile_info *info,
                                   const char *principal, const char *state)
{
    if (info->expired) {
        admin_warn("certificate expired at %s; the broker will reject it",
                   info->not_after);
    }
    if (info->not_yet_valid) {
        admin_warn("certificate is not valid before %s", info->not_before);
    }
    if (info->common_name == NULL || strcmp(info->common_name, principal) != 0) {
        admin_warn("subject CN '%s' differs from principal '%s'; iactn-alert derives "
                   "its client id from the CN, so the broker will reject its connections",
                   info->common_name ? info->common_name : "", principal);
    }
    if (state[0] && (info->country == NULL || strcmp(info->country, state) != 0)) {
        admin_warn("subject C '%s' differs from the principal's state %s",
                   info->country ? info->country : "", state);
    }
}

/* Checks a fingerprint that was already registered. Returns 0 when it belongs to the
 * same principal and is not revoked, -1 after printing why otherwise. */
static int check_existing(struct admin_ctx *ctx, const char *fingerprint,
                          const char *principal)
{
    static const char sql[] =
        "SELECT principal_id, to_char(revoked_at, " ADMIN_SQL_ISO8601 "), "
        "       revocation_reason "
        "FROM certificates WHERE fingerprint = $1";
    const char *params[] = {fingerprint};
    PGresult *res = admin_db_query(ctx, sql, 1, params);
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) != 1) {
        admin_error("certificate %s conflicts with an existing row", fingerprint);
    } else if (strcmp(PQgetvalue(res, 0, 0), principal) != 0) {
        admin_error("certificate %s is already registered for principal '%s'; revoke it "
                    "there first if it must change hands",
                    fingerprint, PQgetvalue(res, 0, 0));
    } else if (!PQgetisnull(res, 0, 1)) {
        admin_error("certificate %s was revoked at %s (%s); a revoked certificate "
                    "cannot be added again, so issue a new one",
                    fingerprint, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    } else {
        admin_note("certificate %s is already registered for principal '%s'; nothing "
                   "changed",
                   fingerprint, principal);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Inserts the certificate and its audit row. Returns 0 or -1. */
static int insert_certificate(struct admin_ctx *ctx, const struct certfile_info *info,
                              const char *principal)
{
    const char *params[] = {info->fingerprint, info->subject,    info->issuer,
                            info->serial,      info->not_before, info->not_after,
                            principal};
    PGresult *res = admin_db_query(
        ctx,
        "INSERT INTO certificates AS t (fingerprint, subject, issuer, serial, "
        "    not_before, not_after, principal_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        7, params);
    int rc;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return check_existing(ctx, info->fingerprint, principal);
    }
    rc = admin_db_audit(ctx, "cert-add", info->fingerprint, NULL, PQgetvalue(res, 0, 0),
                        NULL);
    PQclear(res);
    return rc;
}

/* Creates or finds the principal inside the open transaction and copies its state
 * into state. Returns 0 or -1. */
static int prepare_principal(struct admin_ctx *ctx, const struct admin_args *args,
                             const struct principal_spec *spec, char state[3])
{
    if (args->opt[OPT_CREATE_PRINCIPAL] && principal_insert(ctx, spec) < 0) {
        return -1;
    }
    return lookup_principal_state(ctx, spec->id, state);
}

static int cert_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const struct principal_spec spec = {
        .id = args->opt[OPT_PRINCIPAL],
        .role = args->opt[OPT_ROLE],
        .state = args->opt[OPT_STATE],
        .agency = args->opt[OPT_AGENCY],
        .name = args->opt[OPT_NAME],
    };
    struct certfile_info info;
    char state[3];
    int rc = ADMIN_EXIT_FAILURE;

    if (!validate_add_options(args, &spec)) {
        return ADMIN_EXIT_USAGE;
    }
    if (certfile_read(args->arg[0], &info) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (admin_db_begin(ctx) != 0 || prepare_principal(ctx, args, &spec, state) != 0) {
        goto out;
    }
    if (insert_certificate(ctx, &info, spec.id) != 0 || admin_db_commit(ctx) != 0) {
        goto out;
    }
    warn_about_certificate(&info, spec.id, state);
    printf("%s\n", info.fingerprint);
    rc = ADMIN_EXIT_OK;
out:
    admin_db_rollback(ctx);
    certfile_free(&info);
    return rc;
}

static int cert_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT fingerprint, principal_id AS principal, "
        "       CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
        "            WHEN now() >= not_after THEN 'expired' "
        "            WHEN now() < not_before THEN 'not yet valid' "
        "            ELSE 'valid' END AS status, "
        "       to_char(not_after, " ADMIN_SQL_ISO8601 ") AS not_after, subject "
        "FROM certificates WHERE $1::text IS NULL OR principal_id = $1 "
        "ORDER BY principal_id, not_after DESC";
    const char *principal = args->opt[OPT_PRINCIPAL];
    const char *params[] = {principal};

    if (principal && !validate_id(ID_PRINCIPAL, principal)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(ctx, sql, 1, params);
}

/* Revokes the certificates that match, each with its own audit row. Exactly one of
 * fingerprint and principal is set. Returns the rows revoked (fingerprint first),
 * which the caller frees with PQclear, or NULL after printing a database error. */
static PGresult *revoke_matching(struct admin_ctx *ctx, const char *fingerprint,
                                 const char *principal, const char *reason)
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
    const char *params[] = {fingerprint, principal, reason};
    PGresult *res = admin_db_query(ctx, sql, 3, params);

    for (int i = 0; res && i < PQntuples(res); i++) {
        if (admin_db_audit(ctx, "cert-revoke", PQgetvalue(res, i, 0),
                           PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), NULL) != 0) {
            PQclear(res);
            res = NULL;
        }
    }
    return res;
}

/* Explains why revoking one fingerprint changed nothing. Returns ADMIN_EXIT_OK when
 * it was already revoked, ADMIN_EXIT_FAILURE when it is not registered. */
static int explain_nothing_revoked(struct admin_ctx *ctx, const char *fingerprint)
{
    static const char sql[] = "SELECT to_char(revoked_at, " ADMIN_SQL_ISO8601 ") "
                              "FROM certificates WHERE fingerprint = $1";
    const char *params[] = {fingerprint};
    PGresult *res = admin_db_query(ctx, sql, 1, params);
    int rc = ADMIN_EXIT_FAILURE;

    if (res == NULL) {
        return ADMIN_EXIT_FAILURE;
    }
    if (PQntuples(res) == 0) {
        admin_error("certificate %s not found", fingerprint);
    } else {
        printf("certificate %s was already revoked at %s; nothing changed\n", fingerprint,
               PQgetvalue(res, 0, 0));
        rc = ADMIN_EXIT_OK;
    }
    PQclear(res);
    return rc;
}

static bool validate_revoke(const struct admin_args *args, char *fingerprint)
{
    const char *principal = args->opt[OPT_PRINCIPAL];
    const char *reason = args->opt[OPT_REASON];

    if ((args->nargs == 1) == (principal != NULL)) {
        admin_error("give either a FINGERPRINT or --principal ID");
        return false;
    }
    if (args->nargs == 1 && !validate_fingerprint(args->arg[0], fingerprint)) {
        return false;
    }
    if (principal && !validate_id(ID_PRINCIPAL, principal)) {
        return false;
    }
    return reason == NULL || validate_text("--reason", reason, REASON_MAX_CHARS);
}

static int cert_revoke(struct admin_ctx *ctx, const struct admin_args *args)
{
    char fingerprint[FINGERPRINT_HEX_LEN + 1];
    const char *principal = args->opt[OPT_PRINCIPAL];
    PGresult *revoked = NULL;
    int rc = ADMIN_EXIT_FAILURE;

    if (!validate_revoke(args, fingerprint)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (principal && entity_exists(ctx, &ENTITY_PRINCIPAL, principal) != 1) {
        goto out;
    }
    revoked = revoke_matching(ctx, principal ? NULL : fingerprint, principal,
                              args->opt[OPT_REASON]);
    if (revoked == NULL || admin_db_commit(ctx) != 0) {
        goto out;
    }

    rc = ADMIN_EXIT_OK;
    for (int i = 0; i < PQntuples(revoked); i++) {
        printf("revoked %s\n", PQgetvalue(revoked, i, 0));
    }
    if (PQntuples(revoked) == 0 && principal) {
        printf("principal %s has no unrevoked certificates; nothing changed\n",
               principal);
    } else if (PQntuples(revoked) == 0) {
        rc = explain_nothing_revoked(ctx, fingerprint);
    }
out:
    PQclear(revoked);
    admin_db_rollback(ctx);
    return rc;
}

const struct admin_command cert_commands[] = {
    {
        .group = "cert",
        .verb = "add",
        .run = cert_add,
        .options =
            OPT_BIT(OPT_PRINCIPAL) | OPT_BIT(OPT_CREATE_PRINCIPAL) | CREATE_OPTIONS,
        .required = OPT_BIT(OPT_PRINCIPAL),
        .min_args = 1,
        .max_args = 1,
        .synopsis = "cert add CERT.pem --principal ID [--create-principal --role ROLE "
                    "[--state CODE --agency ID] [--name NAME]]",
        .description =
            "Registers the client certificate in CERT.pem (exactly one PEM certificate; "
            "other PEM blocks are skipped) for principal ID and prints its SHA-256 "
            "fingerprint: 64 lower-case hex digits of the digest of its DER encoding, as "
            "'openssl x509 -noout -fingerprint -sha256' prints it without colons. The "
            "subject and issuer (RFC 2253), serial (hex), notBefore and notAfter are "
            "stored with it.\n"
            "With --create-principal the principal is created first, as by 'principal "
            "add', unless an identical one exists. Adding the same certificate for the "
            "same principal again changes nothing; adding it for another principal, or "
            "adding a revoked one, fails. It warns when the certificate has expired, is "
            "not yet valid, or its CN or C differ from the principal's id or state.",
    },
    {
        .group = "cert",
        .verb = "list",
        .run = cert_list,
        .options = OPT_BIT(OPT_PRINCIPAL),
        .synopsis = "cert list [--principal ID]",
        .description = "Lists the certificates, or only those of principal ID: "
                       "fingerprint, principal, status (valid, revoked, expired or not "
                       "yet valid), notAfter and subject.",
    },
    {
        .group = "cert",
        .verb = "revoke",
        .run = cert_revoke,
        .options = OPT_BIT(OPT_PRINCIPAL) | OPT_BIT(OPT_REASON),
        .min_args = 0,
        .max_args = 1,
        .synopsis = "cert revoke (FINGERPRINT | --principal ID) [--reason TEXT]",
        .description =
            "Revokes one certificate, given by its SHA-256 fingerprint (hex, either "
            "case, "
            "colons allowed), or every unrevoked certificate of principal ID, and prints "
            "the fingerprints revoked. Revocation is permanent. Once the broker plugin "
            "has "
            "reloaded its policy it rejects the certificate.",
    },
    {0},
};
