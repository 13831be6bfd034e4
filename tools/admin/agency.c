/*
 * agency add, agency list, agency suspend, agency resume.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"
#include "validate.h"

#define NAME_MAX_CHARS 200

static int agency_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *id = args->arg[0];
    const char *state = args->opt[OPT_STATE];
    const char *params[] = {id, state, args->opt[OPT_NAME]};
    const struct entity_insert ins = {
        .entity = &ENTITY_AGENCY,
        .key = id,
        .insert_sql = "INSERT INTO agencies AS t (id, state_code, name) "
                      "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        .same_sql = "SELECT to_jsonb(t), t.state_code = $2 AND t.name = $3 "
                    "FROM agencies t WHERE t.id = $1",
        .nparams = 3,
        .params = params,
    };
    int found;

    if (!validate_id(ID_AGENCY, id) || !validate_id(ID_STATE, state) ||
        !validate_text("--name", args->opt[OPT_NAME], NAME_MAX_CHARS)) {
        return ADMIN_EXIT_USAGE;
    }
    found = entity_exists(ctx, &ENTITY_STATE, state);
    if (found != 1) {
        return ADMIN_EXIT_FAILURE;
    }
    return entity_add_command(ctx, &ins);
}

static int agency_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *state = args->opt[OPT_STATE];
    const char *params[] = {state};

    if (state && !validate_id(ID_STATE, state)) {
        return ADMIN_EXIT_USAGE;
    }
    return admin_db_list(
        ctx,
        "SELECT id, state_code AS state, name, "
        "       CASE WHEN suspended THEN 'yes' ELSE 'no' END AS suspended "
        "FROM agencies WHERE $1::text IS NULL OR state_code = $1 "
        "ORDER BY state_code, id",
        1, params);
}

static int agency_suspend(struct admin_ctx *ctx, const struct admin_args *args)
{
    return entity_set_suspended(ctx, &ENTITY_AGENCY, args->arg[0], true);
}

static int agency_resume(struct admin_ctx *ctx, const struct admin_args *args)
{
    return entity_set_suspended(ctx, &ENTITY_AGENCY, args->arg[0], false);
}

const struct admin_command agency_commands[] = {
    {
        .group = "agency",
        .verb = "add",
        .run = agency_add,
        .options = OPT_BIT(OPT_STATE) | OPT_BIT(OPT_NAME),
        .required = OPT_BIT(OPT_STATE) | OPT_BIT(OPT_NAME),
        .min_args = 1,
        .max_args = 1,
        .synopsis = "agency add ID --state CODE --name NAME",
        .description = "Adds the agency ID (lower-case letters, digits and '-', at most "
                       "63) of member state CODE.",
    },
    {
        .group = "agency",
        .verb = "list",
        .run = agency_list,
        .options = OPT_BIT(OPT_STATE),
        .synopsis = "agency list [--state CODE]",
        .description = "Lists the agencies, or only those of state CODE: id, state, name "
                       "and whether suspended.",
    },
    {
        .group = "agency",
        .verb = "suspend",
        .run = agency_suspend,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "agency suspend ID",
        .description = "Suspends the agency ID. Once the broker plugin has reloaded its "
                       "policy, it rejects the connections of the agency's principals.",
    },
    {
        .group = "agency",
        .verb = "resume",
        .run = agency_resume,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "agency resume ID",
        .description = "Lifts the suspension of the agency ID.",
    },
    {0},
};
