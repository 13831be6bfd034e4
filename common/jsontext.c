#include "jsontext.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over the text. err receives the failure that stops the parse. */
struct reader {
    const char *start;
    const char *p;
    const char *end;
    struct jsontext_error *err;
    struct jsontext_numbers numbers; /* maximum digits and exponent so far */
};

#define EXPONENT_CAP 1000000

static void *fail(struct reader *r, const char *at, const char *text)
{
    int line = 1;
    const char *line_start = r->start;

    for (const char *c = r->start; c < at && c < r->end; c++) {
        if (*c == '\n') {
            line++;
            line_start = c + 1;
        }
    }
    r->err->line = line;
    r->err->column = (int)(at - line_start) + 1;
    snprintf(r->err->text, sizeof(r->err->text), "%s", text);
    return NULL;
}

static bool reject(struct reader *r, const char *at, const char *text)
{
    fail(r, at, text);
    return false;
}

static size_t reject_escape(struct reader *r, const char *at, const char *text)
{
    fail(r, at, text);
    return 0;
}

static void skip_space(struct reader *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

static bool is_digit(const struct reader *r, const char *c)
{
    return c < r->end && *c >= '0' && *c <= '9';
}

/* Reads the four hex digits at c. Returns the value, or -1. */
static long hex4(const struct reader *r, const char *c)
{
    long v = 0;

    if (r->end - c < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char h = c[i];

        v <<= 4;
        if (h >= '0' && h <= '9') {
            v |= h - '0';
        } else if (h >= 'a' && h <= 'f') {
            v |= h - 'a' + 10;
        } else if (h >= 'A' && h <= 'F') {
            v |= h - 'A' + 10;
        } else {
            return -1;
        }
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape at c (its backslash) into out. Returns the bytes written and
 * advances *c past the escape, or returns 0 after fail(). */
static size_t read_escape(struct reader *r, const char **c, char *out)
{
    static const char plain[] = "\"\\/bfnrt";
    static const char meaning[] = "\"\\/\b\f\n\r\t";
    const char *at = *c;
    const char *found;
    long cp, low;

    if (at + 1 >= r->end) {
        return reject_escape(r, at, "unterminated string");
    }
    if (at[1] != 'u') {
        found = at[1] ? strchr(plain, at[1]) : NULL;
        if (found == NULL) {
            return reject_escape(r, at, "invalid escape");
        }
        *out = meaning[found - plain];
        *c = at + 2;
        return 1;
    }
    cp = hex4(r, at + 2);
    if (cp < 0) {
        return reject_escape(r, at, "invalid escape");
    }
    *c = at + 6;
    if (cp == 0) {
        return reject_escape(r, at, "\\u0000 is not allowed");
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return reject_escape(r, at, "invalid Unicode: unpaired low surrogate");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        low = (r->end - *c >= 6 && (*c)[0] == '\\' && (*c)[1] == 'u') ? hex4(r, *c + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF) {
            return reject_escape(r, at, "invalid Unicode: unpaired high surrogate");
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        *c += 6;
    }
    return put_utf8(out, (unsigned long)cp);
}

/* Reads the string whose opening quote is at r->p. Sets *str and *n to its decoded
 * contents: a slice of the text when it has no escapes, else a malloc'd buffer that
 * is also stored in *owned for the caller to free. */
static bool read_string(struct reader *r, const char **str, size_t *n, char **owned)
{
    const char *s = r->p + 1;
    const char *c = s;
    const char *close;
    char *buffer;
    size_t used;

    *owned = NULL;
    while (r->end - c >= 8 && !jsontext_word_ends_run(c)) {
        c += 8;
    }
    for (; c < r->end && *c != '"' && *c != '\\'; c++) {
        if ((unsigned char)*c < 0x20) {
            return reject(r, c, "control character in string");
        }
    }
    if (c >= r->end) {
        return reject(r, r->p, "unterminated string");
    }
    if (*c == '"') {
        *str = s;
        *n = (size_t)(c - s);
        r->p = c + 1;
        return true;
    }
    /* Escapes only shrink the text, so the raw string up to its closing quote bounds
     * the result. Sizing by that span, not by the rest of the input, keeps the buffers
     * of keys that wait for their values small. */
    close = c;
    while (close < r->end && *close != '"') {
        close += *close == '\\' ? 2 : 1;
    }
    buffer = malloc((size_t)(close - s) + 1);
    if (buffer == NULL) {
        return reject(r, c, "out of memory");
    }
    *owned = buffer;
    used = (size_t)(c - s);
    memcpy(buffer, s, used);
    while (c < r->end && *c != '"') {
        if ((unsigned char)*c < 0x20) {
            return reject(r, c, "control character in string");
        }
        if (*c == '\\') {
            size_t w = read_escape(r, &c, buffer + used);

            if (w == 0) {
                return false;
            }
            used += w;
        } else {
            buffer[used++] = *c++;
        }
    }
    if (c >= r->end) {
        return reject(r, r->p, "unterminated string");
    }
    *str = buffer;
    *n = used;
    r->p = c + 1;
    return true;
}

/* Reads a number with JSON's grammar. Integers become jansson integers and the rest
 * reals, with jansson's range errors. */
static json_t *read_number(struct reader *r)
{
    const char *s = r->p, *c = s;
    bool real = false;
    char small[64], *text = small;
    json_t *value;
    size_t n, digits, exponent = 0;

    if (*c == '-') {
        c++;
    }
    if (!is_digit(r, c)) {
        return fail(r, s, "invalid number");
    }
    if (*c == '0') {
        c++;
        if (is_digit(r, c)) {
            return fail(r, s, "invalid number: leading zero");
        }
    }
    while (is_digit(r, c)) {
        c++;
    }
    digits = (size_t)(c - s) - (*s == '-');
    if (c < r->end && *c == '.') {
        const char *point = c;

        real = true;
        if (!is_digit(r, ++c)) {
            return fail(r, s, "invalid number");
        }
        while (is_digit(r, c)) {
            c++;
        }
        digits += (size_t)(c - point) - 1;
    }
    if (c < r->end && (*c == 'e' || *c == 'E')) {
        real = true;
        c++;
        if (c < r->end && (*c == '+' || *c == '-')) {
            c++;
        }
        if (!is_digit(r, c)) {
            return fail(r, s, "invalid number");
        }
        for (; is_digit(r, c); c++) {
            if (exponent < EXPONENT_CAP) {
                exponent = exponent * 10 + (size_t)(*c - '0');
            }
        }
    }
    if (digits > r->numbers.digits) {
        r->numbers.digits = digits;
    }
    if (exponent > r->numbers.exponent) {
        r->numbers.exponent = exponent < EXPONENT_CAP ? exponent : EXPONENT_CAP;
    }
    n = (size_t)(c - s);
    if (n >= sizeof(small) && (text = malloc(n + 1)) == NULL) {
        return fail(r, s, "out of memory");
    }
    memcpy(text, s, n);
    text[n] = '\0';
    errno = 0;
    if (real) {
        double d = strtod(text, NULL);

        value = (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
                    ? fail(r, s, "real number overflow")
                    : json_real(d);
    } else {
        long long i = strtoll(text, NULL, 10);

        value = errno == ERANGE ? fail(r, s, i < 0 ? "too big negative integer"
                                                   : "too big integer")
                                : json_integer(i);
    }
    if (text != small) {
        free(text);
    }
    r->p = c;
    return value;
}

static json_t *read_value(struct reader *r, int depth);

static json_t *read_object(struct reader *r, int depth)
{
    json_t *object = json_object();
    char *owned = NULL;

    if (object == NULL) {
        return fail(r, r->p, "out of memory");
    }
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return object;
    }
    for (;;) {
        const char *key, *at = r->p;
        size_t key_len;
        json_t *value;

        if (r->p >= r->end || *r->p != '"') {
            fail(r, r->p, "string or '}' expected");
            break;
        }
        if (!read_string(r, &key, &key_len, &owned)) {
            break;
        }
        if (json_object_getn(object, key, key_len) != NULL) {
            fail(r, at, "duplicate object key");
            break;
        }
        skip_space(r);
        if (r->p >= r->end || *r->p != ':') {
            fail(r, r->p, "':' expected");
            break;
        }
        r->p++;
        value = read_value(r, depth);
        if (value == NULL) {
            break;
        }
        if (json_object_setn_new_nocheck(object, key, key_len, value) != 0) {
            fail(r, at, "out of memory");
            break;
        }
        free(owned);
        owned = NULL;
        skip_space(r);
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return object;
        }
        if (r->p >= r->end || *r->p != ',') {
            fail(r, r->p, "',' or '}' expected");
            break;
        }
        r->p++;
        skip_space(r);
    }
    free(owned);
    json_decref(object);
    return NULL;
}

static json_t *read_array(struct reader *r, int depth)
{
    json_t *array = json_array();

    if (array == NULL) {
        return fail(r, r->p, "out of memory");
    }
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return array;
    }
    for (;;) {
        json_t *value = read_value(r, depth);

        if (value == NULL) {
            break;
        }
        if (json_array_append_new(array, value) != 0) {
            fail(r, r->p, "out of memory");
            break;
        }
        skip_space(r);
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return array;
        }
        if (r->p >= r->end || *r->p != ',') {
            fail(r, r->p, "',' or ']' expected");
            break;
        }
        r->p++;
    }
    json_decref(array);
    return NULL;
}

static json_t *read_literal(struct reader *r, const char *word, json_t *value)
{
    size_t n = strlen(word);

    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
        return fail(r, r->p, "invalid token");
    }
    r->p += n;
    return value;
}

