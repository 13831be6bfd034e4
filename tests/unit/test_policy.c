/* The policy's indexes: which topic rights and sharing rules a check looks at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy_fixture.h"

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

/* Returns the ids of the rows that apply to a role and state, publish rows first, in
 * order, as digits ("21"). */
static const char *acl_ids(const struct iactn_policy *p, enum iactn_role role,
                           const char *state, char *out)
{
    size_t n = 0;

    for (int access = ACCESS_PUBLISH; access <= ACCESS_SUBSCRIBE; access++) {
        const struct iactn_acl_list *list = policy_acl_rules(p, access, role, state);

        for (size_t i = 0; i < list->n && n < 15; i++) {
            out[n++] = (char)('0' + list->entries[i].rule->id);
        }
    }
    out[n] = '\0';
    return out;
}

static void acl_rows_by_role_and_state(void **state)
{
    const struct iactn_policy *p = *state;
    char ids[16];

    assert_string_equal(acl_ids(p, ROLE_LIAISON, "CO", ids), "14");
    assert_string_equal(acl_ids(p, ROLE_LIAISON, "MX", ids), "214");
    assert_string_equal(acl_ids(p, ROLE_AGENCY_SYSTEM, "BR", ids), "4");
}

static void acl_scope_separates_network_principals(void **state)
{
    const struct iactn_policy *p = *state;
    char ids[16];

    assert_string_equal(acl_ids(p, ROLE_ADMIN, "", ids), "3");
    assert_string_equal(acl_ids(p, ROLE_ADMIN, "CO", ids), "4");
    assert_string_equal(acl_ids(p, ROLE_ARCHIVER, "", ids), "");
}

static void acl_unknown_state_gets_nothing(void **state)
{
    const struct iactn_policy *p = *state;

    assert_int_equal(policy_acl_rules(p, ACCESS_PUBLISH, ROLE_LIAISON, "ZZ")->n, 0);
    assert_int_equal(policy_acl_rules(p, ACCESS_PUBLISH, ROLE_ANY, "CO")->n, 0);
}

static void acl_entries_prepared_for_state(void **state)
{
    const struct iactn_policy *p = *state;
    const struct iactn_acl_list *co = policy_acl_rules(p, ACCESS_PUBLISH, ROLE_LIAISON, "CO");

    assert_int_equal(co->n, 1);
    assert_string_equal(co->entries[0].pattern, "iactn/alerts/CO/+");
    assert_int_equal(co->entries[0].literal_len, strlen("iactn/alerts/CO/"));
    assert_false(co->entries[0].needs_expand);
}

static void literal_prefix_stops_at_wildcards(void **state)
{
    (void)state;
    assert_int_equal(policy_literal_prefix("iactn/alerts/#"), strlen("iactn/alerts"));
    assert_int_equal(policy_literal_prefix("iactn/status/{principal}"),
                     strlen("iactn/status/"));
    assert_int_equal(policy_literal_prefix("#"), 0);
    assert_int_equal(policy_literal_prefix("+/x"), 0);
    assert_int_equal(policy_literal_prefix("a/b"), 3);
}

static void sharing_rules_of_origin_or_network(void **state)
{
    const struct iactn_policy *p = *state;
    const struct iactn_rule_list *co = policy_sharing_rules(p, "CO");
    const struct iactn_rule_list *mx = policy_sharing_rules(p, "MX");

    assert_int_equal(co->n, 2);
    assert_int_equal(((const struct iactn_sharing_rule *)co->items[0])->id, 2);
    assert_int_equal(((const struct iactn_sharing_rule *)co->items[1])->id, 3);
    assert_int_equal(mx->n, 1);
    assert_int_equal(((const struct iactn_sharing_rule *)mx->items[0])->id, 1);
}

static void lookups_find_entries(void **state)
{
    const struct iactn_policy *p = *state;
    const struct iactn_cert *cert = policy_find_cert(
        p, "0000000000000000000000000000000000000000000000000000000000000001");

    assert_non_null(cert);
    assert_string_equal(cert->principal->id, "co-dni-liaison");
    assert_null(policy_find_cert(p, "ff"));
    assert_true(policy_find_principal(p, "co-dni-liaison")->active);
    assert_false(policy_find_agency(p, "ar-dfi") == NULL);
    assert_true(policy_has_category(p, "cyber"));
    assert_false(policy_has_category(p, "weather"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acl_rows_by_role_and_state),
        cmocka_unit_test(acl_scope_separates_network_principals),
        cmocka_unit_test(acl_unknown_state_gets_nothing),
        cmocka_unit_test(acl_entries_prepared_for_state),
        cmocka_unit_test(literal_prefix_stops_at_wildcards),
        cmocka_unit_test(sharing_rules_of_origin_or_network),
        cmocka_unit_test(lookups_find_entries),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
