/*
 * Checks on command-line values before they reach the database. Each function prints
 * an error that names the value and the expected form, and returns false, when the
 * value is invalid; the caller then exits with ADMIN_EXIT_USAGE.
 */
#ifndef IACTN_ADMIN_VALIDATE_H
#define IACTN_ADMIN_VALIDATE_H

#include <stdbool.h>

/* The identifier formats of the schema's CHECK constraints. */
enum id_kind {
    ID_STATE,     /* ^[A-Z]{2}$ */
    ID_PRINCIPAL, /* ^[a-z0-9][a-z0-9._-]{0,62}$ */
    ID_CATEGORY,  /* ^[a-z][a-z0-9-]{0,31}$ */
};

/* Returns true when value has the format of kind. */
bool validate_id(enum id_kind kind, const char *value);

/* Returns true for a non-empty text of at most max_chars UTF-8 characters without
 * control characters. label names the value in the error, for example "--name". */
bool validate_text(const char *label, const char *value, int max_chars);

/* Parses a decimal integer in [min, max] into *out. Returns false on anything else. */
bool validate_long(const char *label, const char *value, long min, long max, long *out);

/* Returns true for a UUID in its 8-4-4-4-12 hex form. */
bool validate_uuid(const char *value);

#endif
