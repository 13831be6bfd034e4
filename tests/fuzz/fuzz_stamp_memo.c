/*
 * Differential fuzzer for stamp_permits_memo() against stamp_permits()
 * (common/stamp.c).
 *
 * stamp_permits_memo() keeps the bytes of the last stamp it read up to the end of the
 * list of states, and skips reading that list again for a payload that starts with
 * those bytes. Its verdict must equal stamp_permits() for every payload, principal and
 * history of earlier calls, because a wrong ALLOW delivers an alert to a state that
 * must not receive it.
 *
 * The input is up to MAX_PAYLOADS payloads separated by '\n'. One memo, zeroed per
 * input, is kept across all of them, so that one payload's memo meets the next. Each
 * payload is checked PAYLOAD_ROUNDS times for every principal: fixed states and
 * agencies, and ones taken from the payload's own lists. Each round reads a fresh
 * buffer of exactly the payload's size, so AddressSanitizer reports any read past the
 * length. Then truncations of the payload around the memo's length are checked with a
 * copy of the memo, which leaves the history of the main memo unchanged.
 *
 * tests/fuzz/stamp_memo_seeds has seed inputs. In long-list, the first payload has the
 * longest list of states that fits the memo's text (198 items, 1024 bytes) and the
 * third has one item more.
 *
 * Build with tests/fuzz/build.sh. The first mismatch prints both verdicts, the
 * principal and the input in hex, and aborts, so libFuzzer keeps the input.
 */
#include "stamp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAYLOADS 8
#define PAYLOAD_ROUNDS 2
#define SEPARATOR '\n'

/* Numbers of truncated lengths checked past the memo's length and short of it, and
 * the principals they are checked for (see struct principals). */
#define SWEEP_AFTER 64
#define SWEEP_BEFORE 2
#define SWEEP_STATES 4
#define SWEEP_AGENCIES 3

#define COUNT_OF(a) (sizeof(a) / sizeof(a[0]))

static const char stamp_prefix[] = "{\"iactn\":{\"recipients\":{\"states\":[";
static const char agencies_infix[] = "],\"agencies\":[";

/* "C" and "CAX" are one byte short and one too long of a code that a stamp may list.
 * "co" is a listed code in lower case, and "" is a principal of no state. "CA" and
 * "co" come first because the truncations are checked only for the first states. */
static const char *const fixed_states[] = {"CA", "co", "CO", "MX",  "BR",   "ZZ",
                                           "AA", "",   "C",  "CAX", "C\x01"};
static const char *const fixed_agencies[] = {"co-dni", "mx-cni", "ca-rcmp", ""};

/* The input being checked, for the report of a mismatch. */
static const uint8_t *input_data;
static size_t input_size;

static const char *verdict_name(enum stamp_verdict v)
{
    switch (v) {
    case STAMP_ALLOW:
        return "ALLOW";
    case STAMP_DENY:
        return "DENY";
    case STAMP_INVALID:
        return "INVALID";
    }
    return "(not a verdict)";
}

static void dump_hex(const char *label, const uint8_t *data, size_t size)
{
    fprintf(stderr, "%s (%zu bytes): ", label, size);
    for (size_t i = 0; i < size; i++) {
        fprintf(stderr, "%02x", data[i]);
    }
    fputc('\n', stderr);
}

/* Prints a C string with its bytes escaped, or (null). */
static void dump_text(const char *label, const char *s)
{
    fprintf(stderr, "%s: ", label);
    if (s == NULL) {
        fputs("(null)\n", stderr);
        return;
    }
    fputc('"', stderr);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c >= 0x7f || *c == '"' || *c == '\\') {
            fprintf(stderr, "\\x%02x", *c);
        } else {
            fputc(*c, stderr);
        }
    }
    fputs("\"\n", stderr);
}

/* Calls both functions for one payload and principal and aborts when they differ. */
static void check(struct stamp_memo *memo, const uint8_t *payload, size_t len,
                  const char *state, const char *agency, size_t payload_index)
{
    size_t memo_len = memo->len;
    enum stamp_verdict memoised = stamp_permits_memo(memo, payload, len, state, agency);
    enum stamp_verdict full = stamp_permits(payload, len, state, agency);

    if (memoised == full) {
        return;
    }
    fprintf(stderr, "MISMATCH: stamp_permits_memo %s, stamp_permits %s\n",
            verdict_name(memoised), verdict_name(full));
    fprintf(stderr, "payload %zu, memo length before the call %zu\n", payload_index,
            memo_len);
    dump_text("state", state);
    dump_text("agency", agency);
    dump_hex("memo text", (const uint8_t *)memo->text, memo_len);
    dump_hex("payload", payload, len);
    dump_hex("input", input_data, input_size);
    abort();
}

/* Copies the contents of the first "..." item at list (at most out_size - 1 bytes,
 * ending at a NUL byte as a C string does) into out. Leaves out empty when list does
 * not start with a quote. */
