/*
 * iactn-admin: the network operator's command-line tool. This header declares what
 * every command group shares: exit codes, the command-line options, the parsed
 * arguments, the run context and the command table each group exports.
 */
#ifndef IACTN_ADMIN_H
#define IACTN_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define ADMIN_EXIT_OK 0
#define ADMIN_EXIT_FAILURE 1 /* runtime or database failure, or a value not found */
#define ADMIN_EXIT_USAGE 2   /* malformed command line or invalid value */

#define ADMIN_MAX_ARGS 4

/* Every option of the tool. Each command lists the ones it accepts. */
enum admin_option {
    OPT_DB,
    OPT_SQL_DIR,
    OPT_TSV,
    OPT_HELP,
    OPT_ACCESS,
    OPT_AGENCY,
    OPT_ALLOW,
    OPT_CATEGORY,
    OPT_CREATE_PRINCIPAL,
    OPT_DENY,
    OPT_DESCRIPTION,
    OPT_LIMIT,
    OPT_NAME,
    OPT_NETWORK,
    OPT_NOTE,
    OPT_ORIGIN,
    OPT_PATTERN,
    OPT_PRINCIPAL,
    OPT_PRIORITY,
    OPT_REASON,
    OPT_ROLE,
    OPT_STATE,
    OPT_TO_ALL,
    OPT_TO_GROUP,
    OPT_TO_STATE,
    OPT_SECRET_FILE,
    OPT_TOPIC_FILTER,
    OPT_DEAD,
    OPT_ALERT,
    OPT_ALL_DEAD,
    OPT_REMOTE,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_HOST,
    OPT_PORT,
    OPT_TIMEOUT,
    OPT_FUNCTION,
    OPT_PHONES,
    OPT_EMAIL,
    OPT_LANGUAGES,
    OPT_TIME_ZONE,
    OPT_CONTACT,
    OPT_POSITION,
    OPT_STARTS,
    OPT_ENDS,
    OPT_SCOPE,
    OPT_CURRENT,
    OPT_COUNT
};

#define OPT_BIT(o) (UINT64_C(1) << (o))

/* The options every command accepts. */
#define OPT_GLOBAL                                                                       \
    (OPT_BIT(OPT_DB) | OPT_BIT(OPT_SQL_DIR) | OPT_BIT(OPT_TSV) | OPT_BIT(OPT_HELP) |     \
     OPT_REMOTE_SET)

/* The options of --remote mode, which sends the command over MQTT instead of running
 * it against the database. */
#define OPT_REMOTE_SET                                                                   \
    (OPT_BIT(OPT_REMOTE) | OPT_BIT(OPT_CA) | OPT_BIT(OPT_CERT) | OPT_BIT(OPT_KEY) |      \
     OPT_BIT(OPT_HOST) | OPT_BIT(OPT_PORT) | OPT_BIT(OPT_TIMEOUT))

/* A parsed command line. opt[] contains each option's value, "" for a flag that was
 * given and NULL for an option that was not. The strings belong to argv. */
struct admin_args {
    const char *opt[OPT_COUNT];
    const char *arg[ADMIN_MAX_ARGS];
    int nargs;
};

/* State of one run. conn is NULL until admin_db_open() connects. */
struct admin_ctx {
    const struct admin_command *command; /* the command being run */
    const char *conninfo;
    const char *sql_dir;
    bool tsv;
    PGconn *conn;
};

#define ADMIN_MAX_CHOICES 3

/* One command: "group verb", or a group alone when verb is NULL (migrate). The
 * dispatcher checks options, required, choices and the argument count before it
 * calls run, which returns one of the ADMIN_EXIT_* codes and has printed the reason
 * for any other than OK. */
struct admin_command {
    const char *group;
    const char *verb;
    int (*run)(struct admin_ctx *ctx, const struct admin_args *args);
    uint64_t options;                    /* OPT_BIT of every option accepted */
    uint64_t required;                   /* OPT_BIT of the options that must be given */
    uint64_t choices[ADMIN_MAX_CHOICES]; /* sets of which exactly one must be given */
    int min_args;
    int max_args;
    const char *synopsis;    /* without the program name */
    const char *description; /* paragraphs separated by '\n', wrapped when printed */
};

/* Command tables, each ended by an entry whose group is NULL. */
extern const struct admin_command migrate_commands[];
extern const struct admin_command state_commands[];
extern const struct admin_command category_commands[];
extern const struct admin_command agency_commands[];
extern const struct admin_command principal_commands[];
extern const struct admin_command cert_commands[];
extern const struct admin_command acl_commands[];
extern const struct admin_command rule_commands[];
extern const struct admin_command group_commands[];
extern const struct admin_command alerts_commands[];
extern const struct admin_command endpoint_commands[];
extern const struct admin_command deliveries_commands[];
extern const struct admin_command alert_status_commands[];
extern const struct admin_command capexport_commands[];
extern const struct admin_command contact_commands[];
extern const struct admin_command oncall_commands[];

/* Prints "iactn-admin: " and the formatted message to stderr, with a newline. */
void admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "iactn-admin: " and the formatted message to stderr, for information that
 * is neither an error nor a warning and must stay off stdout, which scripts read. */
void admin_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "iactn-admin: warning: " and the formatted message to stderr. */
void admin_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
