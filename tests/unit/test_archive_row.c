/* Reading archive rows from stamped alerts. The stamp read without a JSON tree must
 * give the row that a full parse gives, and every other form must go to the full
 * parse and get its verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_row.h"
#include "policy_fixture.h"
#include "stamp.h"

#define TOPIC "iactn/alerts/CO/imminent-threat"

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

/* Stamps `alert` as the plugin does, from `principal` to the first n_states of the
 * fixture's states and to the agencies listed (NULL-terminated). */
static char *stamp_for(void **state, json_t *alert, const char *principal,
                       size_t n_states, const char *const *agencies, size_t *len)
{
    static const char *const states[] = {"CO", "MX", "CA", "BR", "AR", "PE"};
    const struct iactn_policy *p = *state;
    struct iactn_recipients r = {0};
    struct timespec when = {1796485200, 5000000};
    char *out;

    for (size_t i = 0; i < n_states; i++) {
        state_set_add(&r.states, states[i]);
    }
    for (; agencies != NULL && *agencies != NULL; agencies++) {
        r.agencies[r.n_agencies++] = *agencies;
    }
    out = stamp_write(alert, policy_find_principal(p, principal), &r, &when, malloc, len);
    assert_non_null(out);
    return out;
}

/* Builds the array literal of a JSON array of strings, e.g. {"CA","CO"}. */
static void literal_of(json_t *array, char *out, size_t size)
{
    size_t i, used = 0;
    json_t *item;

    used += (size_t)snprintf(out, size, "{");
    json_array_foreach(array, i, item) {
        used += (size_t)snprintf(out + used, size - used, "%s\"%s\"", i ? "," : "",
                                 json_string_value(item));
    }
    snprintf(out + used, size - used, "}");
}

static void assert_member(const char *actual, json_t *object, const char *name)
{
    json_t *value = json_object_get(object, name);

    if (value == NULL || json_is_null(value)) {
        assert_null(actual);
        return;
    }
    assert_non_null(actual);
    assert_string_equal(actual, json_string_value(value));
}

/* Checks `row` against the payload as jansson reads it. */
static void assert_row_matches(const struct archive_row *row, const char *payload,
                               size_t len)
{
    json_t *doc = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *stamp = json_object_get(doc, "iactn");
    json_t *sender = json_object_get(stamp, "sender");
    json_t *recipients = json_object_get(stamp, "recipients");
    char expected[1024];

    assert_non_null(doc);
    assert_member(row->id, doc, "id");
    assert_member(row->category, doc, "category");
    assert_member(row->tlp, doc, "tlp");
    assert_member(row->status, doc, "status");
    assert_member(row->msg_type, doc, "msg_type");
    assert_member(row->sent, doc, "sent");
    assert_member(row->expires, doc, "expires");
    assert_member(row->sender, sender, "principal");
    assert_member(row->sender_agency, sender, "agency");
    assert_member(row->received_at, stamp, "received");
    literal_of(json_object_get(recipients, "states"), expected, sizeof(expected));
    assert_string_equal(row->recipient_states, expected);
    literal_of(json_object_get(recipients, "agencies"), expected, sizeof(expected));
    assert_string_equal(row->recipient_agencies, expected);
    assert_int_equal(row->payload_len, len);
    assert_memory_equal(row->payload, payload, len);
    json_decref(doc);
}

static void read_and_match(const char *payload, size_t len, int expect_fast)
{
    struct archive_row row;
    char err[256];

    assert_int_equal(archive_row_parse(&row, TOPIC, payload, len, err, sizeof(err)), 0);
    assert_row_matches(&row, payload, len);
    if (expect_fast) {
        assert_non_null(row.stamp_text);
    } else {
        assert_null(row.stamp_text);
    }
    archive_row_clear(&row);
}

/* Every valid alert of the fixtures, stamped for a state principal and for one of no
 * state, to one state, to several with an agency, and to six with two agencies. */
static void stamped_fixtures_read_without_tree(void **state)
{
    static const char *const one_agency[] = {"mx-cni", NULL};
    static const char *const two_agencies[] = {"mx-cni", "ca-rcmp", NULL};
    static const char *const principals[] = {"co-dni-liaison", "iactn-bridge"};
    const char *dir_path = IACTN_ALERT_FIXTURES "/valid";
    DIR *dir = opendir(dir_path);
    struct dirent *entry;
    int files = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL) {
        char path[1024];
        size_t text_len;
        char *text;
        json_t *alert;

        if (strstr(entry->d_name, ".json") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
        text = fixture_read_file(path, &text_len);
        alert = json_loadb(text, text_len, 0, NULL);
        assert_non_null(alert);
        for (size_t i = 0; i < 2; i++) {
            const char *const *lists[] = {NULL, one_agency, two_agencies};
            const size_t counts[] = {1, 3, 6};

            for (size_t j = 0; j < 3; j++) {
                size_t len;
                char *payload =
                    stamp_for(state, alert, principals[i], counts[j], lists[j], &len);

                read_and_match(payload, len, 1);
                free(payload);
            }
        }
        json_decref(alert);
        free(text);
        files++;
    }
    closedir(dir);
    assert_true(files > 10);
}

