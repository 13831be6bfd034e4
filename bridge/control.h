/*
 * The bridge's control services next to the archive: the directory publisher
 * (directory.h) and administration over MQTT (admin_requests.h). Each has its own
 * MQTT connection, with the client id {client_id}-directory or {client_id}-admin,
 * and its own PostgreSQL connection.
 */
#ifndef IACTN_CONTROL_H
#define IACTN_CONTROL_H

#include "config.h"

#include <stdbool.h>

/* The config keys of the control services, with their environment variables, for
 * the bridge's key table. */
#define CONTROL_CONFIG_KEYS                                                              \
    {"directory", "IACTN_DIRECTORY"},                                                    \
    {                                                                                    \
        "admin_requests", "IACTN_ADMIN_REQUESTS"                                         \
    }

struct control_options {
    const char *db;
    const char *host;
    int port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *client_id; /* the bridge's; each service appends its own suffix */
    bool directory;        /* config key directory, default on */
    bool admin_requests;   /* config key admin_requests, default on */
};

struct control;

/*
 * Reads the keys "directory" and "admin_requests" (on, off, yes, no, true, false, 1
 * or 0; both default to on) into `out`. Returns 0, or -1 after printing which value is
 * invalid to stderr.
 */
int control_configure(const struct iactn_config *config, struct control_options *out);

/*
 * Starts the services `options` turns on. Returns the running services, or NULL after
 * logging why one could not start (the others are stopped again).
 */
struct control *control_start(const struct control_options *options);

/*
 * Stops the services, waiting up to `timeout_seconds` for each. Returns 0 and frees
 * `control`, or -1 when a service is still busy, in which case nothing is freed and
 * the caller should end the process. Accepts NULL.
 */
int control_stop(struct control *control, int timeout_seconds);

#endif
