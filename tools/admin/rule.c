/*
 * rule add, rule list, rule remove: the sharing_rules rows that decide which states may
 * receive an origin state's alerts. They run the operations of common/adminop_acl.c.
 */
#include "admin.h"
#include "request.h"

const struct admin_command rule_commands[] = {
    {
        .group = "rule",
        .verb = "add",
        .run = request_run_command,
        .options = OPT_BIT(OPT_ORIGIN) | OPT_BIT(OPT_NETWORK) | OPT_BIT(OPT_CATEGORY) |
                   OPT_BIT(OPT_TO_STATE) | OPT_BIT(OPT_TO_GROUP) | OPT_BIT(OPT_TO_ALL) |
                   OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY) | OPT_BIT(OPT_NOTE),
        .required = OPT_BIT(OPT_CATEGORY),
        .choices = {OPT_BIT(OPT_ORIGIN) | OPT_BIT(OPT_NETWORK),
                    OPT_BIT(OPT_TO_STATE) | OPT_BIT(OPT_TO_GROUP) | OPT_BIT(OPT_TO_ALL),
                    OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY)},
        .synopsis = "rule add (--origin CODE | --network) --category SLUG|'*' "
                    "(--to-state CODE | --to-group ID | --to-all) (--allow | --deny) "
                    "[--note TEXT]",
        .description =
            "Adds a sharing rule and prints its id. The rule says whether alerts of "
            "origin state CODE (or, with --network, of every origin without rules of its "
            "own) in category SLUG ('*' for every category) may reach state CODE, the "
            "members of sharing group ID, or every member state. Deny rules win over "
            "allow rules. An origin's first rule of its own replaces the network-wide "
            "rules for that origin, so give it an allow rule too; the command warns when "
            "an origin is left with no allow rule. The origin always receives its own "
            "alerts. An identical rule (the note aside) is not added twice: its id is "
            "printed instead.",
    },
    {
        .group = "rule",
        .verb = "list",
        .run = request_run_command,
        .options = OPT_BIT(OPT_ORIGIN),
        .synopsis = "rule list [--origin CODE]",
        .description = "Lists the sharing rules: id, origin ('network' for the "
                       "network-wide rules), category, recipients, decision and note. "
                       "With --origin, only the rules of origin CODE itself.",
    },
    {
        .group = "rule",
        .verb = "remove",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "rule remove ID",
        .description = "Removes the sharing rule ID, as shown by 'rule list'.",
    },
    {0},
};
