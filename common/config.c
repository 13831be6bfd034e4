#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_value {
    char *value;
    char *source;
};

struct iactn_config {
    const struct config_key *keys;
    size_t count;
    struct config_value *values; /* one per entry of keys, in the same order */
};

struct iactn_config *config_new(const struct config_key *keys)
{
    struct iactn_config *config;
    size_t count = 0;

    while (keys[count].name != NULL) {
        count++;
    }

    config = calloc(1, sizeof(*config));
    if (config == NULL) {
        return NULL;
    }
    config->keys = keys;
    config->count = count;
    config->values = calloc(count + 1, sizeof(*config->values));
    if (config->values == NULL) {
        free(config);
        return NULL;
    }
    return config;
}

void config_free(struct iactn_config *config)
{
    if (config == NULL) {
        return;
    }
    for (size_t i = 0; i < config->count; i++) {
        free(config->values[i].value);
        free(config->values[i].source);
    }
    free(config->values);
    free(config);
}

static long find_key(const struct iactn_config *config, const char *key)
{
    for (size_t i = 0; i < config->count; i++) {
        if (strcmp(config->keys[i].name, key) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static int store(struct iactn_config *config, size_t index, const char *value,
                 const char *source)
{
    char *value_copy = strdup(value);
    char *source_copy = strdup(source);

    if (value_copy == NULL || source_copy == NULL) {
        free(value_copy);
        free(source_copy);
        return -1;
    }
    free(config->values[index].value);
    free(config->values[index].source);
    config->values[index].value = value_copy;
    config->values[index].source = source_copy;
    return 0;
}

int config_set(struct iactn_config *config, const char *key, const char *value,
               const char *source)
{
    long index = find_key(config, key);

    if (index < 0) {
        return -1;
    }
    return store(config, (size_t)index, value, source);
}

const char *config_get(const struct iactn_config *config, const char *key)
{
    long index = find_key(config, key);

    return index < 0 ? NULL : config->values[index].value;
}

const char *config_source(const struct iactn_config *config, const char *key)
{
    long index = find_key(config, key);

    return index < 0 ? NULL : config->values[index].source;
}

int config_load_env(struct iactn_config *config)
{
    char source[128];
    const char *value;
    int stored = 0;

    for (size_t i = 0; i < config->count; i++) {
        if (config->keys[i].env == NULL) {
            continue;
        }
        value = getenv(config->keys[i].env);
        if (value == NULL || value[0] == '\0') {
            continue;
        }
        snprintf(source, sizeof(source), "environment variable %s", config->keys[i].env);
        if (store(config, i, value, source) == 0) {
            stored++;
        }
    }
    return stored;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && strchr(" \t\r\n", end[-1]) != NULL) {
        *--end = '\0';
    }
    return s;
}

/*
 * Removes the quotes of a quoted value in place, resolving \" and \\ inside double
 * quotes. Anything after the closing quote must be spaces or a comment. Returns NULL
 * with `*problem` set when the value is malformed.
 */
static char *unquote(char *value, const char **problem)
{
    char quote = value[0];
    char *in = value + 1;
    char *out = value;

    if (quote != '"' && quote != '\'') {
        return value;
    }
    while (*in != '\0' && *in != quote) {
        if (quote == '"' && *in == '\\') {
            if (in[1] != '"' && in[1] != '\\') {
                *problem = "only \\\" and \\\\ may follow a backslash in double quotes";
                return NULL;
            }
            in++;
        }
        *out++ = *in++;
    }
    if (*in != quote) {
        *problem = "missing closing quote";
        return NULL;
    }
    in++;
    while (*in == ' ' || *in == '\t') {
        in++;
    }
    if (*in != '\0' && *in != '#') {
        *problem = "unexpected text after the closing quote";
        return NULL;
    }
    *out = '\0';
    return value;
}

static int valid_key_name(const char *key)
{
    if (*key == '\0') {
        return 0;
    }
    for (; *key != '\0'; key++) {
        if (!isalnum((unsigned char)*key) && *key != '_' && *key != '-') {
            return 0;
        }
    }
    return 1;
}

/* Parses one line that is neither blank nor a comment. Returns 0 or -1 with `err`. */
static int load_line(struct iactn_config *config, char *line, const char *path,
                     unsigned lineno, unsigned char *seen, char *err, size_t err_size)
{
    char source[PATH_MAX + 32];
    const char *problem = NULL;
    char *eq = strchr(line, '=');
    char *key;
    char *value;
    long index;

    if (eq == NULL) {
        snprintf(err, err_size, "%s:%u: expected \"key = value\"", path, lineno);
        return -1;
    }
    *eq = '\0';
    key = trim(line);
    value = trim(eq + 1);

    if (!valid_key_name(key)) {
        snprintf(err, err_size, "%s:%u: invalid key \"%.64s\"", path, lineno, key);
        return -1;
    }
    index = find_key(config, key);
    if (index < 0) {
        snprintf(err, err_size, "%s:%u: unknown key \"%.64s\"", path, lineno, key);
        return -1;
    }
    if (seen[index]) {
        snprintf(err, err_size, "%s:%u: key \"%s\" is set twice in this file", path,
                 lineno, key);
        return -1;
    }
    value = unquote(value, &problem);
    if (value == NULL) {
        snprintf(err, err_size, "%s:%u: invalid value for \"%s\": %s", path, lineno, key,
                 problem);
        return -1;
    }

    snprintf(source, sizeof(source), "%s:%u", path, lineno);
    if (store(config, (size_t)index, value, source) != 0) {
        snprintf(err, err_size, "%s:%u: out of memory", path, lineno);
        return -1;
    }
    seen[index] = 1;
    return 0;
}

int config_load_file(struct iactn_config *config, const char *path, char *err,
                     size_t err_size)
{
    char line[CONFIG_LINE_MAX];
    unsigned char *seen = NULL;
    unsigned lineno = 0;
    char *text;
    FILE *file;
    int rc = -1;

    file = fopen(path, "r");
    if (file == NULL) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    seen = calloc(config->count + 1, 1);
    if (seen == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto out;
    }

    while (fgets(line, sizeof(line), file) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(file)) {
            snprintf(err, err_size, "%s:%u: line longer than %d bytes", path, lineno,
                     CONFIG_LINE_MAX - 1);
            goto out;
        }
        text = trim(line);
        if (text[0] == '\0' || text[0] == '#') {
            continue;
        }
        if (load_line(config, text, path, lineno, seen, err, err_size) != 0) {
            goto out;
        }
    }
    if (ferror(file)) {
        snprintf(err, err_size, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;

out:
    free(seen);
    fclose(file);
    return rc;
}

int config_get_long(const struct iactn_config *config, const char *key, long min,
                    long max, long *out, char *err, size_t err_size)
{
    const char *value = config_get(config, key);
    char *end;
    long number;

    if (value == NULL) {
        return 0;
    }
    errno = 0;
    number = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || number < min || number > max) {
        snprintf(err, err_size,
                 "invalid %s \"%.64s\" (from %s): expected an integer from "
                 "%ld to %ld",
                 key, value, config_source(config, key), min, max);
        return -1;
    }
    *out = number;
    return 1;
}

/* Returns the milliseconds in one `unit` ("ms", "s", "m", "h", or "" for seconds), or
 * 0 for any other unit. */
static long unit_ms(const char *unit)
{
    static const struct {
        const char *name;
        long ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}, {"h", 3600000}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(unit, units[i].name) == 0) {
            return units[i].ms;
        }
    }
    return 0;
}

