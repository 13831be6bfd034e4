/*
 * iactn-bridge: archives every IACTN alert in PostgreSQL. See usage() for the options
 * and subscriber.c for why an alert is never acknowledged before it is committed.
 */
#include "archive.h"
#include "certificate.h"
#include "config.h"
#include "log.h"
#include "subscriber.h"

#include <getopt.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM "iactn-bridge"
#define STOP_TIMEOUT_SECONDS 10

static const struct config_key config_keys[] = {
    {"db", "IACTN_DB"},
    {"broker_host", "IACTN_BROKER_HOST"},
    {"broker_port", "IACTN_BROKER_PORT"},
    {"ca", "IACTN_CA"},
    {"cert", "IACTN_CERT"},
    {"key", "IACTN_KEY"},
    {"client_id", "IACTN_CLIENT_ID"},
    {"log_level", "IACTN_LOG_LEVEL"},
    {NULL, NULL},
};

/* Settings resolved from the file, the environment and the flags. */
struct settings {
    const char *db;
    struct subscriber_options mqtt;
    char principal[128];
    char client_id[256];
    int log_level;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: " PROGRAM " --config FILE [OPTIONS]\n"
        "\n"
        "Archives every IACTN alert in PostgreSQL. Subscribes with a persistent MQTT 5\n"
        "session to " SUBSCRIBER_FILTER " at QoS 1 and inserts each alert\n"
        "into the alerts table before acknowledging it.\n"
        "\n"
        "Options (each overrides the config key and environment variable shown):\n"
        "  --config FILE         key = value file with the settings below\n"
        "  --db CONNINFO         db, IACTN_DB: libpq connection string (required)\n"
        "  --broker-host HOST    broker_host, IACTN_BROKER_HOST (default 127.0.0.1)\n"
        "  --broker-port PORT    broker_port, IACTN_BROKER_PORT (default 8883)\n"
        "  --ca FILE             ca, IACTN_CA: CA certificate of the broker (required)\n"
        "  --cert FILE           cert, IACTN_CERT: bridge certificate, role archiver\n"
        "  --key FILE            key, IACTN_KEY: private key of --cert\n"
        "  --client-id ID        client_id, IACTN_CLIENT_ID: must start with the\n"
        "                        certificate's CN and '-' (default CN-HOSTNAME)\n"
        "  --log-level LEVEL     log_level, IACTN_LOG_LEVEL: debug, info, warning or\n"
        "                        error (default info)\n"
        "  --help                show this help\n"
        "\n"
        "Logs go to stderr, one key=value line per event. SIGTERM or SIGINT stops the\n"
        "bridge cleanly. Exit status: 0 after a stop, 1 on a configuration error,\n"
        "2 on a usage error.\n");
}

/* Reads the flags into `config`, which already contains the file and environment values.
 */
static int read_flags(int argc, char **argv, struct iactn_config *config)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 0},
        {"broker-host", required_argument, NULL, 0},
        {"broker-port", required_argument, NULL, 0},
        {"ca", required_argument, NULL, 0},
        {"cert", required_argument, NULL, 0},
        {"key", required_argument, NULL, 0},
        {"client-id", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char key[32];
    char source[40];
    int index;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", options, &index)) != -1) {
        if (opt == 'c' || opt == 'h') {
            continue;
        }
        if (opt != 0) {
            return -1;
        }
        /* Flag names are the config keys with '-' for '_'. */
        snprintf(key, sizeof(key), "%s", options[index].name);
        for (char *p = key; *p != '\0'; p++) {
            *p = *p == '-' ? '_' : *p;
        }
        snprintf(source, sizeof(source), "--%s", options[index].name);
        config_set(config, key, optarg, source);
    }
    if (optind < argc) {
        fprintf(stderr, PROGRAM ": unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Finds --config and --help before the other flags, which must override the file. */
static int scan_config_flag(int argc, char **argv, const char **config_file)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(EXIT_SUCCESS);
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            *config_file = argv[i + 1];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *config_file = argv[i] + 9;
        }
    }
    return 0;
}

static const char *require(const struct iactn_config *config, const char *key,
                           const char *env)
{
    const char *value = config_get(config, key);

    if (value == NULL || value[0] == '\0') {
        fprintf(stderr,
                PROGRAM ": missing %s: set it in the config file, in %s, or with --%s\n",
                key, env, key);
        return NULL;
    }
    return value;
}

/* Checks the client id against the rules the broker enforces, so that a mistake shows
 * at start rather than as endless refused connections. */
static int check_client_id(const char *client_id, const char *principal)
{
    size_t len = strlen(principal);

    if (strncmp(client_id, principal, len) != 0 || client_id[len] != '-' ||
        client_id[len + 1] == '\0') {
        fprintf(stderr,
                PROGRAM
                ": invalid client_id \"%s\": it must be the certificate's principal "
                "id \"%s\" followed by '-' and a suffix, e.g. %s-1\n",
                client_id, principal, principal);
        return -1;
    }
    if (strpbrk(client_id, "+#/") != NULL || strlen(client_id) > 200) {
        fprintf(stderr,
                PROGRAM ": invalid client_id \"%s\": no '+', '#' or '/' allowed, "
                        "at most 200 characters\n",
                client_id);
        return -1;
    }
    for (const char *p = client_id; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            fprintf(stderr,
                    PROGRAM ": invalid client_id: control characters are not allowed\n");
            return -1;
        }
    }
    return 0;
}

