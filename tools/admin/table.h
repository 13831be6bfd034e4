/*
 * The listings of iactn-admin: rows of text cells, printed as a table aligned under a
 * header line, or with --tsv as tab-separated rows without one.
 */
#ifndef IACTN_ADMIN_TABLE_H
#define IACTN_ADMIN_TABLE_H

#include <stdbool.h>

/*
 * Prints `rows` rows of `cols` cells (row-major, NULL for a missing value) to stdout
 * under the column names `header`. A table pads every column but the last to its
 * widest cell, counted in UTF-8 code points, and prints NULL as "-". TSV escapes tab,
 * newline, carriage return and backslash as PostgreSQL's COPY text format does, so
 * that a row stays one line, and prints NULL as an empty field. Prints an error and
 * nothing else when memory runs out.
 */
void table_print(const char *const *header, const char *const *cells, int rows, int cols,
                 bool tsv);

#endif
