#include "directory_sync.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every entry, as (topic, JSON content without "updated"), sorted by topic in byte
 * order like strcmp(). on_call contains the shifts under way; who is on call for an
 * agency or a state is the shift of that position that started last. Times are RFC
 * 3339 UTC, because the connection's time zone is UTC. */
static const char entries_sql[] =
    "WITH live_states AS ("
    "    SELECT code, name FROM member_states"
    "    WHERE participation = 'active' AND NOT suspended),"
    " live_agencies AS ("
    "    SELECT a.id, a.name, a.state_code FROM agencies a"
    "    JOIN live_states s ON s.code = a.state_code WHERE NOT a.suspended),"
    " on_call AS ("
    "    SELECT s.id, s.scope, s.position, s.starts_at, c.agency_id, a.state_code,"
    "        json_build_object('contact', c.id, 'name', c.name, 'agency', c.agency_id,"
    "            'function', c.function, 'phones', c.phones, 'email', c.email,"
    "            'languages', c.languages, 'time_zone', c.time_zone,"
    "            'since', to_char(s.starts_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "            'until', to_char(s.ends_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) AS person"
    "    FROM oncall_shifts s JOIN contacts c ON c.id = s.contact_id"
    "    JOIN agencies a ON a.id = c.agency_id"
    "    WHERE s.starts_at <= now() AND now() < s.ends_at)"
    " SELECT topic, content FROM ("
    "    SELECT 'iactn/directory/' || a.state_code || '/' || a.id AS topic,"
    "        json_build_object('agency', a.id, 'name', a.name, 'state', a.state_code,"
    "            'contacts', coalesce((SELECT json_agg(json_build_object("
    "                    'id', c.id, 'name', c.name, 'function', c.function,"
    "                    'phones', c.phones, 'email', c.email,"
    "                    'languages', c.languages, 'time_zone', c.time_zone)"
    "                ORDER BY c.id) FROM contacts c WHERE c.agency_id = a.id), '[]'),"
    "            'on_call_now', json_build_object("
    "                'primary', (SELECT n.person FROM on_call n"
    "                    WHERE n.position = 'primary' AND n.scope = 'agency'"
    "                      AND n.agency_id = a.id"
    "                    ORDER BY n.starts_at DESC, n.id DESC LIMIT 1),"
    "                'backup', (SELECT n.person FROM on_call n"
    "                    WHERE n.position = 'backup' AND n.scope = 'agency'"
    "                      AND n.agency_id = a.id"
    "                    ORDER BY n.starts_at DESC, n.id DESC LIMIT 1)))::text"
    "            AS content"
    "    FROM live_agencies a"
    "    UNION ALL"
    "    SELECT 'iactn/directory/' || s.code || '/_state',"
    "        json_build_object('state', s.code, 'name', s.name,"
    "            'agencies', (SELECT json_agg(a.id ORDER BY a.id) FROM live_agencies a"
    "                WHERE a.state_code = s.code),"
    "            'on_call_now', json_build_object("
    "                'primary', (SELECT n.person FROM on_call n"
    "                    WHERE n.position = 'primary' AND n.scope = 'state'"
    "                      AND n.state_code = s.code"
    "                    ORDER BY n.starts_at DESC, n.id DESC LIMIT 1),"
    "                'backup', (SELECT n.person FROM on_call n"
    "                    WHERE n.position = 'backup' AND n.scope = 'state'"
    "                      AND n.state_code = s.code"
    "                    ORDER BY n.starts_at DESC, n.id DESC LIMIT 1)))::text"
    "    FROM live_states s"
    "    WHERE EXISTS (SELECT 1 FROM live_agencies a WHERE a.state_code = s.code)"
    ") entries ORDER BY topic COLLATE \"C\"";

/* Milliseconds until the next shift starts or ends, NULL when none will. */
static const char next_change_sql[] =
    "SELECT ceil(extract(epoch FROM min(t) - now()) * 1000)::bigint FROM ("
    "    SELECT starts_at AS t FROM oncall_shifts WHERE starts_at > now() "
    "    UNION ALL SELECT ends_at FROM oncall_shifts WHERE ends_at > now()) x";

/* The results of one database snapshot. */
struct snapshot {
    PGresult *entries;
    int64_t next_change_ms;
};

static int run(PGconn *conn, const char *sql, PGresult **out)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    char quoted[400];

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (out != NULL) {
            *out = res;
        } else {
            PQclear(res);
        }
        return 0;
    }
    log_msg(LOG_LEVEL_ERROR, "msg=\"directory query failed\" error=%s",
            log_quote(quoted, sizeof(quoted), PQresultErrorMessage(res)));
    PQclear(res);
    return -1;
}

