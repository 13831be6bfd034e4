/*
 * iactn-alert: the liaison officer's command-line client. Reads settings from
 * ~/.config/iactn/alert.conf (or --config), the environment and the flags, checks the
 * options against the command, then runs it.
 */
#include "ack.h"
#include "capimport.h"
#include "cert_subject.h"
#include "compose.h"
#include "config.h"
#include "directory.h"
#include "help.h"
#include "iactn_alert.h"
#include "lang.h"
#include "publish.h"
#include "status.h"
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
    {"lang", NULL},
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
    OPT_NOTE,
    OPT_ACK,
    OPT_PUBLISH,
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
    {"note", required_argument, NULL, OPT_NOTE},
    {"ack", required_argument, NULL, OPT_ACK},
    {"publish", no_argument, NULL, OPT_PUBLISH},
    {NULL, 0, NULL, 0},
};

/* The commands and the positional arguments each one takes. */
struct command_spec {
    const char *name;
    enum command command;
    int takes_id;   /* the first argument is an alert id */
    int file_args;  /* how many file arguments may follow: 0 or 1 */
    int needs_file; /* the file argument is required */
    int state_arg;  /* a state code follows: 0 no, 1 optional, 2 required */
};

static const struct command_spec commands[] = {
    {"publish", CMD_PUBLISH, 0, 1, 0, 0}, {"update", CMD_UPDATE, 1, 1, 0, 0},
    {"cancel", CMD_CANCEL, 1, 1, 0, 0},   {"ack", CMD_ACK, 1, 0, 0, 0},
    {"watch", CMD_WATCH, 0, 0, 0, 0},     {"status", CMD_STATUS, 1, 0, 0, 0},
    {"import-cap", CMD_IMPORT_CAP, 0, 1, 1, 0},
    {"directory", CMD_DIRECTORY, 0, 0, 0, 1},
    {"oncall", CMD_ONCALL, 0, 0, 0, 2},
};

#define ALERT_WRITERS (CMD_BIT(CMD_PUBLISH) | CMD_BIT(CMD_UPDATE) | CMD_BIT(CMD_CANCEL))
#define ALL_COMMANDS ((1u << CMD_COUNT) - 1)

/* Which commands accept each command option; options not listed apply to all. */
static const struct {
    int id;
    unsigned commands;
} option_commands[] = {
    {OPT_DRY_RUN, ALERT_WRITERS | CMD_BIT(CMD_ACK)},
    {OPT_HEADLINE, ALERT_WRITERS},
    {OPT_DESCRIPTION, ALERT_WRITERS},
    {OPT_CATEGORY, ALERT_WRITERS | CMD_BIT(CMD_IMPORT_CAP)},
    {OPT_TLP, ALERT_WRITERS | CMD_BIT(CMD_IMPORT_CAP)},
    {OPT_TO, ALERT_WRITERS | CMD_BIT(CMD_IMPORT_CAP)},
    {OPT_AGENCIES, ALERT_WRITERS | CMD_BIT(CMD_IMPORT_CAP)},
    {OPT_GROUPS, ALERT_WRITERS | CMD_BIT(CMD_IMPORT_CAP)},
    {OPT_SEVERITY, ALERT_WRITERS},
    {OPT_URGENCY, ALERT_WRITERS},
    {OPT_CERTAINTY, ALERT_WRITERS},
    {OPT_STATUS, ALERT_WRITERS | CMD_BIT(CMD_ACK)},
    {OPT_EXPIRES_IN, ALERT_WRITERS | CMD_BIT(CMD_IMPORT_CAP)},
    {OPT_TOPIC, CMD_BIT(CMD_WATCH)},
    {OPT_COUNT, CMD_BIT(CMD_WATCH) | CMD_BIT(CMD_STATUS)},
    {OPT_TIMEOUT, CMD_BIT(CMD_WATCH) | CMD_BIT(CMD_STATUS) | CMD_BIT(CMD_DIRECTORY) |
                      CMD_BIT(CMD_ONCALL)},
    {OPT_NOTE, CMD_BIT(CMD_ACK)},
    {OPT_ACK, CMD_BIT(CMD_WATCH)},
    {OPT_PUBLISH, CMD_BIT(CMD_IMPORT_CAP)},
};

/* Command options seen on the command line, to check them once the command is known. */
static int seen_options[64];
static int seen_count;

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

