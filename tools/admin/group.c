/*
 * group add, group list, group member-add, group member-remove: sharing groups, which
 * sharing rules and an alert's distribution can name instead of single states.
 */
#include "admin.h"
#include "db.h"
#include "entity.h"
#include "validate.h"

#include <stdio.h>

#define NAME_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 2000

static int group_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    const char *id = args->arg[0];
    const char *description = args->opt[OPT_DESCRIPTION];
    const char *params[] = {id, args->opt[OPT_NAME], description};
    const struct entity_insert ins = {
        .entity = &ENTITY_GROUP,
        .key = id,
        .insert_sql = "INSERT INTO sharing_groups AS t (id, name, description) "
                      "VALUES ($1, $2, coalesce($3, '')) "
                      "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
        .same_sql = "SELECT to_jsonb(t), t.name = $2 "
                    "       AND ($3::text IS NULL OR t.description = $3) "
                    "FROM sharing_groups t WHERE t.id = $1",
        .nparams = 3,
        .params = params,
    };

    if (!validate_id(ID_GROUP, id) ||
        !validate_text("--name", args->opt[OPT_NAME], NAME_MAX_CHARS) ||
        (description &&
         !validate_text("--description", description, DESCRIPTION_MAX_CHARS))) {
        return ADMIN_EXIT_USAGE;
    }
    return entity_add_command(ctx, &ins);
}

static int group_list(struct admin_ctx *ctx, const struct admin_args *args)
{
    (void)args;
    return admin_db_list(
        ctx,
        "SELECT g.id, g.name, "
        "       coalesce((SELECT string_agg(m.state_code, ',' ORDER BY m.state_code) "
        "                 FROM sharing_group_members m WHERE m.group_id = g.id), '') "
        "       AS members "
        "FROM sharing_groups g ORDER BY g.id",
        0, NULL);
}

static bool validate_membership(const struct admin_args *args)
{
    return validate_id(ID_GROUP, args->arg[0]) && validate_id(ID_STATE, args->arg[1]);
}

/* Runs one membership change in its own transaction. sql takes the group and the
 * state and returns the row it inserted or deleted as to_jsonb; an empty result means
 * nothing changed. Returns 1 when it changed, 0 when not, -1 after printing an error. */
static int change_membership(struct admin_ctx *ctx, const struct admin_args *args,
                             const char *sql, const char *action, bool adding)
{
    const char *params[] = {args->arg[0], args->arg[1]};
    PGresult *res = NULL;
    int rc = -1;

    if (admin_db_begin(ctx) != 0) {
        return -1;
    }
    if (entity_exists(ctx, &ENTITY_GROUP, args->arg[0]) != 1 ||
        entity_exists(ctx, &ENTITY_STATE, args->arg[1]) != 1) {
        goto out;
    }
    res = admin_db_query(ctx, sql, 2, params);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) == 1 &&
        admin_db_audit(ctx, action, args->arg[0], adding ? NULL : PQgetvalue(res, 0, 0),
                       adding ? PQgetvalue(res, 0, 0) : NULL, NULL) != 0) {
        goto out;
    }
    if (admin_db_commit(ctx) == 0) {
        rc = PQntuples(res) == 1;
    }
out:
    PQclear(res);
    admin_db_rollback(ctx);
    return rc;
}

static int group_member_add(struct admin_ctx *ctx, const struct admin_args *args)
{
    int changed;

    if (!validate_membership(args)) {
        return ADMIN_EXIT_USAGE;
    }
    changed = change_membership(ctx, args,
                                "INSERT INTO sharing_group_members AS t "
                                "    (group_id, state_code) VALUES ($1, $2) "
                                "ON CONFLICT DO NOTHING RETURNING to_jsonb(t)",
                                "group-member-add", true);
    if (changed < 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (changed) {
        printf("added %s to group %s\n", args->arg[1], args->arg[0]);
    } else {
        printf("%s is already a member of group %s; nothing changed\n", args->arg[1],
               args->arg[0]);
    }
    return ADMIN_EXIT_OK;
}

static int group_member_remove(struct admin_ctx *ctx, const struct admin_args *args)
{
    int changed;

    if (!validate_membership(args)) {
        return ADMIN_EXIT_USAGE;
    }
    changed = change_membership(ctx, args,
                                "DELETE FROM sharing_group_members t "
                                "WHERE t.group_id = $1 AND t.state_code = $2 "
                                "RETURNING to_jsonb(t)",
                                "group-member-remove", false);
    if (changed < 0) {
        return ADMIN_EXIT_FAILURE;
    }
    if (changed == 0) {
        admin_error("%s is not a member of group %s", args->arg[1], args->arg[0]);
        return ADMIN_EXIT_FAILURE;
    }
    printf("removed %s from group %s\n", args->arg[1], args->arg[0]);
    return ADMIN_EXIT_OK;
}

const struct admin_command group_commands[] = {
    {
        .group = "group",
        .verb = "add",
        .run = group_add,
        .options = OPT_BIT(OPT_NAME) | OPT_BIT(OPT_DESCRIPTION),
        .required = OPT_BIT(OPT_NAME),
        .min_args = 1,
        .max_args = 1,
        .synopsis = "group add ID --name NAME [--description TEXT]",
        .description =
            "Adds the sharing group ID (lower-case letters, digits and '-', at "
            "most 63), which starts without members.",
    },
    {
        .group = "group",
        .verb = "list",
        .run = group_list,
        .synopsis = "group list",
        .description = "Lists the sharing groups: id, name and member states.",
    },
    {
        .group = "group",
        .verb = "member-add",
        .run = group_member_add,
        .min_args = 2,
        .max_args = 2,
        .synopsis = "group member-add ID CODE",
        .description = "Adds member state CODE to sharing group ID.",
    },
    {
        .group = "group",
        .verb = "member-remove",
        .run = group_member_remove,
        .min_args = 2,
        .max_args = 2,
        .synopsis = "group member-remove ID CODE",
        .description = "Removes member state CODE from sharing group ID; it is an error "
                       "when CODE is not a member.",
    },
    {0},
};
