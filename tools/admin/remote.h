/*
 * iactn-admin --remote: sends a command as an administration request over MQTT 5
 * with TLS and the administrator's client certificate, and waits for iactn-bridge's
 * reply. The broker stamps the request with the verified sender, so the bridge
 * applies it with that administrator's rights, not the database's.
 */
#ifndef IACTN_ADMIN_REMOTE_H
#define IACTN_ADMIN_REMOTE_H

#include "admin.h"

/* Default seconds to wait for the connection and for the reply. */
#define REMOTE_TIMEOUT_DEFAULT 15

/*
 * Runs `cmd` remotely with the connection options of `args` (--ca, --cert, --key,
 * --host, --port, --timeout, falling back to IACTN_CA, IACTN_CERT, IACTN_KEY,
 * IACTN_BROKER_HOST and IACTN_BROKER_PORT). Prints the result or the reason it
 * failed. Returns an ADMIN_EXIT_* code: ADMIN_EXIT_USAGE for a command without a
 * remote form or a malformed request, ADMIN_EXIT_FAILURE for a refused connection, a
 * rejected request or no reply in time. Blocks for up to the timeout twice.
 */
int remote_run(const struct admin_command *cmd, const struct admin_args *args, bool tsv);

#endif
