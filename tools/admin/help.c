#include "help.h"

#include <stdio.h>
#include <string.h>

#ifndef IACTN_SQL_DIR_DEFAULT
#error "IACTN_SQL_DIR_DEFAULT must be defined by the build"
#endif

static const char manual_head[] =
    "NAME\n"
    "    iactn-admin - administer the IACTN network's PostgreSQL database\n"
    "\n"
    "SYNOPSIS\n"
    "    iactn-admin [--db CONNINFO] [--sql-dir DIR] [--tsv] COMMAND [ARGS] [OPTIONS]\n"
    "    iactn-admin help [GROUP]\n"
    "    iactn-admin [GROUP [VERB]] --help\n"
    "    iactn-admin --remote --ca FILE --cert FILE --key FILE [--host HOST]\n"
    "                [--port PORT] [--timeout SECONDS] COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "    iactn-admin reads and changes the database from which the IACTN broker\n"
    "    plugin takes its policy: member states, categories, agencies, principals and\n"
    "    their certificates, topic rights, sharing rules and sharing groups. It also\n"
    "    applies the schema migrations and reads the alert archive. It keeps the\n"
    "    directory too: the contacts of each agency and the on-call shifts of each\n"
    "    state and agency, which iactn-bridge publishes to the member principals.\n"
    "\n"
    "    Every change runs in one transaction together with an audit_log row whose\n"
    "    actor is \"db:\" followed by the database user, and whose detail holds the row\n"
    "    before and after the change. Adding an object that already exists with the\n"
    "    same values changes nothing and succeeds, so setup scripts can run twice.\n"
    "    Options may appear anywhere after the program name, as --name VALUE or\n"
    "    --name=VALUE; \"--\" ends the options.\n"
    "\n"
    "COMMANDS\n";

static const char manual_tail[] =
    "GLOBAL OPTIONS\n"
    "    --db CONNINFO\n"
    "        libpq connection string or URI of the IACTN database, for example\n"
    "        'host=127.0.0.1 port=55432 dbname=iactn user=iactn'. Overrides IACTN_DB.\n"
    "    --sql-dir DIR\n"
    "        Directory of the NNN_name.sql migrations. Overrides IACTN_SQL_DIR.\n"
    "        Default: " IACTN_SQL_DIR_DEFAULT "\n"
    "    --tsv\n"
    "        Print lists as tab-separated rows without a header line, with tab,\n"
    "        newline and backslash escaped as \\t, \\n and \\\\, and SQL NULL as an\n"
    "        empty field.\n"
    "    --help, -h\n"
    "        Print this manual, or the part of it for one command group.\n"
    "\n"
    "REMOTE MODE\n"
    "    With --remote, iactn-admin does not use the database. It sends the command\n"
    "    as a request over MQTT 5 with TLS to the broker, identified by an\n"
    "    administrator's certificate, and iactn-bridge applies it with that\n"
    "    administrator's rights: an administrator of a state changes only its own\n"
    "    state's rows, a network administrator (no state) everything. The audit row's\n"
    "    actor is the administrator's principal. The commands of the groups acl,\n"
    "    rule, agency, principal, cert, group, endpoint, contact and oncall can run\n"
    "    this way; migrate, state, category and the alert commands cannot.\n"
    "    --remote\n"
    "        Send the command to iactn-bridge instead of running it on the database.\n"
    "    --ca FILE, --cert FILE, --key FILE\n"
    "        The network CA, and the administrator's certificate and private key, as\n"
    "        PEM. Default: IACTN_CA, IACTN_CERT and IACTN_KEY. The certificate's CN is\n"
    "        the principal, and its C the state whose request topic is used.\n"
    "    --host HOST, --port PORT\n"
    "        The broker's TLS listener. Default: IACTN_BROKER_HOST or 127.0.0.1, and\n"
    "        IACTN_BROKER_PORT or 8883.\n"
    "    --timeout SECONDS\n"
    "        How long to wait for the connection and then for the reply, from 1 to\n"
    "        600 (default 15). The request expires at the broker after as long.\n"
    "\n"
    "ENVIRONMENT\n"
    "    IACTN_DB\n"
    "        Connection string used when --db is not given. With neither,\n"
    "        iactn-admin stops with exit status 2: it never chooses a server by\n"
    "        itself. libpq's own variables (PGPASSFILE, PGSSLMODE, ...) apply to what\n"
    "        the string leaves out.\n"
    "    IACTN_SQL_DIR\n"
    "        Migrations directory used when --sql-dir is not given.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   success, including a change that was already in place\n"
    "    1   runtime failure: the database is unreachable or reports an error, a\n"
    "        named object is not found, or the change conflicts with existing data\n"
    "    2   usage error: unknown command or option, missing or invalid value\n"
    "\n"
    "EXAMPLES\n"
    "    export IACTN_DB='host=127.0.0.1 port=55432 dbname=iactn user=iactn'\n"
    "    iactn-admin migrate\n"
    "    iactn-admin agency add co-dni --state CO --name 'DNI Colombia'\n"
    "    iactn-admin principal add co-dni-liaison --role liaison \\\n"
    "        --state CO --agency co-dni\n"
    "    iactn-admin cert add co-dni-liaison.pem --principal co-dni-liaison\n"
    "    iactn-admin group add andean --name 'Andean states'\n"
    "    iactn-admin group member-add andean CO\n"
    "    iactn-admin rule add --origin CO --category '*' --to-group andean --allow\n"
    "    iactn-admin cert revoke --principal co-dni-liaison --reason 'laptop lost'\n";

