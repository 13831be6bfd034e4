#include "stamp.h"
#include "alert.h"
#include "jsonarena.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char stamp_prefix[] = "{\"iactn\":{\"recipients\":{\"states\":[";
static const char agencies_infix[] = ",\"agencies\":[";

void stamp_format_time(const struct timespec *t, char *out, size_t out_size)
{
    /* Every alert is stamped, and the part up to the seconds changes once a second, so
     * each thread formats it once a second. */
    static _Thread_local time_t base_second = (time_t)-1;
    static _Thread_local char base[24];
    long ms = t->tv_nsec / 1000000;

    if (t->tv_sec != base_second) {
        struct tm tm;

        gmtime_r(&t->tv_sec, &tm);
        if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
            /* a year beyond 9999: not kept */
            base_second = (time_t)-1;
            snprintf(out, out_size, "%s.%03ldZ", base, ms);
            return;
        }
        base_second = t->tv_sec;
    }
    if (out_size < 25 || ms < 0 || ms > 999) {
        snprintf(out, out_size, "%s.%03ldZ", base, ms);
        return;
    }
    memcpy(out, base, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

/* A buffer, sized in advance, that the stamp is written into by hand. Building the
 * stamp with json_pack and json_dumps cost more than any other part of the message
 * event but the parse (callgrind). */
struct stamp_text {
    char *p;
    size_t len;
};

/* Bytes a string can take once quoted: each byte may become a six-byte \u escape. */
static size_t quoted_max(const char *s)
{
    return 6 * strlen(s) + 3;
}

static void put(struct stamp_text *t, const char *s, size_t n)
{
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

#define PUT_LITERAL(t, lit) put((t), (lit), sizeof(lit) - 1)

/* Writes s as a JSON string. s must be valid UTF-8 (see names_are_utf8). */
static void put_quoted(struct stamp_text *t, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    t->p[t->len++] = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            t->p[t->len++] = '\\';
            t->p[t->len++] = (char)*c;
        } else if (*c < 0x20) {
            put(t, "\\u00", 4);
            t->p[t->len++] = hex[*c >> 4];
            t->p[t->len++] = hex[*c & 0xF];
        } else {
            t->p[t->len++] = (char)*c;
        }
    }
    t->p[t->len++] = '"';
}

static bool is_utf8(const char *s)
{
    return alert_is_utf8((const unsigned char *)s, strlen(s));
}

/* Returns true when every name the stamp writes is valid UTF-8, as JSON requires. */
static bool names_are_utf8(const struct iactn_principal *sender,
                           const struct iactn_recipients *recipients)
{
    if (!is_utf8(sender->id) || (sender->agency && !is_utf8(sender->agency))) {
        return false;
    }
    for (size_t i = 0; recipients && i < recipients->n_agencies; i++) {
        if (!is_utf8(recipients->agencies[i])) {
            return false;
        }
    }
    return true;
}

/* Writes the stamp: {"iactn":{"recipients":{"states":[...],"agencies":[...]},
 * "sender":{"principal":..,"role":..,"state":..,"agency":..},"received":".."}
 * without its final closing brace, so that members can follow. The recipients (when
 * given) come first, right after the prefix that stamp_permits() reads. The buffer
 * comes from alloc and has room for extra more bytes after the *len written. Returns
 * NULL when memory runs out or a name is not valid UTF-8. */
