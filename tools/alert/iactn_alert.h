/*
 * Shared definitions of iactn-alert, the liaison officer's MQTT client: commands, exit
 * codes and the options every command reads.
 */
#ifndef IACTN_ALERT_TOOL_H
#define IACTN_ALERT_TOOL_H

#define PROGRAM "iactn-alert"

/* Exit codes, documented in the --help text. */
enum exit_code {
    EXIT_ACCEPTED = 0,      /* accepted by the broker, or watch/status ended normally */
    EXIT_REFUSED = 1,       /* the broker refused the connection, message or subscription */
    EXIT_USAGE = 2,         /* invalid command line or configuration */
    EXIT_CONNECTION = 3,    /* connection, TLS or timeout failure */
    EXIT_INVALID_ALERT = 4, /* the alert file or CAP document is not a valid alert */
    EXIT_ABORTED = 5,       /* the user declined at the interactive prompt */
};

enum command {
    CMD_PUBLISH,
    CMD_UPDATE,
    CMD_CANCEL,
    CMD_ACK,
    CMD_WATCH,
    CMD_STATUS,
    CMD_IMPORT_CAP,
    CMD_DIRECTORY,
    CMD_ONCALL,
    CMD_COUNT
};

#define CMD_BIT(c) (1u << (c))

#define WATCH_TOPICS_MAX 16

/* Number of alert languages; their codes are in compose_languages. */
#define LANGUAGE_COUNT 4

struct tool_options {
    enum command command;
    const char *command_name;

    /* Connection, from the config file, the environment and the flags. */
    const char *host;
    int port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *client_id; /* NULL: {CN}-alert-{pid} */
    const char *origin;    /* own state; NULL: C of the certificate's subject */
    int verbose;
    int json;       /* machine-readable output on stdout */
    const char *lang; /* preferred language: en, es, pt or fr */

    /* Positional arguments. */
    const char *file;     /* alert file or CAP document, "-" for stdin, or NULL */
    const char *alert_id; /* update, cancel, ack, status: the alert concerned */

    /* publish, update, cancel, import-cap */
    int dry_run;
    int publish; /* import-cap --publish */
    const char *headline[LANGUAGE_COUNT];    /* in the order of compose_languages */
    const char *description[LANGUAGE_COUNT]; /* same */
    const char *headline_any;                /* --headline, in the preferred language */
    const char *description_any;
    const char *category;
    const char *tlp;
    const char *to;
    const char *agencies;
    const char *groups;
    const char *severity;
    const char *urgency;
    const char *certainty;
    const char *status; /* alert status (publish) or acknowledgement status (ack) */
    const char *expires_in;

    /* ack */
    const char *alert_origin; /* --origin of ack: the state that sent the alert */
    const char *note;

    /* watch, status */
    const char *topics[WATCH_TOPICS_MAX];
    int topic_count;
    long count;   /* 0: no limit */
    long timeout; /* seconds, 0: no limit */
    const char *auto_ack; /* watch --ack STATUS, or NULL */

    /* directory, oncall: the state whose entries to print, NULL for every state */
    const char *directory_state;
};

/* The identity a connecting command works under, from the certificate and options. */
struct identity {
    char client_id[256];
    char principal[128];
    char state[3]; /* own state: --origin/config, else C of the certificate; may be "" */
};

#endif