#define HELP_WIDTH 80 /* columns of the manual, indent included */

/* Prints len bytes of text word-wrapped to HELP_WIDTH columns: the first line indented
 * by first_indent spaces, the others by next_indent. */
static void print_wrapped(const char *text, size_t len, int first_indent, int next_indent)
{
    size_t start = 0;
    int indent = first_indent;

    while (start < len) {
        size_t room = (size_t)(HELP_WIDTH - indent);
        size_t end = len;

        if (len - start > room) {
            end = start + room;
            while (end > start && text[end] != ' ') {
                end--;
            }
            if (end == start) {
                end = start + room;
            }
        }
        printf("%*s%.*s\n", indent, "", (int)(end - start), text + start);
        start = end;
        while (start < len && text[start] == ' ') {
            start++;
        }
        indent = next_indent;
    }
}

/* Prints a command's synopsis and its description, whose paragraphs are separated by
 * '\n'. */
static void print_command(const struct admin_command *cmd)
{
    const char *para = cmd->description;

    print_wrapped(cmd->synopsis, strlen(cmd->synopsis), 4, 6);
    while (para && *para) {
        const char *end = strchr(para, '\n');
        size_t len = end ? (size_t)(end - para) : strlen(para);

        print_wrapped(para, len, 8, 8);
        para = end ? end + 1 : NULL;
    }
    putchar('\n');
}

static bool group_exists(const char *group)
{
    for (size_t t = 0; admin_command_tables[t]; t++) {
        for (const struct admin_command *cmd = admin_command_tables[t]; cmd->group;
             cmd++) {
            if (strcmp(cmd->group, group) == 0) {
                return true;
            }
        }
    }
    return false;
}

static void print_commands(const char *group)
{
    for (size_t t = 0; admin_command_tables[t]; t++) {
        for (const struct admin_command *cmd = admin_command_tables[t]; cmd->group;
             cmd++) {
            if (group == NULL || strcmp(cmd->group, group) == 0) {
                print_command(cmd);
            }
        }
    }
}

bool help_print(const char *group)
{
    if (group == NULL) {
        fputs(manual_head, stdout);
        print_commands(NULL);
        fputs(manual_tail, stdout);
        return true;
    }
    if (!group_exists(group)) {
        admin_error("unknown command group '%s'; run 'iactn-admin --help' for the list",
                    group);
        return false;
    }
    fputs("COMMANDS\n", stdout);
    print_commands(group);
    fputs("Run 'iactn-admin --help' for the global options and exit statuses.\n", stdout);
    return true;
}

void help_print_command(const struct admin_command *cmd)
{
    fputs("COMMAND\n", stdout);
    print_command(cmd);
    fputs("Run 'iactn-admin --help' for the global options and exit statuses.\n", stdout);
}
