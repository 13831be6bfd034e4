/*
 * acl add, acl list, acl remove: the topic_acl rows that decide who may publish and
 * subscribe to which topics. Like every command with a request form (request.h), they
 * run the administration operations of common/adminop_acl.c, which check and audit
 * them the same way whether they come from here or over MQTT.
 */
#include "admin.h"
#include "request.h"

const struct admin_command acl_commands[] = {
    {
        .group = "acl",
        .verb = "add",
        .run = request_run_command,
        .options = OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_ACCESS) | OPT_BIT(OPT_PATTERN) |
                   OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY) | OPT_BIT(OPT_STATE) |
                   OPT_BIT(OPT_PRIORITY) | OPT_BIT(OPT_NOTE),
        .required = OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_ACCESS) | OPT_BIT(OPT_PATTERN),
        .choices = {OPT_BIT(OPT_ALLOW) | OPT_BIT(OPT_DENY)},
        .synopsis = "acl add --role ROLE|'*' --access publish|subscribe --pattern FILTER "
                    "(--allow|--deny) [--state CODE] [--priority N] [--note TEXT]",
        .description =
            "Adds a topic rule and prints its id. FILTER is an MQTT topic filter ('+' as "
            "a whole level, '#' as the whole last level) of at most 256 bytes, in "
            "which {state}, {agency} and {principal} stand for the client's own values. "
            "The rule applies to principals of ROLE ('*' for every role) and, with "
            "--state, only to those of state CODE. Among the rules that apply to a "
            "client, the one with the highest priority N (default 0; the default policy "
            "uses 100) whose filter concerns the topic decides; no rule means deny. An "
            "identical rule (the note aside) is not added twice: its id is printed "
            "instead.",
    },
    {
        .group = "acl",
        .verb = "list",
        .run = request_run_command,
        .options = OPT_BIT(OPT_STATE),
        .synopsis = "acl list [--state CODE]",
        .description =
            "Lists the topic rules by decreasing priority: id, state ('*' for "
            "every state), role, access, pattern, decision, priority, note and "
            "scope (any, state or network: which principals of the role it reaches). "
            "With --state, only the rules that apply to principals of state "
            "CODE: its own and those for every state.",
    },
    {
        .group = "acl",
        .verb = "remove",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "acl remove ID",
        .description = "Removes the topic rule ID, as shown by 'acl list'.",
    },
    {0},
};
