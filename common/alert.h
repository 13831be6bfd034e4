/*
 * Alert messages: parsing and validation against the rules of
 * schemas/alert.schema.json, plus the checks that JSON Schema cannot express
 * (expires after sent).
 */
#ifndef IACTN_ALERT_H
#define IACTN_ALERT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define ALERT_MAX_BYTES 65536

/* Limits on every JSON number of a message, inside what PostgreSQL's jsonb stores:
 * jansson reads 1e-20000 as 0, but the archive's payload::jsonb rejects it, so such
 * an alert would be delivered and never archived. */
#define ALERT_MAX_NUMBER_DIGITS 1000
#define ALERT_MAX_NUMBER_EXPONENT 1000

/* Why an alert was rejected. reason is a short stable code for logs and tests
 * (see alert.c for the list); field names the offending member as a JSON pointer,
 * or is empty; message is a sentence for people. */
struct iactn_alert_error {
    const char *reason;
    char field[96];
    char message[192];
};

/* Parses payload as one JSON object of at most ALERT_MAX_BYTES bytes of valid UTF-8
 * with no duplicate member names. Returns a new reference owned by the caller, or
 * NULL with err filled (reasons: too_large, invalid_utf8, invalid_json, not_object,
 * number_out_of_range). */
json_t *alert_parse(const void *payload, size_t len, struct iactn_alert_error *err);

/* Checks a parsed alert against the alert schema and the rules that go with it.
 * Members named "sender" and "iactn" are accepted and ignored. Returns 0, or -1 with
 * err filled (reasons: schema, expires_before_sent, tlp_requires_distribution,
 * tlp_requires_agencies). */
int alert_validate(json_t *alert, struct iactn_alert_error *err);

/* Checks a parsed acknowledgement: {alert_id, status: received|read|actioned, sent,
 * note?}, where note is at most 1024 characters; "sender" and "iactn" members are
 * accepted and ignored. Returns 0, or -1 with err filled (reason: schema). */
int alert_validate_ack(json_t *ack, struct iactn_alert_error *err);

/* Parses an RFC 3339 date-time with seconds and an offset into seconds since the
 * epoch (fractions dropped). Returns 0, or -1 when s is not of that form. */
int alert_parse_time(const char *s, time_t *out);

/* Returns 1 when the len bytes at s are valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), else 0. */
int alert_is_utf8(const unsigned char *s, size_t len);

#endif
