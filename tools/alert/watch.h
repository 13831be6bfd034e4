/*
 * The watch command: subscribes at QoS 1 and prints each alert as it arrives, either
 * as one summary line or as the stamped JSON, one document per line.
 */
#ifndef IACTN_ALERT_WATCH_H
#define IACTN_ALERT_WATCH_H

#include "iactn_alert.h"

/*
 * Subscribes as `client_id` to options->topics (default iactn/alerts/#) and prints
 * alerts on stdout until options->count alerts arrived, options->timeout seconds
 * passed, or SIGINT or SIGTERM arrives; each of these ends with EXIT_ACCEPTED (0).
 * Once the broker has acknowledged the subscription, prints "watching ..." on stderr, so
 * that scripts can wait for it. Returns EXIT_REFUSED if every filter was refused, and
 * the connection's exit code otherwise.
 */
int watch_run(const struct tool_options *options, const char *client_id);

#endif
