/*
 * The watch command: subscribes at QoS 1 and prints each alert or acknowledgement as
 * it arrives, either as one summary line or as the stamped JSON, one document per
 * line, and optionally acknowledges each alert.
 */
#ifndef IACTN_ALERT_WATCH_H
#define IACTN_ALERT_WATCH_H

#include "iactn_alert.h"

/*
 * Subscribes as identity->client_id to options->topics (default iactn/alerts/#) and
 * prints messages on stdout until options->count arrived, options->timeout seconds
 * passed, or SIGINT or SIGTERM arrives; each of these ends with EXIT_ACCEPTED (0).
 * With options->auto_ack, publishes an acknowledgement of each alert not sent by
 * identity->principal and waits for their PUBACKs (at most 10 s) before leaving.
 * Once the broker has acknowledged the subscription, prints "watching ..." on stderr,
 * so that scripts can wait for it. Returns EXIT_REFUSED if every filter was refused,
 * and the connection's exit code otherwise.
 */
int watch_run(const struct tool_options *options, const struct identity *identity);

#endif
