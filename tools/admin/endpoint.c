/*
 * endpoint add, list, disable and enable: the agencies' webhook endpoints, to which
 * iactn-bridge POSTs every alert the agency may receive. Secrets are read from
 * a file, so that they stay out of the shell history and the process list, and are
 * never printed or written to the audit log.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"
#include "validate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define URL_MAX_CHARS 2048
#define SECRET_MIN_CHARS 16
#define SECRET_MAX_CHARS 1024
#define ID_TEXT_LEN 21
#define ALERT_TOPIC_PREFIX "iactn/alerts/"

/* Checks an endpoint URL: https, a host, no spaces or control characters. The bridge
 * reports anything libcurl still rejects as the delivery's last error. */
static bool validate_url(const char *url)
{
    const char *host = url + 8;
    size_t len = strlen(url);

    if (strncmp(url, "https://", 8) != 0) {
        admin_error("invalid URL '%s': webhooks must use https://", url);
        return false;
    }
    if (len > URL_MAX_CHARS || *host == '\0' || strchr("/?#:@", *host) != NULL) {
        admin_error("invalid URL '%s': expected https://HOST[:PORT]/PATH, at most %d "
                    "characters",
                    url, URL_MAX_CHARS);
        return false;
    }
    for (const char *p = url; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            admin_error("invalid URL: spaces and control characters are not allowed; "
                        "percent-encode them");
            return false;
        }
    }
    return true;
}

/* Checks a topic filter that selects which alerts an endpoint receives. */
static bool validate_alert_filter(const char *filter)
{
    if (!validate_topic_filter(filter)) {
        return false;
    }
    if (strncmp(filter, ALERT_TOPIC_PREFIX, strlen(ALERT_TOPIC_PREFIX)) != 0 ||
        strchr(filter, '{') != NULL) {
        admin_error("invalid --topic-filter '%s': it must start with " ALERT_TOPIC_PREFIX
                    " and contain no placeholder, for example iactn/alerts/+/bomb-threat "
                    "or iactn/alerts/CO/#",
                    filter);
        return false;
    }
    return true;
}

/* Reads the secret from the first line of `path` into `out`. Returns true, or false
 * after printing why (unreadable, empty, too short or long, control characters). */
static bool read_secret(const char *path, char *out, size_t size)
{
    struct stat st;
    FILE *file = fopen(path, "r");
    size_t len;

    if (file == NULL) {
        admin_error("cannot read --secret-file %s: %s", path, strerror(errno));
        return false;
    }
    if (fstat(fileno(file), &st) == 0 && (st.st_mode & 077) != 0) {
        admin_warn("%s can be read by other users; chmod 600 it", path);
    }
    if (fgets(out, (int)size, file) == NULL) {
        out[0] = '\0';
    }
    fclose(file);
    out[strcspn(out, "\r\n")] = '\0';
    len = strlen(out);
    if (len < SECRET_MIN_CHARS || len > SECRET_MAX_CHARS) {
        admin_error("invalid secret in %s: expected %d to %d characters on the first "
                    "line, for example from 'openssl rand -hex 32'",
                    path, SECRET_MIN_CHARS, SECRET_MAX_CHARS);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)out[i] < ' ' || out[i] == 0x7f) {
            admin_error("invalid secret in %s: control characters are not allowed", path);
            return false;
        }
    }
    return true;
}

static int endpoint_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    char secret[SECRET_MAX_CHARS + 2];
    const char *filter = args->opt[OPT_TOPIC_FILTER] ? args->opt[OPT_TOPIC_FILTER]
                                                     : ALERT_TOPIC_PREFIX "#";
    const char *params[] = {args->arg[0], args->arg[1], secret, filter};
    /* The same agency, URL, secret and filter on an active endpoint is the same
     * endpoint. */
    const struct numbered_insert ins = {
        .table = "endpoints",
        .action = "endpoint-add",
        .find_sql = "SELECT id FROM endpoints WHERE agency_id = $1 AND url = $2 "
                    "  AND secret = $3 AND topic_filter = $4 AND active "
                    "ORDER BY id LIMIT 1",
        .insert_sql = "INSERT INTO endpoints AS t (agency_id, url, secret, topic_filter) "
                      "VALUES ($1, $2, $3, $4) RETURNING t.id, to_jsonb(t) - 'secret'",
        .nparams = 4,
        .params = params,
    };
    char id[ID_TEXT_LEN];
    int inserted;

    if (!validate_id(ID_AGENCY, args->arg[0]) || !validate_url(args->arg[1]) ||
        !validate_alert_filter(filter) ||
        !read_secret(args->opt[OPT_SECRET_FILE], secret, sizeof(secret))) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (entity_exists(ctx, &ENTITY_AGENCY, args->arg[0]) != 1) {
        goto fail;
    }
    inserted = numbered_insert(ctx, &ins, id);
    if (inserted < 0 || admin_db_commit(ctx) != 0) {
        goto fail;
    }
    if (inserted == 0) {
        admin_note("an identical active endpoint exists with id %s; nothing changed", id);
    }
    printf("%s\n", id);
    return ADMIN_EXIT_OK;
fail:
    admin_db_rollback(ctx);
    return ADMIN_EXIT_FAILURE;
}

