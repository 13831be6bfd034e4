/*
 * principal add, principal list, principal suspend, principal resume.
 */
#include "principal.h"

#include "db.h"
#include "entity.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 200

bool principal_validate(const struct principal_spec *p)
{
    if (!validate_id(ID_PRINCIPAL, p->id) || !validate_role(p->role, false)) {
        return false;
    }
    if ((p->state == NULL) != (p->agency == NULL)) {
        admin_error("--state and --agency go together: a principal belongs to an agency "
                    "of a state, or to neither");
        return false;
    }
    if (p->state == NULL && !role_is_network(p->role)) {
        admin_error("role %s needs --state and --agency; only admin, archiver and "
                    "broker-bridge principals may be network-wide",
                    p->role);
        return false;
    }
    if (p->state &&
        (!validate_id(ID_STATE, p->state) || !validate_id(ID_AGENCY, p->agency))) {
        return false;
    }
    return p->name == NULL || validate_text("--name", p->name, NAME_MAX_CHARS);
}

/* Returns 0 when the agency exists in the state, -1 after printing why not. */
static int check_agency_state(struct admin_ctx *ctx, const struct principal_spec *p)
{
    const char *params[] = {p->agency};
    PGresult *res =
        admin_db_query(ctx, "SELECT state_code FROM agencies WHERE id = $1", 1, params);
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 0) {
        admin_error("agency '%s' not found; add it with 'iactn-admin agency add'",
                    p->agency);
    } else if (strcmp(PQgetvalue(res, 0, 0), p->state) != 0) {
        admin_error("agency '%s' belongs to state %s, not %s", p->agency,
                    PQgetvalue(res, 0, 0), p->state);
    } else {
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int principal_insert(struct admin_ctx *ctx, const struct principal_spec *p)
{
    const char *params[] = {p->id, p->role, p->state, p->agency, p->name};
    const struct entity_insert ins = {
        .entity = &ENTITY_PRINCIPAL,
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

    if (p->agency && check_agency_state(ctx, p) != 0) {
        return -1;
    }
    return entity_insert(ctx, &ins);
}

static int principal_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const struct principal_spec p = {
        .id = args->arg[0],
        .role = args->opt[OPT_ROLE],
        .state = args->opt[OPT_STATE],
        .agency = args->opt[OPT_AGENCY],
        .name = args->opt[OPT_NAME],
    };
    int inserted;

    if (!principal_validate(&p)) {
        return ADMIN_EXIT_USAGE;
    }
    if (admin_db_begin(ctx) != 0) {
        return ADMIN_EXIT_FAILURE;
    }
    inserted = principal_insert(ctx, &p);
    if (inserted < 0 || admin_db_commit(ctx) != 0) {
        admin_db_rollback(ctx);
        return ADMIN_EXIT_FAILURE;
    }
    if (inserted) {
        printf("added principal %s\n", p.id);
    } else {
        printf("principal %s already exists with the same values; nothing changed\n",
               p.id);
    }
    return ADMIN_EXIT_OK;
}

static int principal_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    (void)args;
    return admin_db_list(
        ctx,
        "SELECT p.id, p.role, p.state_code AS state, p.agency_id AS agency, "
        "       p.display_name AS name, "
        "       CASE WHEN p.suspended THEN 'yes' ELSE 'no' END AS suspended, "
        "       (SELECT count(*) FROM certificates c "
        "        WHERE c.principal_id = p.id AND c.revoked_at IS NULL "
        "          AND now() < c.not_after) AS certificates "
        "FROM principals p ORDER BY p.state_code NULLS FIRST, p.id",
        0, NULL);
}

static int principal_suspend(struct admin_ctx *ctx, const struct admin_args *args)
{
    return entity_set_suspended(ctx, &ENTITY_PRINCIPAL, args->arg[0], true);
}

static int principal_resume(struct admin_ctx *ctx, const struct admin_args *args)
{
    return entity_set_suspended(ctx, &ENTITY_PRINCIPAL, args->arg[0], false);
}

const struct admin_command principal_commands[] = {
    {
        .group = "principal",
        .verb = "add",
        .run = principal_add,
        .options = OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_STATE) | OPT_BIT(OPT_AGENCY) |
                   OPT_BIT(OPT_NAME),
        .required = OPT_BIT(OPT_ROLE),
        .min_args = 1,
        .max_args = 1,
        .synopsis =
            "principal add ID --role ROLE [--state CODE --agency ID] [--name NAME]",
        .description =
            "Adds the principal ID (lower-case letters, digits, '.', '_' and '-', at "
            "most 63), which certificates then map to. ROLE is liaison, agency-system, "
            "admin, archiver or broker-bridge. Liaison and agency-system principals need "
            "--state and --agency, and the agency must belong to that state. The network "
            "roles admin, archiver and broker-bridge may omit both. NAME is a display "
            "name.",
    },
    {
        .group = "principal",
        .verb = "list",
        .run = principal_list,
        .synopsis = "principal list",
        .description =
            "Lists the principals: id, role, state, agency, display name, "
            "whether suspended, and how many of their certificates are neither "
            "revoked nor expired.",
    },
    {
        .group = "principal",
        .verb = "suspend",
        .run = principal_suspend,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "principal suspend ID",
        .description = "Suspends the principal ID. Once the broker plugin has reloaded "
                       "its policy, it rejects the principal's connections.",
    },
    {
        .group = "principal",
        .verb = "resume",
        .run = principal_resume,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "principal resume ID",
        .description = "Lifts the suspension of the principal ID.",
    },
    {0},
};
