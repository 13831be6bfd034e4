/*
 * The import-cap command: converts an OASIS CAP 1.2 alert, read with libxml2, into an
 * IACTN alert, then prints it or publishes it.
 */
#ifndef IACTN_ALERT_CAPIMPORT_H
#define IACTN_ALERT_CAPIMPORT_H

#include "iactn_alert.h"

/*
 * Reads the CAP document options->file ("-" for stdin), converts it with the overrides
 * of the options, and prints the alert as indented JSON, or with options->publish
 * publishes it as `identity`. Returns an exit code: EXIT_INVALID_ALERT when the
 * document is not a CAP 1.2 alert or does not convert into a valid alert.
 */
int capimport_run(const struct tool_options *options, const struct identity *identity);

#endif
