/* The broker's JSON reader must accept exactly the texts jansson accepts (with
 * JSON_REJECT_DUPLICATES), except for a NUL byte after a number or a literal, and build
 * equal values. Each case is read by both and the results compared: hand-written edge
 * cases, the fixture corpus, and many random mutations of the fixtures. For each
 * accepted text, the maximum digits and exponent that the reader reports must match a
 * plain scan of the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "jsontext.h"
#include "number_scan.h"

/* Reads text with both parsers and fails the test when they disagree. Returns 1 when
 * both accepted it. Texts that are not UTF-8 are skipped: alert_parse rejects them
 * before either parser runs. */
static int agree(const char *text, size_t len)
{
    struct jsontext_error err;
    json_error_t jerr;
    json_t *ours, *theirs;
    int accepted;

    if (!alert_is_utf8((const unsigned char *)text, len)) {
        return 0;
    }
    ours = jsontext_parse(text, len, &err);
    theirs = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if ((ours == NULL) != (theirs == NULL)) {
        fail_msg("parsers disagree on %.*s: ours %s (%s), jansson %s (%s)", (int)len, text,
                 ours ? "accepted" : "rejected", ours ? "" : err.text,
                 theirs ? "accepted" : "rejected", theirs ? "" : jerr.text);
    }
    if (ours && !json_equal(ours, theirs)) {
        fail_msg("parsers built different values from %.*s", (int)len, text);
    }
    if (ours) {
        struct jsontext_numbers found, expected = scan_numbers(text, len);
        json_t *again = jsontext_parse_numbers(text, len, &found, &err);

        if (found.digits != expected.digits || found.exponent != expected.exponent) {
            fail_msg(
                "numbers of %.*s: read %zu digits, exponent %zu; the scan found %zu, "
                "%zu",
                (int)len, text, found.digits, found.exponent, expected.digits,
                expected.exponent);
        }
        json_decref(again);
    }
    accepted = ours != NULL;
    json_decref(ours);
    json_decref(theirs);
    return accepted;
}

static void agree_str(const char *text, int expect_accepted)
{
    if (agree(text, strlen(text)) != expect_accepted) {
        fail_msg("%s was %s", text, expect_accepted ? "rejected" : "accepted");
    }
}

static void edge_cases(void **state)
{
    static const char *const good[] = {
        "{}", "[]", " \t\r\n{ } \n", "{\"a\":1}", "[1,-0,0.5,-1.5e3,1E+2,2e-2]",
        "{\"a\":{\"b\":[true,false,null]}}", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
        "[\"\\u00e9\\u20AC\\ud83d\\ude00\"]", "{\"k\\u00e9y\":\"v\"}", "[\"caf\xc3\xa9\"]",
        "[9223372036854775807,-9223372036854775808]", "[1e-400]", "[\"\x7f\"]",
        "{\"a\":1,\"b\":2,\"A\":3}", "[[[]]]", "[1.0e0]", "{\"\":\"\"}",
    };
    static const char *const bad[] = {
        "", " ", "1", "\"x\"", "true", "{", "[", "{]", "[}", "{\"a\"}", "{\"a\":}",
        "{\"a\":1,}", "[1,]", "[,1]", "{a:1}", "['x']", "[01]", "[-]", "[1.]", "[.5]",
        "[1e]", "[1e+]", "[+1]", "[0x10]", "[Infinity]", "[NaN]", "[tru]", "[truex]",
        "[nul]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u0000\"]", "{\"\\u0000\":1}",
        "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"\\ud800x\"]",
        "[\"a\nb\"]", "[\"a\tb\"]", "[\"\x01\"]", "{\"a\":1,\"a\":2}",
        "{\"a\":1,\"\\u0061\":2}", "[9223372036854775808]", "[-9223372036854775809]",
        "[1e400]", "[-1e400]", "{} {}", "{}x", "[1 2]", "[\"abc", "[\"abc\\",
        "{\"a\" 1}", "[1]]", "[\"\\ud83d\\ude00\\u\"]",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        agree_str(good[i], 1);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        agree_str(bad[i], 0);
    }
    /* NUL bytes inside the text */
    assert_int_equal(agree("{\"a\":\"\0\"}", 9), 0);
    assert_int_equal(agree("{}\0", 3), 0);
}

