/*
 * state list, state suspend, state resume. The member states themselves come from
 * the reference-data migration; operators only suspend and resume them.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"

static int state_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    (void)args;
    return admin_db_list(
        ctx,
        "SELECT code, name, participation, "
        "       CASE WHEN suspended THEN 'yes' ELSE 'no' END AS suspended, "
        "       array_to_string(languages, ',') AS languages "
        "FROM member_states ORDER BY code",
        0, NULL);
}

static int state_suspend(struct admin_ctx *ctx, const struct admin_args *args)
{
    return entity_set_suspended(ctx, &ENTITY_STATE, args->arg[0], true);
}

static int state_resume(struct admin_ctx *ctx, const struct admin_args *args)
{
    return entity_set_suspended(ctx, &ENTITY_STATE, args->arg[0], false);
}

const struct admin_command state_commands[] = {
    {
        .group = "state",
        .verb = "list",
        .run = state_list,
        .synopsis = "state list",
        .description = "Lists the member states: code, name, participation ('active', "
                       "or why the state takes no part), whether it is suspended, and "
                       "its languages.",
    },
    {
        .group = "state",
        .verb = "suspend",
        .run = state_suspend,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "state suspend CODE",
        .description = "Suspends the member state CODE (ISO 3166-1 alpha-2, upper "
                       "case). The change sends NOTIFY iactn_policy, and once the "
                       "broker plugin has reloaded its policy it rejects the "
                       "connections of the state's principals.",
    },
    {
        .group = "state",
        .verb = "resume",
        .run = state_resume,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "state resume CODE",
        .description = "Lifts the suspension of the member state CODE.",
    },
    {0},
};
