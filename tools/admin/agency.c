/*
 * agency add, agency list, agency suspend, agency resume. They run the operations of
 * common/adminop_directory.c.
 */
#include "admin.h"
#include "request.h"

const struct admin_command agency_commands[] = {
    {
        .group = "agency",
        .verb = "add",
        .run = request_run_command,
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
        .run = request_run_command,
        .options = OPT_BIT(OPT_STATE),
        .synopsis = "agency list [--state CODE]",
        .description = "Lists the agencies, or only those of state CODE: id, state, name "
                       "and whether suspended.",
    },
    {
        .group = "agency",
        .verb = "suspend",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "agency suspend ID",
        .description = "Suspends the agency ID. Once the broker plugin has reloaded its "
                       "policy, it rejects the connections of the agency's principals.",
    },
    {
        .group = "agency",
        .verb = "resume",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "agency resume ID",
        .description = "Lifts the suspension of the agency ID.",
    },
    {0},
};
