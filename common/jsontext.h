/*
 * A JSON reader for the broker's hot path. It builds the same jansson values as
 * json_loadb(text, len, JSON_REJECT_DUPLICATES, ...) and rejects the same texts. The
 * one exception is a NUL byte after a number or a literal, which only it rejects.
 * It reads strings and numbers in one pass, where jansson's lexer makes a call per
 * byte, so a 1 KiB alert costs a fraction of the instructions (callgrind).
 */
#ifndef IACTN_JSONTEXT_H
#define IACTN_JSONTEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jsontext_error {
    int line;   /* counted from 1 */
    int column; /* counted from 1, in bytes */
    char text[96];
};

/* Parses len bytes of JSON text whose top level is an object or an array. The text
 * must be valid UTF-8 (alert_is_utf8), because it is not checked again here. Like
 * jansson it rejects duplicate object keys, "\u0000", unpaired surrogate escapes,
 * integers beyond long long, reals beyond double and nesting deeper than
 * JSON_PARSER_MAX_DEPTH. Unlike jansson, which drops one NUL byte after a number or a
 * literal ("[1\0]"), it rejects every NUL byte, because the broker forwards the text
 * as it came and the archive stores it as text.
 * Returns a new reference, or NULL with err filled. */
json_t *jsontext_parse(const void *text, size_t len, struct jsontext_error *err);

/* Size of the numbers of a parsed text. */
struct jsontext_numbers {
    size_t digits;   /* maximum digits of one number, both sides of its decimal point */
    size_t exponent; /* maximum exponent, sign ignored, capped at 1,000,000 */
};

/* Parses as jsontext_parse does and fills numbers, so that a caller with limits on
 * numbers needs no second pass over the text. On failure, numbers covers the text
 * read before the error. */
json_t *jsontext_parse_numbers(const void *text, size_t len,
                               struct jsontext_numbers *numbers,
                               struct jsontext_error *err);

/* Whether any of the 8 bytes at p is a quote, a backslash or a control character, the
 * bytes that end a plain run of a string. A word-wise test: a byte b is zero when
 * (b - 1) & ~b has its top bit set, and below 0x20 when (b - 0x20) & ~b has. A borrow
 * can only pass to the bytes after one that is found, so the result for the whole word
 * is exact. */
static inline bool jsontext_word_ends_run(const char *p)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t w, quote, backslash;

    memcpy(&w, p, 8);
    quote = w ^ (ones * '"');
    backslash = w ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
            ((w - ones * 0x20) & ~w)) &
           high;
}

#endif
