/*
 * The broker's stamp on an accepted alert: a first member "iactn" with the recipients,
 * the verified sender and the time the broker received it. It is written in a fixed
 * compact form, recipients first, so that a delivery check can read it with a short
 * scan instead of a JSON parse:
 *
 *   {"iactn":{"recipients":{"states":["CA","CO"],"agencies":["ca-rcmp"]},"sender":...
 */
#ifndef IACTN_STAMP_H
#define IACTN_STAMP_H

#include "policy.h"
#include "sharing.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum stamp_verdict { STAMP_DENY = 0, STAMP_ALLOW = 1, STAMP_INVALID = -1 };

/* Serialises alert with the stamp as its first member, dropping any "iactn" or
 * "sender" member it has. received is the broker's clock (seconds and nanoseconds).
 * With recipients NULL (acknowledgements) the stamp has no recipients member.
 * Returns a buffer from alloc whose first *len bytes are the result (not
 * NUL-terminated, and the buffer may be a little larger), or NULL when memory runs out
 * or a name is not valid UTF-8. Does not modify alert. */
void *stamp_write(json_t *alert, const struct iactn_principal *sender,
                  const struct iactn_recipients *recipients, const struct timespec *received,
                  void *(*alloc)(size_t), size_t *len);

/* Writes the same result as stamp_write without serialising the alert again: the stamp
 * followed by the members of original, the payload's bytes as the client sent them.
 * Only for a payload that parsed as a JSON object with at least one member and has no
 * "iactn" or "sender" member; the caller checks that. Returns a buffer from alloc
 * whose first *len bytes are the result (it may be a little larger), or NULL when
 * memory runs out or a name is not valid UTF-8. */
void *stamp_write_original(const void *original, size_t original_len,
                           const struct iactn_principal *sender,
                           const struct iactn_recipients *recipients,
                           const struct timespec *received, void *(*alloc)(size_t),
                           size_t *len);

/* Decides from a stamped payload whether a principal of state (2 letters) and agency
 * (NULL for none) may receive it. Returns STAMP_INVALID when the payload does not start
 * with a well-formed stamp, which callers must treat as a denial. Reads at most the
 * stamp's bytes; allocates nothing. */
enum stamp_verdict stamp_permits(const void *payload, size_t len, const char *state,
                                 const char *agency);

/* Memory of stamp_permits_memo(): the bytes of the last stamp it read, from the start
 * to the end of its list of states, and that list as a set. */
struct stamp_memo {
    size_t len; /* 0 when empty */
    struct iactn_state_set states;
    char text[1024];
};

/* Decides as stamp_permits() does. A payload that starts with the bytes in memo has the
 * same list of states, so only the rest of its stamp is read. mosquitto checks the
 * copies of one alert one after the other, so most checks take this path. Otherwise
 * memo takes the payload's list when it is in the broker's form, and any other stamp
 * is read in full. memo starts zeroed and must not be used by two threads at once. */
enum stamp_verdict stamp_permits_memo(struct stamp_memo *memo, const void *payload,
                                      size_t len, const char *state, const char *agency);

/* A part of a stamped payload: text bytes, not NUL-terminated. */
struct stamp_slice {
    const char *text; /* NULL when the member is absent */
    size_t len;
};

/* The members of an alert's stamp, as slices of the payload. Strings are given
 * without their quotes and lists as the text between their brackets ("CA","CO"). */
struct stamp_view {
    struct stamp_slice states;
    struct stamp_slice agencies;
    struct stamp_slice principal;
    struct stamp_slice role;
    struct stamp_slice state;  /* absent for a principal of no state */
    struct stamp_slice agency; /* absent for a principal of no agency */
    struct stamp_slice received;
    size_t end; /* bytes from the payload's start to just after the stamp's '}' */
};

/* Reads the stamp of an alert, written by stamp_write_original, from the start of a
 * payload. It accepts only that exact form, with strings that have no escapes. It
 * checks neither the items' characters nor what follows the stamp. Returns false for
 * any other text, which the caller then reads with a JSON parser. Allocates nothing. */
bool stamp_read(const void *payload, size_t len, struct stamp_view *out);

/* Formats t as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes). */
void stamp_format_time(const struct timespec *t, char *out, size_t out_size);

#endif
