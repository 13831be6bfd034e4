/* Recipient computation from sharing rules, distribution and TLP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy_fixture.h"
#include "sharing.h"

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

/* Returns the recipient states as "CA,CO,MX" in out. */
static const char *states_text(const struct iactn_recipients *r, char *out)
{
    char codes[POLICY_STATE_SLOTS][3];
    size_t n = state_set_list(&r->states, codes, POLICY_STATE_SLOTS);

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, i ? "," : "");
        strcat(out, codes[i]);
    }
    return out;
}

/* Runs sharing_compute for co-dni-liaison with a distribution given as JSON text
 * (NULL for none). Returns its result; *reason is set on failure. */
static int compute(void **state, const char *category, const char *tlp,
                   const char *distribution, struct iactn_recipients *out,
                   const char **reason)
{
    const struct iactn_policy *p = *state;
    json_t *d = distribution ? json_loads(distribution, 0, NULL) : NULL;
    struct iactn_sharing_error err = {0};
    int rc;

    rc = sharing_compute(p, policy_find_principal(p, "co-dni-liaison"), category, tlp, d,
                         out, &err);
    json_decref(d);
    *reason = err.reason;
    return rc;
}

static void default_reaches_active_states_only(void **state)
{
    struct iactn_recipients r;
    const char *reason;
    char text[256];

    assert_int_equal(compute(state, "attack", "GREEN", NULL, &r, &reason), 0);
    assert_string_equal(states_text(&r, text), "AR,BR,CA,CO,MX,PE");
    assert_int_equal(r.n_agencies, 0);
}

static void distribution_narrows_and_keeps_origin(void **state)
{
    struct iactn_recipients r;
    const char *reason;
    char text[256];

    assert_int_equal(
        compute(state, "attack", "AMBER", "{\"states\":[\"MX\",\"CA\"]}", &r, &reason), 0);
    assert_string_equal(states_text(&r, text), "CA,CO,MX");
}

static void deny_rule_beats_allow(void **state)
{
    struct iactn_recipients r;
    const char *reason;
    char text[256];

    assert_int_equal(compute(state, "cyber", "GREEN", NULL, &r, &reason), 0);
    assert_string_equal(states_text(&r, text), "AR,CA,CO,MX,PE");
    assert_int_equal(compute(state, "cyber", "GREEN", "{\"states\":[\"BR\"]}", &r, &reason),
                     -1);
    assert_string_equal(reason, "not_permitted");
}

static void unknown_or_inactive_states_rejected(void **state)
{
    struct iactn_recipients r;
    const char *reason;

    assert_int_equal(compute(state, "attack", "GREEN", "{\"states\":[\"ZZ\"]}", &r, &reason),
                     -1);
    assert_string_equal(reason, "unknown_state");
    assert_int_equal(compute(state, "attack", "GREEN", "{\"states\":[\"CU\"]}", &r, &reason),
                     -1);
    assert_string_equal(reason, "not_permitted");
}

static void group_expands_to_permitted_members(void **state)
{
    struct iactn_recipients r;
    const char *reason;
    char text[256];

    assert_int_equal(compute(state, "attack", "GREEN", "{\"groups\":[\"andean\"]}", &r,
                             &reason),
                     0);
    assert_string_equal(states_text(&r, text), "CO,PE");
    assert_int_equal(compute(state, "attack", "GREEN", "{\"groups\":[\"nordic\"]}", &r,
                             &reason),
                     -1);
    assert_string_equal(reason, "unknown_group");
}

static void red_goes_to_named_agencies_and_sender(void **state)
{
    struct iactn_recipients r;
    const char *reason;
    char text[256];

    assert_int_equal(compute(state, "attack", "RED",
                             "{\"agencies\":[\"mx-cni\"],\"states\":[\"CA\"]}", &r, &reason),
                     0);
    assert_string_equal(states_text(&r, text), "CO,MX");
    assert_int_equal(r.n_agencies, 2);
    assert_string_equal(r.agencies[0], "mx-cni");
    assert_string_equal(r.agencies[1], "co-dni");
}

static void red_to_suspended_or_unknown_agency_rejected(void **state)
{
    struct iactn_recipients r;
    const char *reason;

    assert_int_equal(
        compute(state, "attack", "RED", "{\"agencies\":[\"ar-dfi\"]}", &r, &reason), -1);
    assert_string_equal(reason, "not_permitted");
    assert_int_equal(
        compute(state, "attack", "RED", "{\"agencies\":[\"xx-none\"]}", &r, &reason), -1);
    assert_string_equal(reason, "unknown_agency");
    assert_int_equal(
        compute(state, "cyber", "RED", "{\"agencies\":[\"br-pf\"]}", &r, &reason), -1);
    assert_string_equal(reason, "not_permitted");
}

static void origin_without_rules_uses_network_default(void **state)
{
    const struct iactn_policy *p = *state;
    struct iactn_state_set s = sharing_permitted_states(p, "MX", "cyber");

    assert_true(state_set_contains(&s, "BR"));
    assert_true(state_set_contains(&s, "MX"));
    assert_false(state_set_contains(&s, "CU"));
}

static void network_principal_cannot_originate(void **state)
{
    const struct iactn_policy *p = *state;
    struct iactn_recipients r;
    struct iactn_sharing_error err = {0};

    assert_int_equal(sharing_compute(p, policy_find_principal(p, "iactn-bridge"), "attack",
                                     "GREEN", NULL, &r, &err),
                     -1);
    assert_string_equal(err.reason, "no_state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_reaches_active_states_only),
        cmocka_unit_test(distribution_narrows_and_keeps_origin),
        cmocka_unit_test(deny_rule_beats_allow),
        cmocka_unit_test(unknown_or_inactive_states_rejected),
        cmocka_unit_test(group_expands_to_permitted_members),
        cmocka_unit_test(red_goes_to_named_agencies_and_sender),
        cmocka_unit_test(red_to_suspended_or_unknown_agency_rejected),
        cmocka_unit_test(origin_without_rules_uses_network_default),
        cmocka_unit_test(network_principal_cannot_originate),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