static char *stamp_open(const struct iactn_principal *sender,
                        const struct iactn_recipients *recipients,
                        const struct timespec *received, size_t extra,
                        void *(*alloc)(size_t), size_t *len)
{
    char codes[POLICY_STATE_SLOTS][3];
    const char *role = policy_role_name(sender->role);
    size_t n_states = 0, size = 256 + extra;
    struct stamp_text t = {NULL, 0};
    char when[32];

    if (!names_are_utf8(sender, recipients)) {
        return NULL;
    }
    stamp_format_time(received, when, sizeof(when));
    size += quoted_max(sender->id) + quoted_max(role) + quoted_max(sender->state) +
            (sender->agency ? quoted_max(sender->agency) : 0) + quoted_max(when);
    if (recipients) {
        n_states = state_set_list(&recipients->states, codes, POLICY_STATE_SLOTS);
        size += 5 * n_states;
        for (size_t i = 0; i < recipients->n_agencies; i++) {
            size += quoted_max(recipients->agencies[i]) + 1;
        }
    }
    t.p = alloc(size);
    if (t.p == NULL) {
        return NULL;
    }
    if (recipients) {
        put(&t, stamp_prefix, sizeof(stamp_prefix) - 1);
        for (size_t i = 0; i < n_states; i++) {
            if (i > 0) {
                t.p[t.len++] = ',';
            }
            /* a state code is two capital letters: nothing to escape */
            t.p[t.len++] = '"';
            t.p[t.len++] = codes[i][0];
            t.p[t.len++] = codes[i][1];
            t.p[t.len++] = '"';
        }
        PUT_LITERAL(&t, "],\"agencies\":[");
        for (size_t i = 0; i < recipients->n_agencies; i++) {
            if (i > 0) {
                t.p[t.len++] = ',';
            }
            put_quoted(&t, recipients->agencies[i]);
        }
        PUT_LITERAL(&t, "]},\"sender\":{\"principal\":");
    } else {
        PUT_LITERAL(&t, "{\"iactn\":{\"sender\":{\"principal\":");
    }
    put_quoted(&t, sender->id);
    PUT_LITERAL(&t, ",\"role\":");
    put_quoted(&t, role);
    if (sender->state[0]) {
        PUT_LITERAL(&t, ",\"state\":");
        put_quoted(&t, sender->state);
    }
    if (sender->agency) {
        PUT_LITERAL(&t, ",\"agency\":");
        put_quoted(&t, sender->agency);
    }
    PUT_LITERAL(&t, "},\"received\":");
    put_quoted(&t, when);
    t.p[t.len++] = '}';
    *len = t.len;
    return t.p;
}

void *stamp_write_original(const void *original, size_t original_len,
                           const struct iactn_principal *sender,
                           const struct iactn_recipients *recipients,
                           const struct timespec *received, void *(*alloc)(size_t),
                           size_t *len)
{
    const char *brace = memchr(original, '{', original_len);
    const char *end = (const char *)original + original_len;
    const char *next;
    size_t rest_len, used;
    bool empty;
    char *buffer;

    if (brace == NULL) {
        return NULL;
    }
    /* the stamp takes the original's opening brace, and a comma unless no member follows */
    next = brace + 1;
    while (next < end && (*next == ' ' || *next == '\t' || *next == '\n' || *next == '\r')) {
        next++;
    }
    empty = next < end && *next == '}';
    rest_len = (size_t)(end - (brace + 1));
    buffer = stamp_open(sender, recipients, received, 1 + rest_len, alloc, &used);
    if (buffer == NULL) {
        return NULL;
    }
    if (!empty) {
        buffer[used++] = ',';
    }
    memcpy(buffer + used, brace + 1, rest_len);
    *len = used + rest_len;
    return buffer;
}

void *stamp_write(json_t *alert, const struct iactn_principal *sender,
                  const struct iactn_recipients *recipients, const struct timespec *received,
                  void *(*alloc)(size_t), size_t *len)
{
    json_t *members = json_object();
    const char *key;
    json_t *value;
    char *text = NULL;
    void *buffer = NULL;

    if (members == NULL) {
        return NULL;
    }
    json_object_foreach(alert, key, value) {
        if (strcmp(key, "iactn") != 0 && strcmp(key, "sender") != 0 &&
            json_object_set(members, key, value) != 0) {
            goto out;
        }
    }
    text = json_dumps(members, JSON_COMPACT);
    if (text) {
        buffer = stamp_write_original(text, strlen(text), sender, recipients, received,
                                      alloc, len);
    }

out:
    json_text_free(text);
    json_decref(members);
    return buffer;
}

/* A cursor over a stamped payload that fails closed at the end of the buffer. */
struct scan {
    const char *p;
    const char *end;
};

