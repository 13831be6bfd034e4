/*
 * export-cap: writes an archived alert as an OASIS CAP 1.2 document, with the
 * conversion shared with iactn-alert import-cap (common/cap.c).
 */
#include "admin.h"
#include "cap.h"
#include "db.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* CAP sender of an IACTN principal. */
#define SENDER_FORMAT "iactn:%s"

/* Reads the alerts that `alert` references as {"id", "sender", "sent"} entries for the
 * CAP references element. Returns a new array, or NULL after printing why. */
static json_t *load_references(struct admin_ctx *ctx, json_t *alert)
{
    json_t *ids = json_object_get(alert, "references");
    json_t *entries = json_array();
    char *id_list = json_dumps(ids != NULL ? ids : json_array(), JSON_COMPACT);
    const char *params[] = {id_list};
    PGresult *res;

    /* The JSON array of ids is read by PostgreSQL itself, so no quoting is needed. */
    res = admin_db_query(ctx,
                         "SELECT id::text, sender, payload->>'sent' FROM alerts "
                         "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)",
                         1, params);
    free(id_list);
    if (res == NULL) {
        json_decref(entries);
        return NULL;
    }
    for (int row = 0; row < PQntuples(res); row++) {
        char sender[200];

        snprintf(sender, sizeof(sender), SENDER_FORMAT, PQgetvalue(res, row, 1));
        json_array_append_new(entries,
                              json_pack("{s:s, s:s, s:s}", "id", PQgetvalue(res, row, 0),
                                        "sender", sender, "sent", PQgetvalue(res, row, 2)));
    }
    if ((size_t)PQntuples(res) < json_array_size(ids)) {
        admin_warn("%zu referenced alert(s) are not in the archive: their CAP references "
                   "carry this alert's sender and sent time",
                   json_array_size(ids) - (size_t)PQntuples(res));
    }
    PQclear(res);
    return entries;
}

static int write_cap(struct admin_ctx *ctx, PGresult *res)
{
    struct cap_export_options options = {0};
    struct cap_error error;
    json_error_t json_error;
    char sender[200];
    char *text = NULL;
    json_t *alert;
    int rc = ADMIN_EXIT_FAILURE;

    alert = json_loads(PQgetvalue(res, 0, 0), 0, &json_error);
    if (alert == NULL) {
        admin_error("the archived payload is not JSON: %s", json_error.text);
        return ADMIN_EXIT_FAILURE;
    }
    snprintf(sender, sizeof(sender), SENDER_FORMAT, PQgetvalue(res, 0, 1));
    options.sender = sender;
    options.event = PQgetvalue(res, 0, 2);
    options.references = load_references(ctx, alert);
    if (options.references == NULL) {
        goto out;
    }
    text = cap_from_alert(alert, &options, &error);
    if (text == NULL) {
        admin_error("cannot write alert %s as CAP: %s", PQgetvalue(res, 0, 3),
                    error.message);
        goto out;
    }
    fputs(text, stdout);
    rc = ADMIN_EXIT_OK;

out:
    free(text);
    json_decref(options.references);
    json_decref(alert);
    return rc;
}

static int export_cap(struct admin_ctx *ctx, const struct admin_args *args)
{
    static const char sql[] =
        "SELECT a.payload::text, a.sender, coalesce(c.name, a.category), a.id::text "
        "FROM alerts a LEFT JOIN categories c ON c.slug = a.category WHERE a.id = $1";
    PGresult *res;
    int rc = admin_db_query_alert(ctx, sql, args->arg[0], &res);

    if (rc != ADMIN_EXIT_OK) {
        return rc;
    }
    rc = write_cap(ctx, res);
    PQclear(res);
    return rc;
}

const struct admin_command capexport_commands[] = {
    {
        .group = "export-cap",
        .run = export_cap,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "export-cap ID",
        .description =
            "Writes archived alert ID (a UUID) to standard output as an OASIS CAP 1.2 "
            "<alert>, the reverse of 'iactn-alert import-cap': identifier = id, sender "
            "= \"iactn:\" and the verified sender principal, one <info> per language, "
            "times with numeric offsets and no fractions of a second, scope Public for "
            "TLP CLEAR, Private for AMBER+STRICT and RED with agencies, else Restricted, "
            "with restriction \"TLP:...\" for every TLP but CLEAR, and addresses from "
            "the distribution (state codes, agency ids, group:ID).\n"
            "CAP category is CBRNE for cbrn and explosives, else Security; event is the "
            "category's name, and eventCode iactn-category keeps the category itself. "
            "References become \"sender,identifier,sent\" from the archive. The area "
            "keeps its description, countries (geocode ISO3166-1), the outer ring of a "
            "polygon, and a point as a circle of radius 0. Attachments become resources "
            "without a digest, since CAP digests are SHA-1.",
    },
    {0},
};
