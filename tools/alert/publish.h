/*
 * The publish, update and cancel commands: each sends one alert at QoS 1 to
 * iactn/alerts/{ORIGIN}/{category} and reports the broker's PUBACK. Also the single
 * QoS 1 send with PUBACK wait that the ack command uses.
 */
#ifndef IACTN_ALERT_PUBLISH_H
#define IACTN_ALERT_PUBLISH_H

#include "iactn_alert.h"

#include <jansson.h>
#include <stddef.h>

/* The broker's answer to one QoS 1 publish. */
struct puback {
    int reason_code;
    char reason_string[256]; /* from the PUBACK's reason string property, if any */
};

/*
 * Reads the alert from options->file ("-" for stdin) or builds it from the flags
 * (asking for missing fields at a terminal), makes it an update or cancellation of
 * options->alert_id for those commands, then prints it (--dry-run) or publishes it as
 * `identity` and reports the answer. Returns an exit code of enum exit_code. Blocks on
 * the terminal and on the network for up to about 30 s.
 */
int publish_run(const struct tool_options *options, const struct identity *identity);

/*
 * Publishes the valid `alert` under identity->state and reports the broker's answer
 * on stdout ("accepted id=... topic=..." / "refused id=... reason=0x87 (...)", or one
 * JSON object with --json) with explanations on stderr. Returns an exit code. Blocks
 * on the network for up to about 30 s.
 */
int publish_alert(const struct tool_options *options, const struct identity *identity,
                  json_t *alert);

/*
 * Connects as identity->client_id, publishes `len` bytes to `topic` at QoS 1 and waits
 * for the PUBACK, stored in *answer. Returns 0 once it arrived, or an exit code after
 * printing the failure. `what` names the message in errors, e.g. "alert 0b8e...".
 */
int publish_send(const struct tool_options *options, const struct identity *identity,
                 const char *topic, const void *payload, size_t len, const char *what,
                 struct puback *answer);

/* Writes the MQTT reason string of `reason_code` in lower case into `out`. */
void publish_reason_text(int reason_code, char *out, size_t out_size);

#endif