static int read_snapshot(PGconn *conn, struct snapshot *snapshot)
{
    PGresult *next = NULL;
    int rc = -1;

    snapshot->entries = NULL;
    snapshot->next_change_ms = DIRECTORY_NEVER;
    if (run(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL) != 0) {
        return -1;
    }
    if (run(conn, entries_sql, &snapshot->entries) == 0 &&
        run(conn, next_change_sql, &next) == 0 && run(conn, "COMMIT", NULL) == 0) {
        if (!PQgetisnull(next, 0, 0)) {
            snapshot->next_change_ms = strtoll(PQgetvalue(next, 0, 0), NULL, 10) + 50;
        }
        rc = 0;
    }
    PQclear(next);
    if (rc != 0) {
        PQclear(snapshot->entries);
        snapshot->entries = NULL;
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    return rc;
}

/* Returns true when the snapshot has an entry for topic (rows sorted by topic). */
static bool snapshot_has(const struct snapshot *snapshot, const char *topic)
{
    int low = 0;
    int high = PQntuples(snapshot->entries);

    while (low < high) {
        int middle = low + (high - low) / 2;
        int order = strcmp(PQgetvalue(snapshot->entries, middle, 0), topic);

        if (order == 0) {
            return true;
        }
        if (order < 0) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return false;
}

static void format_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Publishes one entry when it differs from the cache (or always when full). Returns 1
 * when published, 0 when unchanged, -1 on failure. */
static int publish_entry(struct mqtt_link *link, struct directory_cache *cache,
                         const char *topic, const char *content, bool full)
{
    json_t *entry = json_loads(content, 0, NULL);
    struct directory_entry *known = directory_cache_find(cache, topic);
    char *canonical = entry ? directory_canonical(entry) : NULL;
    char *payload = NULL;
    char now[32];
    bool same;
    int rc = -1;

    if (canonical == NULL) {
        goto out;
    }
    same = known != NULL && known->canonical != NULL &&
           strcmp(known->canonical, canonical) == 0;
    if (same && !full) {
        rc = 0;
        goto out;
    }
    format_now(now);
    json_object_set_new(entry, "updated",
                        json_string(same && known->updated ? known->updated : now));
    payload = json_dumps(entry, JSON_COMPACT);
    if (payload == NULL ||
        mqtt_link_publish(link, topic, payload, strlen(payload), true, NULL) != 0) {
        goto out;
    }
    if (!same) {
        log_msg(LOG_LEVEL_INFO, "msg=\"directory entry published\" topic=%s", topic);
    }
    rc = directory_cache_set(cache, topic, canonical,
                             json_string_value(json_object_get(entry, "updated")))
             ? 1
             : -1;
out:
    free(payload);
    free(canonical);
    json_decref(entry);
    return rc;
}

/* Clears the cached entries the snapshot no longer has. Returns how many failed. */
static int clear_removed(struct mqtt_link *link, struct directory_cache *cache,
                         const struct snapshot *snapshot, int *cleared)
{
    int failed = 0;

    for (size_t i = 0; i < cache->count;) {
        const char *topic = cache->entries[i].topic;

        if (snapshot_has(snapshot, topic)) {
            i++;
        } else if (mqtt_link_publish(link, topic, NULL, 0, true, NULL) == 0) {
            log_msg(LOG_LEVEL_INFO, "msg=\"directory entry cleared\" topic=%s", topic);
            directory_cache_remove(cache, topic);
            (*cleared)++;
        } else {
            failed++;
            i++;
        }
    }
    return failed;
}

int directory_sync(PGconn *conn, struct mqtt_link *link, struct directory_cache *cache,
                   bool full, int64_t *next_change_ms)
{
    struct snapshot snapshot;
    int published = 0;
    int cleared = 0;
    int failed = 0;

    if (read_snapshot(conn, &snapshot) != 0) {
        return -1;
    }
    *next_change_ms = snapshot.next_change_ms;
    for (int i = 0; i < PQntuples(snapshot.entries); i++) {
        int rc = publish_entry(link, cache, PQgetvalue(snapshot.entries, i, 0),
                               PQgetvalue(snapshot.entries, i, 1), full);

        published += rc > 0;
        failed += rc < 0;
    }
    failed += clear_removed(link, cache, &snapshot, &cleared);
    log_msg(published + cleared + failed > 0 ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
            "msg=\"directory compared with the database\" entries=%d published=%d "
            "cleared=%d failed=%d full=%d",
            PQntuples(snapshot.entries), published, cleared, failed, full);
    PQclear(snapshot.entries);
    return failed > 0 ? -1 : 0;
}
