/*
 * The manual iactn-admin prints for --help, built from the command tables.
 */
#ifndef IACTN_ADMIN_HELP_H
#define IACTN_ADMIN_HELP_H

#include "admin.h"

/* Every command table, ended by NULL, in the order the manual lists them. */
extern const struct admin_command *const admin_command_tables[];

/* Prints the whole manual to stdout when group is NULL, otherwise the commands of that
 * group. Returns false, after printing an error, when no command has that group. */
bool help_print(const char *group);

/* Prints the synopsis and description of one command to stdout. */
void help_print_command(const struct admin_command *cmd);

#endif