static int endpoint_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT e.id, e.agency_id AS agency, a.state_code AS state, e.url, "
        "       e.topic_filter, CASE WHEN e.active THEN 'yes' ELSE 'no' END AS active, "
        "       (SELECT count(*) FROM deliveries d "
        "        WHERE d.endpoint_id = e.id AND d.status = 'pending') AS pending, "
        "       (SELECT count(*) FROM deliveries d "
        "        WHERE d.endpoint_id = e.id AND d.status = 'dead') AS dead "
        "FROM endpoints e JOIN agencies a ON a.id = e.agency_id "
        "WHERE $1::text IS NULL OR e.agency_id = $1 ORDER BY e.id";
    const char *agency = args->opt[OPT_AGENCY];
    const char *params[] = {agency};

    if (agency && !validate_id(ID_AGENCY, agency)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(ctx, sql, 1, params);
}

/* Sets the active flag of the locked row `before` (to_jsonb without the secret) and
 * audits the change. Returns 0 or -1. */
static int update_active(struct admin_ctx *ctx, const char *id, const char *before,
                         bool active)
{
    const char *params[] = {id, active ? "true" : "false"};
    PGresult *res;
    int rc = -1;

    res = admin_db_query(ctx,
                         "UPDATE endpoints t SET active = $2 WHERE t.id = $1 "
                         "RETURNING to_jsonb(t) - 'secret'",
                         2, params);
    if (res != NULL && PQntuples(res) == 1) {
        rc = admin_db_audit(ctx, active ? "endpoint-enable" : "endpoint-disable", id,
                            before, PQgetvalue(res, 0, 0), NULL);
    }
    PQclear(res);
    return rc;
}

/* Runs "endpoint enable" or "endpoint disable" in one transaction. */
static int set_active(struct admin_ctx *ctx, const char *id, bool active)
{
    const char *params[] = {id};
    const char *word = active ? "enabled" : "disabled";
    PGresult *res = NULL;
    long ignored;
    int rc = ADMIN_EXIT_FAILURE;

    if (!validate_long("endpoint id", id, 1, LONG_MAX, &ignored)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    res = admin_db_query(ctx,
                         "SELECT to_jsonb(t) - 'secret', t.active FROM endpoints t "
                         "WHERE t.id = $1 FOR UPDATE",
                         1, params);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) == 0) {
        admin_error("endpoint %s not found", id);
        goto out;
    }
    if ((strcmp(PQgetvalue(res, 0, 1), "t") == 0) == active) {
        printf("endpoint %s is already %s; nothing changed\n", id, word);
        rc = ADMIN_EXIT_OK;
        goto out;
    }
    if (update_active(ctx, id, PQgetvalue(res, 0, 0), active) != 0 ||
        admin_db_commit(ctx) != 0) {
        goto out;
    }
    printf("endpoint %s %s\n", id, word);
    rc = ADMIN_EXIT_OK;
out:
    PQclear(res);
    admin_db_rollback(ctx);
    return rc;
}

static int endpoint_disable(struct admin_ctx *ctx, const struct admin_args *args)
{
    return set_active(ctx, args->arg[0], false);
}

static int endpoint_enable(struct admin_ctx *ctx, const struct admin_args *args)
{
    return set_active(ctx, args->arg[0], true);
}

const struct admin_command endpoint_commands[] = {
    {
        .group = "endpoint",
        .verb = "add",
        .run = endpoint_add,
        .options = OPT_BIT(OPT_SECRET_FILE) | OPT_BIT(OPT_TOPIC_FILTER),
        .required = OPT_BIT(OPT_SECRET_FILE),
        .min_args = 2,
        .max_args = 2,
        .synopsis = "endpoint add AGENCY URL --secret-file FILE [--topic-filter FILTER]",
        .description =
            "Registers a webhook endpoint of AGENCY at URL (https only) and prints its "
            "id. iactn-bridge POSTs to it every alert archived from then on that the "
            "agency may receive (its state is a recipient and, for AMBER+STRICT and "
            "RED, the agency is listed) and whose topic matches FILTER (default "
            "iactn/alerts/#, for example iactn/alerts/+/bomb-threat).\n"
            "The first line of FILE is the secret, 16 to 1024 characters, that signs "
            "every request: X-IACTN-Signature is sha256= and the hex HMAC-SHA256 of the "
            "X-IACTN-Timestamp value, '.', and the body. The secret is never printed.",
    },
    {
        .group = "endpoint",
        .verb = "list",
        .run = endpoint_list,
        .options = OPT_BIT(OPT_AGENCY),
        .synopsis = "endpoint list [--agency ID]",
        .description = "Lists the webhook endpoints, or those of agency ID: id, agency, "
                       "state, URL, topic filter, whether active, and the number of "
                       "pending and dead deliveries.",
    },
    {
        .group = "endpoint",
        .verb = "disable",
        .run = endpoint_disable,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "endpoint disable ID",
        .description = "Stops deliveries to endpoint ID. Alerts archived from then on "
                       "get no delivery for it, and deliveries already queued stay "
                       "pending without being attempted until it is enabled again.",
    },
    {
        .group = "endpoint",
        .verb = "enable",
        .run = endpoint_enable,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "endpoint enable ID",
        .description = "Resumes deliveries to endpoint ID, starting with those left "
                       "pending when it was disabled. Alerts archived while it was "
                       "disabled are not delivered to it.",
    },
    {0},
};
