/*
 * iactn-alert: the liaison officer's command-line client. Reads settings from
 * ~/.config/iactn/alert.conf (or --config), the environment and the flags, then runs
 * the publish or watch command.
 */
#include "compose.h"
#include "config.h"
#include "iactn_alert.h"
#include "publish.h"
#include "subject.h"
#include "topic.h"
#include "watch.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct config_key config_keys[] = {
    {"broker_host", "IACTN_BROKER_HOST"},
    {"broker_port", "IACTN_BROKER_PORT"},
    {"ca", "IACTN_CA"},
    {"cert", "IACTN_CERT"},
    {"key", "IACTN_KEY"},
    {"client_id", NULL},
    {"origin", NULL},
    {NULL, NULL},
};

/* Long options without a short form; values above 255 keep clear of characters. */
enum option_id {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_CLIENT_ID,
    OPT_CONFIG,
    OPT_ORIGIN,
    OPT_DRY_RUN,
    OPT_HEADLINE,
    OPT_DESCRIPTION,
    OPT_HEADLINE_LANG, /* + index into compose_languages, 4 values */
    OPT_DESCRIPTION_LANG = OPT_HEADLINE_LANG + 4,
    OPT_LANG = OPT_DESCRIPTION_LANG + 4,
    OPT_CATEGORY,
    OPT_TLP,
    OPT_TO,
    OPT_AGENCIES,
    OPT_GROUPS,
    OPT_SEVERITY,
    OPT_URGENCY,
    OPT_CERTAINTY,
    OPT_STATUS,
    OPT_EXPIRES_IN,
    OPT_TOPIC,
    OPT_COUNT,
    OPT_TIMEOUT,
    OPT_JSON,
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"headline", required_argument, NULL, OPT_HEADLINE},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"headline-en", required_argument, NULL, OPT_HEADLINE_LANG + 0},
    {"headline-es", required_argument, NULL, OPT_HEADLINE_LANG + 1},
    {"headline-pt", required_argument, NULL, OPT_HEADLINE_LANG + 2},
    {"headline-fr", required_argument, NULL, OPT_HEADLINE_LANG + 3},
    {"description-en", required_argument, NULL, OPT_DESCRIPTION_LANG + 0},
    {"description-es", required_argument, NULL, OPT_DESCRIPTION_LANG + 1},
    {"description-pt", required_argument, NULL, OPT_DESCRIPTION_LANG + 2},
    {"description-fr", required_argument, NULL, OPT_DESCRIPTION_LANG + 3},
    {"lang", required_argument, NULL, OPT_LANG},
    {"category", required_argument, NULL, OPT_CATEGORY},
    {"tlp", required_argument, NULL, OPT_TLP},
    {"to", required_argument, NULL, OPT_TO},
    {"agencies", required_argument, NULL, OPT_AGENCIES},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"severity", required_argument, NULL, OPT_SEVERITY},
    {"urgency", required_argument, NULL, OPT_URGENCY},
    {"certainty", required_argument, NULL, OPT_CERTAINTY},
    {"status", required_argument, NULL, OPT_STATUS},
    {"expires-in", required_argument, NULL, OPT_EXPIRES_IN},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"count", required_argument, NULL, OPT_COUNT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fputs(
        "NAME\n"
        "    iactn-alert - publish and watch IACTN counter-terrorism alerts\n"
        "\n"
        "SYNOPSIS\n"
        "    iactn-alert [CONNECTION OPTIONS] publish FILE.json | -\n"
        "    iactn-alert [CONNECTION OPTIONS] publish --category C --tlp T\n"
        "                --headline-en TEXT --description-en TEXT [ALERT OPTIONS]\n"
        "    iactn-alert [CONNECTION OPTIONS] watch [--topic FILTER ...] [--count N]\n"
        "                [--timeout SECONDS] [--json]\n"
        "\n"
        "DESCRIPTION\n"
        "    Connects to the IACTN broker over MQTT 5 with TLS, identified by your "
        "client\n"
        "    certificate. The broker checks the certificate, your rights on each topic, "
        "and\n"
        "    the sharing rules of every alert.\n"
        "\n"
        "    publish FILE.json publishes the alert in the file (- reads standard input) "
        "at\n"
        "    QoS 1 to iactn/alerts/{ORIGIN}/{category} and waits for the broker's "
        "answer,\n"
        "    printed as \"accepted id=... topic=...\" or \"refused id=... reason=0x87 "
        "(...)\".\n"
        "    Without a file, the alert is built from the flags below with a new random "
        "id,\n"
        "    sent = now and expires = now + 24 hours (UTC).\n"
        "\n"
        "    watch subscribes at QoS 1 and prints each alert you may receive, one per "
        "line:\n"
        "    time received by the broker, origin, category, TLP, sender, id, headline "
        "(in\n"
        "    English, or the first language present). It prints \"watching FILTER\" on\n"
        "    standard error once the broker has accepted the subscription.\n"
        "\n"
        "CONNECTION OPTIONS\n"
        "    --host HOST         broker host (default 127.0.0.1)\n"
        "    --port PORT         broker TLS port (default 8883)\n"
        "    --ca FILE           CA certificate of the IACTN network (PEM)\n"
        "    --cert FILE         your client certificate (PEM)\n"
        "    --key FILE          the private key of --cert (PEM)\n"
        "    --client-id ID      MQTT client id; must start with your principal id and "
        "'-'\n"
        "                        (default: {CN}-alert-{pid}, CN from --cert)\n"
        "    --config FILE       settings file (default ~/.config/iactn/alert.conf, if "
        "it\n"
        "                        exists)\n"
        "    -v, --verbose       print the MQTT library's messages on standard error\n"
        "    -h, --help          print this help\n"
        "\n"
        "PUBLISH OPTIONS\n"
        "    --dry-run           print the alert as JSON and do not publish it\n"
        "    --origin CODE       origin state in the topic (default: C of --cert's "
        "subject)\n"
        "    --category C        category slug, e.g. attack, travel, cyber (required)\n"
        "    --tlp T             CLEAR, GREEN, AMBER, AMBER+STRICT or RED (required)\n"
        "    --headline-en TEXT, --headline-es, --headline-pt, --headline-fr\n"
        "    --description-en TEXT, --description-es, --description-pt, "
        "--description-fr\n"
        "                        headline and description per language; at least one of\n"
        "                        each is required\n"
        "    --headline TEXT, --description TEXT\n"
        "                        the same, in the language of --lang\n"
        "    --lang L            en, es, pt or fr (default en)\n"
        "    --to CO,MX          distribution: only these states (required for AMBER)\n"
        "    --agencies A,B      distribution: only these agencies (required for\n"
        "                        AMBER+STRICT and RED)\n"
        "    --groups G,H        distribution: only these sharing groups\n"
        "    --severity S        extreme, severe, moderate, minor or unknown (default)\n"
        "    --urgency U         immediate, expected, future, past or unknown (default)\n"
        "    --certainty C       observed, likely, possible, unlikely or unknown "
        "(default)\n"
        "    --status S          actual (default), exercise or test\n"
        "    --expires-in HOURS  hours until the alert expires, up to 8760 (default 24)\n"
        "\n"
        "WATCH OPTIONS\n"
        "    --topic FILTER      MQTT topic filter; repeat for several, at most 16\n"
        "                        (default iactn/alerts/#)\n"
        "    --count N           exit after N alerts\n"
        "    --timeout SECONDS   exit after SECONDS seconds from the start\n"
        "    --json              print each alert as the stamped JSON, one per line\n"
        "\n"
        "ENVIRONMENT\n"
        "    IACTN_BROKER_HOST, IACTN_BROKER_PORT, IACTN_CA, IACTN_CERT, IACTN_KEY "
        "override\n"
        "    the settings file; flags override both.\n"
        "\n"
        "FILES\n"
        "    ~/.config/iactn/alert.conf\n"
        "        key = value lines: broker_host, broker_port, ca, cert, key, client_id,\n"
        "        origin. Lines starting with # are comments.\n"
        "\n"
        "EXIT STATUS\n"
        "    0   alert accepted; watch ended after --count, --timeout or Ctrl-C\n"
        "    1   refused by the broker (connection, alert or every subscription)\n"
        "    2   usage error: invalid option, missing setting, unreadable file\n"
        "    3   connection or TLS failure, or no answer from the broker in time\n"
        "    4   invalid alert file\n"
        "\n"
        "EXAMPLES\n"
        "    iactn-alert publish --category attack --tlp GREEN --severity severe \\\n"
        "        --headline-en \"Explosion at the central station\" \\\n"
        "        --description-en \"Two devices; a third suspected.\"\n"
        "    iactn-alert publish alert.json\n"
        "    iactn-alert watch --count 1 --timeout 30 --json\n",
        out);
}

