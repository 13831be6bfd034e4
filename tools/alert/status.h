/*
 * The status command: follows the acknowledgements of one alert of the user's state
 * on iactn/acks/{STATE}/+ while it runs. The broker does not retain acknowledgements;
 * the archive has them all (iactn-admin alert status ID).
 */
#ifndef IACTN_ALERT_STATUS_H
#define IACTN_ALERT_STATUS_H

#include "iactn_alert.h"

/* Seconds status collects when --timeout is not given. */
#define STATUS_DEFAULT_TIMEOUT 30

/*
 * Subscribes as `identity` to iactn/acks/{identity->state}/+ and prints each
 * acknowledgement of options->alert_id until options->count of them arrived, the
 * timeout passed or SIGINT/SIGTERM arrived, then a summary. Prints "watching ..." on
 * stderr once subscribed. Returns EXIT_ACCEPTED, EXIT_REFUSED when the subscription is
 * refused, or the connection's exit code.
 */
int status_run(const struct tool_options *options, const struct identity *identity);

#endif
