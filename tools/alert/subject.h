/*
 * The subject of the user's certificate. IACTN certificates carry
 * /C={STATE}/O={agency}/OU={role}/CN={principal}: CN gives the default client id and
 * C the default origin of published alerts.
 */
#ifndef IACTN_ALERT_SUBJECT_H
#define IACTN_ALERT_SUBJECT_H

#include <stddef.h>

struct subject {
    char common_name[128]; /* the principal id */
    char country[3];       /* empty for network principals, which have no state */
};

/*
 * Reads the subject of the PEM certificate at `path` into `out`. Returns 0, or -1
 * with a sentence in `err` if the file cannot be read, contains no certificate, or has
 * no usable CN. A missing or malformed C leaves `country` empty. Blocks on file I/O.
 */
int subject_read(const char *path, struct subject *out, char *err, size_t err_size);

#endif
