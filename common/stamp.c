#include "stamp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char stamp_prefix[] = "{\"iactn\":{\"recipients\":{\"states\":[";
static const char agencies_infix[] = ",\"agencies\":[";

void stamp_format_time(const struct timespec *t, char *out, size_t out_size)
{
    struct tm tm;
    char base[24];

    gmtime_r(&t->tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, out_size, "%s.%03ldZ", base, t->tv_nsec / 1000000);
}

static json_t *recipients_json(const struct iactn_recipients *r)
{
    char codes[POLICY_STATE_SLOTS][3];
    size_t n = state_set_list(&r->states, codes, POLICY_STATE_SLOTS);
    json_t *states = json_array();
    json_t *agencies = json_array();

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(states, json_string(codes[i]));
    }
    for (size_t i = 0; i < r->n_agencies; i++) {
        json_array_append_new(agencies, json_string(r->agencies[i]));
    }
    return json_pack("{s:o,s:o}", "states", states, "agencies", agencies);
}

static json_t *sender_json(const struct iactn_principal *p)
{
    json_t *sender = json_pack("{s:s,s:s}", "principal", p->id, "role",
                               policy_role_name(p->role));

    if (sender && p->state[0]) {
        json_object_set_new(sender, "state", json_string(p->state));
    }
    if (sender && p->agency) {
        json_object_set_new(sender, "agency", json_string(p->agency));
    }
    return sender;
}

/* Builds {"iactn":{...}} with the recipients (when given) first, the sender and the
 * time received. jansson keeps insertion order, so the recipients come right after the
 * prefix that stamp_permits() reads. Returns NULL if memory runs out. */
static json_t *stamp_object(const struct iactn_principal *sender,
                            const struct iactn_recipients *recipients,
                            const struct timespec *received)
{
    char when[32];

    stamp_format_time(received, when, sizeof(when));
    if (recipients) {
        return json_pack("{s:{s:o,s:o,s:s}}", "iactn", "recipients",
                         recipients_json(recipients), "sender", sender_json(sender),
                         "received", when);
    }
    return json_pack("{s:{s:o,s:s}}", "iactn", "sender", sender_json(sender), "received",
                     when);
}

/* Builds the stamp object alone: {"iactn":{...}} as compact text owned by the caller. */
static char *stamp_text(const struct iactn_principal *sender,
                        const struct iactn_recipients *recipients,
                        const struct timespec *received)
{
    json_t *stamp = stamp_object(sender, recipients, received);
    char *text;

    text = stamp ? json_dumps(stamp, JSON_COMPACT) : NULL;
    json_decref(stamp);
    return text;
}

void *stamp_write_original(const void *original, size_t original_len,
                           const struct iactn_principal *sender,
                           const struct iactn_recipients *recipients,
                           const struct timespec *received, void *(*alloc)(size_t),
                           size_t *len)
{
    const char *brace = memchr(original, '{', original_len);
    char *stamp = stamp_text(sender, recipients, received);
    size_t stamp_len, rest_len;
    char *buffer = NULL;

    if (stamp == NULL || brace == NULL) {
        goto out;
    }
    /* "{"iactn":{...}}" loses its closing brace and takes the original's members */
    stamp_len = strlen(stamp) - 1;
    rest_len = original_len - (size_t)(brace + 1 - (const char *)original);
    *len = stamp_len + 1 + rest_len;
    buffer = alloc(*len);
    if (buffer) {
        memcpy(buffer, stamp, stamp_len);
        buffer[stamp_len] = ',';
        memcpy(buffer + stamp_len + 1, brace + 1, rest_len);
    }

out:
    free(stamp);
    return buffer;
}

void *stamp_write(json_t *alert, const struct iactn_principal *sender,
                  const struct iactn_recipients *recipients, const struct timespec *received,
                  void *(*alloc)(size_t), size_t *len)
{
    json_t *out = stamp_object(sender, recipients, received);
    const char *key;
    json_t *value;
    char *text = NULL;
    void *buffer = NULL;

    if (out == NULL) {
        goto out;
    }
    json_object_foreach(alert, key, value) {
        if (strcmp(key, "iactn") != 0 && strcmp(key, "sender") != 0 &&
            json_object_set(out, key, value) != 0) {
            goto out;
        }
    }
    text = json_dumps(out, JSON_COMPACT);
    if (text == NULL) {
        goto out;
    }
    *len = strlen(text);
    buffer = alloc(*len);
    if (buffer) {
        memcpy(buffer, text, *len);
    }

out:
    free(text);
    json_decref(out);
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

/* Reads one "..." string with no escapes; sets *str and *n to its contents. */
static bool scan_string(struct scan *s, const char **str, size_t *n)
{
    const char *close;

    if (s->p >= s->end || *s->p != '"') {
        return false;
    }
    close = memchr(s->p + 1, '"', (size_t)(s->end - s->p - 1));
    if (close == NULL || memchr(s->p + 1, '\\', (size_t)(close - s->p - 1))) {
        return false;
    }
    *str = s->p + 1;
    *n = (size_t)(close - s->p - 1);
    s->p = close + 1;
    return true;
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

enum stamp_verdict stamp_permits(const void *payload, size_t len, const char *state,
                                 const char *agency)
{
    struct scan s = {payload, (const char *)payload + len};
    bool state_found, agency_found;
    size_t n_states, n_agencies;

    if (!scan_literal(&s, stamp_prefix, sizeof(stamp_prefix) - 1) ||
        !scan_list(&s, state, &state_found, &n_states) ||
        !scan_literal(&s, agencies_infix, sizeof(agencies_infix) - 1) ||
        !scan_list(&s, agency, &agency_found, &n_agencies) || n_states == 0) {
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
