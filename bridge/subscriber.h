/*
 * One MQTT connection of the bridge: an MQTT 5 client over TLS with a client
 * certificate, a persistent session and the shared subscriptions
 * $share/iactn-bridge/iactn/alerts/# and $share/iactn-bridge/iactn/acks/# at QoS 1.
 * Each message is archived inside the message callback, before the callback returns,
 * because that is when libmosquitto sends the PUBACK (see subscriber.c). The bridge
 * runs several subscribers, each with its own thread, sharing one archive.
 */
#ifndef IACTN_SUBSCRIBER_H
#define IACTN_SUBSCRIBER_H

#include "archive.h"

#include <stdatomic.h>

#define SUBSCRIBER_ALERTS_FILTER "$share/iactn-bridge/iactn/alerts/#"
#define SUBSCRIBER_ACKS_FILTER "$share/iactn-bridge/iactn/acks/#"

/* Seconds the broker keeps the session, with its queued alerts, while the bridge is
 * away: 7 days. */
#define SUBSCRIBER_SESSION_EXPIRY (7 * 24 * 3600)

struct subscriber_options {
    const char *host;
    int port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *client_id;
};

struct subscriber;

/*
 * Creates the client and loads the TLS files, without connecting. Alerts and
 * acknowledgements go to `archive`; `stop` is the shutdown flag. Returns NULL after
 * logging the reason (unreadable TLS file, out of memory). Free with
 * subscriber_free().
 */
struct subscriber *subscriber_new(const struct subscriber_options *options,
                                  struct archive *archive, const atomic_int *stop);

/*
 * Starts the network thread, which connects, subscribes and keeps reconnecting with
 * backoff (1 s growing to 60 s) until subscriber_stop(). Returns 0, or -1 after
 * logging if the thread cannot start.
 */
int subscriber_start(struct subscriber *subscriber);

/*
 * Disconnects and waits up to `timeout_seconds` for the network thread to end.
 * Returns 0 once it ended, or -1 if it is still busy, typically inside an archive
 * retry holding an unacknowledged alert. The caller then must end the process
 * without freeing the subscriber.
 */
int subscriber_stop(struct subscriber *subscriber, int timeout_seconds);

/*
 * Frees a subscriber whose thread never started or has ended. Accepts NULL.
 */
void subscriber_free(struct subscriber *subscriber);

#endif
