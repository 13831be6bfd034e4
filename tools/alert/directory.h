/*
 * The directory and oncall commands: read the retained directory entries that
 * iactn-bridge keeps at iactn/directory/{STATE}/{agency} (and {STATE}/_state for the
 * state's own on-call rotation), and print the contacts, or who to call now.
 */
#ifndef IACTN_ALERT_DIRECTORY_H
#define IACTN_ALERT_DIRECTORY_H

#include "iactn_alert.h"

/* Seconds the commands wait, the connection included, when --timeout is not given. */
#define DIRECTORY_DEFAULT_TIMEOUT 10

/* Milliseconds without a new entry after which all retained entries have arrived:
 * the broker sends them right after the SUBACK. */
#define DIRECTORY_QUIET_MS 700

/*
 * Subscribes as `identity` to the entries of options->directory_state (every state
 * when NULL, for directory only), collects the retained ones, and prints them: for
 * CMD_DIRECTORY the agencies and their contacts, for CMD_ONCALL who is on call now for
 * the state and for each of its agencies. Returns EXIT_ACCEPTED; EXIT_REFUSED when the
 * subscription is refused (only member principals may read the directory) or no entry
 * arrived; or the connection's exit code.
 */
int directory_run(const struct tool_options *options, const struct identity *identity);

#endif
