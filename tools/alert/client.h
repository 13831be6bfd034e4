/*
 * The MQTT 5 connection of iactn-alert: TLS with the user's client certificate, a
 * clean session, and plain-words explanations of refused connections and TLS failures.
 * Everything runs on the calling thread through mosquitto_loop().
 */
#ifndef IACTN_ALERT_CLIENT_H
#define IACTN_ALERT_CLIENT_H

#include "iactn_alert.h"

#include <mosquitto.h>
#include <signal.h>

/* Seconds to wait for the TCP and TLS handshakes and the CONNACK. */
#define CLIENT_CONNECT_TIMEOUT 15

struct client {
    struct mosquitto *mosq;
    const struct tool_options *options;
    const char *client_id;
    int connack;         /* CONNACK reason code, -1 until it arrives */
    int disconnected;    /* nonzero once the connection has ended */
    int disconnect_rc;   /* libmosquitto error or MQTT 5 reason code of the end */
    char tls_error[256]; /* last OpenSSL error reported by the library, or empty */
    void *command;       /* state of the running command, for its callbacks */
};

/* Set by the SIGINT and SIGTERM handlers that client_open() installs. */
extern volatile sig_atomic_t client_interrupted;

/*
 * Connects to the broker as `client_id` and waits for the CONNACK. Returns 0 once
 * connected, or the exit code after printing what went wrong:
 * EXIT_USAGE (unreadable TLS files), EXIT_REFUSED (the broker refused the
 * connection) or EXIT_CONNECTION (network, TLS or timeout). The caller sets the
 * command's callbacks on client->mosq afterwards and calls client_close() in every
 * case. Blocks for up to CLIENT_CONNECT_TIMEOUT seconds.
 */
int client_open(struct client *client, const struct tool_options *options,
                const char *client_id, void *command);

/*
 * Runs the network loop until `finished(client)` returns nonzero (returns 0), the
 * connection ends (prints why and returns EXIT_CONNECTION), SIGINT or SIGTERM arrives
 * (returns 0), or `timeout_ms` passes (returns -1; 0 means no limit).
 */
int client_run(struct client *client, int (*finished)(struct client *), long timeout_ms);

/*
 * Disconnects cleanly if still connected and frees the connection. Accepts a client
 * that client_open() failed to connect.
 */
void client_close(struct client *client);

#endif
