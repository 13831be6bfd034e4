/*
 * contact add, contact edit, contact list, contact remove: the directory's people.
 * They run the operations of common/adminop_directory.c.
 */
#include "admin.h"
#include "request.h"

/* The options that set a contact's details. */
#define CONTACT_DETAILS                                                                  \
    (OPT_BIT(OPT_NAME) | OPT_BIT(OPT_FUNCTION) | OPT_BIT(OPT_PHONES) |                   \
     OPT_BIT(OPT_EMAIL) | OPT_BIT(OPT_LANGUAGES) | OPT_BIT(OPT_TIME_ZONE))

const struct admin_command contact_commands[] = {
    {
        .group = "contact",
        .verb = "add",
        .run = request_run_command,
        .options = OPT_BIT(OPT_AGENCY) | CONTACT_DETAILS,
        .required = OPT_BIT(OPT_AGENCY) | OPT_BIT(OPT_NAME),
        .synopsis = "contact add --agency ID --name NAME [--function TEXT] "
                    "[--phones LIST] [--email ADDRESS] [--languages LIST] "
                    "[--time-zone ZONE]",
        .description =
            "Adds a contact of agency ID to the directory and prints its id. FUNCTION is "
            "the person's post, for example 'Duty officer'. --phones takes up to 10 "
            "comma-separated numbers such as '+57 601 555 0100'; --languages up to 10 "
            "ISO 639 codes such as es,en; ZONE an IANA time zone such as America/Bogota "
            "(default UTC). An identical contact of the same agency is not added twice: "
            "its id is printed instead. iactn-bridge republishes the agency's directory "
            "entry within a second.",
    },
    {
        .group = "contact",
        .verb = "edit",
        .run = request_run_command,
        .options = OPT_BIT(OPT_AGENCY) | CONTACT_DETAILS,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "contact edit ID [--agency ID] [--name NAME] [--function TEXT] "
                    "[--phones LIST] [--email ADDRESS] [--languages LIST] "
                    "[--time-zone ZONE]",
        .description = "Changes the details given of contact ID, as shown by 'contact "
                       "list'; the others keep their values. --phones and --languages "
                       "replace the whole list, and an empty value clears it.",
    },
    {
        .group = "contact",
        .verb = "list",
        .run = request_run_command,
        .options = OPT_BIT(OPT_STATE) | OPT_BIT(OPT_AGENCY),
        .synopsis = "contact list [--state CODE] [--agency ID]",
        .description = "Lists the contacts, or only those of state CODE or agency ID: "
                       "id, state, agency, name, function, phones, e-mail, languages, "
                       "time zone and when they last changed.",
    },
    {
        .group = "contact",
        .verb = "remove",
        .run = request_run_command,
        .min_args = 1,
        .max_args = 1,
        .synopsis = "contact remove ID",
        .description = "Removes contact ID and its on-call shifts. The audit row keeps "
                       "both.",
    },
    {0},
};