/* Writes `ms` as the largest unit that divides it, e.g. 3600000 as "1h". */
static void format_duration(long ms, char *out, size_t size)
{
    if (ms != 0 && ms % 3600000 == 0) {
        snprintf(out, size, "%ldh", ms / 3600000);
    } else if (ms != 0 && ms % 60000 == 0) {
        snprintf(out, size, "%ldm", ms / 60000);
    } else if (ms % 1000 == 0) {
        snprintf(out, size, "%lds", ms / 1000);
    } else {
        snprintf(out, size, "%ldms", ms);
    }
}

int config_get_duration_ms(const struct iactn_config *config, const char *key,
                           long min_ms, long max_ms, long *out_ms, char *err,
                           size_t err_size)
{
    const char *value = config_get(config, key);
    char low[24], high[24];
    char *end;
    long number;
    long unit;

    if (value == NULL) {
        return 0;
    }
    errno = 0;
    number = strtol(value, &end, 10);
    unit = end == value ? 0 : unit_ms(end);
    if (errno != 0 || unit == 0 || number < 0 || number > max_ms / unit ||
        number * unit < min_ms) {
        format_duration(min_ms, low, sizeof(low));
        format_duration(max_ms, high, sizeof(high));
        snprintf(err, err_size,
                 "invalid %s \"%.64s\" (from %s): expected a duration from %s to %s, "
                 "written as a whole number and a unit: ms, s, m or h (e.g. 5s)",
                 key, value, config_source(config, key), low, high);
        return -1;
    }
    *out_ms = number * unit;
    return 1;
}