static bool scan_literal(struct scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) {
        return false;
    }
    s->p += n;
    return true;
}

/* Reads one "..." string with no escapes and sets *str and *n to its contents. The
 * names read here are a few bytes long, so a byte loop is cheaper than memchr. */
static bool scan_string(struct scan *s, const char **str, size_t *n)
{
    const char *c;

    if (s->p >= s->end || *s->p != '"') {
        return false;
    }
    for (c = s->p + 1; c < s->end && *c != '"'; c++) {
        if (*c == '\\') {
            return false;
        }
    }
    if (c == s->end) {
        return false;
    }
    *str = s->p + 1;
    *n = (size_t)(c - s->p - 1);
    s->p = c + 1;
    return true;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Reads a list of strings up to its ']' and reports whether wanted is in it.
 * *count receives the number of items. */
static bool scan_list(struct scan *s, const char *wanted, bool *found, size_t *count)
{
    size_t wanted_len = wanted ? strlen(wanted) : 0;

    *found = false;
    *count = 0;
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        const char *item;
        size_t n;

        if (!scan_string(s, &item, &n)) {
            return false;
        }
        if (wanted && n == wanted_len && memcmp(item, wanted, n) == 0) {
            *found = true;
        }
        (*count)++;
        if (s->p >= s->end) {
            return false;
        }
        if (*s->p++ == ']') {
            return true;
        }
        if (s->p[-1] != ',') {
            return false;
        }
    }
}

/* Returns the number of items when the len bytes at list, the text between a list's
 * brackets, are "XX" items of two capital letters joined by commas, the form the broker
 * writes. Such items sit at fixed offsets of five bytes. Returns 0 for any other text. */
static size_t fixed_state_items(const char *list, size_t len)
{
    size_t n;

    if (len == 0 || (len + 1) % 5 != 0) {
        return 0;
    }
    n = (len + 1) / 5;
    for (size_t i = 0; i < n; i++) {
        const char *item = list + 5 * i;

        if (item[0] != '"' || !is_upper(item[1]) || !is_upper(item[2]) ||
            item[3] != '"' || (i + 1 < n && item[4] != ',')) {
            return 0;
        }
    }
    return n;
}

/* Reads the list of states up to its ']' as scan_list() does. A list in the broker's
 * form is read at fixed offsets (fixed_state_items), any other goes to scan_list(). */
static bool scan_states(struct scan *s, const char *state, bool *found, size_t *count)
{
    const char *close = memchr(s->p, ']', (size_t)(s->end - s->p));
    bool seen = false;
    size_t n;

    if (close == NULL) {
        return false;
    }
    n = fixed_state_items(s->p, (size_t)(close - s->p));
    if (n == 0) {
        return scan_list(s, state, found, count);
    }
    for (size_t i = 0; i < n; i++) {
        seen |= s->p[5 * i + 1] == state[0] && s->p[5 * i + 2] == state[1];
    }
    *found = seen && strlen(state) == 2;
    *count = n;
    s->p = close + 1;
    return true;
}

/* The part of the verdict after the list of states: the agencies and the decision. */
static enum stamp_verdict permits_agency(struct scan *s, bool state_found,
                                         const char *agency)
{
    bool agency_found;
    size_t n_agencies;

    if (!scan_literal(s, agencies_infix, sizeof(agencies_infix) - 1) ||
        !scan_list(s, agency, &agency_found, &n_agencies)) {
        return STAMP_INVALID;
    }
    if (!state_found) {
        return STAMP_DENY;
    }
    if (n_agencies > 0 && !agency_found) {
        return STAMP_DENY;
    }
    return STAMP_ALLOW;
}

enum stamp_verdict stamp_permits(const void *payload, size_t len, const char *state,
                                 const char *agency)
{
    struct scan s = {payload, (const char *)payload + len};
    bool state_found;
    size_t n_states;

    if (!scan_literal(&s, stamp_prefix, sizeof(stamp_prefix) - 1) ||
        !scan_states(&s, state, &state_found, &n_states) || n_states == 0) {
        return STAMP_INVALID;
    }
    return permits_agency(&s, state_found, agency);
}