/* Nesting of n arrays, with a number at the bottom when scalar is set. */
static void nesting(size_t n, int scalar, int expect_accepted)
{
    char *text = malloc(2 * n + 2);
    size_t len = 0;

    assert_non_null(text);
    memset(text, '[', n);
    len = n;
    if (scalar) {
        text[len++] = '1';
    }
    memset(text + len, ']', n);
    len += n;
    assert_int_equal(agree(text, len), expect_accepted);
    free(text);
}

static void depth_limit(void **state)
{
    (void)state;
    nesting(JSON_PARSER_MAX_DEPTH, 0, 1);
    nesting(JSON_PARSER_MAX_DEPTH + 1, 0, 0);
    nesting(JSON_PARSER_MAX_DEPTH - 1, 1, 1);
    nesting(JSON_PARSER_MAX_DEPTH, 1, 0);
    nesting(20000, 0, 0);
}

static void long_numbers(void **state)
{
    char text[3000];

    (void)state;
    /* a real longer than any stack buffer, and an integer too long for long long */
    strcpy(text, "[0.");
    memset(text + 3, '1', 2500);
    strcpy(text + 2503, "e5]");
    assert_int_equal(agree(text, strlen(text)), 1);
    text[0] = '[';
    memset(text + 1, '7', 2500);
    strcpy(text + 2501, "]");
    assert_int_equal(agree(text, strlen(text)), 0);
}

/* The files of one fixture folder, read into memory. */
struct corpus {
    char *texts[256];
    size_t lens[256];
    size_t n;
};

static void load_folder(struct corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL && c->n < 256) {
        char path[1024];
        FILE *f;

        if (strstr(e->d_name, ".json") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        assert_non_null(f);
        c->texts[c->n] = malloc(1 << 17);
        assert_non_null(c->texts[c->n]);
        c->lens[c->n] = fread(c->texts[c->n], 1, 1 << 17, f);
        fclose(f);
        c->n++;
    }
    closedir(d);
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Applies one random edit: replaces, inserts or deletes bytes, with JSON's own
 * characters and escapes favoured so that most results are near-valid. */
static size_t mutate(char *text, size_t len, size_t cap, uint64_t *seed)
{
    static const char *const pieces[] = {
        "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", "\\udc00", "\\u0000",
        "0", "-", ".", "e", "E", "+", "1", "01", "9223372036854775808", "1e999", "true",
        "null", " ", "\n", "\x01", "\xc3\xa9", "\"id\"", "\"a\":1,", "[[", "]]",
    };
    const char *piece = pieces[next_random(seed) % (sizeof(pieces) / sizeof(pieces[0]))];
    size_t plen = strlen(piece);
    size_t at = len ? next_random(seed) % len : 0;

    switch (next_random(seed) % 3) {
    case 0: /* replace one byte */
        if (len > 0) {
            text[at] = piece[0];
        }
        return len;
    case 1: /* insert a piece */
        if (len + plen >= cap) {
            return len;
        }
        memmove(text + at + plen, text + at, len - at);
        memcpy(text + at, piece, plen);
        return len + plen;
    default: { /* delete a few bytes */
        size_t n = 1 + next_random(seed) % 4;

        if (at + n > len) {
            n = len - at;
        }
        memmove(text + at, text + at + n, len - at - n);
        return len - n;
    }
    }
}

static void fixtures_and_mutations(void **state)
{
    static const char *const folders[] = {IACTN_ALERT_FIXTURES "/valid",
                                          IACTN_ALERT_FIXTURES "/invalid",
                                          IACTN_ACK_FIXTURES "/valid",
                                          IACTN_ACK_FIXTURES "/invalid"};
    struct corpus c = {0};
    uint64_t seed = 0x9E3779B97F4A7C15u;
    size_t accepted = 0, compared = 0;
    char *work = malloc(1 << 18);

    (void)state;
    assert_non_null(work);
    for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
        load_folder(&c, folders[i]);
    }
    assert_true(c.n > 20);
    for (size_t i = 0; i < c.n; i++) {
        agree(c.texts[i], c.lens[i]);
    }
    for (int round = 0; round < 40000; round++) {
        size_t pick = next_random(&seed) % c.n;
        size_t len = c.lens[pick];
        int edits = 1 + (int)(next_random(&seed) % 3);

        memcpy(work, c.texts[pick], len);
        for (int k = 0; k < edits; k++) {
            len = mutate(work, len, 1 << 18, &seed);
        }
        accepted += (size_t)agree(work, len);
        compared++;
    }
    /* the mutations must exercise both outcomes to mean anything */
    assert_true(accepted > compared / 50);
    assert_true(accepted < compared - compared / 50);
    for (size_t i = 0; i < c.n; i++) {
        free(c.texts[i]);
    }
    free(work);
}

