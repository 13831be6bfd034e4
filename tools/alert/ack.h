/*
 * Acknowledgements: {"alert_id", "status": received|read|actioned, "sent", "note"?},
 * published at QoS 1 to iactn/acks/{ORIGIN}/{RECIPIENT} by a principal of RECIPIENT.
 */
#ifndef IACTN_ALERT_ACK_H
#define IACTN_ALERT_ACK_H

#include "iactn_alert.h"

#include <stddef.h>

/* Returns 1 when `status` is received, read or actioned. */
int ack_status_is_valid(const char *status);

/*
 * Builds the acknowledgement payload of alert `alert_id` with `status` and `note`
 * (NULL: none), sent now, and checks it with the acknowledgement rules. Returns the
 * compact JSON text (free() it), or NULL after printing why it is invalid.
 */
char *ack_payload(const char *alert_id, const char *status, const char *note);

/* Writes "iactn/acks/{origin}/{recipient}" into `out`. */
void ack_topic(const char *origin, const char *recipient, char *out, size_t out_size);

/*
 * The ack command: acknowledges options->alert_id, sent by options->alert_origin,
 * with options->status and options->note as `identity` (whose state is the
 * recipient). Prints the broker's answer; returns an exit code. Blocks on the network
 * for up to about 30 s.
 */
int ack_run(const struct tool_options *options, const struct identity *identity);

#endif
