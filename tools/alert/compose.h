/*
 * Building alerts: from command-line flags (publish, update and cancel without a file),
 * with a new random UUID v4 id, sent = now and expires = now + --expires-in hours in
 * UTC RFC 3339, and completing an update or cancellation read from a file.
 */
#ifndef IACTN_ALERT_COMPOSE_H
#define IACTN_ALERT_COMPOSE_H

#include "alert.h"
#include "iactn_alert.h"

#include <jansson.h>
#include <time.h>

/* Language codes of the --headline-XX and --description-XX flags, in array order. */
extern const char *const compose_languages[LANGUAGE_COUNT];

/* Default and maximum of --expires-in, in hours. */
#define COMPOSE_EXPIRES_DEFAULT_HOURS 24
#define COMPOSE_EXPIRES_MAX_HOURS 8760

/*
 * Builds an alert from the flags of options->command (publish, update or cancel) and
 * checks it with the alert schema rules. When a required flag is missing and standard
 * input is a terminal, asks for the missing fields first and sets *prompted to 1 (else
 * 0). Returns a new JSON object owned by the caller, or NULL with *exit_code set:
 * EXIT_USAGE after printing which flag is missing or invalid, EXIT_ABORTED when the
 * prompt's input ended.
 */
json_t *compose_alert(const struct tool_options *options, int *prompted, int *exit_code);

/*
 * Turns `alert`, read from a file for update or cancel, into that message: sets
 * msg_type and puts options->alert_id first in references, and fills in a missing id
 * (or one equal to the referenced id) with a new one, a missing sent with now and a
 * missing expires with now + --expires-in hours. Does nothing for other commands.
 * Returns 0, or -1 after printing why.
 */
int compose_complete(json_t *alert, const struct tool_options *options);

/*
 * Sets the distribution of `alert` from --to, --agencies and --groups, replacing any
 * it had, when at least one of them was given. Returns 0, or -1 after printing why a
 * list is invalid.
 */
int compose_add_distribution(json_t *alert, const struct tool_options *options);

/*
 * Writes a random UUID version 4 (from OpenSSL's RAND_bytes) into `out` as 36
 * lower-case characters and a NUL. Returns 0, or -1 if the random generator fails.
 */
int compose_uuid(char out[37]);

/* Writes `t` as "YYYY-MM-DDTHH:MM:SSZ" into `out`. */
void compose_format_time(time_t t, char out[32]);

/*
 * Reads --expires-in (NULL: the default) into *hours. Returns 0, or -1 after printing
 * why the value is invalid.
 */
int compose_expires_hours(const char *text, double *hours);

/*
 * Prints why an alert failed the alert checks, with a hint at the flags that fix the
 * TLP rules. `what` names the source, e.g. "the flags" or "alert.xml".
 */
void compose_report_invalid(const struct iactn_alert_error *error, const char *what);

#endif
