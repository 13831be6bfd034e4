/*
 * iactn-admin commands as administration requests (common/adminop.h): how a command
 * line becomes a JSON request, and how the result prints. Every command listed here
 * runs this way: against the database with the rights of a network administrator, or
 * with --remote sent to iactn-bridge over MQTT, which applies it with the rights of
 * the administrator whose certificate the broker verified.
 */
#ifndef IACTN_ADMIN_REQUEST_H
#define IACTN_ADMIN_REQUEST_H

#include "admin.h"

#include <jansson.h>

/* The conversion of a command-line value into a request member. */
enum request_kind {
    KIND_TEXT,    /* the value as a string */
    KIND_INTEGER, /* the value as a JSON integer when it is one, else a string */
    KIND_FLAG,    /* true when the option is given, absent otherwise */
    KIND_ALLOW,   /* true for --allow, false for --deny */
    KIND_LIST,    /* comma-separated values as an array of strings */
    KIND_FILE,    /* the contents of the file the value names */
    KIND_SECRET,  /* the first line of the file the value names, kept private */
};

/* One request member: from an option, or from a positional argument. */
struct request_field {
    const char *name;
    enum request_kind kind;
    int source; /* enum admin_option, or the argument's index */
    bool from_arg;
};

/* The output of a successful command. */
enum request_output {
    OUTPUT_TABLE,   /* the result's rows, as a table or TSV */
    OUTPUT_ID,      /* the result's id, and its summary on stderr when nothing changed */
    OUTPUT_SUMMARY, /* the result's summary sentence */
    OUTPUT_REVOKED, /* "revoked FINGERPRINT" per certificate, or the summary if none */
};

#define REQUEST_MAX_FIELDS 10

struct request_map {
    const char *group;
    const char *verb;
    const char *op;
    struct request_field fields[REQUEST_MAX_FIELDS];
    enum request_output output;
    const char *columns; /* OUTPUT_TABLE: the result keys to print, comma-separated */
    /* OUTPUT_TABLE: the columns printed without --remote where they differ, because
     * scripts read the local listing by position; NULL when they do not. */
    const char *local_columns;
};

/* Returns how the command "group verb" maps to a request, or NULL when it has no
 * request form. */
const struct request_map *request_find(const char *group, const char *verb);

/* Builds the request of `map` from the command line into *out (a new reference).
 * Returns ADMIN_EXIT_OK, or another ADMIN_EXIT_* code after printing why:
 * ADMIN_EXIT_USAGE for a secret file that cannot be read, ADMIN_EXIT_FAILURE for
 * another file or when memory runs out. */
int request_build(const struct request_map *map, const struct admin_args *args,
                  json_t **out);

/* Prints a successful result in the output form of `map`, with its notes and warnings
 * on stderr. `local` selects map->local_columns where set. Returns ADMIN_EXIT_OK. */
int request_print(const struct request_map *map, json_t *result, bool tsv, bool local);

/* Prints a rejected request's message, with request members named as the options
 * that set them, and returns the exit code for its error code: ADMIN_EXIT_USAGE for a
 * malformed request, ADMIN_EXIT_FAILURE for anything else. */
int request_report_error(const struct request_map *map, const char *code,
                         const char *message);

/* Runs ctx->command as a request against the database, with the audit actor "db:"
 * followed by the database user and the rights of a network administrator: the run
 * function of every command that has a request form. Returns an ADMIN_EXIT_* code.
 * Blocks on the database. */
int request_run_command(struct admin_ctx *ctx, const struct admin_args *args);

#endif
