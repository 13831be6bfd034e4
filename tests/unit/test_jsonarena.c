/* The JSON arena. Values made in a scope come from the thread's block and equal those
 * made with malloc. Values made outside a scope or on another thread use malloc, and so
 * do values past the end of a full block. Text from json_dumps is freed right in both
 * cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "jsonarena.h"
#include "policy_fixture.h"

#define FIXTURE IACTN_ALERT_FIXTURES "/valid/amber_with_states.json"

static int setup(void **state)
{
    (void)state;
    json_arena_install();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_arena_uninstall();
    return 0;
}

static void values_in_scope_come_from_block(void **state)
{
    struct iactn_alert_error err = {0};
    size_t len;
    char *text = fixture_read_file(FIXTURE, &len);
    json_t *outside, *inside;

    (void)state;
    outside = alert_parse(text, len, &err);
    assert_non_null(outside);
    assert_false(json_arena_owns(outside));

    json_arena_open();
    inside = alert_parse(text, len, &err);
    assert_non_null(inside);
    assert_true(json_arena_owns(inside));
    assert_true(json_arena_owns(json_object_get(inside, "id")));
    assert_true(json_equal(inside, outside));
    assert_int_equal(alert_validate(inside, &err), 0);
    json_decref(inside);
    json_arena_close();

    /* the next scope reuses the block from its start */
    json_arena_open();
    inside = alert_parse(text, len, &err);
    assert_true(json_arena_owns(inside));
    assert_true(json_equal(inside, outside));
    json_decref(inside);
    json_arena_close();

    json_decref(outside);
    free(text);
}

static void dumped_text_is_freed(void **state)
{
    json_t *value;
    char *text;

    (void)state;
    json_arena_open();
    value = json_pack("{s:s,s:i}", "reason", "schema", "count", 3);
    text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
    assert_true(json_arena_owns(text));
    assert_string_equal(text, "{\"count\":3,\"reason\":\"schema\"}");
    json_text_free(text);
    json_decref(value);
    json_arena_close();

    value = json_pack("{s:s}", "reason", "schema");
    text = json_dumps(value, JSON_COMPACT);
    assert_false(json_arena_owns(text));
    json_text_free(text);
    json_decref(value);
}

static void full_block_falls_back_to_malloc(void **state)
{
    size_t n = JSON_ARENA_BYTES / 16;
    json_t *array, *last;

    (void)state;
    json_arena_open();
    array = json_array();
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(json_array_append_new(array, json_integer((json_int_t)i)), 0);
    }
    last = json_array_get(array, n - 1);
    assert_true(json_arena_owns(array));
    assert_false(json_arena_owns(last));
    assert_int_equal(json_integer_value(last), (json_int_t)(n - 1));
    json_decref(array);
    json_arena_close();
}

static void empty_request_on_full_block(void **state)
{
    json_malloc_t allocate;
    json_free_t release;
    void *filler, *empty;

    (void)state;
    json_get_alloc_funcs(&allocate, &release);
    json_arena_open();
    filler = allocate(JSON_ARENA_BYTES);
    assert_true(json_arena_owns(filler));
    empty = allocate(0);
    assert_false(json_arena_owns(empty));
    release(empty);
    release(filler);
    json_arena_close();
}

static void *make_value_on_thread(void *arg)
{
    json_t *value = json_string("from another thread");
    bool *owned = arg;

    *owned = json_arena_owns(value);
    json_decref(value);
    return NULL;
}

static void other_threads_use_malloc(void **state)
{
    pthread_t thread;
    bool owned = true;
    json_t *mine;

    (void)state;
    json_arena_open();
    mine = json_string("main thread");
    assert_int_equal(pthread_create(&thread, NULL, make_value_on_thread, &owned), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_false(owned);
    assert_true(json_arena_owns(mine));
    json_decref(mine);
    json_arena_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_in_scope_come_from_block),
        cmocka_unit_test(dumped_text_is_freed),
        cmocka_unit_test(full_block_falls_back_to_malloc),
        cmocka_unit_test(empty_request_on_full_block),
        cmocka_unit_test(other_threads_use_malloc),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
