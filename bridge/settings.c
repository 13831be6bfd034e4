#include "settings.h"

#include "cert_subject.h"
#include "control.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM SETTINGS_PROGRAM

const struct config_key settings_keys[] = {
    {"db", "IACTN_DB"},
    {"broker_host", "IACTN_BROKER_HOST"},
    {"broker_port", "IACTN_BROKER_PORT"},
    {"ca", "IACTN_CA"},
    {"cert", "IACTN_CERT"},
    {"key", "IACTN_KEY"},
    {"client_id", "IACTN_CLIENT_ID"},
    {"connections", "IACTN_CONNECTIONS"},
    {"webhook_ca", "IACTN_WEBHOOK_CA"},
    {"webhook_proxy", "IACTN_WEBHOOK_PROXY"},
    {"webhook_timeout", "IACTN_WEBHOOK_TIMEOUT"},
    {"webhook_attempts", "IACTN_WEBHOOK_ATTEMPTS"},
    {"webhook_backoff_first", "IACTN_WEBHOOK_BACKOFF_FIRST"},
    {"webhook_backoff_max", "IACTN_WEBHOOK_BACKOFF_MAX"},
    {"webhook_concurrency", "IACTN_WEBHOOK_CONCURRENCY"},
    {"log_level", "IACTN_LOG_LEVEL"},
    CONTROL_CONFIG_KEYS,
    {NULL, NULL},
};