static int usage_error(const char *message, const char *value)
{
    if (value != NULL) {
        fprintf(stderr, PROGRAM ": %s \"%s\"\n", message, value);
    } else {
        fprintf(stderr, PROGRAM ": %s\n", message);
    }
    fprintf(stderr, "Try '" PROGRAM " --help'.\n");
    return EXIT_USAGE;
}

static int parse_long(const char *text, long min, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(text, &end, 10);
    return errno == 0 && end != text && *end == '\0' && *out >= min && *out <= max ? 0
                                                                                   : -1;
}

/* Stores one publish or watch option. Returns 0, or EXIT_USAGE after printing why. */
static int set_command_option(struct tool_options *options, int id, const char *value)
{
    if (id >= OPT_HEADLINE_LANG && id < OPT_HEADLINE_LANG + 4) {
        options->headline[id - OPT_HEADLINE_LANG] = value;
        return 0;
    }
    if (id >= OPT_DESCRIPTION_LANG && id < OPT_DESCRIPTION_LANG + 4) {
        options->description[id - OPT_DESCRIPTION_LANG] = value;
        return 0;
    }
    switch (id) {
    case OPT_DRY_RUN:
        options->dry_run = 1;
        break;
    case OPT_HEADLINE:
        options->headline_any = value;
        break;
    case OPT_DESCRIPTION:
        options->description_any = value;
        break;
    case OPT_LANG:
        options->lang = value;
        break;
    case OPT_CATEGORY:
        options->category = value;
        break;
    case OPT_TLP:
        options->tlp = value;
        break;
    case OPT_TO:
        options->to = value;
        break;
    case OPT_AGENCIES:
        options->agencies = value;
        break;
    case OPT_GROUPS:
        options->groups = value;
        break;
    case OPT_SEVERITY:
        options->severity = value;
        break;
    case OPT_URGENCY:
        options->urgency = value;
        break;
    case OPT_CERTAINTY:
        options->certainty = value;
        break;
    case OPT_STATUS:
        options->status = value;
        break;
    case OPT_EXPIRES_IN:
        options->expires_in = value;
        break;
    case OPT_JSON:
        options->json = 1;
        break;
    case OPT_TOPIC:
        if (options->topic_count == WATCH_TOPICS_MAX) {
            return usage_error("too many --topic filters (at most 16)", NULL);
        }
        if (!topic_filter_is_valid(value)) {
            return usage_error("invalid MQTT topic filter", value);
        }
        options->topics[options->topic_count++] = value;
        break;
    case OPT_COUNT:
        if (parse_long(value, 1, 1000000000L, &options->count) != 0) {
            return usage_error("invalid --count (expected a positive integer)", value);
        }
        break;
    case OPT_TIMEOUT:
        if (parse_long(value, 1, 100000000L, &options->timeout) != 0) {
            return usage_error(
                "invalid --timeout (expected a positive number of seconds)", value);
        }
        break;
    default:
        return usage_error("unknown option", NULL);
    }
    return 0;
}

