/*
 * Command-line parsing for iactn-admin: long options (--name VALUE, --name=VALUE,
 * --flag) in any position, "--" to end options, and the remaining words.
 */
#ifndef IACTN_ADMIN_ARGS_H
#define IACTN_ADMIN_ARGS_H

#include "admin.h"

/* Group, verb and up to ADMIN_MAX_ARGS arguments. */
#define ARGS_MAX_WORDS (ADMIN_MAX_ARGS + 2)

/* A whole command line before the command is known. The command's own arguments are
 * filled in args.arg by the dispatcher once it has found how many words name
 * the command. */
struct args_parsed {
    struct admin_args args;
    const char *words[ARGS_MAX_WORDS];
    int nwords;
    uint64_t options_given; /* OPT_BIT of every option on the command line */
};

/* Parses argv into parsed. Returns 0, or -1 after printing the reason (an unknown or
 * repeated option, a missing value, too many words). */
int args_parse(int argc, char **argv, struct args_parsed *parsed);

/* Checks that the options given are ones cmd accepts and that the number of its
 * arguments fits. Returns 0, or -1 after printing the reason and cmd's synopsis. */
int args_check(const struct admin_command *cmd, const struct args_parsed *parsed);

/* Returns the name of an option without its leading "--", for example "time-zone". */
const char *args_option_name(enum admin_option option);

#endif
