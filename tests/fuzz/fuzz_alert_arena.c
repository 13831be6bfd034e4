/*
 * Differential fuzzer for the JSON arena (common/jsonarena.c) and the number limits of
 * alert_parse (common/alert.c).
 *
 * The broker parses, validates and stamps each alert inside an arena scope, where
 * jansson allocates from one 256 KiB block per thread and falls back to malloc when the
 * block is full. Every result must equal the one made with malloc outside a scope: the
 * verdicts of alert_parse, alert_validate and alert_validate_ack with their messages,
 * the tree, its serialisation and the output of stamp_write.
 *
 * The input is the payload. Before the parse in the scope, a string fills part of the
 * block, an amount that depends on the payload's length, so that small payloads also
 * reach the end of the block and raw alerts serve as seeds. When the payload parses,
 * the maximum digits and exponent that jsontext_parse_numbers reports must equal
 * those of a plain scan of its numbers.
 *
 * Build with tests/fuzz/build.sh. The first mismatch prints what differs and aborts,
 * so libFuzzer keeps the input.
 */
#include "alert.h"
#include "jsonarena.h"
#include "jsontext.h"
#include "number_scan.h"
#include "stamp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The verdict on one payload: reasons are "accept" or the error's reason. */
struct verdict {
    const char *reason;
    char message[192];
    const char *ack_reason;
};

/* Parses and validates payload, fills out, and returns the tree or NULL. */
static json_t *judge(const uint8_t *payload, size_t len, struct verdict *out)
{
    struct iactn_alert_error err = {0}, ack_err = {0};
    json_t *root = alert_parse(payload, len, &err);

    out->message[0] = '\0';
    if (root == NULL) {
        out->reason = err.reason;
        out->ack_reason = err.reason;
        snprintf(out->message, sizeof(out->message), "%s", err.message);
        return NULL;
    }
    out->reason = "accept";
    if (alert_validate(root, &err) != 0) {
        out->reason = err.reason;
        snprintf(out->message, sizeof(out->message), "%s", err.message);
    }
    out->ack_reason = alert_validate_ack(root, &ack_err) == 0 ? "accept" : ack_err.reason;
    return root;
}

static void mismatch(const char *part, const char *with_malloc, const char *in_arena)
{
    fprintf(stderr, "mismatch in %s: \"%s\" (malloc) vs \"%s\" (arena)\n", part,
            with_malloc, in_arena);
    abort();
}

static void compare_verdicts(const struct verdict *with_malloc,
                             const struct verdict *in_arena)
{
    if (strcmp(with_malloc->reason, in_arena->reason) != 0) {
        mismatch("reason", with_malloc->reason, in_arena->reason);
    }
    if (strcmp(with_malloc->message, in_arena->message) != 0) {
        mismatch("message", with_malloc->message, in_arena->message);
    }
    if (strcmp(with_malloc->ack_reason, in_arena->ack_reason) != 0) {
        mismatch("acknowledgement reason", with_malloc->ack_reason, in_arena->ack_reason);
    }
}

static void check_numbers(const uint8_t *payload, size_t len)
{
    struct jsontext_numbers reported, scanned;
    struct jsontext_error err;
    json_t *root = jsontext_parse_numbers(payload, len, &reported, &err);

    if (root == NULL) {
        return;
    }
    scanned = scan_numbers((const char *)payload, len);
    if (reported.digits != scanned.digits || reported.exponent != scanned.exponent) {
        fprintf(stderr,
                "mismatch in numbers: jsontext_parse_numbers reported %zu digits and "
                "exponent %zu, a plain scan found %zu and %zu\n",
                reported.digits, reported.exponent, scanned.digits, scanned.exponent);
        abort();
    }
    json_decref(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_arena_install();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct iactn_principal sender = {"co-dni-liaison", "CO",  "co-dni",
                                            ROLE_LIAISON,     false, true};
    struct iactn_recipients recipients = {0};
    struct timespec received = {1796485200, 123000000};
    struct verdict outside, inside;
    json_t *tree_outside, *tree_inside, *filler;
    char *text_outside = NULL, *text_inside = NULL;
    void *stamp_outside = NULL, *stamp_inside = NULL;
    size_t len_outside = 0, len_inside = 0, fill;
    uint8_t *payload;

    /* 977 is odd, so no two lengths below 256 KiB fill the same amount */
    fill = size * 977 % JSON_ARENA_BYTES;
    /* a copy of exactly the payload's size, so that reads past its end show */
    payload = malloc(size ? size : 1);
    if (payload == NULL) {
        return 0;
    }
    memcpy(payload, data, size);
    state_set_add(&recipients.states, "MX");
    state_set_add(&recipients.states, "CA");

    tree_outside = judge(payload, size, &outside);
    if (tree_outside) {
        text_outside = json_dumps(tree_outside, JSON_COMPACT | JSON_SORT_KEYS);
        if (json_is_object(tree_outside)) {
            stamp_outside = stamp_write(tree_outside, &sender, &recipients, &received,
                                        malloc, &len_outside);
        }
    }

    json_arena_open();
    /* a string of fill - 1 characters takes about fill bytes of the block */
    filler = NULL;
    if (fill > 0) {
        char *space = calloc(1, fill);

        filler = space ? json_stringn_nocheck(space, fill - 1) : NULL;
        free(space);
    }
    tree_inside = judge(payload, size, &inside);
    if (tree_inside) {
        text_inside = json_dumps(tree_inside, JSON_COMPACT | JSON_SORT_KEYS);
        if (json_is_object(tree_inside)) {
            stamp_inside = stamp_write(tree_inside, &sender, &recipients, &received,
                                       malloc, &len_inside);
        }
    }
    compare_verdicts(&outside, &inside);
    if ((tree_outside == NULL) != (tree_inside == NULL) ||
        (tree_outside && !json_equal(tree_outside, tree_inside))) {
        mismatch("tree", "", "");
    }
    if ((text_outside == NULL) != (text_inside == NULL) ||
        (text_outside && strcmp(text_outside, text_inside) != 0)) {
        mismatch("serialisation", text_outside ? text_outside : "(none)",
                 text_inside ? text_inside : "(none)");
    }
    if ((stamp_outside == NULL) != (stamp_inside == NULL) || len_outside != len_inside ||
        (stamp_outside && memcmp(stamp_outside, stamp_inside, len_inside) != 0)) {
        mismatch("stamp", "", "");
    }
    json_text_free(text_inside);
    json_decref(tree_inside);
    json_decref(filler);
    json_arena_close();

    check_numbers(payload, size);
    json_text_free(text_outside);
    free(stamp_outside);
    free(stamp_inside);
    json_decref(tree_outside);
    free(payload);
    return 0;
}
