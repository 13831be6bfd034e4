/*
 * Checks on command-line values before they reach the database. Each function prints
 * an error that names the value and the expected form, and returns false, when the
 * value is invalid; the caller then exits with ADMIN_EXIT_USAGE.
 */
#ifndef IACTN_ADMIN_VALIDATE_H
#define IACTN_ADMIN_VALIDATE_H

#include <stdbool.h>

#define FINGERPRINT_HEX_LEN 64

/* The identifier formats of the schema's CHECK constraints. */
enum id_kind {
    ID_STATE,     /* ^[A-Z]{2}$ */
    ID_AGENCY,    /* ^[a-z0-9][a-z0-9-]{0,62}$ */
    ID_PRINCIPAL, /* ^[a-z0-9][a-z0-9._-]{0,62}$ */
    ID_CATEGORY,  /* ^[a-z][a-z0-9-]{0,31}$ */
    ID_GROUP      /* ^[a-z0-9][a-z0-9-]{0,62}$ */
};

/* Returns true when value has the format of kind. */
bool validate_id(enum id_kind kind, const char *value);

/* Returns true for a role of the schema: liaison, agency-system, admin, archiver,
 * broker-bridge, and also "*" when allow_any is set. */
bool validate_role(const char *value, bool allow_any);

/* Returns true for the network-wide roles, which may have no state or agency. */
bool role_is_network(const char *role);

/* Returns true for a non-empty text of at most max_chars UTF-8 characters without
 * control characters. label names the value in the error, for example "--name". */
bool validate_text(const char *label, const char *value, int max_chars);

/* Parses a decimal integer in [min, max] into *out. Returns false on anything else. */
bool validate_long(const char *label, const char *value, long min, long max, long *out);

/* Normalises a SHA-256 fingerprint written as 64 hex digits, in either case and with
 * or without ':' between bytes (as `openssl x509 -fingerprint` prints it), into out as
 * 64 lower-case hex digits and a NUL. */
bool validate_fingerprint(const char *value, char out[FINGERPRINT_HEX_LEN + 1]);

/* Returns true for a UUID in its 8-4-4-4-12 hex form. */
bool validate_uuid(const char *value);

/* Returns true for a topic_acl pattern: a well-formed MQTT topic filter ('+' only as a
 * whole level, '#' only as the whole last level) of at most 256 characters, without
 * control characters or a "$share/" prefix, whose only braces are the placeholders
 * {state}, {agency} and {principal}. */
bool validate_topic_filter(const char *value);

#endif
