/*
 * oncall add, oncall list, oncall remove: the 24/7 rotation of each state and each
 * agency. They run the operations of common/adminop_directory.c.
 */
#include "admin.h"
#include "request.h"

const struct admin_command oncall_commands[] = {
    {
        .group = "oncall",
        .verb = "add",
        .run = request_run_command,
        .options = OPT_BIT(OPT_CONTACT) | OPT_BIT(OPT_POSITION) | OPT_BIT(OPT_STARTS) |
                   OPT_BIT(OPT_ENDS) | OPT_BIT(OPT_SCOPE),
        .required = OPT_BIT(OPT_CONTACT) | OPT_BIT(OPT_POSITION) | OPT_BIT(OPT_STARTS) |
                    OPT_BIT(OPT_ENDS),
        .synopsis = "oncall add --contact ID --position primary|backup --starts TIME "
                    "--ends TIME [--scope agency|state]",
        .description =
            "Puts contact ID on call from --starts until --ends and prints the shift's "
            "id. TIME is an ISO 8601 time such as 2026-12-04T18:00:00Z, read as UTC "
            "without an offset. With --scope agency (the default) the contact is on "
            "call for its agency, with --scope state for the whole state of its agency. "
            "A shift may not overlap another shift of the same position and scope, so "
            "that who to call is never ambiguous; adding an identical shift prints its "
            "id. iactn-bridge updates the directory entry when the shift starts and "
            "when it ends.",
    },
    {
        .group = "oncall",
        .verb = "list",
        .run = request_run_command,
        .options = OPT_BIT(OPT_STATE) | OPT_BIT(OPT_AGENCY) | OPT_BIT(OPT_CURRENT),
        .synopsis = "oncall list [--state CODE] [--agency ID] [--current]",
        .description = "Lists the shifts, or only those of state CODE or of contacts of "
                       "agency ID, and with --current only those not yet ended: id, "
                       "state, scope, agency, contact, name, position, start, end and "
                       "status (upcoming, on call or ended).",
    },
    {
        .group = "oncall",
        .verb = "remove",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "oncall remove ID",
        .description = "Removes the shift ID, as shown by 'oncall list'.",
    },
    {0},
};
