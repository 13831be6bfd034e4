/*
 * The manual of iactn-alert: an overview page and one page per command, printed by
 * --help, "iactn-alert help [COMMAND]" and "iactn-alert COMMAND --help".
 */
#ifndef IACTN_ALERT_HELP_H
#define IACTN_ALERT_HELP_H

#include <stdio.h>

/*
 * Prints the page of `command` (a command name), or the overview when it is NULL.
 * Returns 0, or -1 when no command has that name (nothing printed).
 */
int help_print(FILE *out, const char *command);

#endif