/* Connection flags go into `config`, where they override the file and environment. */
static const char *config_key_of(int id)
{
    switch (id) {
    case OPT_HOST:
        return "broker_host";
    case OPT_PORT:
        return "broker_port";
    case OPT_CA:
        return "ca";
    case OPT_CERT:
        return "cert";
    case OPT_KEY:
        return "key";
    case OPT_CLIENT_ID:
        return "client_id";
    case OPT_ORIGIN:
        return "origin";
    default:
        return NULL;
    }
}

static int parse_flags(int argc, char **argv, struct tool_options *options,
                       struct iactn_config *flags)
{
    char source[40];
    int index = 0;
    int opt;
    int rc;

    while ((opt = getopt_long(argc, argv, "vh", long_options, &index)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            exit(EXIT_ACCEPTED);
        }
        if (opt == 'v') {
            options->verbose = 1;
        } else if (opt == OPT_CONFIG) {
            continue;
        } else if (opt == '?') {
            return usage_error("invalid command line", NULL);
        } else if (config_key_of(opt) != NULL) {
            snprintf(source, sizeof(source), "--%s", long_options[index].name);
            config_set(flags, config_key_of(opt), optarg, source);
        } else if ((rc = set_command_option(options, opt, optarg)) != 0) {
            return rc;
        }
    }
    return 0;
}

