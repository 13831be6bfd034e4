/*
 * The bridge's settings, from its config file, the environment and the command line
 * (in rising precedence), checked before anything starts.
 */
#ifndef IACTN_BRIDGE_SETTINGS_H
#define IACTN_BRIDGE_SETTINGS_H

#include "config.h"
#include "subscriber.h"
#include "webhook.h"

#include <stdio.h>

#define SETTINGS_PROGRAM "iactn-bridge"

/* Most MQTT connections a bridge may open. */
#define SETTINGS_CONNECTIONS_MAX 64

struct settings {
    const char *db;
    struct subscriber_options mqtt; /* client_id is set per connection */
    char principal[128];
    /* Connection n (from 1) uses the client id "{client_id}-{n}". */
    char client_id[256];
    long connections;
    struct webhook_options webhooks;
    int log_level;
};

/*
 * Fills `settings` from the command line and the files and variables it names. The
 * strings point into `config`, which must outlive `settings`. Prints the reason to
 * stderr and returns 1 for a configuration error or 2 for a usage error; returns 0 on
 * success. Prints the help and exits for --help. Blocks on file I/O.
 */
int settings_load(int argc, char **argv, struct iactn_config *config,
                  struct settings *settings);

/*
 * The config keys and their environment variables, ended by a NULL name.
 */
extern const struct config_key settings_keys[];

#endif
