/* Writing the broker's stamp and deciding deliveries from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_fixture.h"
#include "stamp.h"

static int setup(void **state)
{
    *state = fixture_policy();
    return 0;
}

static int teardown(void **state)
{
    policy_free(*state);
    return 0;
}

/* Stamps a forged alert from co-dni-liaison for CO, MX and CA (and, when agency is
 * set, for that agency only). The result is NUL-terminated, unlike stamp_write's own
 * buffer, so that tests may read it as a string. */
static char *stamp_sample(void **state, const char *agency, size_t *len)
{
    const struct iactn_policy *p = *state;
    json_t *alert = json_loads("{\"iactn\":{\"recipients\":{\"states\":[\"BR\"]}},"
                               "\"id\":\"x\",\"sender\":\"br-pf-system\",\"tlp\":\"GREEN\"}",
                               0, NULL);
    struct iactn_recipients r = {0};
    struct timespec when = {1796485200, 123000000};
    char *stamped, *out;

    state_set_add(&r.states, "MX");
    state_set_add(&r.states, "CO");
    state_set_add(&r.states, "CA");
    if (agency) {
        r.agencies[r.n_agencies++] = agency;
    }
    stamped = stamp_write(alert, policy_find_principal(p, "co-dni-liaison"), &r, &when,
                          malloc, len);
    json_decref(alert);
    assert_non_null(stamped);
    out = malloc(*len + 1);
    assert_non_null(out);
    memcpy(out, stamped, *len);
    out[*len] = '\0';
    free(stamped);
    return out;
}

static void stamp_replaces_forged_members(void **state)
{
    size_t len;
    char *out = stamp_sample(state, NULL, &len);
    json_t *j = json_loadb(out, len, 0, NULL);
    json_t *iactn;

    assert_non_null(j);
    iactn = json_object_get(j, "iactn");
    assert_null(json_object_get(j, "sender"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(iactn, "sender"), "principal")),
        "co-dni-liaison");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(iactn, "sender"), "state")), "CO");
    assert_string_equal(json_string_value(json_object_get(iactn, "received")),
                        "2026-12-05T15:40:00.123Z");
    assert_int_equal(json_array_size(json_object_get(json_object_get(iactn, "recipients"),
                                                     "states")),
                     3);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "x");
    assert_int_equal(strncmp(out, "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"CO\",\"MX\"]",
                             48),
                     0);
    json_decref(j);
    free(out);
}

static void permits_recipient_states_only(void **state)
{
    size_t len;
    char *out = stamp_sample(state, NULL, &len);

    assert_int_equal(stamp_permits(out, len, "MX", "mx-cni"), STAMP_ALLOW);
    assert_int_equal(stamp_permits(out, len, "CO", "co-dni"), STAMP_ALLOW);
    assert_int_equal(stamp_permits(out, len, "BR", "br-pf"), STAMP_DENY);
    assert_int_equal(stamp_permits(out, len, "", NULL), STAMP_DENY);
    free(out);
}

static void agency_list_restricts_delivery(void **state)
{
    size_t len;
    char *out = stamp_sample(state, "mx-cni", &len);

    assert_int_equal(stamp_permits(out, len, "MX", "mx-cni"), STAMP_ALLOW);
    assert_int_equal(stamp_permits(out, len, "MX", "mx-other"), STAMP_DENY);
    assert_int_equal(stamp_permits(out, len, "CA", "ca-rcmp"), STAMP_DENY);
    assert_int_equal(stamp_permits(out, len, "MX", NULL), STAMP_DENY);
    free(out);
}