/* Loads --config FILE, or the default file when it exists. Returns 0 or EXIT_USAGE. */
static int load_config_file(int argc, char **argv, struct iactn_config *config)
{
    const char *path = NULL;
    char fallback[4096];
    char err[600];
    const char *home = getenv("HOME");

    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            path = argv[i + 1];
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
    }
    if (path == NULL && home != NULL) {
        snprintf(fallback, sizeof(fallback), "%s/.config/iactn/alert.conf", home);
        if (access(fallback, F_OK) == 0) {
            path = fallback;
        }
    }
    if (path != NULL && config_load_file(config, path, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

/* Copies the flags' connection values over the file and environment values. */
static void apply_flags(struct iactn_config *config, const struct iactn_config *flags)
{
    for (const struct config_key *key = config_keys; key->name != NULL; key++) {
        const char *value = config_get(flags, key->name);

        if (value != NULL) {
            config_set(config, key->name, value, config_source(flags, key->name));
        }
    }
}

static int resolve_connection(const struct iactn_config *config,
                              struct tool_options *options)
{
    char err[300];
    long port = 8883;

    if (config_get_long(config, "broker_port", 1, 65535, &port, err, sizeof(err)) < 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return EXIT_USAGE;
    }
    options->port = (int)port;
    options->host = config_get(config, "broker_host");
    if (options->host == NULL) {
        options->host = "127.0.0.1";
    }
    options->ca_file = config_get(config, "ca");
    options->cert_file = config_get(config, "cert");
    options->key_file = config_get(config, "key");
    options->client_id = config_get(config, "client_id");
    options->origin = config_get(config, "origin");
    return 0;
}

/* Rejects options that belong to the other command. */
static int check_command_options(const struct tool_options *options, int is_publish)
{
    int builds = options->category != NULL || options->tlp != NULL ||
                 options->to != NULL || options->agencies != NULL ||
                 options->groups != NULL || options->severity != NULL ||
                 options->urgency != NULL || options->certainty != NULL ||
                 options->status != NULL || options->expires_in != NULL ||
                 options->headline_any != NULL || options->description_any != NULL;

    for (int i = 0; i < 4; i++) {
        builds |= options->headline[i] != NULL || options->description[i] != NULL;
    }
    if (is_publish && (options->topic_count > 0 || options->count > 0 ||
                       options->timeout > 0 || options->json)) {
        return usage_error("--topic, --count, --timeout and --json apply to watch only",
                           NULL);
    }
    if (!is_publish && (builds || options->dry_run)) {
        return usage_error("alert options and --dry-run apply to publish only", NULL);
    }
    if (is_publish && options->file != NULL && builds) {
        return usage_error("give either an alert file or the alert options, not both",
                           NULL);
    }
    if (strcmp(options->lang, "en") != 0 && strcmp(options->lang, "es") != 0 &&
        strcmp(options->lang, "pt") != 0 && strcmp(options->lang, "fr") != 0) {
        return usage_error("invalid --lang (expected en, es, pt or fr)", options->lang);
    }
    return 0;
}

/* Checks an explicit client id the way the broker does, to fail early and clearly. */
static int check_client_id(const char *client_id, const char *principal)
{
    size_t len = strlen(principal);

    if (strncmp(client_id, principal, len) != 0 || client_id[len] != '-' ||
        client_id[len + 1] == '\0') {
        fprintf(stderr,
                PROGRAM ": invalid client id \"%s\": it must be your principal id \"%s\" "
                        "followed by '-' and a suffix\n",
                client_id, principal);
        return EXIT_USAGE;
    }
    for (const char *p = client_id; *p != '\0'; p++) {
        if (*p == '+' || *p == '#' || *p == '/' || (unsigned char)*p < 0x20 ||
            *p == 0x7f) {
            fprintf(stderr,
                    PROGRAM ": invalid client id \"%s\": '+', '#', '/' and control "
                            "characters are not allowed\n",
                    client_id);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/*
 * Works out the client id and the origin from the options and the certificate's
 * subject. Writes into the caller's buffers. Returns 0 or EXIT_USAGE.
 */
static int resolve_identity(const struct tool_options *options, char *client_id,
                            size_t client_id_size, char origin[3], int need_origin)
{
    struct subject subject;
    char err[600];

    if (options->cert_file == NULL) {
        return usage_error("missing --cert (or IACTN_CERT, or cert in the config file)",
                           NULL);
    }
    if (subject_read(options->cert_file, &subject, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return EXIT_USAGE;
    }
    if (options->client_id != NULL) {
        snprintf(client_id, client_id_size, "%s", options->client_id);
        if (check_client_id(client_id, subject.common_name) != 0) {
            return EXIT_USAGE;
        }
    } else {
        snprintf(client_id, client_id_size, "%s-alert-%ld", subject.common_name,
                 (long)getpid());
    }

    origin[0] = '\0';
    if (options->origin != NULL) {
        for (int i = 0; i < 2 && options->origin[i] != '\0'; i++) {
            origin[i] = (char)toupper((unsigned char)options->origin[i]);
        }
        origin[2] = '\0';
        if (strlen(options->origin) != 2 || !topic_is_state_code(origin)) {
            return usage_error(
                "invalid --origin (expected a two-letter state code such as "
                "CO)",
                options->origin);
        }
    } else if (need_origin) {
        memcpy(origin, subject.country, sizeof(subject.country));
    }
    return 0;
}

/* Reads the command and its file argument that getopt left in argv. */
static int read_command(int argc, char **argv, struct tool_options *options,
                        int *is_publish)
{
    if (optind >= argc) {
        return usage_error("missing command: publish or watch", NULL);
    }
    if (strcmp(argv[optind], "publish") == 0) {
        *is_publish = 1;
        if (optind + 1 < argc) {
            options->file = argv[optind + 1];
        }
        if (optind + 2 < argc) {
            return usage_error("unexpected argument", argv[optind + 2]);
        }
    } else if (strcmp(argv[optind], "watch") == 0) {
        *is_publish = 0;
        if (optind + 1 < argc) {
            return usage_error("unexpected argument", argv[optind + 1]);
        }
    } else {
        return usage_error("unknown command (expected publish or watch)", argv[optind]);
    }
    return 0;
}

static int run(struct tool_options *options, int is_publish)
{
    char client_id[256];
    char origin[3];
    int rc;

    /* A dry run needs neither a connection nor an identity. */
    if (is_publish && options->dry_run) {
        return publish_run(options, NULL, NULL);
    }
    rc = resolve_identity(options, client_id, sizeof(client_id), origin, is_publish);
    if (rc != 0) {
        return rc;
    }
    if (is_publish) {
        return publish_run(options, origin[0] != '\0' ? origin : NULL, client_id);
    }
    return watch_run(options, client_id);
}

int main(int argc, char **argv)
{
    struct tool_options options = {.lang = "en"};
    struct iactn_config *config = config_new(config_keys);
    struct iactn_config *flags = config_new(config_keys);
    int is_publish = 0;
    int rc;

    if (config == NULL || flags == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        rc = EXIT_USAGE;
        goto out;
    }
    rc = parse_flags(argc, argv, &options, flags);
    if (rc == 0) {
        rc = read_command(argc, argv, &options, &is_publish);
    }
    if (rc == 0) {
        rc = check_command_options(&options, is_publish);
    }
    if (rc == 0) {
        rc = load_config_file(argc, argv, config);
    }
    if (rc != 0) {
        goto out;
    }
    config_load_env(config);
    apply_flags(config, flags);
    rc = resolve_connection(config, &options);
    if (rc != 0) {
        goto out;
    }

    mosquitto_lib_init();
    rc = run(&options, is_publish);
    mosquitto_lib_cleanup();

out:
    config_free(flags);
    config_free(config);
    return rc;
}
