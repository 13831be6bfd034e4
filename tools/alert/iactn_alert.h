/*
 * Shared definitions of iactn-alert, the liaison officer's MQTT client: exit codes and
 * the options every command reads.
 */
#ifndef IACTN_ALERT_TOOL_H
#define IACTN_ALERT_TOOL_H

#define PROGRAM "iactn-alert"

/* Exit codes, documented in the --help text. */
enum exit_code {
    EXIT_ACCEPTED = 0,      /* published and accepted, or watch ended normally */
    EXIT_REFUSED = 1,       /* the broker refused the connection, alert or subscription */
    EXIT_USAGE = 2,         /* invalid command line or configuration */
    EXIT_CONNECTION = 3,    /* connection, TLS or timeout failure */
    EXIT_INVALID_ALERT = 4, /* the alert file is not a valid alert */
};

#define WATCH_TOPICS_MAX 16

struct tool_options {
    /* Connection, from the config file, the environment and the flags. */
    const char *host;
    int port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *client_id; /* NULL: {CN}-alert-{pid} */
    const char *origin;    /* NULL: C of the certificate's subject */
    int verbose;

    /* publish */
    const char *file; /* alert file, "-" for stdin, NULL to build from flags */
    int dry_run;
    const char *headline[4];    /* per language, in the order of compose_languages */
    const char *description[4]; /* same */
    const char *headline_any;   /* --headline, in --lang */
    const char *description_any;
    const char *lang;
    const char *category;
    const char *tlp;
    const char *to;
    const char *agencies;
    const char *groups;
    const char *severity;
    const char *urgency;
    const char *certainty;
    const char *status;
    const char *expires_in;

    /* watch */
    const char *topics[WATCH_TOPICS_MAX];
    int topic_count;
    long count;   /* 0: no limit */
    long timeout; /* seconds, 0: no limit */
    int json;
};

#endif
