/*
 * Connection check: the client certificate decides who the client is. A username or
 * password sent by the client plays no part.
 */
#include "plugin.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CLIENT_ID_MAX 128

/* Writes the SHA-256 fingerprint of the certificate's DER encoding as lower-case hex.
 * Returns 0, or -1 when the client sent no certificate. */
static int client_fingerprint(struct mosquitto *client, char *hex)
{
    X509 *cert = mosquitto_client_certificate(client);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int rc = -1;

    if (cert == NULL) {
        return -1;
    }
    if (X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32) {
        for (unsigned int i = 0; i < n; i++) {
            sprintf(hex + 2 * i, "%02x", md[i]);
        }
        rc = 0;
    }
    X509_free(cert);
    return rc;
}

/* A client id must be "{principal}-" followed by at least one character, and contain
 * no wildcard, '/', or control character, so that nobody can take over another
 * principal's session. */
static bool client_id_valid(const char *client_id, const char *principal)
{
    size_t n = strlen(principal);

    if (client_id == NULL || strlen(client_id) > CLIENT_ID_MAX) {
        return false;
    }
    if (strncmp(client_id, principal, n) != 0 || client_id[n] != '-' ||
        client_id[n + 1] == '\0') {
        return false;
    }
    for (const unsigned char *c = (const unsigned char *)client_id; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == '+' || *c == '#' || *c == '/') {
            return false;
        }
    }
    return true;
}

/* Returns true when client_id also belongs to a longer principal id that starts with
 * "{principal}-": principal "ops" may not use "ops-co-live", the id space of "ops-co". */
static bool client_id_of_longer_principal(const struct iactn_policy *p,
                                          const char *principal, const char *client_id)
{
    size_t n = strlen(principal);
    size_t lo = 0, hi = p->n_principals;

    /* principals are sorted by id: find the first one after principal */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (strcmp(p->principals[mid].id, principal) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < p->n_principals; i++) {
        const char *other = p->principals[i].id;
        size_t m = strlen(other);

        if (strncmp(other, principal, n) != 0) {
            break;
        }
        if (other[n] == '-' && strncmp(client_id, other, m) == 0 && client_id[m] == '-') {
            return true;
        }
    }
    return false;
}

const char *auth_refusal_reason(const struct iactn_policy *p, const struct iactn_cert *c)
{
    const struct iactn_principal *pr = c->principal;
    time_t now = time(NULL);

    if (c->revoked) {
        return "certificate_revoked";
    }
    if (now < c->not_before) {
        return "certificate_not_yet_valid";
    }
    if (now > c->not_after) {
        return "certificate_expired";
    }
    if (pr->suspended) {
        return "principal_suspended";
    }
    if (pr->agency) {
        const struct iactn_agency *a = policy_find_agency(p, pr->agency);

        if (a == NULL || a->suspended) {
            return "agency_suspended";
        }
    }
    if (pr->state[0] && !state_set_contains(&p->active_states, pr->state)) {
        return "state_inactive";
    }
    return NULL;
}

static void audit_connect(const char *actor, const char *action, const char *client_id,
                          const char *fingerprint, const char *reason)
{
    char detail[160];

    snprintf(detail, sizeof(detail), "{\"fingerprint\":\"%s\",\"reason\":\"%s\"}",
             fingerprint, reason);
    audit_record(actor, action, client_id ? client_id : "", detail);
}

int auth_on_basic_auth(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_basic_auth *ed = event_data;
    const struct iactn_policy *p = snapshot_policy();
    const char *client_id = mosquitto_client_id(ed->client);
    char fingerprint[POLICY_FINGERPRINT_LEN + 1];
    const struct iactn_cert *cert;
    const char *reason;

    (void)event;
    (void)userdata;
    clients_forget_gone(ed->client);
    if (p == NULL) {
        plugin_log(MOSQ_LOG_WARNING, "connect refused client_id=%s reason=no_policy",
                   client_id);
        audit_connect("-", "connect-refused", client_id, "", "no_policy");
        return MOSQ_ERR_AUTH;
    }
    if (client_fingerprint(ed->client, fingerprint) != 0) {
        plugin_log(MOSQ_LOG_WARNING, "connect refused client_id=%s reason=no_certificate",
                   client_id);
        audit_connect("-", "connect-refused", client_id, "", "no_certificate");
        return MOSQ_ERR_AUTH;
    }
    cert = policy_find_cert(p, fingerprint);
    reason = cert ? auth_refusal_reason(p, cert) : "certificate_unknown";
    if (reason == NULL && (!client_id_valid(client_id, cert->principal->id) ||
                           client_id_of_longer_principal(p, cert->principal->id,
                                                         client_id))) {
        reason = "client_id_invalid";
    }
    if (reason) {
        plugin_log(MOSQ_LOG_WARNING,
                   "connect refused client_id=%s fingerprint=%s principal=%s reason=%s",
                   client_id, fingerprint, cert ? cert->principal->id : "-", reason);
        audit_connect(cert ? cert->principal->id : "-", "connect-refused", client_id,
                      fingerprint, reason);
        return MOSQ_ERR_AUTH;
    }
    if (mosquitto_set_username(ed->client, cert->principal->id) != MOSQ_ERR_SUCCESS ||
        clients_add(ed->client, client_id, fingerprint) != 0) {
        plugin_log(MOSQ_LOG_ERR, "connect refused client_id=%s reason=set_username_failed",
                   client_id);
        return MOSQ_ERR_AUTH;
    }
    /* a session taken over now sends its will before its disconnect event runs */
    clients_mark_replaced(ed->client, client_id);
    plugin_log(MOSQ_LOG_NOTICE,
               "connect accepted client_id=%s principal=%s state=%s role=%s fingerprint=%s",
               client_id, cert->principal->id,
               cert->principal->state[0] ? cert->principal->state : "-",
               policy_role_name(cert->principal->role), fingerprint);
    audit_connect(cert->principal->id, "connect", client_id, fingerprint, "accepted");
    return MOSQ_ERR_SUCCESS;
}