/* Defaults of the webhook settings. */
#define CONNECTIONS_DEFAULT 48
#define WEBHOOK_TIMEOUT_DEFAULT_MS 10000L
#define WEBHOOK_ATTEMPTS_DEFAULT 10
#define WEBHOOK_BACKOFF_FIRST_DEFAULT_MS 5000L
#define WEBHOOK_BACKOFF_MAX_DEFAULT_MS 3600000L
#define WEBHOOK_CONCURRENCY_DEFAULT 4

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: " PROGRAM " --config FILE [OPTIONS]\n"
        "\n"
        "Archives every IACTN alert and acknowledgement in PostgreSQL and\n"
        "delivers alerts to the agencies' webhooks. Subscribes with persistent\n"
        "MQTT 5 sessions to " SUBSCRIBER_ALERTS_FILTER " and\n" SUBSCRIBER_ACKS_FILTER
        " at QoS 1, and commits each message\n"
        "before acknowledging it.\n"
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
        "                        certificate's CN and '-' (default CN-HOSTNAME);\n"
        "                        MQTT connection n uses ID-n\n"
        "  --connections N       connections, IACTN_CONNECTIONS: MQTT connections,\n"
        "                        each with its own thread; their alerts are\n"
        "                        committed together (default 16, at most 64)\n"
        "  --webhook-ca FILE     webhook_ca, IACTN_WEBHOOK_CA: CA bundle that\n"
        "                        endpoint certificates must chain to (default:\n"
        "                        libcurl's bundle); they are always verified\n"
        "  --webhook-proxy URL   webhook_proxy, IACTN_WEBHOOK_PROXY: proxy for\n"
        "                        webhook requests (default: none; http_proxy and\n"
        "                        the like are ignored)\n"
        "  --webhook-timeout D   webhook_timeout, IACTN_WEBHOOK_TIMEOUT: time limit\n"
        "                        of one request (default 10s)\n"
        "  --webhook-attempts N  webhook_attempts, IACTN_WEBHOOK_ATTEMPTS: attempts\n"
        "                        before a delivery is dead (default 10)\n"
        "  --webhook-backoff-first D\n"
        "                        webhook_backoff_first, IACTN_WEBHOOK_BACKOFF_FIRST:\n"
        "                        a retry waits a random time between 0 and a bound\n"
        "                        that starts here and doubles with every attempt\n"
        "                        (default 5s)\n"
        "  --webhook-backoff-max D\n"
        "                        webhook_backoff_max, IACTN_WEBHOOK_BACKOFF_MAX:\n"
        "                        maximum of that bound (default 1h)\n"
        "  --webhook-concurrency N\n"
        "                        webhook_concurrency, IACTN_WEBHOOK_CONCURRENCY:\n"
        "                        requests in flight per endpoint (default 4)\n"
        "  --log-level LEVEL     log_level, IACTN_LOG_LEVEL: debug, info, warning or\n"
        "                        error (default info)\n"
        "  --directory on|off    directory, IACTN_DIRECTORY: keep the retained\n"
        "                        directory entries iactn/directory/{STATE}/{agency}\n"
        "                        (default on; run it on one bridge)\n"
        "  --admin-requests on|off\n"
        "                        admin_requests, IACTN_ADMIN_REQUESTS: apply the\n"
        "                        requests of iactn/admin/+/request (default on)\n"
        "  --help                show this help\n"
        "\n"
        "A duration D is a whole number and a unit, ms, s, m or h: 500ms, 5s, 1h.\n"
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
        {"connections", required_argument, NULL, 0},
        {"webhook-ca", required_argument, NULL, 0},
        {"webhook-proxy", required_argument, NULL, 0},
        {"webhook-timeout", required_argument, NULL, 0},
        {"webhook-attempts", required_argument, NULL, 0},
        {"webhook-backoff-first", required_argument, NULL, 0},
        {"webhook-backoff-max", required_argument, NULL, 0},
        {"webhook-concurrency", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
        {"directory", required_argument, NULL, 0},
        {"admin-requests", required_argument, NULL, 0},
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

/* Checks the client id prefix against the rules the broker enforces, so that a
 * mistake shows at start rather than as endless refused connections. */
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
    if (strpbrk(client_id, "+#/") != NULL || strlen(client_id) > 190) {
        fprintf(stderr,
                PROGRAM ": invalid client_id \"%s\": no '+', '#' or '/' allowed, "
                        "at most 190 characters\n",
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
 * across restarts so that the bridge finds its persistent sessions again. */
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

/* Reads an integer key with a default. Returns 0, or -1 after printing the error. */
static int read_long(const struct iactn_config *config, const char *key, long min,
                     long max, long fallback, long *out)
{
    char err[600];

    *out = fallback;
    if (config_get_long(config, key, min, max, out, err, sizeof(err)) < 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return -1;
    }
    return 0;
}

/* Reads a duration key with a default. Returns 0, or -1 after printing the error. */
static int read_duration(const struct iactn_config *config, const char *key, long min_ms,
                         long max_ms, long fallback_ms, long *out_ms)
{
    char err[600];

    *out_ms = fallback_ms;
    if (config_get_duration_ms(config, key, min_ms, max_ms, out_ms, err, sizeof(err)) <
        0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return -1;
    }
    return 0;
}

static int resolve_webhooks(const struct iactn_config *config, struct settings *settings)
{
    struct webhook_options *w = &settings->webhooks;

    w->conninfo = settings->db;
    w->ca_file = config_get(config, "webhook_ca");
    w->proxy = config_get(config, "webhook_proxy");
    if (w->ca_file != NULL && access(w->ca_file, R_OK) != 0) {
        fprintf(stderr, PROGRAM ": webhook_ca \"%s\" (from %s) is not readable: %s\n",
                w->ca_file, config_source(config, "webhook_ca"), strerror(errno));
        return -1;
    }
    if (read_duration(config, "webhook_timeout", 100, 600000, WEBHOOK_TIMEOUT_DEFAULT_MS,
                      &w->timeout_ms) != 0 ||
        read_long(config, "webhook_attempts", 1, 100, WEBHOOK_ATTEMPTS_DEFAULT,
                  &w->attempts) != 0 ||
        read_duration(config, "webhook_backoff_first", 10, 86400000,
                      WEBHOOK_BACKOFF_FIRST_DEFAULT_MS, &w->backoff_first_ms) != 0 ||
        read_duration(config, "webhook_backoff_max", 10, 86400000,
                      WEBHOOK_BACKOFF_MAX_DEFAULT_MS, &w->backoff_max_ms) != 0 ||
        read_long(config, "webhook_concurrency", 1, 64, WEBHOOK_CONCURRENCY_DEFAULT,
                  &w->concurrency) != 0) {
        return -1;
    }
    if (w->backoff_max_ms < w->backoff_first_ms) {
        fprintf(stderr,
                PROGRAM ": webhook_backoff_max (%ld ms) is shorter than "
                        "webhook_backoff_first (%ld ms)\n",
                w->backoff_max_ms, w->backoff_first_ms);
        return -1;
    }
    return 0;
}

static int resolve_settings(const struct iactn_config *config, struct settings *settings)
{
    struct cert_subject subject;
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
    if (read_long(config, "connections", 1, SETTINGS_CONNECTIONS_MAX, CONNECTIONS_DEFAULT,
                  &settings->connections) != 0 ||
        resolve_webhooks(config, settings) != 0) {
        return -1;
    }

    if (cert_subject_read(settings->mqtt.cert_file, &subject, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return -1;
    }
    snprintf(settings->principal, sizeof(settings->principal), "%s", subject.common_name);
    if (config_get(config, "client_id") != NULL) {
        snprintf(settings->client_id, sizeof(settings->client_id), "%s",
                 config_get(config, "client_id"));
    } else {
        default_client_id(settings);
    }
    return check_client_id(settings->client_id, settings->principal);
}

int settings_load(int argc, char **argv, struct iactn_config *config,
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
