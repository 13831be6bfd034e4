#include "control.h"

#include "admin_requests.h"
#include "directory.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct control {
    struct directory *directory;
    struct admin_requests *admin_requests;
};

/* Reads an on/off key, defaulting to on. */
static int read_switch(const struct iactn_config *config, const char *key, bool *out)
{
    static const char *const on[] = {"on", "yes", "true", "1"};
    static const char *const off[] = {"off", "no", "false", "0"};
    const char *value = config_get(config, key);

    *out = true;
    if (value == NULL) {
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, on[i]) == 0 || strcasecmp(value, off[i]) == 0) {
            *out = strcasecmp(value, on[i]) == 0;
            return 0;
        }
    }
    fprintf(stderr, "iactn-bridge: invalid %s \"%s\" (from %s): expected on or off\n",
            key, value, config_source(config, key));
    return -1;
}

int control_configure(const struct iactn_config *config, struct control_options *out)
{
    if (read_switch(config, "directory", &out->directory) != 0 ||
        read_switch(config, "admin_requests", &out->admin_requests) != 0) {
        return -1;
    }
    return 0;
}

/* Fills the link options of one service; client_id is the caller's buffer. */
static void link_options(const struct control_options *options, const char *suffix,
                         char *client_id, size_t size, struct mqtt_link_options *out)
{
    snprintf(client_id, size, "%s-%s", options->client_id, suffix);
    memset(out, 0, sizeof(*out));
    out->host = options->host;
    out->port = options->port;
    out->ca_file = options->ca_file;
    out->cert_file = options->cert_file;
    out->key_file = options->key_file;
    out->client_id = client_id;
}

struct control *control_start(const struct control_options *options)
{
    struct control *control = calloc(1, sizeof(*control));
    struct mqtt_link_options link;
    char client_id[300];

    if (control == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        return NULL;
    }
    if (options->directory) {
        link_options(options, "directory", client_id, sizeof(client_id), &link);
        control->directory = directory_new(options->db, &link);
        if (control->directory == NULL || directory_start(control->directory) != 0) {
            goto fail;
        }
    }
    if (options->admin_requests) {
        link_options(options, "admin", client_id, sizeof(client_id), &link);
        control->admin_requests = admin_requests_new(options->db, &link);
        if (control->admin_requests == NULL ||
            admin_requests_start(control->admin_requests) != 0) {
            goto fail;
        }
    }
    log_msg(LOG_LEVEL_INFO, "msg=\"control services started\" directory=%s admin=%s",
            options->directory ? "on" : "off", options->admin_requests ? "on" : "off");
    return control;

fail:
    control_stop(control, 10);
    return NULL;
}

int control_stop(struct control *control, int timeout_seconds)
{
    int rc = 0;

    if (control == NULL) {
        return 0;
    }
    if (control->admin_requests != NULL &&
        admin_requests_stop(control->admin_requests, timeout_seconds) != 0) {
        rc = -1;
    }
    if (control->directory != NULL &&
        directory_stop(control->directory, timeout_seconds) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        log_msg(LOG_LEVEL_WARNING, "msg=\"a control service is still busy\"");
        return -1;
    }
    admin_requests_free(control->admin_requests);
    directory_free(control->directory);
    free(control);
    return 0;
}
