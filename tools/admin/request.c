#include "request.h"

#include "adminop.h"
#include "args.h"
#include "db.h"
#include "table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX_BYTES 65536

/* clang-format off */
#define OPTION(name, kind, option) {name, kind, option, false}
#define ARG(name, kind, index) {name, kind, index, true}
/* clang-format on */
#define TEXT(name, option) OPTION(name, KIND_TEXT, option)

static const struct request_map request_maps[] = {
    {"acl",
     "add",
     "acl-add",
     {TEXT("role", OPT_ROLE), TEXT("access", OPT_ACCESS), TEXT("pattern", OPT_PATTERN),
      OPTION("allow", KIND_ALLOW, OPT_ALLOW), TEXT("state", OPT_STATE),
      OPTION("priority", KIND_INTEGER, OPT_PRIORITY), TEXT("note", OPT_NOTE)},
     OUTPUT_ID,
     NULL,
     NULL},
    {"acl",
     "list",
     "acl-list",
     {TEXT("state", OPT_STATE)},
     OUTPUT_TABLE,
     "id,state,role,access,pattern,decision,priority,note,scope",
     NULL},
    {"acl",
     "remove",
     "acl-remove",
     {ARG("id", KIND_INTEGER, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"rule",
     "add",
     "rule-add",
     {TEXT("origin", OPT_ORIGIN), OPTION("network", KIND_FLAG, OPT_NETWORK),
      TEXT("category", OPT_CATEGORY), TEXT("to_state", OPT_TO_STATE),
      TEXT("to_group", OPT_TO_GROUP), OPTION("to_all", KIND_FLAG, OPT_TO_ALL),
      OPTION("allow", KIND_ALLOW, OPT_ALLOW), TEXT("note", OPT_NOTE)},
     OUTPUT_ID,
     NULL,
     NULL},
    {"rule",
     "list",
     "rule-list",
     {TEXT("origin", OPT_ORIGIN)},
     OUTPUT_TABLE,
     "id,origin,category,recipients,decision,note",
     NULL},
    {"rule",
     "remove",
     "rule-remove",
     {ARG("id", KIND_INTEGER, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"agency",
     "add",
     "agency-add",
     {ARG("id", KIND_TEXT, 0), TEXT("state", OPT_STATE), TEXT("name", OPT_NAME)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"agency",
     "list",
     "agency-list",
     {TEXT("state", OPT_STATE)},
     OUTPUT_TABLE,
     "id,state,name,suspended",
     NULL},
    {"agency",
     "suspend",
     "agency-suspend",
     {ARG("id", KIND_TEXT, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"agency",
     "resume",
     "agency-resume",
     {ARG("id", KIND_TEXT, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"principal",
     "add",
     "principal-add",
     {ARG("id", KIND_TEXT, 0), TEXT("role", OPT_ROLE), TEXT("state", OPT_STATE),
      TEXT("agency", OPT_AGENCY), TEXT("name", OPT_NAME)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"principal",
     "list",
     "principal-list",
     {{NULL, KIND_TEXT, 0, false}},
     OUTPUT_TABLE,
     "id,role,state,agency,name,suspended,certificates",
     NULL},
    {"principal",
     "suspend",
     "principal-suspend",
     {ARG("id", KIND_TEXT, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"principal",
     "resume",
     "principal-resume",
     {ARG("id", KIND_TEXT, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"cert",
     "add",
     "cert-register",
     {ARG("pem", KIND_FILE, 0), TEXT("principal", OPT_PRINCIPAL),
      OPTION("create_principal", KIND_FLAG, OPT_CREATE_PRINCIPAL), TEXT("role", OPT_ROLE),
      TEXT("state", OPT_STATE), TEXT("agency", OPT_AGENCY), TEXT("name", OPT_NAME)},
     OUTPUT_ID,
     NULL,
     NULL},
    {"cert",
     "list",
     "cert-list",
     {TEXT("principal", OPT_PRINCIPAL)},
     OUTPUT_TABLE,
     "fingerprint,principal,status,not_after,subject",
     NULL},
    {"cert",
     "revoke",
     "cert-revoke",
     {ARG("fingerprint", KIND_TEXT, 0), TEXT("principal", OPT_PRINCIPAL),
      TEXT("reason", OPT_REASON)},
     OUTPUT_REVOKED,
     NULL,
     NULL},
    {"group",
     "add",
     "group-add",
     {ARG("id", KIND_TEXT, 0), TEXT("name", OPT_NAME),
      TEXT("description", OPT_DESCRIPTION)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"group",
     "list",
     "group-list",
     {{NULL, KIND_TEXT, 0, false}},
     OUTPUT_TABLE,
     "id,name,owner,members",
     "id,name,members"},
    {"group",
     "member-add",
     "group-member-add",
     {ARG("group", KIND_TEXT, 0), ARG("state", KIND_TEXT, 1)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"group",
     "member-remove",
     "group-member-remove",
     {ARG("group", KIND_TEXT, 0), ARG("state", KIND_TEXT, 1)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"endpoint",
     "add",
     "endpoint-add",
     {ARG("agency", KIND_TEXT, 0), ARG("url", KIND_TEXT, 1),
      OPTION("secret", KIND_SECRET, OPT_SECRET_FILE),
      TEXT("topic_filter", OPT_TOPIC_FILTER)},
     OUTPUT_ID,
     NULL,
     NULL},
    {"endpoint",
     "list",
     "endpoint-list",
     {TEXT("agency", OPT_AGENCY)},
     OUTPUT_TABLE,
     "id,agency,state,url,topic_filter,active,pending,dead",
     NULL},
    {"endpoint",
     "disable",
     "endpoint-disable",
     {ARG("id", KIND_INTEGER, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"endpoint",
     "enable",
     "endpoint-enable",
     {ARG("id", KIND_INTEGER, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"contact",
     "add",
     "contact-add",
     {TEXT("agency", OPT_AGENCY), TEXT("name", OPT_NAME), TEXT("function", OPT_FUNCTION),
      OPTION("phones", KIND_LIST, OPT_PHONES), TEXT("email", OPT_EMAIL),
      OPTION("languages", KIND_LIST, OPT_LANGUAGES), TEXT("time_zone", OPT_TIME_ZONE)},
     OUTPUT_ID,
     NULL,
     NULL},
    {"contact",
     "edit",
     "contact-edit",
     {ARG("id", KIND_INTEGER, 0), TEXT("agency", OPT_AGENCY), TEXT("name", OPT_NAME),
      TEXT("function", OPT_FUNCTION), OPTION("phones", KIND_LIST, OPT_PHONES),
      TEXT("email", OPT_EMAIL), OPTION("languages", KIND_LIST, OPT_LANGUAGES),
      TEXT("time_zone", OPT_TIME_ZONE)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"contact",
     "list",
     "contact-list",
     {TEXT("state", OPT_STATE), TEXT("agency", OPT_AGENCY)},
     OUTPUT_TABLE,
     "id,state,agency,name,function,phones,email,languages,time_zone,updated",
     NULL},
    {"contact",
     "remove",
     "contact-remove",
     {ARG("id", KIND_INTEGER, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {"oncall",
     "add",
     "oncall-add",
     {OPTION("contact", KIND_INTEGER, OPT_CONTACT), TEXT("position", OPT_POSITION),
      TEXT("scope", OPT_SCOPE), TEXT("starts_at", OPT_STARTS), TEXT("ends_at", OPT_ENDS)},
     OUTPUT_ID,
     NULL,
     NULL},
    {"oncall",
     "list",
     "oncall-list",
     {TEXT("state", OPT_STATE), TEXT("agency", OPT_AGENCY),
      OPTION("current", KIND_FLAG, OPT_CURRENT)},
     OUTPUT_TABLE,
     "id,state,scope,agency,contact,name,position,starts_at,ends_at,status",
     NULL},
    {"oncall",
     "remove",
     "oncall-remove",
     {ARG("id", KIND_INTEGER, 0)},
     OUTPUT_SUMMARY,
     NULL,
     NULL},
    {NULL, NULL, NULL, {{NULL, KIND_TEXT, 0, false}}, OUTPUT_SUMMARY, NULL, NULL},
};

const struct request_map *request_find(const char *group, const char *verb)
{
    for (const struct request_map *map = request_maps; map->group != NULL; map++) {
        if (strcmp(map->group, group) == 0 && verb != NULL &&
            strcmp(map->verb, verb) == 0) {
            return map;
        }
    }
    return NULL;
}

/* Reads a file of at most FILE_MAX_BYTES into a new string, only its first line for a
 * secret, and warns when other users can read a secret. Returns NULL after printing
 * why. */
static char *read_file(const char *label, const char *path, bool secret)
{
    FILE *file = fopen(path, "r");
    struct stat st;
    char *text = NULL;
    size_t len;

    if (file == NULL) {
        admin_error("cannot read %s file %s: %s", label, path, strerror(errno));
        return NULL;
    }
    if (secret && fstat(fileno(file), &st) == 0 && (st.st_mode & 077) != 0) {
        admin_warn("%s can be read by other users; chmod 600 it", path);
    }
    text = malloc(FILE_MAX_BYTES + 1);
    if (text == NULL) {
        admin_error("out of memory");
        fclose(file);
        return NULL;
    }
    len = fread(text, 1, FILE_MAX_BYTES + 1, file);
    fclose(file);
    if (len > FILE_MAX_BYTES) {
        admin_error("%s file %s is larger than %d bytes", label, path, FILE_MAX_BYTES);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    if (secret) {
        text[strcspn(text, "\r\n")] = '\0';
    }
    return text;
}

/* Splits "a, b,c" into ["a","b","c"], leaving out empty items. */
static json_t *split_list(const char *text)
{
    json_t *list = json_array();

    while (list != NULL && *text != '\0') {
        size_t len = strcspn(text, ",");
        size_t start = 0;
        size_t end = len;

        while (start < end && text[start] == ' ') {
            start++;
        }
        while (end > start && text[end - 1] == ' ') {
            end--;
        }
        if (end > start) {
            json_array_append_new(list, json_stringn(text + start, end - start));
        }
        text += len + (text[len] == ',');
    }
    return list;
}

/* Returns the JSON value of one field, or NULL when the command line leaves it out.
 * Sets *exit_code to ADMIN_EXIT_OK, or to another code after printing why a value
 * could not be read: a secret file that cannot be read is a usage error, as is any
 * invalid value on the command line. */
static json_t *field_value(const struct request_field *field,
                           const struct admin_args *args, int *exit_code)
{
    const char *text =
        field->from_arg ? (field->source < args->nargs ? args->arg[field->source] : NULL)
                        : args->opt[field->source];
    char *contents;
    char *end;
    long long number;
    json_t *value;

    *exit_code = ADMIN_EXIT_OK;
    if (field->kind == KIND_ALLOW) {
        return args->opt[OPT_ALLOW] || args->opt[OPT_DENY]
                   ? json_boolean(args->opt[OPT_ALLOW] != NULL)
                   : NULL;
    }
    if (text == NULL) {
        return NULL;
    }
    switch (field->kind) {
    case KIND_INTEGER:
        errno = 0;
        number = strtoll(text, &end, 10);
        return *end == '\0' && end != text && errno == 0 ? json_integer(number)
                                                         : json_string(text);
    case KIND_FLAG:
        return json_true();
    case KIND_LIST:
        return split_list(text);
    case KIND_FILE:
    case KIND_SECRET:
        contents = read_file(field->name, text, field->kind == KIND_SECRET);
        value = contents ? json_string(contents) : NULL;
        free(contents);
        if (contents != NULL && value == NULL) {
            admin_error("%s file %s is not UTF-8 text", field->name, text);
        }
        if (value == NULL) {
            *exit_code =
                field->kind == KIND_SECRET ? ADMIN_EXIT_USAGE : ADMIN_EXIT_FAILURE;
        }
        return value;
    default:
        return json_string(text);
    }
}

int request_build(const struct request_map *map, const struct admin_args *args,
                  json_t **out)
{
    json_t *request = json_pack("{s:s}", "op", map->op);
    int exit_code;

    for (size_t i = 0; request != NULL && i < REQUEST_MAX_FIELDS && map->fields[i].name;
         i++) {
        json_t *value = field_value(&map->fields[i], args, &exit_code);

        if (exit_code != ADMIN_EXIT_OK) {
            json_decref(request);
            return exit_code;
        }
        if (value != NULL) {
            json_object_set_new(request, map->fields[i].name, value);
        }
    }
    if (request == NULL) {
        admin_error("out of memory");
        return ADMIN_EXIT_FAILURE;
    }
    *out = request;
    return ADMIN_EXIT_OK;
}

/* Writes a result value as text: strings as they are, arrays joined with ",", null as
 * `missing`. */
static void format_value(json_t *value, const char *missing, char *out, size_t size)
{
    size_t used = 0;
    size_t i;
    json_t *item;

    out[0] = '\0';
    if (value == NULL || json_is_null(value)) {
        snprintf(out, size, "%s", missing);
    } else if (json_is_string(value)) {
        snprintf(out, size, "%s", json_string_value(value));
    } else if (json_is_integer(value)) {
        snprintf(out, size, "%lld", (long long)json_integer_value(value));
    } else if (json_is_boolean(value)) {
        snprintf(out, size, "%s", json_is_true(value) ? "yes" : "no");
    } else if (json_is_array(value)) {
        json_array_foreach(value, i, item)
        {
            char part[512];

            format_value(item, "", part, sizeof(part));
            used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s",
                                     i ? "," : "", part);
        }
    } else {
        char *text = json_dumps(value, JSON_COMPACT);

        snprintf(out, size, "%s", text ? text : "");
        free(text);
    }
}

#define MAX_COLUMNS 16

/* Reads the comma-separated column names into names; returns how many. */
static int read_columns(const char *columns, char names[MAX_COLUMNS][32])
{
    int count = 0;

    for (const char *p = columns; *p != '\0' && count < MAX_COLUMNS; count++) {
        size_t len = strcspn(p, ",");

        snprintf(names[count], sizeof(names[count]), "%.*s", (int)len, p);
        p += len + (p[len] == ',');
    }
    return count;
}

/* Prints the members `columns` of the rows like the database listings of
 * iactn-admin. */
static void print_rows(json_t *rows, const char *columns, bool tsv)
{
    char names[MAX_COLUMNS][32];
    const char *header[MAX_COLUMNS];
    int count = read_columns(columns, names);
    size_t nrows = json_array_size(rows);
    char **cells = calloc(nrows * (size_t)count + 1, sizeof(*cells));
    char text[1024];
    size_t r;
    json_t *row;

    if (cells == NULL) {
        admin_error("out of memory");
        return;
    }
    for (int c = 0; c < count; c++) {
        header[c] = names[c];
    }
    json_array_foreach(rows, r, row)
    {
        for (int c = 0; c < count; c++) {
            json_t *value = json_object_get(row, names[c]);

            if (value != NULL && !json_is_null(value)) {
                format_value(value, "", text, sizeof(text));
                cells[r * (size_t)count + (size_t)c] = strdup(text);
            }
        }
    }
    table_print(header, (const char *const *)cells, (int)nrows, count, tsv);
    for (size_t i = 0; i < nrows * (size_t)count; i++) {
        free(cells[i]);
    }
    free(cells);
}

/* Prints "revoked FINGERPRINT" for each certificate the result lists, or its summary
 * when it lists none. */
static void print_revoked(json_t *result, const char *summary)
{
    json_t *revoked = json_object_get(result, "revoked");
    size_t i;
    json_t *fingerprint;

    if (json_array_size(revoked) == 0) {
        printf("%s\n", summary != NULL ? summary : "nothing revoked");
        return;
    }
    json_array_foreach(revoked, i, fingerprint)
    {
        printf("revoked %s\n", json_string_value(fingerprint));
    }
}

int request_print(const struct request_map *map, json_t *result, bool tsv, bool local)
{
    const char *summary = json_string_value(json_object_get(result, "summary"));
    char id[128];
    size_t i;
    json_t *line;

    switch (map->output) {
    case OUTPUT_TABLE:
        print_rows(
            result,
            local && map->local_columns != NULL ? map->local_columns : map->columns, tsv);
        break;
    case OUTPUT_ID:
        if (!json_is_true(json_object_get(result, "changed")) && summary != NULL) {
            admin_note("%s", summary);
        }
        format_value(json_object_get(result, "id"), "", id, sizeof(id));
        printf("%s\n", id);
        break;
    case OUTPUT_SUMMARY:
        printf("%s\n", summary != NULL ? summary : "done");
        break;
    case OUTPUT_REVOKED:
        print_revoked(result, summary);
        break;
    }
    json_array_foreach(json_object_get(result, "notes"), i, line)
    {
        admin_note("%s", json_string_value(line));
    }
    json_array_foreach(json_object_get(result, "warnings"), i, line)
    {
        admin_warn("%s", json_string_value(line));
    }
    return ADMIN_EXIT_OK;
}

int request_report_error(const struct request_map *map, const char *code,
                         const char *message)
{
    char text[1024];
    char quoted[64];
    char option[64];

    snprintf(text, sizeof(text), "%s", message);
    /* "\"time_zone\"" reads better as "--time-zone" on a command line. */
    for (size_t i = 0; map != NULL && i < REQUEST_MAX_FIELDS && map->fields[i].name;
         i++) {
        const struct request_field *field = &map->fields[i];
        char *at;

        snprintf(quoted, sizeof(quoted), "\"%s\"", field->name);
        if (field->from_arg || field->kind == KIND_ALLOW ||
            (at = strstr(text, quoted)) == NULL) {
            continue;
        }
        snprintf(option, sizeof(option), "--%s", args_option_name(field->source));
        if (strlen(text) - strlen(quoted) + strlen(option) < sizeof(text)) {
            memmove(at + strlen(option), at + strlen(quoted),
                    strlen(at + strlen(quoted)) + 1);
            memcpy(at, option, strlen(option));
        }
    }
    admin_error("%s", text);
    return code != NULL && (strcmp(code, ADMINOP_INVALID_REQUEST) == 0 ||
                            strcmp(code, ADMINOP_UNKNOWN_OP) == 0)
               ? ADMIN_EXIT_USAGE
               : ADMIN_EXIT_FAILURE;
}

int request_run_command(struct admin_ctx *ctx, const struct admin_args *args)
{
    const struct request_map *map = request_find(ctx->command->group, ctx->command->verb);
    const struct adminop_actor actor = {NULL, NULL, NULL};
    struct adminop_error err;
    json_t *request = NULL;
    json_t *result;
    int rc;

    if (map == NULL) {
        admin_error("'%s %s' has no administration request form", ctx->command->group,
                    ctx->command->verb ? ctx->command->verb : "");
        return ADMIN_EXIT_FAILURE;
    }
    rc = request_build(map, args, &request);
    if (rc != ADMIN_EXIT_OK) {
        return rc;
    }
    if (admin_db_open(ctx) != 0) {
        json_decref(request);
        return ADMIN_EXIT_FAILURE;
    }
    result = adminop_run(ctx->conn, &actor, request, &err);
    json_decref(request);
    if (result == NULL) {
        return request_report_error(map, err.code, err.message);
    }
    rc = request_print(map, result, ctx->tsv, true);
    json_decref(result);
    return rc;
}
