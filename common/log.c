#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char program_name[64] = "iactn";
static atomic_int min_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void log_init(const char *program, int level)
{
    if (program != NULL) {
        snprintf(program_name, sizeof(program_name), "%s", program);
    }
    log_set_level(level);
}

void log_set_level(int level)
{
    if (level < LOG_LEVEL_DEBUG) {
        level = LOG_LEVEL_DEBUG;
    }
    if (level > LOG_LEVEL_ERROR) {
        level = LOG_LEVEL_ERROR;
    }
    atomic_store(&min_level, level);
}

int log_enabled(int level)
{
    return level >= atomic_load(&min_level);
}

int log_level_parse(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* Writes the UTC time with milliseconds, e.g. 2026-12-04T15:40:00.123Z. */
static size_t format_time(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    size_t len;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    len = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(buf + len, size - len, ".%03ldZ", now.tv_nsec / 1000000);
    return len;
}

void log_msg(int level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    const char *name;
    size_t len;
    size_t body;
    int n;
    va_list ap;

    if (!log_enabled(level)) {
        return;
    }
    if (level > LOG_LEVEL_ERROR) {
        level = LOG_LEVEL_ERROR;
    }
    name = level_names[level < 0 ? 0 : level];

    len = format_time(line, sizeof(line));
    len += (size_t)snprintf(line + len, sizeof(line) - len, " level=%s program=%s ", name,
                            program_name);
    body = len;

    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }

    /* Keep room for the newline, and mark a cut line so that a reader sees text is
     * missing. */
    if ((size_t)n >= sizeof(line) - len - 1) {
        len = sizeof(line) - 1;
        memcpy(line + len - 3, "...", 3);
    } else {
        len += (size_t)n;
    }
    for (size_t i = body; i < len; i++) {
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
            line[i] = ' ';
        }
    }
    line[len++] = '\n';

    /* One write per line keeps lines whole when several threads log at once. */
    if (write(STDERR_FILENO, line, len) < 0) {
        return;
    }
}

const char *log_quote(char *buf, size_t size, const char *value)
{
    const unsigned char *p = (const unsigned char *)(value != NULL ? value : "");
    size_t len = 0;
    char piece[5];
    size_t piece_len;

    /* Room is kept for `..."` and the terminating NUL. */
    size_t limit = size - 5;

    buf[len++] = '"';
    for (; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            piece[0] = '\\';
            piece[1] = (char)*p;
            piece_len = 2;
        } else if (*p == '\n') {
            memcpy(piece, "\\n", 2);
            piece_len = 2;
        } else if (*p == '\t') {
            memcpy(piece, "\\t", 2);
            piece_len = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(piece, sizeof(piece), "\\x%02x", *p);
            piece_len = 4;
        } else {
            piece[0] = (char)*p;
            piece_len = 1;
        }
        if (len + piece_len > limit) {
            memcpy(buf + len, "...", 3);
            len += 3;
            break;
        }
        memcpy(buf + len, piece, piece_len);
        len += piece_len;
    }
    buf[len++] = '"';
    buf[len] = '\0';
    return buf;
}