/* Stores one option of the alert-building commands. Returns 1 if `id` is one. */
static int set_alert_option(struct tool_options *options, int id, const char *value)
{
    if (id >= OPT_HEADLINE_LANG && id < OPT_HEADLINE_LANG + LANGUAGE_COUNT) {
        options->headline[id - OPT_HEADLINE_LANG] = value;
        return 1;
    }
    if (id >= OPT_DESCRIPTION_LANG && id < OPT_DESCRIPTION_LANG + LANGUAGE_COUNT) {
        options->description[id - OPT_DESCRIPTION_LANG] = value;
        return 1;
    }
    switch (id) {
    case OPT_HEADLINE:
        options->headline_any = value;
        return 1;
    case OPT_DESCRIPTION:
        options->description_any = value;
        return 1;
    case OPT_CATEGORY:
        options->category = value;
        return 1;
    case OPT_TLP:
        options->tlp = value;
        return 1;
    case OPT_TO:
        options->to = value;
        return 1;
    case OPT_AGENCIES:
        options->agencies = value;
        return 1;
    case OPT_GROUPS:
        options->groups = value;
        return 1;
    case OPT_SEVERITY:
        options->severity = value;
        return 1;
    case OPT_URGENCY:
        options->urgency = value;
        return 1;
    case OPT_CERTAINTY:
        options->certainty = value;
        return 1;
    case OPT_STATUS:
        options->status = value;
        return 1;
    case OPT_EXPIRES_IN:
        options->expires_in = value;
        return 1;
    default:
        return 0;
    }
}

