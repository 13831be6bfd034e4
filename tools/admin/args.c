#include "args.h"

#include <stdio.h>
#include <string.h>

struct option_spec {
    const char *name;
    bool has_value;
};

/* Indexed by enum admin_option. */
static const struct option_spec option_specs[OPT_COUNT] = {
    [OPT_DB] = {"db", true},
    [OPT_SQL_DIR] = {"sql-dir", true},
    [OPT_TSV] = {"tsv", false},
    [OPT_HELP] = {"help", false},
    [OPT_ACCESS] = {"access", true},
    [OPT_AGENCY] = {"agency", true},
    [OPT_ALLOW] = {"allow", false},
    [OPT_CATEGORY] = {"category", true},
    [OPT_CREATE_PRINCIPAL] = {"create-principal", false},
    [OPT_DENY] = {"deny", false},
    [OPT_DESCRIPTION] = {"description", true},
    [OPT_LIMIT] = {"limit", true},
    [OPT_NAME] = {"name", true},
    [OPT_NETWORK] = {"network", false},
    [OPT_NOTE] = {"note", true},
    [OPT_ORIGIN] = {"origin", true},
    [OPT_PATTERN] = {"pattern", true},
    [OPT_PRINCIPAL] = {"principal", true},
    [OPT_PRIORITY] = {"priority", true},
    [OPT_REASON] = {"reason", true},
    [OPT_ROLE] = {"role", true},
    [OPT_STATE] = {"state", true},
    [OPT_TO_ALL] = {"to-all", false},
    [OPT_TO_GROUP] = {"to-group", true},
    [OPT_TO_STATE] = {"to-state", true},
    [OPT_SECRET_FILE] = {"secret-file", true},
    [OPT_TOPIC_FILTER] = {"topic-filter", true},
    [OPT_DEAD] = {"dead", false},
    [OPT_ALERT] = {"alert", true},
    [OPT_ALL_DEAD] = {"all-dead", false},
    [OPT_REMOTE] = {"remote", false},
    [OPT_CA] = {"ca", true},
    [OPT_CERT] = {"cert", true},
    [OPT_KEY] = {"key", true},
    [OPT_HOST] = {"host", true},
    [OPT_PORT] = {"port", true},
    [OPT_TIMEOUT] = {"timeout", true},
    [OPT_FUNCTION] = {"function", true},
    [OPT_PHONES] = {"phones", true},
    [OPT_EMAIL] = {"email", true},
    [OPT_LANGUAGES] = {"languages", true},
    [OPT_TIME_ZONE] = {"time-zone", true},
    [OPT_CONTACT] = {"contact", true},
    [OPT_POSITION] = {"position", true},
    [OPT_STARTS] = {"starts", true},
    [OPT_ENDS] = {"ends", true},
    [OPT_SCOPE] = {"scope", true},
    [OPT_CURRENT] = {"current", false},
};

const char *args_option_name(enum admin_option option)
{
    return option_specs[option].name;
}

/* Returns the option whose name is the first len bytes of name, or OPT_COUNT. */
static enum admin_option find_option(const char *name, size_t len)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        if (strlen(option_specs[i].name) == len &&
            strncmp(option_specs[i].name, name, len) == 0) {
            return (enum admin_option)i;
        }
    }
    return OPT_COUNT;
}

/* Stores the option in argv[*i] (and its value, which may be the next argument) in
 * parsed. Returns 0 or -1 after printing the reason. */
static int take_option(int argc, char **argv, int *i, struct args_parsed *parsed)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    enum admin_option opt = find_option(name, len);
    const char *value = "";

    if (opt == OPT_COUNT) {
        admin_error("unknown option '--%.*s'; run 'iactn-admin --help' for the list",
                    (int)len, name);
        return -1;
    }
    if (option_specs[opt].has_value && eq) {
        value = eq + 1;
    } else if (option_specs[opt].has_value) {
        if (*i + 1 >= argc) {
            admin_error("option --%s requires a value", option_specs[opt].name);
            return -1;
        }
        value = argv[++*i];
    } else if (eq) {
        admin_error("option --%s takes no value", option_specs[opt].name);
        return -1;
    }
    if (parsed->args.opt[opt]) {
        admin_error("option --%s given more than once", option_specs[opt].name);
        return -1;
    }
    parsed->args.opt[opt] = value;
    parsed->options_given |= OPT_BIT(opt);
    return 0;
}

int args_parse(int argc, char **argv, struct args_parsed *parsed)
{
    bool options_ended = false;

    memset(parsed, 0, sizeof(*parsed));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!options_ended && strcmp(a, "--") == 0) {
            options_ended = true;
        } else if (!options_ended && strncmp(a, "--", 2) == 0) {
            if (take_option(argc, argv, &i, parsed) != 0) {
                return -1;
            }
        } else if (!options_ended && strcmp(a, "-h") == 0) {
            parsed->args.opt[OPT_HELP] = "";
            parsed->options_given |= OPT_BIT(OPT_HELP);
        } else if (!options_ended && a[0] == '-' && a[1] != '\0') {
            admin_error("unknown option '%s'; options are spelled --name", a);
            return -1;
        } else if (parsed->nwords == ARGS_MAX_WORDS) {
            admin_error("too many arguments, starting at '%s'", a);
            return -1;
        } else {
            parsed->words[parsed->nwords++] = a;
        }
    }
    return 0;
}

/* Writes the names of the options in set, as "--a, --b or --c", into buf. */
static void format_option_set(uint64_t set, char *buf, size_t size)
{
    int total = __builtin_popcountll(set);
    int done = 0;
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < OPT_COUNT && used < size; i++) {
        if (!(set & OPT_BIT(i))) {
            continue;
        }
        done++;
        used += (size_t)snprintf(buf + used, size - used, "%s--%s",
                                 done == 1 ? "" : (done == total ? " or " : ", "),
                                 option_specs[i].name);
    }
}

static int check_options(const struct admin_command *cmd, uint64_t options_given)
{
    uint64_t extra = options_given & ~(cmd->options | OPT_GLOBAL);
    uint64_t missing = cmd->required & ~options_given;
    char names[256];

    if (extra) {
        format_option_set(extra, names, sizeof(names));
        admin_error("not valid for this command: %s", names);
        return -1;
    }
    if (missing) {
        format_option_set(missing, names, sizeof(names));
        admin_error("missing required option: %s", names);
        return -1;
    }
    for (int i = 0; i < ADMIN_MAX_CHOICES && cmd->choices[i]; i++) {
        if (__builtin_popcountll(options_given & cmd->choices[i]) != 1) {
            format_option_set(cmd->choices[i], names, sizeof(names));
            admin_error("give exactly one of %s", names);
            return -1;
        }
    }
    return 0;
}

int args_check(const struct admin_command *cmd, const struct args_parsed *parsed)
{
    int ok = check_options(cmd, parsed->options_given);

    if (ok == 0 &&
        (parsed->args.nargs < cmd->min_args || parsed->args.nargs > cmd->max_args)) {
        admin_error("wrong number of arguments");
        ok = -1;
    }
    if (ok != 0) {
        fprintf(stderr, "usage: iactn-admin %s\n", cmd->synopsis);
    }
    return ok;
}
