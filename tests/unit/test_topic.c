/* Topic matching and the filter relations that subscription checks rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "topic.h"

struct pair_case {
    const char *a;
    const char *b;
    bool expected;
};

static void run_cases(const struct pair_case *cases, size_t n, bool (*fn)(const char *,
                                                                          const char *))
{
    for (size_t i = 0; i < n; i++) {
        if (fn(cases[i].a, cases[i].b) != cases[i].expected) {
            fail_msg("case %zu: (%s, %s) expected %d", i, cases[i].a, cases[i].b,
                     cases[i].expected);
        }
    }
}

static void matches_follows_mqtt_rules(void **state)
{
    static const struct pair_case cases[] = {
        {"iactn/alerts/#", "iactn/alerts/CO/attack", true},
        {"iactn/alerts/#", "iactn/alerts", true},
        {"iactn/alerts/+/attack", "iactn/alerts/CO/attack", true},
        {"iactn/alerts/+/attack", "iactn/alerts/CO/cyber", false},
        {"iactn/alerts/+", "iactn/alerts/CO/attack", false},
        {"#", "iactn/alerts/CO/attack", true},
        {"#", "$SYS/broker/uptime", false},
        {"+/broker/uptime", "$SYS/broker/uptime", false},
        {"$SYS/#", "$SYS/broker/uptime", true},
        {"a/b", "a/b/", false},
        {"a/+/", "a/x/", true},
        {"a/b", "a/b", true},
    };

    (void)state;
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), topic_matches);
}

static void intersect_finds_common_topics(void **state)
{
    static const struct pair_case cases[] = {
        {"iactn/alerts/CO/+", "iactn/alerts/+/attack", true},
        {"iactn/alerts/CO/+", "iactn/alerts/MX/+", false},
        {"#", "iactn/acks/CO/MX", true},
        {"iactn/acks/+/CO", "iactn/acks/#", true},
        {"a/b", "a/b/#", true},
        {"a", "a/+", false},
        {"#", "$SYS/#", false},
        {"+/+", "$SYS/x", false},
        {"$SYS/#", "$SYS/broker/+", true},
    };

    (void)state;
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), topic_filters_intersect);
}

static void covers_only_when_every_topic_is_inside(void **state)
{
    static const struct pair_case cases[] = {
        {"iactn/alerts/#", "iactn/alerts/#", true},
        {"iactn/alerts/#", "iactn/alerts/+/+", true},
        {"iactn/alerts/#", "iactn/alerts", true},
        {"iactn/alerts/#", "iactn/#", false},
        {"iactn/alerts/#", "#", false},
        {"iactn/alerts/#", "+/alerts/#", false},
        {"iactn/acks/+/CO", "iactn/acks/MX/CO", true},
        {"iactn/acks/+/CO", "iactn/acks/+/+", false},
        {"iactn/acks/+/CO", "iactn/acks/#", false},
        {"iactn/acks/+/CO", "iactn/acks/MX", false},
        {"a/+", "a/#", false},
        {"a/#", "a", true},
        {"#", "$SYS/#", false},
        {"#", "+/x", true},
        {"$SYS/#", "$SYS/broker/+", true},
    };

    (void)state;
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), topic_filter_covers);
}

static void filter_validity(void **state)
{
    (void)state;
    assert_true(topic_filter_is_valid("iactn/alerts/#"));
    assert_true(topic_filter_is_valid("+/+/+"));
    assert_false(topic_filter_is_valid(""));
    assert_false(topic_filter_is_valid("a/#/b"));
    assert_false(topic_filter_is_valid("a/b#"));
    assert_false(topic_filter_is_valid("a/+b"));
}

static void share_prefix_is_stripped(void **state)
{
    (void)state;
    assert_string_equal(topic_strip_share("$share/g/iactn/alerts/#"), "iactn/alerts/#");
    assert_string_equal(topic_strip_share("iactn/alerts/#"), "iactn/alerts/#");
    assert_null(topic_strip_share("$share/g"));
    assert_null(topic_strip_share("$share//a"));
    assert_null(topic_strip_share("$share/g/"));
    assert_null(topic_strip_share("$share/g+/a"));
}

static void alert_topic_parts(void **state)
{
    char origin[3], category[TOPIC_CATEGORY_MAX + 1];

    (void)state;
    assert_int_equal(topic_parse_alert("iactn/alerts/CO/imminent-threat", origin, category),
                     0);
    assert_string_equal(origin, "CO");
    assert_string_equal(category, "imminent-threat");
    assert_int_equal(topic_parse_alert("iactn/alerts/co/attack", origin, category), -1);
    assert_int_equal(topic_parse_alert("iactn/alerts/COL/attack", origin, category), -1);
    assert_int_equal(topic_parse_alert("iactn/alerts/CO/attack/x", origin, category), -1);
    assert_int_equal(topic_parse_alert("iactn/alerts/CO/", origin, category), -1);
    assert_int_equal(topic_parse_alert("iactn/acks/CO/MX", origin, category), -1);
}

static void placeholders_expand(void **state)
{
    struct iactn_topic_vars vars = {"CO", "co-dni", "co-dni-liaison"};
    struct iactn_topic_vars network = {"", NULL, "iactn-bridge"};
    struct iactn_topic_vars hostile = {"CO", "co-dni", "evil/#"};
    char out[64];

    (void)state;
    assert_int_equal(topic_expand("iactn/alerts/{state}/+", &vars, out, sizeof(out)), 0);
    assert_string_equal(out, "iactn/alerts/CO/+");
    assert_int_equal(topic_expand("iactn/status/{principal}", &vars, out, sizeof(out)), 0);
    assert_string_equal(out, "iactn/status/co-dni-liaison");
    assert_int_equal(topic_expand("iactn/alerts/{state}/+", &network, out, sizeof(out)), -1);
    assert_int_equal(topic_expand("iactn/status/{principal}", &hostile, out, sizeof(out)),
                     -1);
    assert_int_equal(topic_expand("iactn/{unknown}", &vars, out, sizeof(out)), -1);
    assert_int_equal(topic_expand("iactn/status/{principal}", &vars, out, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_follows_mqtt_rules),
        cmocka_unit_test(intersect_finds_common_topics),
        cmocka_unit_test(covers_only_when_every_topic_is_inside),
        cmocka_unit_test(filter_validity),
        cmocka_unit_test(share_prefix_is_stripped),
        cmocka_unit_test(alert_topic_parts),
        cmocka_unit_test(placeholders_expand),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
