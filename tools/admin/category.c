/*
 * category list, category add. Categories are the last level of alert topics and
 * what sharing rules select on.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"
#include "validate.h"

#define NAME_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 2000

static int category_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    (void)args;
    return admin_db_list(
        ctx, "SELECT slug, name, description FROM categories ORDER BY slug", 0, NULL);
}

static int category_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *slug = args->arg[0];
    const char *description = args->opt[OPT_DESCRIPTION];
    const char *params[] = {slug, args->opt[OPT_NAME], description};
    const struct entity_insert ins = {
        .entity = &ENTITY_CATEGORY,
        .key = slug,
        .insert_sql = "INSERT INTO categories AS t (slug, name, description) "
                      "VALUES ($1, $2, coalesce($3, '')) "
                      "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        .same_sql = "SELECT to_jsonb(t), t.name = $2 "
                    "       AND ($3::text IS NULL OR t.description = $3) "
                    "FROM categories t WHERE t.slug = $1",
        .nparams = 3,
        .params = params,
    };

    if (!validate_id(ID_CATEGORY, slug) ||
        !validate_text("--name", args->opt[OPT_NAME], NAME_MAX_CHARS) ||
        (description &&
         !validate_text("--description", description, DESCRIPTION_MAX_CHARS))) {
        return ADMIN_EXIT_USAGE;
    }
    return entity_add_command(ctx, &ins);
}

const struct admin_command category_commands[] = {
    {
        .group = "category",
        .verb = "list",
        .run = category_list,
        .synopsis = "category list",
        .description = "Lists the alert categories: slug, name and description.",
    },
    {
        .group = "category",
        .verb = "add",
        .run = category_add,
        .options = OPT_BIT(OPT_NAME) | OPT_BIT(OPT_DESCRIPTION),
        .required = OPT_BIT(OPT_NAME),
        .min_args = 1,
        .max_args = 1,
        .synopsis = "category add SLUG --name NAME [--description TEXT]",
        .description = "Adds the alert category SLUG (a lower-case letter, then up to 31 "
                       "lower-case letters, digits or '-'), which becomes the last "
                       "level of iactn/alerts/{ORIGIN}/{category}.",
    },
    {0},
};
