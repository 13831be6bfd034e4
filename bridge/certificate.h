/*
 * Reading the subject of a client certificate. IACTN development certificates carry
 * /C={STATE}/O={agency}/OU={role}/CN={principal}, so CN is the principal id.
 */
#ifndef IACTN_BRIDGE_CERTIFICATE_H
#define IACTN_BRIDGE_CERTIFICATE_H

#include <stddef.h>

/*
 * Reads the common name (CN) of the subject of the PEM certificate at `path` into
 * `out`. Returns 0, or -1 with a sentence in `err` if the file cannot be read,
 * contains no certificate, or the subject has no CN that fits `out_size`. Blocks on
 * file I/O.
 */
int certificate_common_name(const char *path, char *out, size_t out_size, char *err,
                            size_t err_size);

#endif
