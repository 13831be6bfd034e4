#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KEEPALIVE_SECONDS 60

volatile sig_atomic_t client_interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    client_interrupted = 1;
}

static void install_signal_handlers(void)
{
    struct sigaction action;

    memset(&action, 0, sizeof(action));
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

static long now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *properties)
{
    struct client *client = obj;

    (void)mosq;
    (void)flags;
    (void)properties;
    client->connack = rc;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *properties)
{
    struct client *client = obj;

    (void)mosq;
    (void)properties;
    client->disconnected = 1;
    client->disconnect_rc = rc;
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    struct client *client = obj;

    (void)mosq;
    /* The library reports TLS failures only here, e.g. "OpenSSL Error[0]: error:...". */
    if (strstr(text, "OpenSSL Error") != NULL ||
        strstr(text, "certificate/key") != NULL) {
        snprintf(client->tls_error, sizeof(client->tls_error), "%s", text);
    }
    if (client->options->verbose) {
        fprintf(stderr, PROGRAM ": mqtt: %s\n", text);
    }
    (void)level;
}

/* TLS failures as OpenSSL words them, with what the user should check. */
static const struct {
    const char *match;
    const char *explanation;
} tls_failures[] = {
    {"certificate verify failed",
     "the broker's certificate could not be verified: check that --ca is the IACTN "
     "network "
     "CA and that --host is a name or address listed in the broker's certificate"},
    {"inconsistent",
     "the private key (--key) does not belong to the certificate (--cert)"},
    {"key values mismatch",
     "the private key (--key) does not belong to the certificate (--cert)"},
    {"certificate required",
     "the broker requires a client certificate (--cert and --key)"},
    {"unknown ca",
     "the broker does not trust the CA that signed your certificate: use a certificate "
     "issued by the IACTN network CA"},
    {"certificate expired",
     "the broker rejected your certificate because it has expired"},
    {"certificate revoked", "the broker rejected your certificate because it is revoked"},
    {"bad certificate", "the broker rejected your client certificate"},
    {"wrong version number",
     "the server did not answer with TLS: check that --port is the broker's TLS port"},
    {"unsupported certificate",
     "the broker rejected the type of your client certificate"},
    {"unexpected eof", "the server closed the connection during the TLS handshake: check "
                       "that --port is the "
                       "broker's TLS port"},
};

static void explain_tls(const struct client *client)
{
    char lower[sizeof(client->tls_error)];
    size_t i;

    for (i = 0; client->tls_error[i] != '\0'; i++) {
        lower[i] = (char)tolower((unsigned char)client->tls_error[i]);
    }
    lower[i] = '\0';
    for (i = 0; i < sizeof(tls_failures) / sizeof(tls_failures[0]); i++) {
        if (strstr(lower, tls_failures[i].match) != NULL) {
            fprintf(stderr, PROGRAM ": TLS failed: %s.\n", tls_failures[i].explanation);
            break;
        }
    }
    if (i == sizeof(tls_failures) / sizeof(tls_failures[0])) {
        fprintf(stderr, PROGRAM ": TLS failed.\n");
    }
    fprintf(stderr, PROGRAM ": detail: %s\n", client->tls_error);
}

/* Explains why the connection ended. */
static void explain_disconnect(const struct client *client)
{
    int rc = client->disconnect_rc;

    if (client->tls_error[0] != '\0') {
        explain_tls(client);
        return;
    }
    if (rc >= 0x80) {
        fprintf(stderr,
                PROGRAM ": the broker closed the connection: %s (reason 0x%02x).\n",
                mosquitto_reason_string(rc), rc);
    } else {
        fprintf(stderr, PROGRAM ": the connection to the broker at %s:%d was lost: %s\n",
                client->options->host, client->options->port,
                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    }
}

static void explain_connack(const struct client *client)
{
    int rc = client->connack;

    fprintf(stderr, PROGRAM ": the broker refused the connection: %s (reason 0x%02x).\n",
            mosquitto_reason_string(rc), rc);
    switch (rc) {
    case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
    case MQTT_RC_NOT_AUTHORIZED:
    case MQTT_RC_CLIENTID_NOT_VALID:
    case MQTT_RC_BANNED:
        /* IACTN has no passwords: these codes come from the certificate check. */
        fprintf(stderr,
                PROGRAM
                ": IACTN identifies you by your certificate. Check that it is "
                "registered and not revoked or expired, that your state and agency are "
                "active, and that the client id (%s) starts with your principal id "
                "followed by '-'.\n",
                client->client_id);
        break;
    case MQTT_RC_SERVER_UNAVAILABLE:
    case MQTT_RC_SERVER_BUSY:
        fprintf(stderr, PROGRAM ": the broker cannot take connections now; try again "
                                "later.\n");
        break;
    default:
        break;
    }
}

static int check_readable(const char *option, const char *env, const char *path)
{
    FILE *file;

    if (path == NULL) {
        fprintf(stderr,
                PROGRAM ": missing --%s: give it, set %s, or set %s in the config file\n",
                option, env, option);
        return -1;
    }
    file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, PROGRAM ": cannot read --%s file %s: %s\n", option, path,
                strerror(errno));
        return -1;
    }
    fclose(file);
    return 0;
}