static void malformed_stamps_are_invalid(void **state)
{
    static const char *const bad[] = {
        "{\"id\":\"x\"}",
        "{\"iactn\":{\"recipients\":{\"states\":[\"MX\"",
        "{\"iactn\":{\"recipients\":{\"states\":[],\"agencies\":[]}}}",
        "{\"iactn\":{\"recipients\":{\"states\":[\"M\\u0058\"],\"agencies\":[]}}}",
        "{\"iactn\":{\"recipients\":{\"states\":[\"MX\"]}}}",
        "{\"iactn\":{\"recipients\":{\"states\":[\"MX\";\"CA\"],\"agencies\":[]}}}",
        "",
    };
    size_t len;
    char *out = stamp_sample(state, NULL, &len);

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (stamp_permits(bad[i], strlen(bad[i]), "MX", "mx-cni") != STAMP_INVALID) {
            fail_msg("case %zu was not invalid: %s", i, bad[i]);
        }
    }
    /* a stamp cut anywhere inside its recipient lists is never read as a permit */
    for (size_t cut = 0; cut < 60; cut++) {
        assert_int_equal(stamp_permits(out, cut, "MX", "mx-cni"), STAMP_INVALID);
    }
    free(out);
}

static void original_bytes_follow_stamp(void **state)
{
    const struct iactn_policy *p = *state;
    const char original[] = " {\"id\": \"x\",\n \"headline\": {\"es\": \"caf\u00e9\"}}";
    json_t *alert = json_loads(original, 0, NULL);
    struct iactn_recipients r = {0};
    struct timespec when = {1796485200, 0};
    size_t fast_len, slow_len;
    char *fast, *slow;
    json_t *a, *b;

    state_set_add(&r.states, "MX");
    fast = stamp_write_original(original, strlen(original),
                                policy_find_principal(p, "co-dni-liaison"), &r, &when,
                                malloc, &fast_len);
    slow = stamp_write(alert, policy_find_principal(p, "co-dni-liaison"), &r, &when, malloc,
                       &slow_len);
    assert_non_null(fast);
    assert_non_null(slow);
    a = json_loadb(fast, fast_len, JSON_REJECT_DUPLICATES, NULL);
    b = json_loadb(slow, slow_len, 0, NULL);
    assert_non_null(a);
    assert_true(json_equal(a, b));
    assert_int_equal(stamp_permits(fast, fast_len, "MX", "mx-cni"), STAMP_ALLOW);
    assert_int_equal(stamp_permits(fast, fast_len, "BR", "br-pf"), STAMP_DENY);
    /* the client's own bytes, white space included, are kept after the stamp */
    assert_non_null(strstr(fast, "\"id\": \"x\",\n \"headline\""));
    json_decref(a);
    json_decref(b);
    json_decref(alert);
    free(fast);
    free(slow);
}

/* Names are escaped as JSON strings, a document of only forged members still gives
 * valid JSON, and a name that is not UTF-8 yields no stamp at all. */
static void stamp_escapes_names(void **state)
{
    struct iactn_principal odd = {"ca\"x\\y\n\x01z", "CA", "ca-\"rcmp\"", ROLE_LIAISON,
                                  false, true};
    struct iactn_principal broken = {"ca-\xff", "CA", NULL, ROLE_LIAISON, false, true};
    json_t *alert = json_loads("{\"iactn\":1,\"sender\":2}", 0, NULL);
    struct iactn_recipients r = {0};
    struct timespec when = {1796485200, 0};
    json_t *j, *sender;
    size_t len;
    char *out;

    (void)state;
    state_set_add(&r.states, "CA");
    r.agencies[r.n_agencies++] = "ca-\"rcmp\"";
    out = stamp_write(alert, &odd, &r, &when, malloc, &len);
    assert_non_null(out);
    j = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    sender = json_object_get(json_object_get(j, "iactn"), "sender");
    assert_string_equal(json_string_value(json_object_get(sender, "principal")),
                        "ca\"x\\y\n\x01z");
    assert_string_equal(json_string_value(json_object_get(sender, "agency")), "ca-\"rcmp\"");
    assert_int_equal(stamp_permits(out, len, "CA", "ca-\"rcmp\""), STAMP_INVALID);
    json_decref(j);
    free(out);
    assert_null(stamp_write(alert, &broken, &r, &when, malloc, &len));
    json_decref(alert);
}

/* The memo gives the verdict stamp_permits gives, whatever came before: payloads
 * that share the memo's bytes, extend them, differ in their agencies, are cut short,
 * have other shapes or random damage, checked for principals of every kind. */
