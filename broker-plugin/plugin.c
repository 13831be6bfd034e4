/*
 * Entry points of iactn_plugin.so for mosquitto 2 (plugin interface version 5).
 *
 * Options from mosquitto.conf:
 *   plugin_opt_conninfo  libpq connection string of the IACTN database (required).
 *                       mosquitto 2.0.11 rejects option keys shorter than three
 *                       characters, hence not "db".
 *   plugin_opt_history_days  how many days of archived alerts to remember at start, so
 *                       that updates, cancellations and acknowledgements of them are
 *                       accepted (default 30).
 */
#include "plugin.h"
#include "jsonarena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static mosquitto_plugin_id_t *plugin_id;

static int on_tick(int event, void *event_data, void *userdata)
{
    static time_t last_expiry_check;
    const struct iactn_policy *policy;
    time_t now = time(NULL);

    (void)event;
    (void)event_data;
    (void)userdata;
    snapshot_tick();
    audit_tick();
    history_tick();
    message_tick();
    /* certificates expire without any policy change: look once a second */
    policy = snapshot_policy();
    if (policy && now != last_expiry_check) {
        last_expiry_check = now;
        clients_enforce(policy);
    }
    return MOSQ_ERR_SUCCESS;
}

static const struct {
    int event;
    MOSQ_FUNC_generic_callback callback;
} handlers[] = {
    {MOSQ_EVT_BASIC_AUTH, auth_on_basic_auth},
    {MOSQ_EVT_ACL_CHECK, acl_on_check},
    {MOSQ_EVT_MESSAGE, message_on_message},
    {MOSQ_EVT_TICK, on_tick},
    {MOSQ_EVT_DISCONNECT, clients_on_disconnect},
};

#define N_HANDLERS (sizeof(handlers) / sizeof(handlers[0]))

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++) {
        if (supported_versions[i] == 5) {
            return 5;
        }
    }
    return -1;
}

static const char *find_option(struct mosquitto_opt *opts, int opt_count, const char *key)
{
    for (int i = 0; i < opt_count; i++) {
        if (strcmp(opts[i].key, key) == 0) {
            return opts[i].value;
        }
    }
    return NULL;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *opts, int opt_count)
{
    const char *conninfo = find_option(opts, opt_count, "conninfo");
    const char *history_days, *user_properties;
    int days;

    (void)userdata;
    plugin_id = identifier;
    if (conninfo == NULL || conninfo[0] == '\0') {
        plugin_log(MOSQ_LOG_ERR, "plugin_opt_conninfo is missing: set it to the libpq "
                                 "connection string of the IACTN database");
        return MOSQ_ERR_INVAL;
    }
    history_days = find_option(opts, opt_count, "history_days");
    days = history_days ? atoi(history_days) : 30;
    if (days < 1 || days > 3650) {
        plugin_log(MOSQ_LOG_ERR, "plugin_opt_history_days=%s is invalid: give 1 to 3650",
                   history_days);
        return MOSQ_ERR_INVAL;
    }
    user_properties = find_option(opts, opt_count, "user_properties");
    if (user_properties == NULL) {
        user_properties = "sender,origin";
    }
    if (message_set_user_properties(user_properties) != 0) {
        plugin_log(MOSQ_LOG_ERR,
                   "plugin_opt_user_properties=%s is invalid: give none, or a "
                   "comma-separated list of sender, origin and recipients",
                   user_properties);
        return MOSQ_ERR_INVAL;
    }
    audit_start(conninfo);
    if (history_start(conninfo, days) != 0) {
        plugin_log(MOSQ_LOG_ERR, "no random key for alert content hashes: OpenSSL's "
                                 "RAND_bytes failed");
        return MOSQ_ERR_UNKNOWN;
    }
    if (snapshot_start(conninfo) != 0) {
        plugin_log(MOSQ_LOG_ERR, "no policy loaded at start: every client is refused "
                                 "until the database can be read");
    }
    /* values made before this are freed with free(), which the arena's function calls */
    json_arena_install();
    for (size_t i = 0; i < N_HANDLERS; i++) {
        int rc = mosquitto_callback_register(plugin_id, handlers[i].event,
                                             handlers[i].callback, NULL, NULL);

        if (rc != MOSQ_ERR_SUCCESS) {
            plugin_log(MOSQ_LOG_ERR, "registering event=%d failed rc=%d", handlers[i].event,
                       rc);
            return rc;
        }
    }
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count)
{
    (void)userdata;
    (void)opts;
    (void)opt_count;
    for (size_t i = 0; i < N_HANDLERS; i++) {
        mosquitto_callback_unregister(plugin_id, handlers[i].event, handlers[i].callback,
                                      NULL);
    }
    snapshot_stop();
    audit_stop();
    history_stop();
    clients_clear();
    json_arena_uninstall();
    return MOSQ_ERR_SUCCESS;
}