/* Replaces the first occurrence of `from` in `payload` by `to`. */
static char *edit(const char *payload, const char *from, const char *to)
{
    const char *at = strstr(payload, from);
    size_t head, size;
    char *out;

    assert_non_null(at);
    head = (size_t)(at - payload);
    size = strlen(payload) - strlen(from) + strlen(to) + 1;
    out = malloc(size);
    assert_non_null(out);
    memcpy(out, payload, head);
    snprintf(out + head, size - head, "%s%s", to, at + strlen(from));
    return out;
}

static char *sample(void **state, size_t *len)
{
    static const char *const agencies[] = {"mx-cni", NULL};
    json_t *alert = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                              "0b7f3c3e-6a55-4c3e-9d1a-2f4b5c6d7e8f", "sent",
                              "2026-12-04T10:00:00Z", "status", "exercise", "msg_type",
                              "alert", "tlp", "AMBER", "category", "imminent-threat",
                              "expires", "2026-12-05T10:00:00Z", "headline", "x");
    char *payload = stamp_for(state, alert, "co-dni-liaison", 3, agencies, len);
    char *text = malloc(*len + 1);

    assert_non_null(text);
    memcpy(text, payload, *len);
    text[*len] = '\0';
    free(payload);
    json_decref(alert);
    return text;
}

/* Valid JSON in another form than the plugin writes: the full parse reads it. */
static void other_forms_use_full_parse(void **state)
{
    static const char *const edits[][2] = {
        {"{\"iactn\":", "{ \"iactn\":"},
        {"\"principal\":\"co-dni-liaison\"", "\"principal\":\"co-dni-liaison\" "},
        {"\"principal\":\"co-dni-liaison\"", "\"principal\":\"\\u0063o-dni-liaison\""},
        {"\"states\":[\"CA\"", "\"states\":[ \"CA\""},
        {"\"role\":\"liaison\"", "\"role\":\"li\\u00e1ison\""},
        /* the archive does not read the sender's state of an alert */
        {"\"state\":\"CO\"", "\"state\":\"C\""},
    };
    size_t len;
    char *payload = sample(state, &len);

    read_and_match(payload, len, 1);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *variant = edit(payload, edits[i][0], edits[i][1]);

        read_and_match(variant, strlen(variant), 0);
        free(variant);
    }
    free(payload);
}

/* Forms that neither reader may archive. */
static void invalid_stamps_rejected(void **state)
{
    static const char *const edits[][2] = {
        {"\"role\":\"liaison\"", "\"role\":\"lia\x01ison\""},
        {"\"received\":", "\"received\":\"yesterday\",\"x\":"},
        {"\"states\":[\"CA\"", "\"states\":[\"Ca\""},
        {"\"agencies\":[\"mx-cni\"", "\"agencies\":[\"MX-CNI\""},
        {"\"principal\":\"co-dni-liaison\"", "\"principal\":\"Co-dni-liaison\""},
        {"\"agency\":\"co-dni\"", "\"agency\":\"co_dni\""},
        {"\"id\":", "\"iactn\":{},\"id\":"},
        {"\"id\":\"0b7f3c3e-6a55-4c3e-9d1a-2f4b5c6d7e8f\"", "\"id\":\"not-a-uuid\""},
        {"\"tlp\":\"AMBER\",", ""},
    };
    size_t len;
    char *payload = sample(state, &len);

    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *variant = edit(payload, edits[i][0], edits[i][1]);
        struct archive_row row;
        char err[256];
        int rc =
            archive_row_parse(&row, TOPIC, variant, strlen(variant), err, sizeof(err));

        if (rc == 0) {
            print_error("accepted: %s\n", variant);
            archive_row_clear(&row);
        }
        assert_int_equal(rc, -1);
        free(variant);
    }
    free(payload);
}

/* A NUL byte in a stamp string, after a valid start. jansson and the full parse reject
 * it as a control character, so the stamp reader must not stop its checks there. */
static void nul_in_stamp_rejected(void **state)
{
    static const char *const after[] = {
        "\"CA",
        "\"mx-cni",
        "\"principal\":\"co-dni-liaison",
        "\"agency\":\"co-dni",
        "\"received\":\"2026-12-05T15:40:00.005Z",
    };
    size_t len;
    char *payload = sample(state, &len);

    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        size_t at = (size_t)(strstr(payload, after[i]) - payload) + strlen(after[i]);
        char *variant = malloc(len + 1);
        struct archive_row row;
        char err[256];

        assert_non_null(variant);
        memcpy(variant, payload, at);
        variant[at] = '\0';
        memcpy(variant + at + 1, payload + at, len - at);
        assert_null(json_loadb(variant, len + 1, 0, NULL));
        assert_int_equal(
            archive_row_parse(&row, TOPIC, variant, len + 1, err, sizeof(err)), -1);
        free(variant);
    }
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stamped_fixtures_read_without_tree),
        cmocka_unit_test(other_forms_use_full_parse),
        cmocka_unit_test(invalid_stamps_rejected),
        cmocka_unit_test(nul_in_stamp_rejected),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
