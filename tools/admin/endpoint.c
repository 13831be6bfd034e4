/*
 * endpoint add, list, disable and enable: the agencies' webhook endpoints, to which
 * iactn-bridge POSTs every alert the agency may receive. Secrets are read from
 * a file, so that they stay out of the shell history and the process list, and are
 * never printed or written to the audit log. They run the operations of
 * common/adminop_group.c.
 */
#include "admin.h"
#include "request.h"

const struct admin_command endpoint_commands[] = {
    {
        .group = "endpoint",
        .verb = "add",
        .run = request_run_command,
        .options = OPT_BIT(OPT_SECRET_FILE) | OPT_BIT(OPT_TOPIC_FILTER),
        .required = OPT_BIT(OPT_SECRET_FILE),
        .min_args = 2,
        .max_args = 2,
        .synopsis = "endpoint add AGENCY URL --secret-file FILE [--topic-filter FILTER]",
        .description =
            "Registers a webhook endpoint of AGENCY at URL (https only) and prints its "
            "id. iactn-bridge POSTs to it every alert archived from then on that the "
            "agency may receive (its state is a recipient and, for AMBER+STRICT and "
            "RED, the agency is listed) and whose topic matches FILTER (default "
            "iactn/alerts/#, for example iactn/alerts/+/bomb-threat).\n"
            "The first line of FILE is the secret, 16 to 256 characters, that signs "
            "every request: X-IACTN-Signature is sha256= and the hex HMAC-SHA256 of the "
            "X-IACTN-Timestamp value, '.', and the body. The secret is never printed. An "
            "identical active endpoint (same agency, URL, secret and filter) is not "
            "added twice: its id is printed instead.",
    },
    {
        .group = "endpoint",
        .verb = "list",
        .run = request_run_command,
        .options = OPT_BIT(OPT_AGENCY),
        .synopsis = "endpoint list [--agency ID]",
        .description = "Lists the webhook endpoints, or those of agency ID: id, agency, "
                       "state, URL, topic filter, whether active, and the number of "
                       "pending and dead deliveries.",
    },
    {
        .group = "endpoint",
        .verb = "disable",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "endpoint disable ID",
        .description = "Stops deliveries to endpoint ID. Alerts archived from then on "
                       "get no delivery for it, and deliveries already queued stay "
                       "pending without being attempted until it is enabled again.",
    },
    {
        .group = "endpoint",
        .verb = "enable",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "endpoint enable ID",
        .description = "Resumes deliveries to endpoint ID, starting with those left "
                       "pending when it was disabled. Alerts archived while it was "
                       "disabled are not delivered to it.",
    },
    {0},
};