/* jansson's lexer drops one NUL byte that follows a number or a literal, because it
 * reads a pushed-back NUL as an empty buffer, so json_loadb accepts "[1\0]". This
 * reader rejects it, because the broker forwards the client's own bytes after the stamp
 * and the archive stores them as text, which cannot contain a NUL byte. */
static void nul_after_a_token_is_rejected(void **state)
{
#define WITH_LEN(s) {s, sizeof(s) - 1}
    static const struct {
        const char *text;
        size_t len;
    } cases[] = {
        WITH_LEN("[1\0]"),         WITH_LEN("[0\0]"),     WITH_LEN("[-1\0]"),
        WITH_LEN("[1.5\0,2]"),     WITH_LEN("[1e5\0 ]"),  WITH_LEN("[true\0]"),
        WITH_LEN("{\"a\":null\0}"), WITH_LEN("{\"a\":false\0,\"b\":1}"),
    };
#undef WITH_LEN
    struct jsontext_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* an exact-length copy, so a read past the end is caught */
        char *text = malloc(cases[i].len);

        assert_non_null(text);
        memcpy(text, cases[i].text, cases[i].len);
        assert_null(jsontext_parse(text, cases[i].len, &err));
        free(text);
    }
}

static void number_shapes(void **state)
{
    static const struct {
        const char *text;
        size_t digits, exponent;
    } cases[] = {
        {"[]", 0, 0},
        {"[1]", 1, 0},
        {"[-0.0012e-30]", 5, 30},
        {"[12345678901234567890.5, 7]", 21, 0},
        {"[1E+7,2e0009]", 1, 9},
        {"[1e-99999999999]", 1, 1000000},
        {"[\"1e5000 123456\", 0.5]", 2, 0},
        {"{\"a\":{\"b\":[-10e2]}}", 2, 2},
    };
    struct jsontext_numbers numbers;
    struct jsontext_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j =
            jsontext_parse_numbers(cases[i].text, strlen(cases[i].text), &numbers, &err);

        assert_non_null(j);
        json_decref(j);
        if (numbers.digits != cases[i].digits || numbers.exponent != cases[i].exponent) {
            fail_msg("%s: %zu digits, exponent %zu", cases[i].text, numbers.digits,
                     numbers.exponent);
        }
    }
}

static void error_position(void **state)
{
    struct jsontext_error err;

    (void)state;
    assert_null(jsontext_parse("{\n  \"a\": 1,\n  \"b\" 2}", 21, &err));
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 7);
    assert_string_equal(err.text, "':' expected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(edge_cases),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(long_numbers),
        cmocka_unit_test(fixtures_and_mutations),
        cmocka_unit_test(nul_after_a_token_is_rejected),
        cmocka_unit_test(error_position),
        cmocka_unit_test(number_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
