/*
 * Topic rights: publish, subscribe and per-delivery checks.
 *
 * Alerts are judged per delivery from the stamp the message event wrote; every other
 * topic by the topic_acl rows of the client's role and state.
 */
#include "plugin.h"

#include <jansson.h>
#include "stamp.h"
#include "topic.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum acl_mode { MODE_MATCH_TOPIC, MODE_COVER_FILTER };

/* Walks the rules from the highest priority down. For a topic name the first rule
 * whose pattern matches decides. For a subscription filter a deny rule decides as soon
 * as it can match any topic of the filter, and an allow rule only once its pattern
 * covers the whole filter. */
static bool rules_allow(const struct iactn_policy *p, const struct iactn_principal *pr,
                        enum iactn_access access, const char *topic, enum acl_mode mode,
                        long *rule_id)
{
    struct iactn_topic_vars vars = {pr->state, pr->agency, pr->id};
    const struct iactn_acl_list *rules = policy_acl_rules(p, access, pr->role, pr->state);
    size_t topic_literal =
        mode == MODE_MATCH_TOPIC ? strlen(topic) : policy_literal_prefix(topic);
    char expanded[TOPIC_MAX + 1];

    *rule_id = 0;
    for (size_t i = 0; i < rules->n; i++) {
        const struct iactn_acl_entry *e = &rules->entries[i];
        size_t common = e->literal_len < topic_literal ? e->literal_len : topic_literal;
        const char *pattern = e->pattern;

        /* both literal prefixes start every topic they match, so they must agree */
        if (strncmp(pattern, topic, common) != 0) {
            continue;
        }
        if (e->needs_expand) {
            if (topic_expand(pattern, &vars, expanded, sizeof(expanded)) != 0) {
                continue;
            }
            pattern = expanded;
        }
        if (mode == MODE_MATCH_TOPIC) {
            if (topic_matches(pattern, topic)) {
                *rule_id = e->rule->id;
                return e->rule->allow;
            }
            continue;
        }
        if (!topic_filters_intersect(pattern, topic)) {
            continue;
        }
        if (!e->rule->allow || topic_filter_covers(pattern, topic)) {
            *rule_id = e->rule->id;
            return e->rule->allow;
        }
    }
    return false;
}

static bool is_alert_topic(const char *topic)
{
    return strncmp(topic, "iactn/alerts/", 13) == 0;
}

/* Topics whose messages the message event validates and stamps. */
static bool is_checked_topic(const char *topic)
{
    size_t n = strlen(topic);

    return is_alert_topic(topic) || strncmp(topic, "iactn/acks/", 11) == 0 ||
           (strncmp(topic, "iactn/admin/", 12) == 0 && n > 8 &&
            strcmp(topic + n - 8, "/request") == 0);
}

/* Returns true when a payload on a checked topic already carries a stamp. Only the
 * broker writes stamps, in the message event. A client that sends one is refused, so
 * that no path that skips the message event (a will the plugin failed to recognise)
 * can deliver it. On alert topics only a payload that starts with the stamp is read as
 * one; elsewhere any "iactn" member counts. */
static bool carries_stamp(const struct mosquitto_evt_acl_check *ed)
{
    static const char prefix[] = "{\"iactn\":";
    json_t *root;
    bool stamped;

    if (is_alert_topic(ed->topic)) {
        return ed->payloadlen >= sizeof(prefix) - 1 &&
               memcmp(ed->payload, prefix, sizeof(prefix) - 1) == 0;
    }
    root = json_loadb(ed->payload, ed->payloadlen, 0, NULL);
    stamped = json_object_get(root, "iactn") != NULL;
    json_decref(root);
    return stamped;
}

/* mosquitto runs every ACL check on its one main thread, so one memo serves them all. */
static struct stamp_memo delivery_memo;