/* Reads one value after optional white space. Like jansson, every value, not only
 * objects and arrays, counts one level towards JSON_PARSER_MAX_DEPTH. */
static json_t *read_value(struct reader *r, int depth)
{
    const char *str;
    char *owned;
    size_t n;
    json_t *value;

    skip_space(r);
    if (++depth > JSON_PARSER_MAX_DEPTH) {
        return fail(r, r->p, "maximum parsing depth reached");
    }
    if (r->p >= r->end) {
        return fail(r, r->p, "unexpected end of text");
    }
    switch (*r->p) {
    case '{':
        return read_object(r, depth);
    case '[':
        return read_array(r, depth);
    case '"':
        if (!read_string(r, &str, &n, &owned)) {
            free(owned);
            return NULL;
        }
        value = json_stringn_nocheck(str, n);
        free(owned);
        return value ? value : fail(r, r->p, "out of memory");
    case 't':
        return read_literal(r, "true", json_true());
    case 'f':
        return read_literal(r, "false", json_false());
    case 'n':
        return read_literal(r, "null", json_null());
    default:
        return read_number(r);
    }
}

json_t *jsontext_parse(const void *text, size_t len, struct jsontext_error *err)
{
    struct jsontext_numbers numbers;

    return jsontext_parse_numbers(text, len, &numbers, err);
}

json_t *jsontext_parse_numbers(const void *text, size_t len,
                               struct jsontext_numbers *numbers,
                               struct jsontext_error *err)
{
    struct reader r = {text, text, (const char *)text + len, err, {0, 0}};
    json_t *root;

    *numbers = r.numbers;
    skip_space(&r);
    if (r.p >= r.end || (*r.p != '{' && *r.p != '[')) {
        return fail(&r, r.p, "'[' or '{' expected");
    }
    root = read_value(&r, 0);
    *numbers = r.numbers;
    if (root == NULL) {
        return NULL;
    }
    skip_space(&r);
    if (r.p != r.end) {
        json_decref(root);
        return fail(&r, r.p, "end of text expected");
    }
    return root;
}
