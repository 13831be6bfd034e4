/*
 * principal add, principal list, principal suspend, principal resume. They run the
 * operations of common/adminop_identity.c.
 */
#include "admin.h"
#include "request.h"

const struct admin_command principal_commands[] = {
    {
        .group = "principal",
        .verb = "add",
        .run = request_run_command,
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
        .run = request_run_command,
        .synopsis = "principal list",
        .description =
            "Lists the principals: id, role, state, agency, display name, "
            "whether suspended, and how many of their certificates are neither "
            "revoked nor expired.",
    },
    {
        .group = "principal",
        .verb = "suspend",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "principal suspend ID",
        .description = "Suspends the principal ID. Once the broker plugin has reloaded "
                       "its policy, it rejects the principal's connections.",
    },
    {
        .group = "principal",
        .verb = "resume",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "principal resume ID",
        .description = "Lifts the suspension of the principal ID.",
    },
    {0},
};
