#include "validate.h"

#include "admin.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

struct id_format {
    const char *noun;
    const char *first; /* characters allowed first */
    const char *rest;  /* characters allowed after the first */
    size_t max_len;
    const char *expected;
};

/* Indexed by enum id_kind. The formats repeat the CHECK constraints of
 * schemas/sql/001_core.sql. */
static const struct id_format id_formats[] = {
    [ID_STATE] = {"state code", UPPER, UPPER, 2,
                  "two upper-case letters (ISO 3166-1 alpha-2), for example CO"},
    [ID_PRINCIPAL] = {"principal id", LOWER DIGITS, LOWER DIGITS "._-", 63,
                      "1 to 63 lower-case letters, digits, '.', '_' or '-', starting "
                      "with a letter or digit"},
    [ID_CATEGORY] = {"category slug", LOWER, LOWER DIGITS "-", 32,
                     "1 to 32 lower-case letters, digits or '-', starting with a letter"},
};

static bool chars_in(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0' || strchr(set, s[i]) == NULL) {
            return false;
        }
    }
    return true;
}

bool validate_id(enum id_kind kind, const char *value)
{
    const struct id_format *f = &id_formats[kind];
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= f->max_len && chars_in(value, 1, f->first) &&
              chars_in(value + 1, len - 1, f->rest);

    if (kind == ID_STATE && len != 2) {
        ok = false;
    }
    if (!ok) {
        admin_error("invalid %s '%s': expected %s", f->noun, value, f->expected);
    }
    return ok;
}

/* Returns the number of UTF-8 characters in s, or -1 when s contains a control
 * character (U+0000 to U+001F and U+007F). */
static int count_chars(const char *s)
{
    int chars = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7F) {
            return -1;
        }
        if ((c & 0xC0) != 0x80) {
            chars++;
        }
    }
    return chars;
}

bool validate_text(const char *label, const char *value, int max_chars)
{
    int chars = count_chars(value);

    if (chars < 0) {
        /* The value is not echoed: a newline or escape in it would garble the
         * terminal. */
        admin_error("invalid %s: control characters such as newline or tab are not "
                    "allowed",
                    label);
        return false;
    }
    if (chars == 0 || chars > max_chars) {
        admin_error("invalid %s '%s': expected 1 to %d characters", label, value,
                    max_chars);
        return false;
    }
    return true;
}

bool validate_long(const char *label, const char *value, long min, long max, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(value, &end, 10);
    if (value[0] == '\0' || isspace((unsigned char)value[0]) || *end != '\0' ||
        errno == ERANGE || n < min || n > max) {
        admin_error("invalid %s '%s': expected an integer from %ld to %ld", label, value,
                    min, max);
        return false;
    }
    *out = n;
    return true;
}

bool validate_uuid(const char *value)
{
    static const int group_lengths[] = {8, 4, 4, 4, 12};
    const char *p = value;
    bool ok = true;

    for (size_t g = 0; ok && g < 5; g++) {
        for (int i = 0; ok && i < group_lengths[g]; i++, p++) {
            ok = isxdigit((unsigned char)*p);
        }
        if (ok) {
            ok = *p == (g < 4 ? '-' : '\0');
            p++;
        }
    }
    if (!ok) {
        admin_error("invalid alert id '%s': expected a UUID such as "
                    "0b6e8f2a-4c1d-4e5f-9a7b-3c2d1e0f9a8b",
                    value);
    }
    return ok;
}
