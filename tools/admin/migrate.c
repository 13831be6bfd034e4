/*
 * migrate: applies the NNN_name.sql files of the migrations directory that
 * schema_migrations does not record yet, in order, each in its own transaction.
 */
#include "admin.h"
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MIGRATIONS 1000
#define MAX_MIGRATION_BYTES (16L * 1024 * 1024)
#define VERSION_LEN 3

/* Key of the transaction-level advisory lock that serialises concurrent migrates. Any
 * constant works as long as every iactn-admin uses the same one. */
#define MIGRATE_LOCK_KEY "7311640127"

struct migration {
    char version[VERSION_LEN + 1]; /* "001" */
    char *file;                    /* "001_core.sql" */
};

/* Returns true for NNN_name.sql, name being letters, digits, '_' and '-'. */
static bool is_migration_name(const char *name)
{
    size_t len = strlen(name);

    if (len < VERSION_LEN + 6 || strcmp(name + len - 4, ".sql") != 0 ||
        name[VERSION_LEN] != '_') {
        return false;
    }
    for (size_t i = 0; i < len - 4; i++) {
        char c = name[i];
        bool digit = c >= '0' && c <= '9';
        bool word = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || c == '-';

        if (i < VERSION_LEN ? !digit : !word) {
            return false;
        }
    }
    return true;
}

static int compare_migrations(const void *a, const void *b)
{
    return strcmp(((const struct migration *)a)->file,
                  ((const struct migration *)b)->file);
}

static void free_migrations(struct migration *list, int count)
{
    for (int i = 0; i < count; i++) {
        free(list[i].file);
    }
    free(list);
}

/* Appends name to list when it is a migration file. Returns 0 or -1. */
static int add_entry(const char *dir, const char *name, struct migration *list,
                     int *count)
{
    if (!is_migration_name(name)) {
        if (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".sql") == 0) {
            admin_warn("skipping %s/%s: the name does not match NNN_name.sql", dir, name);
        }
        return 0;
    }
    if (*count == MAX_MIGRATIONS) {
        admin_error("more than %d migrations in %s", MAX_MIGRATIONS, dir);
        return -1;
    }
    list[*count].file = strdup(name);
    if (list[*count].file == NULL) {
        admin_error("out of memory");
        return -1;
    }
    snprintf(list[*count].version, sizeof(list[*count].version), "%.*s", VERSION_LEN,
             name);
    (*count)++;
    return 0;
}

/* Lists the migrations of dir in version order into *out. Returns their number, or -1
 * after printing why (unreadable directory, two files with one version). */
static int scan_migrations(const char *dir, struct migration **out)
{
    DIR *d = opendir(dir);
    struct migration *list = calloc(MAX_MIGRATIONS, sizeof(*list));
    struct dirent *entry;
    int count = 0;

    if (d == NULL || list == NULL) {
        admin_error("cannot read migrations directory '%s': %s", dir,
                    d ? "out of memory" : strerror(errno));
        goto fail;
    }
    while ((entry = readdir(d)) != NULL) {
        if (add_entry(dir, entry->d_name, list, &count) != 0) {
            goto fail;
        }
    }
    qsort(list, (size_t)count, sizeof(*list), compare_migrations);
    for (int i = 1; i < count; i++) {
        if (strcmp(list[i - 1].version, list[i].version) == 0) {
            admin_error("%s and %s in %s have the same version %s; rename one",
                        list[i - 1].file, list[i].file, dir, list[i].version);
            goto fail;
        }
    }
    closedir(d);
    *out = list;
    return count;
fail:
    if (d) {
        closedir(d);
    }
    free_migrations(list, count);
    return -1;
}

/* Reads the whole file into a new NUL-terminated string, or returns NULL after
 * printing why. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (f == NULL) {
        admin_error("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        size > MAX_MIGRATION_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        admin_error("cannot read %s, or it is larger than %ld bytes", path,
                    MAX_MIGRATION_BYTES);
        goto out;
    }
    text = malloc((size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) {
        admin_error("cannot read %s", path);
        free(text);
        text = NULL;
        goto out;
    }
    text[size] = '\0';
out:
    fclose(f);
    return text;
}

/* Writes {"file": ..., "sha256": ...} for the audit row into out. */
static void describe_file(const char *file, const char *text, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";

    if (EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL) == 1) {
        for (unsigned int i = 0; i < md_len; i++) {
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        }
    }
    /* file matches NNN_name.sql, so it needs no JSON escaping. */
    snprintf(out, size, "{\"file\": \"%s\", \"sha256\": \"%s\"}", file, hex);
}

static int lock_migrations(struct admin_ctx *ctx)
{
    const char *params[] = {MIGRATE_LOCK_KEY};

    return admin_db_exec(ctx, "SELECT pg_advisory_xact_lock($1)", 1, params) < 0 ? -1 : 0;
}

static int create_migrations_table(struct admin_ctx *ctx)
{
    if (admin_db_begin(ctx) != 0 || lock_migrations(ctx) != 0 ||
        admin_db_exec(ctx,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      "    version text PRIMARY KEY,"
                      "    applied_at timestamptz NOT NULL DEFAULT now())",
                      0, NULL) < 0 ||
        admin_db_commit(ctx) != 0) {
        admin_db_rollback(ctx);
        return -1;
    }
    return 0;
}

/* Returns the line of text on which the statement error in res starts, or 0 when the
 * server gave no position. The position counts characters from 1. */
