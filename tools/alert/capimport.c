#include "capimport.h"

#include "alert.h"
#include "cap.h"
#include "capread.h"
#include "compose.h"
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_warning(const char *message, void *data)
{
    (void)data;
    fprintf(stderr, PROGRAM ": warning: %s\n", message);
}

/* Applies --tlp, --to, --agencies and --groups, which override the document. */
static int apply_overrides(json_t *alert, const struct tool_options *options)
{
    if (options->tlp != NULL) {
        json_object_set_new(alert, "tlp", json_string(options->tlp));
    }
    return compose_add_distribution(alert, options);
}

int capimport_run(const struct tool_options *options, const struct identity *identity)
{
    struct cap_import_options import = {.category = options->category,
                                        .warn = print_warning};
    struct iactn_alert_error invalid;
    struct cap_error error;
    json_t *document;
    json_t *alert = NULL;
    char err[512];
    char *text;
    int rc = EXIT_INVALID_ALERT;

    if (compose_expires_hours(options->expires_in, &import.expires_hours) != 0) {
        return EXIT_USAGE;
    }
    document = capread_file(options->file, err, sizeof(err));
    if (document == NULL) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return EXIT_INVALID_ALERT;
    }
    alert = cap_to_alert(document, &import, &error);
    if (alert == NULL) {
        fprintf(stderr, PROGRAM ": cannot convert %s: %s\n", options->file, error.message);
        goto out;
    }
    if (apply_overrides(alert, options) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (alert_validate(alert, &invalid) != 0) {
        compose_report_invalid(&invalid, "the CAP document and the flags");
        goto out;
    }
    if (options->publish) {
        rc = publish_alert(options, identity, alert);
        goto out;
    }
    text = json_dumps(alert, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    printf("%s\n", text != NULL ? text : "");
    free(text);
    rc = EXIT_ACCEPTED;

out:
    json_decref(alert);
    json_decref(document);
    return rc;
}
