/*
 * The publish command: sends one alert at QoS 1 to iactn/alerts/{ORIGIN}/{category}
 * and reports the broker's PUBACK.
 */
#ifndef IACTN_ALERT_PUBLISH_H
#define IACTN_ALERT_PUBLISH_H

#include "iactn_alert.h"

/*
 * Reads the alert from options->file ("-" for stdin) or builds it from the flags,
 * then prints it (--dry-run) or publishes it as `client_id` under `origin` (NULL if
 * the certificate names no state and --origin is absent) and waits for the PUBACK.
 * Prints "accepted id=..." or "refused id=... reason=0xNN (...)" on stdout and
 * explanations on stderr. Returns an exit code of enum exit_code. Blocks on the
 * network for up to about 30 s.
 */
int publish_run(const struct tool_options *options, const char *origin,
                const char *client_id);

#endif