static int error_line(const PGresult *res, const char *text)
{
    const char *field = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    long position = field ? strtol(field, NULL, 10) : 0;
    int line = 1;

    if (position <= 0) {
        return 0;
    }
    for (const char *p = text; *p && position > 1; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80) {
            position--;
        }
        if (*p == '\n') {
            line++;
        }
    }
    return line;
}

/* Runs the text of a migration file inside the open transaction. */
static int run_script(struct admin_ctx *ctx, const char *file, const char *text)
{
    /* PQexec is the one exception to parameterised statements, because a migration
     * file contains many statements and PQexecParams accepts only one per call. The
     * text comes from the operator's migrations directory, never from command-line
     * values. */
    PGresult *res = PQexec(ctx->conn, text);
    ExecStatusType status = PQresultStatus(res);
    int rc = -1;

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        int line = error_line(res, text);

        if (line > 0) {
            admin_error("migration %s failed at line %d", file, line);
        } else {
            admin_error("migration %s failed", file);
        }
        admin_db_report(res, ctx->conn);
    } else if (PQtransactionStatus(ctx->conn) != PQTRANS_INTRANS) {
        /* The file's own COMMIT or ROLLBACK ended the transaction that was to hold
         * the whole file and its schema_migrations row. Nothing can undo what it
         * committed, so the operator has to look. */
        admin_error("migration %s ends the transaction itself with COMMIT or ROLLBACK, "
                    "so its statements may be committed although its version is not "
                    "recorded; check the database, then remove the transaction "
                    "statements from the file",
                    file);
    } else {
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Records the version, with an audit row when audit_log exists by now. */
static int record_version(struct admin_ctx *ctx, const struct migration *m,
                          const char *text)
{
    const char *params[] = {m->version};
    char detail[256];
    PGresult *res;
    bool has_audit;

    if (admin_db_exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", 1,
                      params) < 0) {
        return -1;
    }
    res = admin_db_query(ctx, "SELECT to_regclass('audit_log') IS NOT NULL", 0, NULL);
    if (res == NULL) {
        return -1;
    }
    has_audit = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!has_audit) {
        return 0;
    }
    describe_file(m->file, text, detail, sizeof(detail));
    return admin_db_audit(ctx, "migrate", m->version, NULL, NULL, detail);
}

/* Applies one migration unless it is recorded already. Returns 1 when applied, 0 when
 * it was recorded already, -1 after printing an error. */
static int apply_migration(struct admin_ctx *ctx, const struct migration *m,
                           const char *path)
{
    const char *params[] = {m->version};
    char *text = NULL;
    long recorded;
    int rc = -1;

    if (admin_db_begin(ctx) != 0 || lock_migrations(ctx) != 0) {
        goto out;
    }
    recorded = admin_db_exec(ctx, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                             params);
    if (recorded < 0) {
        goto out;
    }
    if (recorded == 0) {
        text = read_file(path);
        if (text == NULL || run_script(ctx, m->file, text) != 0 ||
            record_version(ctx, m, text) != 0) {
            goto out;
        }
    }
    if (admin_db_commit(ctx) == 0) {
        rc = recorded == 0;
    }
out:
    admin_db_rollback(ctx);
    free(text);
    return rc;
}

static int run_migrations(struct admin_ctx *ctx, const struct migration *list, int count)
{
    char path[4096];
    int applied = 0;

    for (int i = 0; i < count; i++) {
        int rc;

        snprintf(path, sizeof(path), "%s/%s", ctx->sql_dir, list[i].file);
        rc = apply_migration(ctx, &list[i], path);
        if (rc < 0) {
            admin_note("%d migration(s) applied before the failure", applied);
            return ADMIN_EXIT_FAILURE;
        }
        if (rc == 1) {
            printf("applied %s\n", list[i].file);
            applied++;
        }
    }
    if (applied == 0) {
        printf("nothing to apply: all %d migration(s) in %s are applied\n", count,
               ctx->sql_dir);
    } else {
        printf("%d migration(s) applied\n", applied);
    }
    return ADMIN_EXIT_OK;
}

static int migrate(struct admin_ctx *ctx, const struct admin_args *args)
{
    struct migration *list = NULL;
    int count;
    int rc;

    (void)args;
    count = scan_migrations(ctx->sql_dir, &list);
    if (count < 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (admin_db_open(ctx) != 0 || create_migrations_table(ctx) != 0) {
        free_migrations(list, count);
        return ADMIN_EXIT_FAILURE;
    }
    rc = run_migrations(ctx, list, count);
    free_migrations(list, count);
    return rc;
}

const struct admin_command migrate_commands[] = {
    {
        .group = "migrate",
        .run = migrate,
        .synopsis = "migrate",
        .description =
            "Creates schema_migrations (version, applied_at) if it is missing, then "
            "applies, in order, every NNN_name.sql file of the migrations directory "
            "whose version NNN it does not record yet, and prints each file applied. "
            "Each file runs in its own transaction together with its schema_migrations "
            "row and a 'migrate' audit row holding the file's name and SHA-256, so a "
            "failing file leaves no trace and stops the run. A file must not contain "
            "BEGIN, COMMIT or ROLLBACK. Running it again applies nothing. Concurrent "
            "runs wait for each other on a PostgreSQL advisory lock. Other .sql files "
            "are skipped with a warning, and two files with the same NNN are an error.",
    },
    {0},
};
