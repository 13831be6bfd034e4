/*
 * Building an alert from command-line flags (publish without a file): a new random
 * UUID v4 id, sent = now and expires = now + --expires-in hours, in UTC RFC 3339.
 */
#ifndef IACTN_ALERT_COMPOSE_H
#define IACTN_ALERT_COMPOSE_H

#include "iactn_alert.h"

#include <jansson.h>

/* Language codes of the --headline-XX and --description-XX flags, in array order. */
extern const char *const compose_languages[4];

/* Default and maximum of --expires-in, in hours. */
#define COMPOSE_EXPIRES_DEFAULT_HOURS 24
#define COMPOSE_EXPIRES_MAX_HOURS 8760

/*
 * Builds an alert from the publish flags and checks it with the alert schema rules.
 * Returns a new JSON object owned by the caller, or NULL after printing which flag is
 * missing or invalid (a usage error).
 */
json_t *compose_alert(const struct tool_options *options);

/*
 * Writes a random UUID version 4 (from OpenSSL's RAND_bytes) into `out` as 36
 * lower-case characters and a NUL. Returns 0, or -1 if the random generator fails.
 */
int compose_uuid(char out[37]);

#endif
