/*
 * An MQTT 5 connection over TLS with the bridge's client certificate and a clean
 * session, run on a thread of its own that reconnects with backoff. The directory and
 * the administration service each use one, so that neither waits behind the archive.
 */
#ifndef IACTN_MQTT_LINK_H
#define IACTN_MQTT_LINK_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>

struct mqtt_link;

struct mqtt_link_options {
    const char *host;
    int port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *client_id; /* copied */
    const char *name;      /* names the link in log lines, e.g. "directory" */
    /* Runs on the link's thread after each successful connect; subscribe here. */
    void (*on_connect)(struct mqtt_link *link, void *userdata);
    /* Runs on the link's thread when the broker acknowledges a subscription, with
     * granted false when it refused it. May be NULL. */
    void (*on_subscribe)(struct mqtt_link *link, bool granted, void *userdata);
    /* Runs on the link's thread for each message received. May be NULL. */
    void (*on_message)(struct mqtt_link *link, const struct mosquitto_message *message,
                       const mosquitto_property *properties, void *userdata);
    void *userdata;
};

/*
 * Creates the client and loads the TLS files without connecting. Returns NULL after
 * logging the reason (unreadable TLS file, out of memory). Free with mqtt_link_free().
 */
struct mqtt_link *mqtt_link_new(const struct mqtt_link_options *options);

/*
 * Starts the link's thread, which connects and keeps reconnecting (1 s growing to
 * 60 s) until mqtt_link_stop(). Returns 0, or -1 after logging.
 */
int mqtt_link_start(struct mqtt_link *link);

/*
 * Disconnects and waits up to `timeout_seconds` for the thread to end. Returns 0 once
 * it ended, or -1 when it is still busy; the caller must then not free the link.
 */
int mqtt_link_stop(struct mqtt_link *link, int timeout_seconds);

/* Frees a link whose thread never started or has ended. Accepts NULL. */
void mqtt_link_free(struct mqtt_link *link);

/* Returns true while the broker has accepted the connection. Any thread. */
bool mqtt_link_connected(const struct mqtt_link *link);

/*
 * Subscribes to `filter` at QoS 1, with `no_local` without receiving the link's own
 * publications (MQTT 5 forbids no-local on shared subscriptions). Returns 0, or -1
 * after logging. Any thread.
 */
int mqtt_link_subscribe(struct mqtt_link *link, const char *filter, bool no_local);

/*
 * Queues a QoS 1 message. `properties` may be NULL. Returns 0, or -1 after logging
 * (not connected, out of memory); the caller decides whether to try again. Any
 * thread; does not wait for the broker.
 */
int mqtt_link_publish(struct mqtt_link *link, const char *topic, const void *payload,
                      size_t len, bool retain, const mosquitto_property *properties);

#endif