/* Default client id: the principal id, '-', and the host name, which stays the same
 * across restarts so that the bridge finds its persistent session again. */
static void default_client_id(struct settings *settings)
{
    char host[64] = "1";

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "1");
    }
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p != '\0'; p++) {
        if (strchr("+#/", *p) != NULL || (unsigned char)*p < 0x21) {
            *p = '-';
        }
    }
    snprintf(settings->client_id, sizeof(settings->client_id), "%s-%s",
             settings->principal, host);
}

static int resolve_settings(const struct iactn_config *config, struct settings *settings)
{
    char err[600];
    long port = 8883;
    const char *level = config_get(config, "log_level");

    settings->log_level = LOG_LEVEL_INFO;
    if (level != NULL && (settings->log_level = log_level_parse(level)) < 0) {
        fprintf(stderr,
                PROGRAM ": invalid log_level \"%s\" (from %s): expected debug, info, "
                        "warning or error\n",
                level, config_source(config, "log_level"));
        return -1;
    }
    if (config_get_long(config, "broker_port", 1, 65535, &port, err, sizeof(err)) < 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return -1;
    }
    settings->mqtt.port = (int)port;
    settings->mqtt.host = config_get(config, "broker_host");
    if (settings->mqtt.host == NULL) {
        settings->mqtt.host = "127.0.0.1";
    }
    settings->db = require(config, "db", "IACTN_DB");
    settings->mqtt.ca_file = require(config, "ca", "IACTN_CA");
    settings->mqtt.cert_file = require(config, "cert", "IACTN_CERT");
    settings->mqtt.key_file = require(config, "key", "IACTN_KEY");
    if (settings->db == NULL || settings->mqtt.ca_file == NULL ||
        settings->mqtt.cert_file == NULL || settings->mqtt.key_file == NULL) {
        return -1;
    }

    if (certificate_common_name(settings->mqtt.cert_file, settings->principal,
                                sizeof(settings->principal), err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return -1;
    }
    if (config_get(config, "client_id") != NULL) {
        snprintf(settings->client_id, sizeof(settings->client_id), "%s",
                 config_get(config, "client_id"));
    } else {
        default_client_id(settings);
    }
    settings->mqtt.client_id = settings->client_id;
    return check_client_id(settings->client_id, settings->principal);
}

static int load_settings(int argc, char **argv, struct iactn_config *config,
                         struct settings *settings)
{
    const char *config_file = NULL;
    char err[600];

    scan_config_flag(argc, argv, &config_file);
    if (config_file != NULL &&
        config_load_file(config, config_file, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return 1;
    }
    config_load_env(config);
    if (read_flags(argc, argv, config) != 0) {
        fprintf(stderr, "Try '" PROGRAM " --help'.\n");
        return 2;
    }
    return resolve_settings(config, settings) == 0 ? 0 : 1;
}

/* Blocks SIGTERM and SIGINT in every thread, so that the main thread takes them with
 * sigwait() and no handler runs in the middle of a database call. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int run(const struct settings *settings)
{
    static atomic_int stop;
    struct subscriber *subscriber = NULL;
    struct archive *archive = NULL;
    sigset_t signals;
    int signal_number = 0;
    int rc = 1;

    block_stop_signals(&signals);
    archive = archive_new(settings->db);
    if (archive == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        goto out;
    }
    /* A database that is down at start is not fatal: alerts wait in the broker. */
    archive_connect(archive);

    subscriber = subscriber_new(&settings->mqtt, archive, &stop);
    if (subscriber == NULL || subscriber_start(subscriber) != 0) {
        goto out;
    }

    sigwait(&signals, &signal_number);
    log_msg(LOG_LEVEL_INFO, "msg=\"stopping\" signal=%s", strsignal(signal_number));
    atomic_store(&stop, 1);
    if (subscriber_stop(subscriber, STOP_TIMEOUT_SECONDS) != 0) {
        /* The network thread still runs, so nothing it uses may be freed. */
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"network thread still busy; exiting without it\"");
        _exit(EXIT_SUCCESS);
    }
    log_msg(LOG_LEVEL_INFO, "msg=\"stopped\"");
    rc = 0;

out:
    subscriber_free(subscriber);
    archive_free(archive);
    return rc;
}

int main(int argc, char **argv)
{
    struct iactn_config *config;
    struct settings settings;
    int major, minor, revision;
    int rc;

    memset(&settings, 0, sizeof(settings));
    log_init(PROGRAM, LOG_LEVEL_INFO);
    config = config_new(config_keys);
    if (config == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    rc = load_settings(argc, argv, config, &settings);
    if (rc != 0) {
        goto out;
    }
    log_set_level(settings.log_level);

    mosquitto_lib_init();
    mosquitto_lib_version(&major, &minor, &revision);
    log_msg(
        LOG_LEVEL_INFO,
        "msg=\"starting\" principal=%s client_id=%s broker=%s:%d libmosquitto=%d.%d.%d",
        settings.principal, settings.client_id, settings.mqtt.host, settings.mqtt.port,
        major, minor, revision);
    rc = run(&settings);
    mosquitto_lib_cleanup();

out:
    config_free(config);
    return rc;
}
