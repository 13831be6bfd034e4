/*
 * iactn-validate-alert: judges alert files the way the broker plugin's message event
 * does before it looks at the policy (alert_parse, then alert_validate), for the test
 * that compares the plugin's validator with the JSON Schema.
 *
 * Usage: iactn-validate-alert FILE...
 * Prints one line per file: "FILE<TAB>accept" or
 * "FILE<TAB>reject<TAB>REASON<TAB>MESSAGE".
 * Exits 0 when every file could be read, 1 otherwise, 2 on a usage error.
 */
#include "alert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file. Returns a malloc'ed buffer (owned by the caller) and sets *len,
 * or returns NULL when the file cannot be read. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        goto out;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        goto out;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

static void judge(const char *path, const char *payload, size_t len)
{
    struct iactn_alert_error err = {0};
    json_t *alert = alert_parse(payload, len, &err);

    if (alert != NULL && alert_validate(alert, &err) == 0) {
        printf("%s\taccept\n", path);
    } else {
        printf("%s\treject\t%s\t%s\n", path, err.reason, err.message);
    }
    json_decref(alert);
}

int main(int argc, char **argv)
{
    int status = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        char *payload = read_file(argv[i], &len);

        if (payload == NULL) {
            fprintf(stderr, "%s: cannot read %s: %s\n", argv[0], argv[i],
                    strerror(errno));
            status = 1;
            continue;
        }
        judge(argv[i], payload, len);
        free(payload);
    }
    return status;
}
