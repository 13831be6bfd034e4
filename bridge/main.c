/*
 * iactn-bridge: archives every IACTN alert and acknowledgement in PostgreSQL and
 * delivers alerts to webhooks. See settings.c for the options, subscriber.c for why a
 * message is never acknowledged before it is committed, and webhook.h for delivery.
 */
#include "archive.h"
#include "control.h"
#include "log.h"
#include "settings.h"
#include "subscriber.h"
#include "webhook.h"

#include <curl/curl.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM SETTINGS_PROGRAM
#define STOP_TIMEOUT_SECONDS 10

/* One MQTT connection. */
struct connection {
    char client_id[300];
    struct subscriber *subscriber;
};

/* Everything run() starts. */
struct bridge {
    struct connection connections[SETTINGS_CONNECTIONS_MAX];
    long count; /* connections created */
    struct archive *archive; /* the database writer all connections share */
    char archive_name[300];
    struct webhook_worker *worker;
    char worker_name[300];
};

/* Blocks SIGTERM and SIGINT in every thread, so that the main thread takes them with
 * sigwait() and no handler runs in the middle of a database call. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Creates and starts connection `n` (from 1). Returns 0, or -1 after logging. */
static int start_connection(const struct settings *settings, struct bridge *bridge, int n,
                            const atomic_int *stop)
{
    struct connection *c = &bridge->connections[n - 1];
    struct subscriber_options options = settings->mqtt;

    snprintf(c->client_id, sizeof(c->client_id), "%s-%d", settings->client_id, n);
    options.client_id = c->client_id;
    bridge->count = n;
    c->subscriber = subscriber_new(&options, bridge->archive, stop);
    if (c->subscriber == NULL || subscriber_start(c->subscriber) != 0) {
        return -1;
    }
    return 0;
}

/* Stops every connection and the worker. Returns 0, or -1 if a thread is still busy,
 * in which case nothing may be freed. */
static int stop_bridge(struct bridge *bridge)
{
    for (long i = 0; i < bridge->count; i++) {
        struct subscriber *subscriber = bridge->connections[i].subscriber;

        if (subscriber != NULL &&
            subscriber_stop(subscriber, STOP_TIMEOUT_SECONDS) != 0) {
            log_msg(LOG_LEVEL_WARNING,
                    "msg=\"network thread still busy; exiting without it\" client_id=%s",
                    bridge->connections[i].client_id);
            return -1;
        }
    }
    if (bridge->worker != NULL &&
        webhook_worker_stop(bridge->worker, STOP_TIMEOUT_SECONDS) != 0) {
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"webhook thread still busy; exiting without it\"");
        return -1;
    }
    return 0;
}

static void free_bridge(struct bridge *bridge)
{
    for (long i = 0; i < bridge->count; i++) {
        subscriber_free(bridge->connections[i].subscriber);
    }
    archive_free(bridge->archive);
    webhook_worker_free(bridge->worker);
}

/* Fills the options of the directory and administration services from the settings
 * and their own config keys. Returns 0, or -1 after printing an invalid value. */
static int control_settings(const struct iactn_config *config,
                            const struct settings *settings, struct control_options *out)
{
    out->db = settings->db;
    out->host = settings->mqtt.host;
    out->port = settings->mqtt.port;
    out->ca_file = settings->mqtt.ca_file;
    out->cert_file = settings->mqtt.cert_file;
    out->key_file = settings->mqtt.key_file;
    out->client_id = settings->client_id;
    return control_configure(config, out);
}

static int run(const struct settings *settings, const struct control_options *controls)
{
    struct control *control = NULL;
    static atomic_int stop;
    static struct bridge bridge;
    struct webhook_options webhooks = settings->webhooks;
    sigset_t signals;
    int signal_number = 0;
    int rc = 1;

    block_stop_signals(&signals);
    snprintf(bridge.worker_name, sizeof(bridge.worker_name), "%s-webhooks",
             settings->client_id);
    webhooks.name = bridge.worker_name;
    bridge.worker = webhook_worker_new(&webhooks, &stop);
    if (bridge.worker == NULL || webhook_worker_start(bridge.worker) != 0) {
        goto out;
    }
    snprintf(bridge.archive_name, sizeof(bridge.archive_name), "%s-archive",
             settings->client_id);
    bridge.archive = archive_new(settings->db, bridge.archive_name, webhook_worker_wake,
                                 bridge.worker, &stop);
    if (bridge.archive == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        goto out;
    }
    /* A database that is down at start is not fatal: messages wait in the broker. */
    archive_connect(bridge.archive);
    if (archive_start(bridge.archive) != 0) {
        goto out;
    }
    for (int n = 1; n <= settings->connections; n++) {
        if (start_connection(settings, &bridge, n, &stop) != 0) {
            goto out;
        }
    }

    control = control_start(controls);
    if (control == NULL) {
        goto out;
    }

    sigwait(&signals, &signal_number);
    log_msg(LOG_LEVEL_INFO, "msg=\"stopping\" signal=%s", strsignal(signal_number));
    rc = 0;

out:
    atomic_store(&stop, 1);
    if (control_stop(control, STOP_TIMEOUT_SECONDS) != 0 || stop_bridge(&bridge) != 0) {
        _exit(rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    free_bridge(&bridge);
    if (rc == 0) {
        log_msg(LOG_LEVEL_INFO, "msg=\"stopped\"");
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct iactn_config *config;
    struct settings settings;
    struct control_options controls = {0};
    int major, minor, revision;
    int rc;

    memset(&settings, 0, sizeof(settings));
    log_init(PROGRAM, LOG_LEVEL_INFO);
    config = config_new(settings_keys);
    if (config == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    rc = settings_load(argc, argv, config, &settings);
    if (rc == 0 && control_settings(config, &settings, &controls) != 0) {
        rc = 1;
    }
    if (rc != 0) {
        goto out;
    }
    log_set_level(settings.log_level);

    /* Both libraries must be initialised before any thread starts. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, PROGRAM ": cannot initialise libcurl\n");
        rc = 1;
        goto out;
    }
    mosquitto_lib_init();
    mosquitto_lib_version(&major, &minor, &revision);
    log_msg(LOG_LEVEL_INFO,
            "msg=\"starting\" principal=%s client_id=%s-1..%ld broker=%s:%d "
            "libmosquitto=%d.%d.%d libcurl=%s",
            settings.principal, settings.client_id, settings.connections,
            settings.mqtt.host, settings.mqtt.port, major, minor, revision,
            curl_version_info(CURLVERSION_NOW)->version);
    rc = run(&settings, &controls);
    mosquitto_lib_cleanup();
    curl_global_cleanup();

out:
    config_free(config);
    return rc;
}
