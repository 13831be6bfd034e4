/*
 * Reading CAP 1.2 documents with libxml2 into the document tree that common/cap.h
 * converts: every child element's local name maps to an array of its occurrences, each
 * a trimmed string or, for elements with child elements, an object.
 */
#ifndef IACTN_ALERT_CAPREAD_H
#define IACTN_ALERT_CAPREAD_H

#include <jansson.h>
#include <stddef.h>

/* Largest CAP document read, in bytes. */
#define CAPREAD_MAX_BYTES (1024 * 1024)

/*
 * Parses the file at `path` ("-": standard input) as a CAP 1.2 <alert>. The parser
 * loads no DTD and no network resource, and documents with a DOCTYPE are rejected.
 * Returns the document tree (owned by the caller), or NULL with one sentence in `err`
 * (the XML error with its line, or why the root is not a CAP 1.2 alert).
 */
json_t *capread_file(const char *path, char *err, size_t err_size);

#endif
