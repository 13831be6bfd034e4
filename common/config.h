/*
 * Settings of IACTN daemons and tools, from three sources in rising precedence:
 * a `key = value` file, environment variables, and command-line flags.
 *
 * File syntax, one setting per line:
 *
 *   # a comment (only at the start of a line, after optional spaces)
 *   broker_host = 127.0.0.1
 *   db = "host=127.0.0.1 port=5432 dbname=iactn"   # a comment may follow a quote
 *
 * Spaces around the key and the value are trimmed. An unquoted value runs to the end
 * of the line, `#` included, so passwords and connection strings need no quoting.
 * A value in double quotes may use \" and \\; a value in single quotes is taken
 * literally. An unknown key, a repeated key or a malformed line is an error that
 * names the file and line.
 *
 * Each program declares the keys it accepts in a table of struct config_key, ending
 * with an entry whose name is NULL. A key's `env` names the environment variable
 * that overrides the file (NULL: none). The program reads the file, then calls
 * config_load_env(), then config_set() for each flag given, so that the last source
 * wins.
 */
#ifndef IACTN_CONFIG_H
#define IACTN_CONFIG_H

#include <stddef.h>

struct config_key {
    const char *name; /* key in the file, e.g. "broker_port" */
    const char *env;  /* environment variable, e.g. "IACTN_BROKER_PORT", or NULL */
};

struct iactn_config;

/* Maximum length of a line in a configuration file, newline included. */
#define CONFIG_LINE_MAX 4096

/*
 * Creates an empty configuration that accepts the keys of `keys`. The table is not
 * copied and must outlive the configuration. Returns NULL if memory runs out. The
 * caller frees the result with config_free().
 */
struct iactn_config *config_new(const struct config_key *keys);

/*
 * Frees `config` and every value in it. Accepts NULL.
 */
void config_free(struct iactn_config *config);

/*
 * Reads the file at `path` and stores its settings, replacing values set earlier
 * by any source. Returns 0 on success. On failure returns -1 and writes one line
 * into `err` (at most `err_size` bytes), e.g. "alert.conf:7: unknown key \"hots\"";
 * settings read before the faulty line stay stored. Blocks on file I/O.
 */
int config_load_file(struct iactn_config *config, const char *path, char *err,
                     size_t err_size);

/*
 * Stores the value of every set, non-empty environment variable named in the key
 * table, replacing values from earlier sources. Returns the number of values taken.
 */
int config_load_env(struct iactn_config *config);

/*
 * Stores `value` (copied) for `key`, replacing any earlier value. `source` (copied)
 * records where it came from for error messages, e.g. "--port". Returns 0, or -1 if
 * the key is not in the table or memory runs out.
 */
int config_set(struct iactn_config *config, const char *key, const char *value,
               const char *source);

/*
 * Returns the value stored for `key`, or NULL if no source set it. The string
 * belongs to `config` and stays valid until the key is set again or the
 * configuration is freed.
 */
const char *config_get(const struct iactn_config *config, const char *key);

/*
 * Returns where the value of `key` came from ("FILE:LINE", "environment variable
 * NAME", or the `source` given to config_set()), or NULL if it is unset.
 */
const char *config_source(const struct iactn_config *config, const char *key);

/*
 * Reads `key` as a decimal integer in [min, max] into `*out`. Returns 1 if it was
 * read, 0 if the key is unset (`*out` unchanged), and -1 if the value is not such an
 * integer, in which case `err` names the value, its source and the range.
 */
int config_get_long(const struct iactn_config *config, const char *key, long min,
                    long max, long *out, char *err, size_t err_size);

/*
 * Reads `key` as a duration into `*out_ms`, in milliseconds, within [min_ms, max_ms].
 * A duration is a decimal integer followed by a unit: "ms", "s", "m" or "h", e.g.
 * "500ms", "5s", "1h"; a number without a unit counts as seconds. Returns 1 if it
 * was read, 0 if the key is unset (`*out_ms` unchanged), and -1 if the value is not
 * such a duration or is out of range, in which case `err` names the value, its
 * source and the range.
 */
int config_get_duration_ms(const struct iactn_config *config, const char *key,
                           long min_ms, long max_ms, long *out_ms, char *err,
                           size_t err_size);

#endif
