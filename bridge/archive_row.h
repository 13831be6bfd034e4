/*
 * The archive rows of stamped messages: the columns of the alerts and acks tables,
 * read from the MQTT topic and from the JSON the broker delivered. That JSON starts
 * with the broker's "iactn" stamp: the verified sender, the time received and, for
 * alerts, the recipients.
 */
#ifndef IACTN_ARCHIVE_ROW_H
#define IACTN_ARCHIVE_ROW_H

#include <jansson.h>
#include <stddef.h>

struct archive_row {
    json_t *document;  /* the parsed payload; the strings below point into it */
    char *stamp_text;  /* or the stamp's strings, when they were read without a tree */
    const char *topic;
    char origin[3]; /* third topic level */
    const char *id;
    const char *category;
    const char *tlp;
    const char *status;
    const char *msg_type;
    const char *sender;        /* iactn.sender.principal */
    const char *sender_agency; /* iactn.sender.agency, NULL for network principals */
    char *recipient_states;    /* PostgreSQL array literal, e.g. {"CO","MX"} */
    char *recipient_agencies;  /* PostgreSQL array literal, "{}" when empty */
    const char *sent;
    const char *expires;     /* NULL when the alert has none */
    const char *received_at; /* iactn.received */
    char *payload;           /* the payload as received, NUL-terminated */
    size_t payload_len;      /* bytes in payload, without the NUL */
};

/*
 * Fills `row` from a message received on `topic` (kept by pointer, so it must outlive
 * the row). Checks what the table needs: an alert topic, a JSON object with the
 * stamp, a UUID id, RFC 3339 times, and well-formed state codes, agency and principal
 * ids. Returns 0, or -1 with a sentence in `err` saying why the message cannot be
 * archived; on failure `row` needs no freeing. The caller frees a filled row
 * with archive_row_clear(). Does not block.
 */
int archive_row_parse(struct archive_row *row, const char *topic, const void *payload,
                      size_t len, char *err, size_t err_size);

/*
 * Frees what archive_row_parse() allocated and zeroes `row`. Accepts a zeroed row.
 */
void archive_row_clear(struct archive_row *row);

/* The acks row of one stamped acknowledgement, published on
 * iactn/acks/{ORIGIN}/{RECIPIENT}. */
struct ack_row {
    json_t *document; /* the parsed payload; the strings below point into it */
    const char *topic;
    char origin[3];          /* third topic level: the alert's origin state */
    char recipient[3];       /* fourth topic level: the acknowledging state */
    const char *alert_id;    /* UUID */
    const char *sender;      /* iactn.sender.principal */
    const char *status;      /* received, read or actioned */
    const char *note;        /* NULL when the acknowledgement has none */
    const char *sent;        /* the sender's clock */
    const char *received_at; /* iactn.received */
};

/*
 * Fills `row` from an acknowledgement received on `topic` (kept by pointer). Checks
 * the topic, the stamp, and that the sender's state is the recipient in the topic,
 * as the broker enforces. Returns 0, or -1 with a sentence in `err`; on failure `row`
 * needs no freeing. The caller frees a filled row with ack_row_clear(). Does not
 * block.
 */
int ack_row_parse(struct ack_row *row, const char *topic, const void *payload, size_t len,
                  char *err, size_t err_size);

/*
 * Frees what ack_row_parse() allocated and zeroes `row`. Accepts a zeroed row.
 */
void ack_row_clear(struct ack_row *row);

#endif
