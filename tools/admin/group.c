/*
 * group add, group list, group member-add, group member-remove: sharing groups, which
 * sharing rules and an alert's distribution can name instead of single states. They
 * run the operations of common/adminop_group.c.
 */
#include "admin.h"
#include "request.h"

const struct admin_command group_commands[] = {
    {
        .group = "group",
        .verb = "add",
        .run = request_run_command,
        .options = OPT_BIT(OPT_NAME) | OPT_BIT(OPT_DESCRIPTION),
        .required = OPT_BIT(OPT_NAME),
        .min_args = 1,
        .max_args = 1,
        .synopsis = "group add ID --name NAME [--description TEXT]",
        .description =
            "Adds the sharing group ID (lower-case letters, digits and '-', at "
            "most 63), which starts without members.",
    },
    {
        .group = "group",
        .verb = "list",
        .run = request_run_command,
        .synopsis = "group list",
        .description = "Lists the sharing groups: id, name and member states. With "
                       "--remote the owner follows the name: the state that decides "
                       "the members, or 'network'.",
    },
    {
        .group = "group",
        .verb = "member-add",
        .run = request_run_command,
        .min_args = 2,
        .max_args = 2,
        .synopsis = "group member-add ID CODE",
        .description = "Adds member state CODE to sharing group ID.",
    },
    {
        .group = "group",
        .verb = "member-remove",
        .run = request_run_command,
        .min_args = 2,
        .max_args = 2,
        .synopsis = "group member-remove ID CODE",
        .description = "Removes member state CODE from sharing group ID; it is an error "
                       "when CODE is not a member.",
    },
    {0},
};