/* Keeps in memo the stamp's bytes up to the end of its list of states, and the list as
 * a set, when the list is in the broker's form and fits. Otherwise empties memo. */
static void memo_remember(struct stamp_memo *memo, const char *payload, size_t len)
{
    const size_t start = sizeof(stamp_prefix) - 1;
    const char *close;
    size_t n;

    memo->len = 0;
    if (len <= start || memcmp(payload, stamp_prefix, start) != 0) {
        return;
    }
    close = memchr(payload + start, ']', len - start);
    if (close == NULL || (size_t)(close + 1 - payload) > sizeof(memo->text)) {
        return;
    }
    n = fixed_state_items(payload + start, (size_t)(close - payload - start));
    if (n == 0) {
        return;
    }
    memset(&memo->states, 0, sizeof(memo->states));
    for (size_t i = 0; i < n; i++) {
        const char *item = payload + start + 5 * i;
        const char code[3] = {item[1], item[2], '\0'};

        state_set_add(&memo->states, code);
    }
    memo->len = (size_t)(close + 1 - payload);
    memcpy(memo->text, payload, memo->len);
}

enum stamp_verdict stamp_permits_memo(struct stamp_memo *memo, const void *payload,
                                      size_t len, const char *state, const char *agency)
{
    struct scan s = {payload, (const char *)payload + len};

    if (memo->len == 0 || len <= memo->len ||
        memcmp(payload, memo->text, memo->len) != 0) {
        memo_remember(memo, payload, len);
        if (memo->len == 0) {
            return stamp_permits(payload, len, state, agency);
        }
    }
    /* a list in the broker's form, read now or before: the same set of states */
    s.p += memo->len;
    return permits_agency(&s, state_set_contains(&memo->states, state), agency);
}

/* Reads the literal text lit, a string constant. */
#define SCAN_LITERAL(s, lit) scan_literal((s), (lit), sizeof(lit) - 1)

/* Reads an optional member of the sender object, given as its `,"name":` prefix. */
static bool scan_optional(struct scan *s, const char *prefix, size_t prefix_len,
                          struct stamp_slice *out)
{
    out->text = NULL;
    out->len = 0;
    if (!scan_literal(s, prefix, prefix_len)) {
        return true;
    }
    return scan_string(s, &out->text, &out->len);
}

#define SCAN_OPTIONAL(s, prefix, out) \
    scan_optional((s), (prefix), sizeof(prefix) - 1, (out))

/* Reads one list up to its ']' and sets out to the text between the brackets. */
static bool scan_list_text(struct scan *s, struct stamp_slice *out)
{
    const char *start = s->p;
    bool found;
    size_t count;

    if (!scan_list(s, NULL, &found, &count)) {
        return false;
    }
    out->text = start;
    out->len = (size_t)(s->p - 1 - start);
    return true;
}

bool stamp_read(const void *payload, size_t len, struct stamp_view *out)
{
    struct scan s = {payload, (const char *)payload + len};

    memset(out, 0, sizeof(*out));
    if (!SCAN_LITERAL(&s, stamp_prefix) || !scan_list_text(&s, &out->states) ||
        !SCAN_LITERAL(&s, agencies_infix) || !scan_list_text(&s, &out->agencies) ||
        !SCAN_LITERAL(&s, "},\"sender\":{\"principal\":") ||
        !scan_string(&s, &out->principal.text, &out->principal.len) ||
        !SCAN_LITERAL(&s, ",\"role\":") ||
        !scan_string(&s, &out->role.text, &out->role.len) ||
        !SCAN_OPTIONAL(&s, ",\"state\":", &out->state) ||
        !SCAN_OPTIONAL(&s, ",\"agency\":", &out->agency) ||
        !SCAN_LITERAL(&s, "},\"received\":") ||
        !scan_string(&s, &out->received.text, &out->received.len) ||
        !SCAN_LITERAL(&s, "}")) {
        return false;
    }
    out->end = (size_t)(s.p - (const char *)payload);
    return true;
}
