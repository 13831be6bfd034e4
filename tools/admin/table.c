#include "table.h"

#include "admin.h"

#include <stdio.h>
#include <stdlib.h>

/* Counts UTF-8 code points, which is the column width for the text IACTN stores. */
static int display_width(const char *s)
{
    int width = 0;

    for (; *s; s++) {
        width += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return width;
}

/* Prints one table cell, padded to `width` plus two spaces unless it is the last. */
static void print_cell(const char *text, int width, bool last)
{
    fputs(text, stdout);
    if (!last) {
        printf("%*s", width - display_width(text) + 2, "");
    }
}

static void print_tsv_value(const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\t':
            fputs("\\t", stdout);
            break;
        case '\n':
            fputs("\\n", stdout);
            break;
        case '\r':
            fputs("\\r", stdout);
            break;
        case '\\':
            fputs("\\\\", stdout);
            break;
        default:
            putchar(*s);
        }
    }
}

static void print_tsv(const char *const *cells, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const char *value = cells[r * cols + c];

            if (c > 0) {
                putchar('\t');
            }
            print_tsv_value(value != NULL ? value : "");
        }
        putchar('\n');
    }
}

void table_print(const char *const *header, const char *const *cells, int rows, int cols,
                 bool tsv)
{
    int *widths;

    if (tsv) {
        print_tsv(cells, rows, cols);
        return;
    }
    widths = calloc((size_t)cols + 1, sizeof(*widths));
    if (widths == NULL) {
        admin_error("out of memory");
        return;
    }
    for (int c = 0; c < cols; c++) {
        widths[c] = display_width(header[c]);
        for (int r = 0; r < rows; r++) {
            const char *value = cells[r * cols + c];
            int width = display_width(value != NULL ? value : "-");

            widths[c] = width > widths[c] ? width : widths[c];
        }
    }

    for (int c = 0; c < cols; c++) {
        print_cell(header[c], widths[c], c == cols - 1);
    }
    putchar('\n');
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const char *value = cells[r * cols + c];

            print_cell(value != NULL ? value : "-", widths[c], c == cols - 1);
        }
        putchar('\n');
    }
    free(widths);
}
