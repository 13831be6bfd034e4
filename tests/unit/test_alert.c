/* Alert validation against the fixture corpus in tests/data/alerts. Files under
 * invalid/ are named REASON--what.json, and validation must fail with that reason. */
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
#include "policy_fixture.h"

/* The fixture folder of the current test: tests/data/alerts or tests/data/acks. */
static const char *fixtures = IACTN_ALERT_FIXTURES;

/* The validator the fixtures of the current test are checked with. */
static int (*validate)(json_t *, struct iactn_alert_error *) = alert_validate;

/* Parses and validates one file; returns the reason, or NULL when it is valid. */
static const char *check_file(const char *path, struct iactn_alert_error *err)
{
    size_t len;
    char *data = fixture_read_file(path, &len);
    json_t *alert = alert_parse(data, len, err);
    const char *reason = NULL;

    if (alert == NULL) {
        reason = err->reason;
    } else if (validate(alert, err) != 0) {
        reason = err->reason;
    }
    json_decref(alert);
    free(data);
    return reason;
}

static int for_each_fixture(const char *kind, void (*fn)(const char *dir, const char *name))
{
    char dir[512];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/%s", fixtures, kind);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".json")) {
            fn(dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void expect_valid(const char *dir, const char *name)
{
    char path[1024];
    struct iactn_alert_error err = {0};
    const char *reason;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    reason = check_file(path, &err);
    if (reason) {
        fail_msg("%s rejected: %s (%s) %s", name, reason, err.field, err.message);
    }
}

static void expect_invalid(const char *dir, const char *name)
{
    char path[1024], expected[64];
    struct iactn_alert_error err = {0};
    const char *sep = strstr(name, "--");
    const char *reason;

    assert_non_null(sep);
    snprintf(expected, sizeof(expected), "%.*s", (int)(sep - name), name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    reason = check_file(path, &err);
    if (reason == NULL) {
        fail_msg("%s accepted, expected reason %s", name, expected);
    }
    if (strcmp(reason, expected) != 0) {
        fail_msg("%s rejected with %s (%s), expected %s", name, reason, err.message,
                 expected);
    }
    assert_true(strlen(err.message) > 0);
}

static void valid_corpus_is_accepted(void **state)
{
    (void)state;
    assert_true(for_each_fixture("valid", expect_valid) > 0);
}

static void invalid_corpus_is_rejected_with_reason(void **state)
{
    (void)state;
    assert_true(for_each_fixture("invalid", expect_invalid) > 0);
}

static void ack_corpus_is_judged_by_reason(void **state)
{
    (void)state;
    fixtures = IACTN_ACK_FIXTURES;
    validate = alert_validate_ack;
    assert_true(for_each_fixture("valid", expect_valid) > 0);
    assert_true(for_each_fixture("invalid", expect_invalid) > 0);
    fixtures = IACTN_ALERT_FIXTURES;
    validate = alert_validate;
}

static void time_parsing_applies_offsets(void **state)
{
    time_t a, b;

    (void)state;
    assert_int_equal(alert_parse_time("2026-12-04T15:40:00Z", &a), 0);
    assert_int_equal(alert_parse_time("2026-12-04T10:40:00-05:00", &b), 0);
    assert_true(a == b);
    assert_int_equal(alert_parse_time("2026-12-04T15:40:00.5+00:00", &b), 0);
    assert_true(a == b);
    assert_int_equal(alert_parse_time("2026-12-04 15:40:00Z", &a), -1);
    assert_int_equal(alert_parse_time("2026-12-04T15:40Z", &a), -1);
    assert_int_equal(alert_parse_time("2026-12-04T15:40:00+0500", &a), -1);
    assert_int_equal(alert_parse_time("2026-12-04T15:40:00.Z", &a), -1);
    assert_int_equal(alert_parse_time("2026-12-04T15:40:00Zjunk", &a), -1);
}

/* Only days that exist, from year 1. PostgreSQL rejects the others, so such an alert
 * could be delivered and never archived. */
static void time_parsing_checks_month_lengths(void **state)
{
    time_t t;

    (void)state;
    assert_int_equal(alert_parse_time("2024-02-29T00:00:00Z", &t), 0);
    assert_int_equal(alert_parse_time("2000-02-29T00:00:00Z", &t), 0);
    assert_int_equal(alert_parse_time("2026-01-31T00:00:00Z", &t), 0);
    assert_int_equal(alert_parse_time("2026-02-29T00:00:00Z", &t), -1);
    assert_int_equal(alert_parse_time("2100-02-29T00:00:00Z", &t), -1);
    assert_int_equal(alert_parse_time("2026-02-31T00:00:00Z", &t), -1);
    assert_int_equal(alert_parse_time("2026-04-31T00:00:00Z", &t), -1);
    assert_int_equal(alert_parse_time("2026-11-31T00:00:00Z", &t), -1);
    assert_int_equal(alert_parse_time("0001-01-01T00:00:00Z", &t), 0);
    assert_int_equal(alert_parse_time("0000-01-01T00:00:00Z", &t), -1);
}

static void utf8_edge_cases(void **state)
{
    (void)state;
    assert_int_equal(alert_is_utf8((const unsigned char *)"caf\xc3\xa9", 5), 1);
    assert_int_equal(alert_is_utf8((const unsigned char *)"\xf0\x9f\x98\x80", 4), 1);
    assert_int_equal(alert_is_utf8((const unsigned char *)"caf\xc3", 4), 0);
    assert_int_equal(alert_is_utf8((const unsigned char *)"\xed\xa0\x80", 3), 0);
    assert_int_equal(alert_is_utf8((const unsigned char *)"\xe0\x80\xaf", 3), 0);
    assert_int_equal(alert_is_utf8((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(alert_is_utf8((const unsigned char *)"\xff", 1), 0);
}

/* A headline has at most 256 characters, whatever their width in bytes: 256 pass
 * and 257 fail for mixes of 1- to 4-byte characters that start at every offset. */
static void headline_length_counts_characters(void **state)
{
    static const char *const widths[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80"};
    char path[512], text[257 * 4 + 1];
    struct iactn_alert_error err = {0};
    json_t *alert;

    (void)state;
    snprintf(path, sizeof(path), "%s/valid/amber_with_states.json", fixtures);
    alert = json_load_file(path, 0, NULL);
    assert_non_null(alert);
    for (size_t shift = 0; shift < 8; shift++) {
        for (size_t count = 255; count <= 257; count++) {
            size_t used = 0;
            json_t *headline = json_object();

            for (size_t i = 0; i < count; i++) {
                /* runs of plain letters with wider characters between them */
                const char *c = widths[(i + shift) % 11 < 4 ? (i + shift) % 11 : 0];

                memcpy(text + used, c, strlen(c));
                used += strlen(c);
            }
            json_object_set_new(headline, "en", json_stringn(text, used));
            json_object_set_new(alert, "headline", headline);
            if ((alert_validate(alert, &err) == 0) != (count <= 256)) {
                fail_msg("%zu characters (%zu bytes, shift %zu) judged wrongly", count,
                         used, shift);
            }
        }
    }
    json_decref(alert);
}

/* Digits inside strings are text, whatever escapes come before them and wherever
 * they fall in the eight-byte words by which the number check skips strings. A real
 * number of 1,001 digits after such a string is rejected. */
static void long_numbers_found_outside_strings_only(void **state)
{
    static const char *const escapes[] = {"", "\\\"", "\\\\", "\\\\\\\"", "\\u0041"};
    char digits[1003], text[1200]; /* "7.777...": 1,001 digits */
    struct iactn_alert_error err = {0};

    (void)state;
    memset(digits, '7', 1002);
    digits[1] = '.';
    digits[1002] = '\0';
    for (size_t pad = 0; pad < 16; pad++) {
        for (size_t e = 0; e < sizeof(escapes) / sizeof(escapes[0]); e++) {
            json_t *j;

            snprintf(text, sizeof(text), "{\"a\":\"%.*s%s%s\"}", (int)pad,
                     "xxxxxxxxxxxxxxxx", escapes[e], digits);
            j = alert_parse(text, strlen(text), &err);
            if (j == NULL) {
                fail_msg("digits in a string refused (pad %zu, escape %zu): %s", pad, e,
                         err.reason);
            }
            json_decref(j);
            snprintf(text, sizeof(text), "{\"a\":\"%.*s%s\",\"b\":%s}", (int)pad,
                     "xxxxxxxxxxxxxxxx", escapes[e], digits);
            assert_null(alert_parse(text, strlen(text), &err));
            assert_string_equal(err.reason, "number_out_of_range");
        }
    }
}

static void payload_at_limit_is_parsed(void **state)
{
    size_t len = ALERT_MAX_BYTES;
    char *buf = malloc(len);
    struct iactn_alert_error err = {0};
    json_t *j;

    (void)state;
    memset(buf, ' ', len);
    memcpy(buf, "{\"a\":1}", 7);
    j = alert_parse(buf, len, &err);
    assert_non_null(j);
    json_decref(j);
    assert_null(alert_parse(buf, len + 1, &err));
    assert_string_equal(err.reason, "too_large");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_corpus_is_accepted),
        cmocka_unit_test(invalid_corpus_is_rejected_with_reason),
        cmocka_unit_test(ack_corpus_is_judged_by_reason),
        cmocka_unit_test(time_parsing_applies_offsets),
        cmocka_unit_test(time_parsing_checks_month_lengths),
        cmocka_unit_test(utf8_edge_cases),
        cmocka_unit_test(payload_at_limit_is_parsed),
        cmocka_unit_test(headline_length_counts_characters),
        cmocka_unit_test(long_numbers_found_outside_strings_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
