/*
 * Conversion between OASIS CAP 1.2 alerts and IACTN alerts, shared by iactn-alert
 * (import-cap) and iactn-admin (export-cap).
 *
 * Reading XML is left to the caller, which hands over a CAP document tree: a JSON
 * object per XML element in which every child element's local name maps to an array
 * of its occurrences, each a string (an element with text only, trimmed) or an object
 * (an element with child elements). For example
 *
 *   <alert><identifier>X</identifier><info><language>es</language></info></alert>
 *
 * is {"identifier": ["X"], "info": [{"language": ["es"]}]}. Writing is done here, with
 * every character escaped for XML 1.0.
 *
 * The mapping of each field is listed in `iactn-alert help import-cap`.
 */
#ifndef IACTN_CAP_H
#define IACTN_CAP_H

#include <jansson.h>

/* Namespace of CAP 1.2 documents. */
#define CAP_NAMESPACE "urn:oasis:names:tc:emergency:cap:1.2"

/* eventCode valueName under which IACTN writes its category, so it survives a round
 * trip through CAP. */
#define CAP_CATEGORY_CODE "iactn-category"

/* Namespace UUID of the version 5 ids made from "sender,identifier" of CAP alerts
 * whose identifier is not a UUID. Changing it changes every such id. */
#define CAP_UUID_NAMESPACE "7189db21-ea57-4858-987e-42b6851e7ab0"

/* Why a document could not be converted: one sentence for people. */
struct cap_error {
    char message[256];
};

/* Receives each warning about something left out of the conversion. */
typedef void (*cap_warn_fn)(const char *message, void *data);

/* Choices the caller makes instead of the document. */
struct cap_import_options {
    const char *category;  /* IACTN category slug, or NULL to map the CAP category */
    double expires_hours;  /* expiry after sent when no info gives one */
    cap_warn_fn warn;      /* may be NULL */
    void *warn_data;
};

/*
 * Builds an IACTN alert from a CAP 1.2 document tree. The result has every member the
 * alert schema requires, but the caller must still run alert_validate(), since CAP
 * allows texts longer than IACTN does. Returns a new object owned by the caller, or
 * NULL with `error` filled when the document lacks a required element, has a value
 * with no IACTN equivalent (msgType Ack, status Draft, an unmapped category without
 * options->category, ...) or a malformed time, polygon or circle.
 */
json_t *cap_to_alert(json_t *document, const struct cap_import_options *options,
                     struct cap_error *error);

/* What an export needs besides the alert. */
struct cap_export_options {
    const char *sender; /* CAP sender, e.g. "iactn:co-dni-liaison" */
    const char *event;  /* CAP event: the category's name */
    /* The alerts that `references` names, as objects {"id", "sender", "sent"} where
     * sender is a CAP sender; NULL or a missing id: the exported alert's own sender and
     * sent are written for it. */
    json_t *references;
};

/*
 * Writes the valid IACTN alert `alert` as a CAP 1.2 document: one info per language,
 * times with numeric offsets and no fractions, scope and restriction from the TLP,
 * addresses from the distribution. Returns a NUL-terminated string to free() with
 * free(), or NULL with `error` filled when memory runs out or a member has an
 * unexpected type.
 */
char *cap_from_alert(json_t *alert, const struct cap_export_options *options,
                     struct cap_error *error);

/*
 * Writes the version 5 UUID (SHA-1) of "sender,identifier" in CAP_UUID_NAMESPACE into
 * `out` as 36 lower-case characters and a NUL. Returns 0, or -1 when hashing fails.
 */
int cap_uuid_v5(const char *sender, const char *identifier, char out[37]);

/* Returns 1 when `text` is a UUID in the 8-4-4-4-12 hexadecimal form, else 0. */
int cap_is_uuid(const char *text);

#endif