static int wait_for_connack(struct client *client)
{
    long deadline = now_ms() + CLIENT_CONNECT_TIMEOUT * 1000L;
    int rc;

    while (client->connack < 0 && !client->disconnected && now_ms() < deadline) {
        rc = mosquitto_loop(client->mosq, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS && !client->disconnected) {
            client->disconnected = 1;
            client->disconnect_rc = rc;
        }
        if (client_interrupted) {
            return EXIT_CONNECTION;
        }
    }
    if (client->connack == 0) {
        return 0;
    }
    if (client->connack > 0) {
        explain_connack(client);
        return EXIT_REFUSED;
    }
    if (client->disconnected) {
        explain_disconnect(client);
        return EXIT_CONNECTION;
    }
    fprintf(stderr,
            PROGRAM ": timed out after %d s waiting for the broker at %s:%d to accept "
                    "the connection\n",
            CLIENT_CONNECT_TIMEOUT, client->options->host, client->options->port);
    return EXIT_CONNECTION;
}

int client_open(struct client *client, const struct tool_options *options,
                const char *client_id, void *command)
{
    int rc;

    memset(client, 0, sizeof(*client));
    client->options = options;
    client->client_id = client_id;
    client->command = command;
    client->connack = -1;
    install_signal_handlers();

    if (check_readable("ca", "IACTN_CA", options->ca_file) != 0 ||
        check_readable("cert", "IACTN_CERT", options->cert_file) != 0 ||
        check_readable("key", "IACTN_KEY", options->key_file) != 0) {
        return EXIT_USAGE;
    }
    client->mosq = mosquitto_new(client_id, true, client);
    if (client->mosq == NULL) {
        fprintf(stderr, PROGRAM ": cannot create the MQTT client: %s\n", strerror(errno));
        return EXIT_CONNECTION;
    }
    mosquitto_int_option(client->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(client->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(client->mosq, on_disconnect);
    mosquitto_log_callback_set(client->mosq, on_log);
    rc = mosquitto_tls_set(client->mosq, options->ca_file, NULL, options->cert_file,
                           options->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr,
                PROGRAM ": cannot use the TLS files --ca %s, --cert %s, --key %s: %s\n",
                options->ca_file, options->cert_file, options->key_file,
                mosquitto_strerror(rc));
        return EXIT_USAGE;
    }

    rc = mosquitto_connect_bind_v5(client->mosq, options->host, options->port,
                                   KEEPALIVE_SECONDS, NULL, NULL);
    if (rc == MOSQ_ERR_TLS || (rc != MOSQ_ERR_SUCCESS && client->tls_error[0] != '\0')) {
        explain_tls(client);
        return EXIT_CONNECTION;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot connect to the broker at %s:%d: %s\n",
                options->host, options->port,
                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return EXIT_CONNECTION;
    }
    return wait_for_connack(client);
}

int client_run(struct client *client, int (*finished)(struct client *), long timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    int rc;

    for (;;) {
        if (finished(client)) {
            return 0;
        }
        if (client_interrupted) {
            return 0;
        }
        if (client->disconnected) {
            explain_disconnect(client);
            return EXIT_CONNECTION;
        }
        if (timeout_ms > 0 && now_ms() >= deadline) {
            return -1;
        }
        rc = mosquitto_loop(client->mosq, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS && !client->disconnected) {
            client->disconnected = 1;
            client->disconnect_rc = rc;
        }
    }
}

void client_close(struct client *client)
{
    if (client->mosq == NULL) {
        return;
    }
    if (client->connack == 0 && !client->disconnected) {
        mosquitto_disconnect(client->mosq);
        /* Let the DISCONNECT go out; the loop returns once the socket is closed. */
        for (int i = 0;
             i < 10 && mosquitto_loop(client->mosq, 100, 1) == MOSQ_ERR_SUCCESS; i++) {
        }
    }
    mosquitto_destroy(client->mosq);
    client->mosq = NULL;
}