static void first_item(const uint8_t *list, size_t len, char *out, size_t out_size)
{
    size_t n = 0;

    if (len > 0 && list[0] == '"') {
        for (size_t i = 1; i < len && list[i] != '"' && n + 1 < out_size; i++) {
            out[n++] = (char)list[i];
        }
    }
    out[n] = '\0';
}

/* Finds needle in the first len bytes of data, or returns NULL. */
static const uint8_t *find(const uint8_t *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0) {
            return data + i;
        }
    }
    return NULL;
}

/* The principals a payload is checked for. The states are the first item of the
 * payload's list, the two bytes of its last item and then the fixed states. The
 * agencies are NULL (no agency), the first item of the payload's list of agencies and
 * then the fixed agencies. Truncations are checked only for the first SWEEP_STATES states
 * and SWEEP_AGENCIES agencies. */
struct principals {
    const char *states[COUNT_OF(fixed_states) + 2];
    const char *agencies[COUNT_OF(fixed_agencies) + 2];
    size_t n_states;
    size_t n_agencies;
    char first_state[8];
    char last_state[3];
    char first_agency[64];
};

static void principals_of(struct principals *p, const uint8_t *payload, size_t len)
{
    const size_t start = sizeof(stamp_prefix) - 1;
    const uint8_t *infix = find(payload, len, agencies_infix);

    p->n_states = 0;
    p->n_agencies = 0;
    if (len > start) {
        first_item(payload + start, len - start, p->first_state, sizeof(p->first_state));
        p->states[p->n_states++] = p->first_state;
    }
    if (infix != NULL && infix - payload >= 4) {
        /* the bytes XY of a last item "XY"] */
        p->last_state[0] = (char)infix[-3];
        p->last_state[1] = (char)infix[-2];
        p->last_state[2] = '\0';
        p->states[p->n_states++] = p->last_state;
    }
    for (size_t i = 0; i < COUNT_OF(fixed_states); i++) {
        p->states[p->n_states++] = fixed_states[i];
    }
    p->agencies[p->n_agencies++] = NULL;
    if (infix != NULL) {
        size_t at = (size_t)(infix - payload) + strlen(agencies_infix);

        first_item(payload + at, len - at, p->first_agency, sizeof(p->first_agency));
        p->agencies[p->n_agencies++] = p->first_agency;
    }
    for (size_t i = 0; i < COUNT_OF(fixed_agencies); i++) {
        p->agencies[p->n_agencies++] = fixed_agencies[i];
    }
}

/* Checks the first len bytes of payload, copied into a buffer of exactly len bytes,
 * for every pair of the first n_states states and n_agencies agencies of p. */
static void check_all(struct stamp_memo *memo, const struct principals *p,
                      size_t n_states, size_t n_agencies, const uint8_t *payload,
                      size_t len, size_t payload_index)
{
    uint8_t *copy = malloc(len ? len : 1);

    if (copy == NULL) {
        abort();
    }
    memcpy(copy, payload, len);
    for (size_t s = 0; s < n_states && s < p->n_states; s++) {
        for (size_t a = 0; a < n_agencies && a < p->n_agencies; a++) {
            check(memo, copy, len, p->states[s], p->agencies[a], payload_index);
        }
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stamp_memo memo;
    const uint8_t *payload = data;
    const uint8_t *end = data + size;
    struct principals p;

    memset(&memo, 0, sizeof(memo));
    input_data = data;
    input_size = size;
    for (size_t index = 0; index < MAX_PAYLOADS; index++) {
        const uint8_t *next = memchr(payload, SEPARATOR, (size_t)(end - payload));
        size_t len;

        /* the last payload takes the rest of the input, separators included */
        if (next == NULL || index + 1 == MAX_PAYLOADS) {
            next = end;
        }
        len = (size_t)(next - payload);
        principals_of(&p, payload, len);
        for (int round = 0; round < PAYLOAD_ROUNDS; round++) {
            check_all(&memo, &p, SIZE_MAX, SIZE_MAX, payload, len, index);
        }
        if (memo.len > 0) {
            /* truncations from SWEEP_AFTER bytes past the memo's length down to
             * SWEEP_BEFORE bytes short of it, longest first, so that the memo is hit
             * before a shorter payload replaces it */
            struct stamp_memo sweep = memo;
            size_t high = memo.len + SWEEP_AFTER < len ? memo.len + SWEEP_AFTER : len;
            size_t low = memo.len > SWEEP_BEFORE ? memo.len - SWEEP_BEFORE : 0;

            for (size_t n = high; n >= low && n > 0; n--) {
                check_all(&sweep, &p, SWEEP_STATES, SWEEP_AGENCIES, payload, n, index);
            }
        }
        if (next == end) {
            break;
        }
        payload = next + 1;
    }
    return 0;
}
