/*
 * Logging for IACTN daemons and tools: one line per event on stderr, in the form
 *
 *   2026-12-04T15:40:00.123Z level=info program=iactn-bridge msg="archived" id=...
 *
 * The caller writes everything after `program=` (usually `msg="..."` followed by
 * key=value fields) as a printf format. Values that may contain spaces, quotes or
 * line breaks (error texts from libraries, topics) go through log_quote() first.
 * Never pass a secret, a private key, a connection string or an alert body.
 */
#ifndef IACTN_LOG_H
#define IACTN_LOG_H

#include <stddef.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARNING = 2,
    LOG_LEVEL_ERROR = 3,
};

/* Maximum length of a line written by log_msg(), newline included. Longer lines are
 * cut and end with "...". */
#define LOG_LINE_MAX 4096

/*
 * Sets the program name written in every line (copied, at most 63 bytes kept) and
 * the lowest level written. Call once at start, before other threads log; until
 * then lines carry program=iactn and the minimum level is info.
 */
void log_init(const char *program, int min_level);

/*
 * Changes the lowest level written. Safe to call from any thread.
 */
void log_set_level(int min_level);

/*
 * Returns nonzero if a line at `level` would be written, so that callers can skip
 * work that only feeds debug lines.
 */
int log_enabled(int level);

/*
 * Writes one line at `level` to stderr if the level is enabled. `fmt` and its
 * arguments form the text after the program field. Control characters in the result
 * are replaced by spaces, so a line never breaks. The line goes out in a single
 * write(2), so lines from several threads do not interleave. Reports no error, so a
 * line that cannot be written is lost.
 */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Returns the level named `name` ("debug", "info", "warning" or "error"), or -1 for any
 * other name.
 */
int log_level_parse(const char *name);

/*
 * Writes `value` into `buf` as a double-quoted string with `"` and `\` escaped and
 * control characters written as \n, \t or \xNN, cut to fit `size` (the cut is marked
 * with "..." inside the quotes). Returns `buf`, so that the call can sit in a
 * log_msg() argument list. `value` NULL gives "". `size` must be at least 8.
 */
const char *log_quote(char *buf, size_t size, const char *value);

#endif
