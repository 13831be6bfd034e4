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
#include <stddef.h>

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

#endif
