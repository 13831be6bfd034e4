/*
 * iactn-admin entry point: finds the command named on the command line, checks its
 * options and arguments against its table entry, and runs it.
 */
#include "admin.h"
#include "args.h"
#include "db.h"
#include "help.h"
#include "remote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct admin_command *const admin_command_tables[] = {
    migrate_commands,
    state_commands,
    category_commands,
    agency_commands,
    principal_commands,
    cert_commands,
    acl_commands,
    rule_commands,
    group_commands,
    alerts_commands,
    alert_status_commands,
    endpoint_commands,
    deliveries_commands,
    capexport_commands,
    contact_commands,
    oncall_commands,
    NULL,
};

static void print_message(const char *prefix, const char *fmt, va_list ap)
{
    /* stdout first, so that a message printed after a result line follows it. */
    fflush(stdout);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void admin_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_message("iactn-admin: ", fmt, ap);
    va_end(ap);
}

void admin_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_message("iactn-admin: ", fmt, ap);
    va_end(ap);
}

void admin_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_message("iactn-admin: warning: ", fmt, ap);
    va_end(ap);
}

/* Returns the command with that group and verb (NULL verb: a command without one). */
static const struct admin_command *find_command(const char *group, const char *verb)
{
    for (size_t t = 0; admin_command_tables[t]; t++) {
        for (const struct admin_command *cmd = admin_command_tables[t]; cmd->group;
             cmd++) {
            bool same_verb = verb == NULL ? cmd->verb == NULL
                                          : cmd->verb && strcmp(cmd->verb, verb) == 0;

            if (strcmp(cmd->group, group) == 0 && same_verb) {
                return cmd;
            }
        }
    }
    return NULL;
}

/* Writes the verbs of group, separated by ", ", into buf; returns how many. */
static int list_verbs(const char *group, char *buf, size_t size)
{
    int count = 0;
    size_t used = 0;

    buf[0] = '\0';
    for (size_t t = 0; admin_command_tables[t]; t++) {
        for (const struct admin_command *cmd = admin_command_tables[t]; cmd->group;
             cmd++) {
            if (strcmp(cmd->group, group) == 0 && cmd->verb && used < size) {
                used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                         count ? ", " : "", cmd->verb);
                count++;
            }
        }
    }
    return count;
}

/* Finds the command the first words name and sets *nused to the number of words that
 * name it. Returns NULL after printing why when there is none. */
static const struct admin_command *resolve_command(const struct args_parsed *parsed,
                                                   int *nused)
{
    const char *group = parsed->words[0];
    const struct admin_command *cmd = find_command(group, NULL);
    char verbs[256];

    *nused = 1;
    /* A group may have a command of its own and verbs too ("deliveries" and
     * "deliveries retry"): a verb that matches wins. */
    if (cmd && parsed->nwords >= 2 && find_command(group, parsed->words[1])) {
        *nused = 2;
        return find_command(group, parsed->words[1]);
    }
    if (cmd) {
        return cmd;
    }
    if (list_verbs(group, verbs, sizeof(verbs)) == 0) {
        admin_error("unknown command '%s'; run 'iactn-admin --help' for the list", group);
        return NULL;
    }
    if (parsed->nwords < 2) {
        admin_error("'%s' needs a subcommand: %s", group, verbs);
        return NULL;
    }
    *nused = 2;
    cmd = find_command(group, parsed->words[1]);
    if (cmd == NULL) {
        admin_error("unknown subcommand '%s %s'; expected one of: %s", group,
                    parsed->words[1], verbs);
    }
    return cmd;
}

static const char *first_set(const char *a, const char *b)
{
    if (a && a[0]) {
        return a;
    }
    if (b && b[0]) {
        return b;
    }
    return NULL;
}

/* Fills ctx from the global options and the environment. Returns 0 or -1. */
static int setup_context(struct admin_ctx *ctx, const struct admin_args *args)
{
    ctx->tsv = args->opt[OPT_TSV] != NULL;
    ctx->sql_dir = first_set(args->opt[OPT_SQL_DIR], getenv("IACTN_SQL_DIR"));
    if (ctx->sql_dir == NULL) {
        ctx->sql_dir = IACTN_SQL_DIR_DEFAULT;
    }
    ctx->conninfo = first_set(args->opt[OPT_DB], getenv("IACTN_DB"));
    if (ctx->conninfo == NULL) {
        admin_error("no database given: pass --db CONNINFO or set IACTN_DB to a libpq "
                    "connection string, for example 'host=127.0.0.1 port=55432 "
                    "dbname=iactn user=iactn'");
        return -1;
    }
    return 0;
}

/* Prints the manual, or the part of it that the words name. Handles "iactn-admin",
 * "iactn-admin help [GROUP]" and "--help" anywhere. */
static int run_help(const struct args_parsed *parsed)
{
    const struct admin_command *cmd;
    int nused;

    if (parsed->nwords > 0 && strcmp(parsed->words[0], "help") == 0) {
        return help_print(parsed->nwords > 1 ? parsed->words[1] : NULL)
                   ? ADMIN_EXIT_OK
                   : ADMIN_EXIT_USAGE;
    }
    if (parsed->nwords == 0) {
        help_print(NULL);
        return ADMIN_EXIT_OK;
    }
    if (parsed->nwords == 1 && find_command(parsed->words[0], NULL) == NULL) {
        return help_print(parsed->words[0]) ? ADMIN_EXIT_OK : ADMIN_EXIT_USAGE;
    }
    cmd = resolve_command(parsed, &nused);
    if (cmd == NULL) {
        return ADMIN_EXIT_USAGE;
    }
    help_print_command(cmd);
    return ADMIN_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct args_parsed parsed;
    struct admin_ctx ctx = {0};
    const struct admin_command *cmd;
    int nused;
    int rc;

    if (args_parse(argc, argv, &parsed) != 0) {
        return ADMIN_EXIT_USAGE;
    }
    if (parsed.nwords == 0 && !(parsed.options_given & OPT_BIT(OPT_HELP))) {
        admin_error("missing command; run 'iactn-admin --help' for the manual");
        return ADMIN_EXIT_USAGE;
    }
    if (parsed.nwords == 0 || strcmp(parsed.words[0], "help") == 0 ||
        (parsed.options_given & OPT_BIT(OPT_HELP))) {
        return run_help(&parsed);
    }
    cmd = resolve_command(&parsed, &nused);
    if (cmd == NULL) {
        return ADMIN_EXIT_USAGE;
    }

    if (parsed.nwords - nused > ADMIN_MAX_ARGS) {
        admin_error("too many arguments; usage: iactn-admin %s", cmd->synopsis);
        return ADMIN_EXIT_USAGE;
    }
    for (int i = nused; i < parsed.nwords; i++) {
        parsed.args.arg[parsed.args.nargs++] = parsed.words[i];
    }
    if (args_check(cmd, &parsed) != 0) {
        return ADMIN_EXIT_USAGE;
    }
    if (parsed.args.opt[OPT_REMOTE] != NULL) {
        return remote_run(cmd, &parsed.args, parsed.args.opt[OPT_TSV] != NULL);
    }
    if (parsed.options_given & OPT_REMOTE_SET) {
        admin_error("--ca, --cert, --key, --host, --port and --timeout apply only with "
                    "--remote");
        return ADMIN_EXIT_USAGE;
    }
    if (setup_context(&ctx, &parsed.args) != 0) {
        return ADMIN_EXIT_USAGE;
    }
    ctx.command = cmd;
    rc = cmd->run(&ctx, &parsed.args);
    admin_db_close(&ctx);
    return rc;
}
