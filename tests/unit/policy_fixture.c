#include "policy_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

/* Makes a PGresult with ncols text columns from rows of strings. */
static PGresult *make_result(int ncols, const char *const *cells, int nrows)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[8];

    memset(attrs, 0, sizeof(attrs));
    for (int c = 0; c < ncols; c++) {
        attrs[c].name = (char *)"c";
        attrs[c].format = 0;
    }
    assert_int_equal(PQsetResultAttrs(res, ncols, attrs), 1);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];

            assert_int_equal(PQsetvalue(res, r, c, (char *)v, (int)strlen(v)), 1);
        }
    }
    return res;
}

#define RESULT(ncols, table) make_result(ncols, table, (int)(sizeof(table) / sizeof(table[0]) / ncols))

struct iactn_policy *fixture_policy(void)
{
    static const char *const states[] = {
        "CO", "t", "MX", "t", "CA", "t", "BR", "t", "AR", "t", "PE", "t", "CU", "f",
    };
    static const char *const categories[] = {"attack", "cyber", "imminent-threat"};
    static const char *const agencies[] = {
        "co-dni", "CO", "f", "mx-cni", "MX", "f", "ca-rcmp", "CA", "f",
        "br-pf",  "BR", "f", "ar-dfi", "AR", "t",
    };
    static const char *const principals[] = {
        "co-dni-liaison",  "CO", "co-dni", "liaison",       "f",
        "mx-cni-system",   "MX", "mx-cni", "agency-system", "f",
        "ca-rcmp-system",  "CA", "ca-rcmp", "agency-system", "f",
        "br-pf-system",    "BR", "br-pf",  "agency-system", "f",
        "iactn-bridge",    "",   "",       "archiver",      "f",
    };
    static const char *const certs[] = {
        "0000000000000000000000000000000000000000000000000000000000000001", "0",
        "4102444800", "f", "co-dni-liaison",
    };
    static const char *const acl[] = {
        /* ordered by priority, highest first, as policy_load_sql returns them */
        "2", "MX", "liaison", "publish",   "iactn/alerts/MX/cyber",  "f", "200", "any",
        "1", "",   "liaison", "publish",   "iactn/alerts/{state}/+", "t", "100", "any",
        "3", "",   "admin",   "publish",   "iactn/admin/+/request",  "t", "100", "network",
        "4", "",   "*",       "subscribe", "iactn/directory/#",      "t", "50",  "state",
    };
    static const char *const groups[] = {"andean", "CO", "andean", "PE", "andean", "CU"};
    static const char *const rules[] = {
        "1", "",   "*",     "",   "", "t",
        "2", "CO", "*",     "",   "", "t",
        "3", "CO", "cyber", "BR", "", "f",
    };
    PGresult *results[8];
    char err[256];
    struct iactn_policy *p;

    results[0] = RESULT(2, states);
    results[1] = RESULT(1, categories);
    results[2] = RESULT(3, agencies);
    results[3] = RESULT(5, principals);
    results[4] = RESULT(5, certs);
    results[5] = RESULT(8, acl);
    results[6] = RESULT(2, groups);
    results[7] = RESULT(6, rules);
    p = policy_build(results, 8, err, sizeof(err));
    for (int i = 0; i < 8; i++) {
        PQclear(results[i]);
    }
    if (p == NULL) {
        fail_msg("policy_build failed: %s", err);
    }
    return p;
}

char *fixture_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    text[size] = '\0';
    *len = (size_t)size;
    return text;
}