static int check_read(const struct iactn_policy *p, const struct iactn_principal *pr,
                      const struct mosquitto_evt_acl_check *ed)
{
    long rule_id;

    if (!is_alert_topic(ed->topic)) {
        return rules_allow(p, pr, ACCESS_SUBSCRIBE, ed->topic, MODE_MATCH_TOPIC, &rule_id)
                   ? MOSQ_ERR_SUCCESS
                   : MOSQ_ERR_ACL_DENIED;
    }
    /* the archiver receives every alert, but like everyone only stamped ones, so an
     * unstamped payload on an alert topic (a will, say) reaches no subscriber */
    switch (stamp_permits_memo(&delivery_memo, ed->payload, ed->payloadlen, pr->state,
                               pr->agency)) {
    case STAMP_ALLOW:
        return MOSQ_ERR_SUCCESS;
    case STAMP_DENY:
        return pr->role == ROLE_ARCHIVER ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
    case STAMP_INVALID:
        break;
    }
    plugin_log(MOSQ_LOG_WARNING,
               "delivery denied principal=%s topic=%s reason=stamp_missing_or_invalid",
               pr->id, ed->topic);
    return MOSQ_ERR_ACL_DENIED;
}

/* Queues the denial's audit row. Returns true when the denial may also have a log
 * line (see audit_record_limited). */
static bool audit_denial(const struct iactn_principal *pr, const char *action,
                         const char *topic, long rule_id, const char *reason)
{
    char detail[128];

    snprintf(detail, sizeof(detail), "{\"rule\":%ld,\"reason\":\"%s\"}", rule_id, reason);
    return audit_record_limited(pr->id, action, topic, detail);
}

static int check_subscribe(const struct iactn_policy *p, const struct iactn_principal *pr,
                           const struct mosquitto_evt_acl_check *ed)
{
    const char *filter = topic_strip_share(ed->topic);
    long rule_id = 0;

    if (filter && topic_filter_is_valid(filter) &&
        rules_allow(p, pr, ACCESS_SUBSCRIBE, filter, MODE_COVER_FILTER, &rule_id)) {
        return MOSQ_ERR_SUCCESS;
    }
    if (audit_denial(pr, "subscribe-denied", ed->topic, rule_id,
                     "no_rule_covers_filter")) {
        plugin_log(MOSQ_LOG_NOTICE, "subscribe denied principal=%s filter=%s rule=%ld",
                   pr->id, ed->topic, rule_id);
    }
    return MOSQ_ERR_ACL_DENIED;
}

static int check_write(const struct iactn_policy *p, const struct iactn_principal *pr,
                       const struct mosquitto_evt_acl_check *ed)
{
    long rule_id = 0;
    const char *reason = "no_rule";

    if (is_checked_topic(ed->topic) && clients_is_gone(ed->client)) {
        /* a will skips the message event, so it could carry a stamp of its own */
        reason = "will_on_checked_topic";
    } else if (is_checked_topic(ed->topic) && carries_stamp(ed)) {
        reason = "forged_stamp";
    } else if (is_alert_topic(ed->topic) && ed->retain) {
        reason = "alert_retained";
    } else if (rules_allow(p, pr, ACCESS_PUBLISH, ed->topic, MODE_MATCH_TOPIC,
                           &rule_id)) {
        return MOSQ_ERR_SUCCESS;
    } else if (rule_id) {
        reason = "denied_by_rule";
    }
    if (audit_denial(pr, "publish-denied", ed->topic, rule_id, reason)) {
        plugin_log(MOSQ_LOG_NOTICE,
                   "publish denied principal=%s topic=%s rule=%ld reason=%s", pr->id,
                   ed->topic, rule_id, reason);
    }
    return MOSQ_ERR_ACL_DENIED;
}

int acl_on_check(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_acl_check *ed = event_data;
    const struct iactn_policy *p = snapshot_policy();
    const char *username = mosquitto_client_username(ed->client);
    const struct iactn_principal *pr;

    (void)event;
    (void)userdata;
    if (p == NULL || username == NULL) {
        return MOSQ_ERR_ACL_DENIED;
    }
    pr = policy_find_principal(p, username);
    if (pr == NULL || !pr->active) {
        return MOSQ_ERR_ACL_DENIED;
    }
    switch (ed->access) {
    case MOSQ_ACL_READ:
        return check_read(p, pr, ed);
    case MOSQ_ACL_SUBSCRIBE:
        return check_subscribe(p, pr, ed);
    case MOSQ_ACL_WRITE:
        return check_write(p, pr, ed);
    case MOSQ_ACL_UNSUBSCRIBE:
        return MOSQ_ERR_SUCCESS;
    default:
        return MOSQ_ERR_ACL_DENIED;
    }
}