static void memo_agrees_with_full_read(void **state)
{
    static const char *const principals[][2] = {
        {"CA", NULL},     {"CO", "co-dni"}, {"MX", "mx-cni"}, {"BR", NULL}, {"", NULL},
        {"co", "co-dni"}, {"C", NULL},      {"CO", NULL},     {"MX", NULL},
    };
    const char *payloads[16];
    char many[1400] = "{\"iactn\":{\"recipients\":{\"states\":[";
    char copy[1400];
    struct stamp_memo memo = {0};
    size_t n = 0, hits = 0, sample_len;
    char *sample = stamp_sample(state, NULL, &sample_len);
    char *restricted = stamp_sample(state, "mx-cni", &sample_len);

    /* 250 items: more than the memo keeps */
    for (int i = 0; i < 250; i++) {
        char item[6];

        snprintf(item, sizeof(item), "%s\"%c%c\"", i ? "," : "", 'A' + i / 26,
                 'A' + i % 26);
        strcat(many, item);
    }
    strcat(many, "],\"agencies\":[]},\"sender\":{}}}");
    payloads[n++] = sample;
    payloads[n++] = restricted;
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"CO\"],"
                    "\"agencies\":[]}},\"id\":1}";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"CO\"],"
                    "\"agencies\":[\"co-dni\"]}},\"id\":1}";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"CO\"],"
                    "\"agencies\":[\"mx-cni\"";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"CO\"]";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"CO\",\"MX\"],"
                    "\"agencies\":[]}}}";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\",\"Co\"],"
                    "\"agencies\":[]}}}";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[\"CA\", \"CO\"],"
                    "\"agencies\":[]}}}";
    payloads[n++] = "{\"iactn\":{\"recipients\":{\"states\":[],\"agencies\":[]}}}";
    payloads[n++] = many;
    srand(7);
    for (int round = 0; round < 200000; round++) {
        /* deliveries of one alert follow each other: a new payload every 8 checks */
        const char *payload = payloads[(size_t)(round / 8 * 7919) % n];
        const char *const *principal = principals[rand() % 9];
        size_t len = strlen(payload);

        if (rand() % 4 == 0) {
            /* a damaged copy of the payload */
            memcpy(copy, payload, len);
            copy[rand() % len] = "\"],[AZ:"[rand() % 7];
            payload = copy;
        }
        if (rand() % 8 == 0) {
            len = (size_t)rand() % (len + 1);
        }
        if (memo.len > 0 && len > memo.len && memcmp(payload, memo.text, memo.len) == 0) {
            hits++;
        }
        if (stamp_permits_memo(&memo, payload, len, principal[0], principal[1]) !=
            stamp_permits(payload, len, principal[0], principal[1])) {
            fail_msg("round %d: verdicts differ for %s on %.*s", round, principal[0],
                     (int)len, payload);
        }
    }
    /* a good share of the checks went through the memo */
    if (hits < 50000) {
        fail_msg("only %zu of 200000 checks used the memo", hits);
    }
    free(sample);
    free(restricted);
}

/* The time in the stamp matches gmtime and strftime for every millisecond, for times
 * that repeat a second, move on, and go back. */
static void received_time_formatted(void **state)
{
    static const time_t seconds[] = {1796485200, 1796485200, 1796485201, 951782399,
                                     951782400,  0,          1796485201, 253402300799};
    char got[32], want[32], base[24];

    (void)state;
    for (size_t i = 0; i < sizeof(seconds) / sizeof(seconds[0]); i++) {
        for (long ms = 0; ms < 1000; ms += 7) {
            struct timespec t = {seconds[i], ms * 1000000 + 999999};
            struct tm tm;

            gmtime_r(&t.tv_sec, &tm);
            strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(want, sizeof(want), "%s.%03ldZ", base, ms);
            stamp_format_time(&t, got, sizeof(got));
            assert_string_equal(got, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stamp_replaces_forged_members),
        cmocka_unit_test(permits_recipient_states_only),
        cmocka_unit_test(agency_list_restricts_delivery),
        cmocka_unit_test(malformed_stamps_are_invalid),
        cmocka_unit_test(original_bytes_follow_stamp),
        cmocka_unit_test(stamp_escapes_names),
        cmocka_unit_test(memo_agrees_with_full_read),
        cmocka_unit_test(received_time_formatted),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
