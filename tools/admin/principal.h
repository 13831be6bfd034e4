/*
 * Principals: who a certificate speaks for. Shared by the principal commands and by
 * "cert add --create-principal".
 */
#ifndef IACTN_ADMIN_PRINCIPAL_H
#define IACTN_ADMIN_PRINCIPAL_H

#include "admin.h"

/* The values of a new principal. state, agency and name may be NULL. */
struct principal_spec {
    const char *id;
    const char *role;
    const char *state;
    const char *agency;
    const char *name;
};

/* Checks the formats of the values, that state and agency come together, and that
 * the member roles (liaison, agency-system) have them. Returns false after printing
 * the reason. Does not touch the database. */
bool principal_validate(const struct principal_spec *p);

/* Inserts the principal inside the open transaction, with its audit row, after
 * checking that its agency exists and belongs to its state. Returns 1 when it
 * inserted, 0 when an identical principal already existed, -1 after printing an
 * error (not found, mismatch, other values, database error). */
int principal_insert(struct admin_ctx *ctx, const struct principal_spec *p);

#endif