/* Stores one command option. Returns 0, or EXIT_USAGE after printing why. */
static int set_command_option(struct tool_options *options, int id, const char *value)
{
    if (seen_count < (int)(sizeof(seen_options) / sizeof(seen_options[0]))) {
        seen_options[seen_count++] = id;
    }
    if (set_alert_option(options, id, value)) {
        return 0;
    }
    switch (id) {
    case OPT_DRY_RUN:
        options->dry_run = 1;
        break;
    case OPT_LANG:
        options->lang = value;
        break;
    case OPT_JSON:
        options->json = 1;
        break;
    case OPT_NOTE:
        options->note = value;
        break;
    case OPT_ACK:
        options->auto_ack = value;
        break;
    case OPT_PUBLISH:
        options->publish = 1;
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
                       struct iactn_config *flags, int *help)
{
    char source[40];
    int index = 0;
    int opt;
    int rc;

    while ((opt = getopt_long(argc, argv, "vh", long_options, &index)) != -1) {
        if (opt == 'h') {
            *help = 1;
        } else if (opt == 'v') {
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

/*
 * Copies the flags' connection values over the file and environment values. For ack,
 * --origin names the alert's origin, not the user's state: it is kept apart.
 */
static void apply_flags(struct iactn_config *config, const struct iactn_config *flags,
                        struct tool_options *options)
{
    for (const struct config_key *key = config_keys; key->name != NULL; key++) {
        const char *value = config_get(flags, key->name);

        if (value == NULL) {
            continue;
        }
        if (options->command == CMD_ACK && strcmp(key->name, "origin") == 0) {
            options->alert_origin = value;
            continue;
        }
        config_set(config, key->name, value, config_source(flags, key->name));
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

/* --lang, else lang in the settings file, else the locale environment. */
static int resolve_lang(const struct iactn_config *config, struct tool_options *options)
{
    const char *from_config = config_get(config, "lang");

    if (options->lang == NULL && from_config != NULL) {
        options->lang = lang_from_locale(from_config);
        if (options->lang == NULL || strlen(from_config) != 2) {
            fprintf(stderr, PROGRAM ": invalid lang \"%s\" in %s (expected en, es, pt or "
                            "fr)\n",
                    from_config, config_source(config, "lang"));
            return EXIT_USAGE;
        }
    }
    if (options->lang == NULL) {
        options->lang = lang_from_environment();
    }
    if (lang_from_locale(options->lang) == NULL || strlen(options->lang) != 2) {
        return usage_error("invalid --lang (expected en, es, pt or fr)", options->lang);
    }
    options->lang = lang_from_locale(options->lang);
    return 0;
}

static const char *option_name(int id)
{
    for (const struct option *o = long_options; o->name != NULL; o++) {
        if (o->val == id) {
            return o->name;
        }
    }
    return "?";
}

/* Rejects options that the command does not take. */
static int check_options_apply(const struct tool_options *options)
{
    char message[160];

    for (int i = 0; i < seen_count; i++) {
        int id = seen_options[i];
        unsigned allowed = ALL_COMMANDS;

        if (id >= OPT_HEADLINE_LANG && id < OPT_LANG) {
            allowed = ALERT_WRITERS;
        }
        for (size_t j = 0; j < sizeof(option_commands) / sizeof(option_commands[0]); j++) {
            if (option_commands[j].id == id) {
                allowed = option_commands[j].commands;
            }
        }
        if ((allowed & CMD_BIT(options->command)) == 0) {
            snprintf(message, sizeof(message), "--%s does not apply to %s",
                     option_name(id), options->command_name);
            return usage_error(message, NULL);
        }
    }
    return 0;
}

static int has_alert_flags(const struct tool_options *options)
{
    int builds = options->category != NULL || options->tlp != NULL ||
                 options->to != NULL || options->agencies != NULL ||
                 options->groups != NULL || options->severity != NULL ||
                 options->urgency != NULL || options->certainty != NULL ||
                 options->status != NULL || options->headline_any != NULL ||
                 options->description_any != NULL;

    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        builds |= options->headline[i] != NULL || options->description[i] != NULL;
    }
    return builds;
}

static int check_choice(const char *option, const char *value,
                        const char *const *choices, const char *expected)
{
    char message[160];

    if (value == NULL) {
        return 0;
    }
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcmp(value, choices[i]) == 0) {
            return 0;
        }
    }
    snprintf(message, sizeof(message), "invalid %s (expected %s)", option, expected);
    return usage_error(message, value);
}

/* Checks the values and combinations that each command needs. */
static int check_command_options(const struct tool_options *options)
{
    static const char *const alert_statuses[] = {"actual", "exercise", "test", NULL};
    static const char *const ack_statuses[] = {"received", "read", "actioned", NULL};
    enum command command = options->command;
    int rc = check_options_apply(options);

    if (rc != 0) {
        return rc;
    }
    if ((command == CMD_PUBLISH || command == CMD_UPDATE || command == CMD_CANCEL) &&
        options->file != NULL && has_alert_flags(options)) {
        return usage_error("give either an alert file or the alert options, not both",
                           NULL);
    }
    if (command == CMD_ACK) {
        if (options->status == NULL) {
            return usage_error("missing --status (received, read or actioned)", NULL);
        }
        return check_choice("--status", options->status, ack_statuses,
                            "received, read or actioned");
    }
    if (command == CMD_WATCH) {
        return check_choice("--ack", options->auto_ack, ack_statuses,
                            "received, read or actioned");
    }
    return check_choice("--status", options->status, alert_statuses,
                        "actual, exercise or test");
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

/* Reads a state code option into `out` (upper-cased). Returns 0 or EXIT_USAGE. */
static int read_state(const char *option, const char *value, char out[3])
{
    char message[120];

    out[0] = '\0';
    if (strlen(value) == 2) {
        out[0] = (char)toupper((unsigned char)value[0]);
        out[1] = (char)toupper((unsigned char)value[1]);
        out[2] = '\0';
    }
    if (!topic_is_state_code(out)) {
        snprintf(message, sizeof(message),
                 "invalid %s (expected a two-letter state code such as CO)", option);
        return usage_error(message, value);
    }
    return 0;
}

/*
 * Works out the client id, the principal and the user's state from the options and
 * the certificate's subject. Returns 0 or EXIT_USAGE.
 */
static int resolve_identity(const struct tool_options *options, struct identity *identity)
{
    struct cert_subject subject;
    char err[600];

    if (options->cert_file == NULL) {
        return usage_error("missing --cert (or IACTN_CERT, or cert in the config file)",
                           NULL);
    }
    if (cert_subject_read(options->cert_file, &subject, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return EXIT_USAGE;
    }
    snprintf(identity->principal, sizeof(identity->principal), "%s",
             subject.common_name);
    if (options->client_id != NULL) {
        snprintf(identity->client_id, sizeof(identity->client_id), "%s",
                 options->client_id);
        if (check_client_id(identity->client_id, subject.common_name) != 0) {
            return EXIT_USAGE;
        }
    } else {
        snprintf(identity->client_id, sizeof(identity->client_id), "%s-alert-%ld",
                 subject.common_name, (long)getpid());
    }
    if (options->origin != NULL) {
        return read_state("--origin", options->origin, identity->state);
    }
    memcpy(identity->state, subject.country, sizeof(subject.country));
    return 0;
}

/* Checks that `id` is a UUID, as alert ids are. Returns 0 or EXIT_USAGE. */
static int check_alert_id(const char *id)
{
    static const int group_lengths[] = {8, 4, 4, 4, 12};
    const char *p = id;

    for (size_t g = 0; g < 5; g++) {
        for (int i = 0; i < group_lengths[g]; i++, p++) {
            if (!isxdigit((unsigned char)*p)) {
                return usage_error("invalid alert id (expected a UUID such as "
                                   "0b8e6c1e-7d2a-4f2a-9c3e-5a1b2c3d4e5f)",
                                   id);
            }
        }
        if (*p != (g < 4 ? '-' : '\0')) {
            return usage_error("invalid alert id (expected a UUID such as "
                               "0b8e6c1e-7d2a-4f2a-9c3e-5a1b2c3d4e5f)",
                               id);
        }
        p++;
    }
    return 0;
}

/* Reads the command and its arguments, which getopt left at the end of argv. */
static int read_command(int argc, char **argv, struct tool_options *options)
{
    const struct command_spec *spec = NULL;
    int next = optind + 1;

    if (optind >= argc) {
        return usage_error("missing command: publish, update, cancel, ack, watch, status, "
                           "import-cap, directory or oncall",
                           NULL);
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            spec = &commands[i];
        }
    }
    if (spec == NULL) {
        return usage_error("unknown command (expected publish, update, cancel, ack, "
                           "watch, status, import-cap, directory or oncall)",
                           argv[optind]);
    }
    options->command = spec->command;
    options->command_name = spec->name;
    if (spec->takes_id) {
        if (next >= argc) {
            return usage_error("missing alert id after the command", spec->name);
        }
        options->alert_id = argv[next++];
        if (check_alert_id(options->alert_id) != 0) {
            return EXIT_USAGE;
        }
    }
    if (spec->state_arg > 0 && next < argc) {
        static char state[3];

        if (read_state("STATE", argv[next++], state) != 0) {
            return EXIT_USAGE;
        }
        options->directory_state = state;
    }
    if (spec->state_arg == 2 && options->directory_state == NULL) {
        return usage_error("missing state code (such as CO) after the command",
                           spec->name);
    }
    if (spec->file_args > 0 && next < argc) {
        options->file = argv[next++];
    }
    if (spec->needs_file && options->file == NULL) {
        return usage_error("missing file argument after the command", spec->name);
    }
    if (next < argc) {
        return usage_error("unexpected argument", argv[next]);
    }
    return 0;
}

/* The commands that never connect: dry runs, and import-cap without --publish. */
static int works_offline(const struct tool_options *options)
{
    return options->dry_run || (options->command == CMD_IMPORT_CAP && !options->publish);
}

static int run(struct tool_options *options)
{
    struct identity identity = {{0}, {0}, {0}};
    int rc;

    if (!works_offline(options)) {
        rc = resolve_identity(options, &identity);
        if (rc != 0) {
            return rc;
        }
    }
    if (options->command == CMD_ACK && options->alert_origin == NULL) {
        return usage_error("missing --origin CODE: the state that sent the alert", NULL);
    }
    if (options->command == CMD_ACK) {
        static char origin[3];

        rc = read_state("--origin", options->alert_origin, origin);
        if (rc != 0) {
            return rc;
        }
        options->alert_origin = origin;
    }
    switch (options->command) {
    case CMD_PUBLISH:
    case CMD_UPDATE:
    case CMD_CANCEL:
        return publish_run(options, &identity);
    case CMD_ACK:
        return ack_run(options, &identity);
    case CMD_WATCH:
        return watch_run(options, &identity);
    case CMD_STATUS:
        return status_run(options, &identity);
    case CMD_IMPORT_CAP:
        return capimport_run(options, &identity);
    case CMD_DIRECTORY:
    case CMD_ONCALL:
        return directory_run(options, &identity);
    default:
        return EXIT_USAGE;
    }
}

/* Prints the manual that "help [COMMAND]" or "COMMAND --help" asks for. */
static int print_help(int argc, char **argv)
{
    const char *topic = NULL;

    if (optind < argc && strcmp(argv[optind], "help") == 0) {
        topic = optind + 1 < argc ? argv[optind + 1] : NULL;
    } else if (optind < argc) {
        topic = argv[optind];
    }
    if (help_print(stdout, topic) != 0) {
        return usage_error("no manual for", topic);
    }
    return EXIT_ACCEPTED;
}

int main(int argc, char **argv)
{
    struct tool_options options = {0};
    struct iactn_config *config = config_new(config_keys);
    struct iactn_config *flags = config_new(config_keys);
    int help = 0;
    int rc;

    if (config == NULL || flags == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        rc = EXIT_USAGE;
        goto out;
    }
    rc = parse_flags(argc, argv, &options, flags, &help);
    if (rc == 0 && (help || (optind < argc && strcmp(argv[optind], "help") == 0))) {
        rc = print_help(argc, argv);
        goto out;
    }
    if (rc == 0) {
        rc = read_command(argc, argv, &options);
    }
    if (rc == 0) {
        rc = check_command_options(&options);
    }
    if (rc == 0) {
        rc = load_config_file(argc, argv, config);
    }
    if (rc != 0) {
        goto out;
    }
    config_load_env(config);
    apply_flags(config, flags, &options);
    rc = resolve_connection(config, &options);
    if (rc == 0) {
        rc = resolve_lang(config, &options);
    }
    if (rc != 0) {
        goto out;
    }

    mosquitto_lib_init();
    rc = run(&options);
    mosquitto_lib_cleanup();

out:
    config_free(flags);
    config_free(config);
    return rc;
}
