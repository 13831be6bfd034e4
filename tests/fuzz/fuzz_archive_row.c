/*
 * Differential fuzzer for archive_row_parse() (bridge/archive_row.c).
 *
 * archive_row_parse() first reads a stamp in the exact form the broker plugin writes
 * with stamp_read(), without a JSON tree, and falls back to a full parse for every
 * other form. The same payload with one space in front is equivalent JSON that never
 * matches the stamp's prefix, so it always takes the full parse. For every input the
 * harness parses both and requires the same verdict and, on success, the same row
 * (payload and payload_len aside, which differ by the space). As a second reference,
 * an accepted payload must also load with jansson (json_loadb with
 * JSON_REJECT_DUPLICATES) and give the same values, as tests/unit/test_archive_row.c
 * checks.
 *
 * The custom mutator builds stamped payloads from parts (list shapes, string
 * contents with escapes, control and NUL bytes, quotes and non-ASCII UTF-8, what
 * follows the stamp, duplicate "iactn" members, truncation), and otherwise leaves
 * the input to libFuzzer's own mutations.
 *
 * Build with tests/fuzz/build.sh. By default the first mismatch aborts, so libFuzzer
 * keeps the input. With FUZZ_FINDINGS_DIR set, the run goes on and the first input of
 * each kind of mismatch is written to that folder.
 */
#include "archive_row.h"
#include "stamp.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "iactn/alerts/CO/imminent-threat"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* The check. */

static const char *findings_dir;

/* Mismatch kinds already written to findings_dir. */
static char seen_kinds[64][96];
static size_t n_seen_kinds;

static void dump_hex(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        fprintf(stderr, "%02x", data[i]);
    }
    fputc('\n', stderr);
}

/* Reports a mismatch. Aborts, or writes the input to findings_dir when no input of
 * this kind was written before. */
static void mismatch(const char *kind, const uint8_t *data, size_t size)
{
    char path[512];
    FILE *f;

    if (findings_dir == NULL) {
        fprintf(stderr, "MISMATCH %s, input (%zu bytes):\n", kind, size);
        dump_hex(data, size);
        abort();
    }
    for (size_t i = 0; i < n_seen_kinds; i++) {
        if (strcmp(seen_kinds[i], kind) == 0) {
            return;
        }
    }
    if (n_seen_kinds < sizeof(seen_kinds) / sizeof(seen_kinds[0])) {
        snprintf(seen_kinds[n_seen_kinds++], sizeof(seen_kinds[0]), "%s", kind);
    }
    snprintf(path, sizeof(path), "%s/%s-%zu", findings_dir, kind, size);
    f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "MISMATCH %s, failed to open %s, input (%zu bytes):\n", kind, path,
                size);
        dump_hex(data, size);
        return;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    fprintf(stderr, "MISMATCH %s written to %s\n", kind, path);
}

static int same_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

/* Names the first field in which a and b differ, or returns NULL. */
static const char *first_difference(const struct archive_row *a, const struct archive_row *b)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
#define FIELD(f) {#f, offsetof(struct archive_row, f)}
        FIELD(id),       FIELD(category),       FIELD(tlp),
        FIELD(status),   FIELD(msg_type),       FIELD(sender),
        FIELD(sender_agency), FIELD(recipient_states), FIELD(recipient_agencies),
        FIELD(sent),     FIELD(expires),        FIELD(received_at),
#undef FIELD
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *x = *(const char *const *)((const char *)a + fields[i].offset);
        const char *y = *(const char *const *)((const char *)b + fields[i].offset);

        if (!same_text(x, y)) {
            return fields[i].name;
        }
    }
    if (strcmp(a->origin, b->origin) != 0 || a->topic != b->topic) {
        return "topic";
    }
    return NULL;
}

/* Builds the PostgreSQL array literal of a JSON array of strings as the general path
 * does. Returns a malloc'd string, or NULL when an item is not a string. */
static char *literal_of(json_t *array)
{
    size_t i, used = 1, size = 3;
    json_t *item;
    char *out;

    if (array == NULL) {
        return strdup("{}");
    }
    if (!json_is_array(array)) {
        return NULL;
    }
    json_array_foreach(array, i, item) {
        if (!json_is_string(item)) {
            return NULL;
        }
        size += json_string_length(item) + 3;
    }
    out = malloc(size);
    if (out == NULL) {
        abort();
    }
    out[0] = '{';
    json_array_foreach(array, i, item) {
        used += (size_t)snprintf(out + used, size - used, "%s\"%s\"", i ? "," : "",
                                 json_string_value(item));
    }
    snprintf(out + used, size - used, "}");
    return out;
}

static const char *member_text(json_t *object, const char *name)
{
    json_t *value = json_object_get(object, name);

    return json_is_null(value) ? NULL : json_string_value(value);
}

/* Compares an accepted row with jansson's reading of the payload. Returns NULL or the
 * name of the field that differs. */
static const char *jansson_difference(const struct archive_row *row, const uint8_t *data,
                                      size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *stamp = json_object_get(doc, "iactn");
    json_t *sender = json_object_get(stamp, "sender");
    json_t *recipients = json_object_get(stamp, "recipients");
    const char *differs = NULL;
    char *states, *agencies;

    if (doc == NULL) {
        return "loads";
    }
    states = literal_of(json_object_get(recipients, "states"));
    agencies = literal_of(json_object_get(recipients, "agencies"));
    if (!same_text(row->id, member_text(doc, "id"))) {
        differs = "id";
    } else if (!same_text(row->category, member_text(doc, "category"))) {
        differs = "category";
    } else if (!same_text(row->tlp, member_text(doc, "tlp"))) {
        differs = "tlp";
    } else if (!same_text(row->status, member_text(doc, "status"))) {
        differs = "status";
    } else if (!same_text(row->msg_type, member_text(doc, "msg_type"))) {
        differs = "msg_type";
    } else if (!same_text(row->sent, member_text(doc, "sent"))) {
        differs = "sent";
    } else if (!same_text(row->expires, member_text(doc, "expires"))) {
        differs = "expires";
    } else if (!same_text(row->sender, member_text(sender, "principal"))) {
        differs = "sender";
    } else if (!same_text(row->sender_agency, member_text(sender, "agency"))) {
        differs = "sender_agency";
    } else if (!same_text(row->received_at, member_text(stamp, "received"))) {
        differs = "received_at";
    } else if (!same_text(row->recipient_states, states)) {
        differs = "recipient_states";
    } else if (!same_text(row->recipient_agencies, agencies)) {
        differs = "recipient_agencies";
    }
    free(states);
    free(agencies);
    json_decref(doc);
    return differs;
}

/* Names the first member of the stamp that contains a NUL byte, to tell findings
 * apart. Returns "-nul" for a NUL byte elsewhere and "" for none. */
static const char *nul_member(const uint8_t *data, size_t size)
{
    struct stamp_view v;
    const struct {
        const char *name;
        const struct stamp_slice *slice;
    } members[] = {
        {"-nul-states", &v.states},       {"-nul-agencies", &v.agencies},
        {"-nul-principal", &v.principal}, {"-nul-role", &v.role},
        {"-nul-state", &v.state},         {"-nul-agency", &v.agency},
        {"-nul-received", &v.received},
    };

    if (!stamp_read(data, size, &v)) {
        return memchr(data, '\0', size) != NULL ? "-nul" : "";
    }
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        const struct stamp_slice *slice = members[i].slice;

        if (slice->text != NULL && memchr(slice->text, '\0', slice->len) != NULL) {
            return members[i].name;
        }
    }
    return memchr(data, '\0', size) != NULL ? "-nul" : "";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    findings_dir = getenv("FUZZ_FINDINGS_DIR");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct archive_row fast, general;
    char err_fast[256], err_general[256], kind[96];
    uint8_t *spaced = malloc(size + 1);
    const char *field;
    int rc_fast, rc_general;

    if (spaced == NULL) {
        return 0;
    }
    spaced[0] = ' ';
    memcpy(spaced + 1, data, size);

    rc_fast = archive_row_parse(&fast, TOPIC, data, size, err_fast, sizeof(err_fast));
    rc_general =
        archive_row_parse(&general, TOPIC, spaced, size + 1, err_general, sizeof(err_general));

    if (rc_general == 0 && general.stamp_text != NULL) {
        mismatch("spaced-took-fast-path", data, size);
    }
    if (rc_fast != rc_general) {
        snprintf(kind, sizeof(kind), "verdict-fast%d-general%d%s", rc_fast, rc_general,
                 nul_member(data, size));
        mismatch(kind, data, size);
    } else if (rc_fast == 0) {
        field = first_difference(&fast, &general);
        if (field != NULL) {
            snprintf(kind, sizeof(kind), "field-%s%s", field,
                     fast.stamp_text != NULL ? "-fast" : "-general");
            mismatch(kind, data, size);
        }
        if (fast.payload_len != size || memcmp(fast.payload, data, size) != 0 ||
            fast.payload[size] != '\0' || general.payload_len != size + 1 ||
            memcmp(general.payload, spaced, size + 1) != 0) {
            mismatch("field-payload", data, size);
        }
        field = jansson_difference(&fast, data, size);
        if (field != NULL) {
            snprintf(kind, sizeof(kind), "jansson-%s%s", field,
                     fast.stamp_text != NULL ? "-fast" : "-general");
            mismatch(kind, data, size);
        }
    }
    if (rc_fast == 0) {
        archive_row_clear(&fast);
    }
    if (rc_general == 0) {
        archive_row_clear(&general);
    }
    free(spaced);
    return 0;
}

/* The generator. */

#define COUNT_OF(a) (sizeof(a) / sizeof(a[0]))

static uint64_t rng_state;

static uint32_t random_below(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return n ? (uint32_t)((rng_state >> 33) % n) : 0;
}

struct out {
    uint8_t *p;
    size_t len;
    size_t max;
};

static void put(struct out *o, const void *s, size_t n)
{
    if (o->len + n > o->max) {
        n = o->max - o->len;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_text(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static const char *const special_bytes[] = {
    "\x00", "\x01", "\x1f", "\"", "\\", "\x7f", "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
    " ",    ",",    "]",    "[",  "}",  "{",    ":",        "\\u0000",      "\\u0041",
    "\\\"", "\\n",  "\t",   "A",  "a",  "-",    ".",        "_",            "0",
};

/* Writes one of special_bytes. The first is a NUL byte, which strlen() would miss. */
static void put_special(struct out *o)
{
    size_t i = random_below(COUNT_OF(special_bytes));

    put(o, special_bytes[i], i == 0 ? 1 : strlen(special_bytes[i]));
}

/* Writes the contents of a string (no quotes): `valid`, or a variant of it. */
static void put_contents(struct out *o, const char *valid)
{
    char buf[256];
    size_t n = strlen(valid);

    switch (random_below(12)) {
    case 0:
        return; /* empty */
    case 1: /* over 63 bytes */
        for (size_t i = 0, count = 60 + random_below(10); i < count; i++) {
            put_text(o, random_below(8) ? "a" : valid);
        }
        return;
    case 2: { /* a special byte inserted */
        size_t at = random_below((uint32_t)n + 1);

        put(o, valid, at);
        put_special(o);
        put_text(o, valid + at);
        return;
    }
    case 3: { /* a byte replaced */
        size_t at = random_below((uint32_t)n + 1);

        snprintf(buf, sizeof(buf), "%s", valid);
        if (at < n) {
            buf[at] = (char)random_below(256);
        }
        put(o, buf, n);
        return;
    }
    case 4: /* truncated */
        put(o, valid, random_below((uint32_t)n + 1));
        return;
    case 5: /* a special byte appended, e.g. a NUL after a valid value */
        put_text(o, valid);
        put_special(o);
        if (random_below(2)) {
            put_text(o, valid);
        }
        return;
    case 6: /* the first letter escaped */
        if (n > 0) {
            snprintf(buf, sizeof(buf), "\\u%04x", (unsigned char)valid[0]);
            put_text(o, buf);
            put_text(o, valid + 1);
            return;
        }
        break;
    case 7: /* case changed */
        snprintf(buf, sizeof(buf), "%s", valid);
        for (size_t i = 0; i < n; i++) {
            if (buf[i] >= 'a' && buf[i] <= 'z') {
                buf[i] = (char)(buf[i] - 'a' + 'A');
            } else if (buf[i] >= 'A' && buf[i] <= 'Z') {
                buf[i] = (char)(buf[i] - 'A' + 'a');
            }
        }
        put(o, buf, n);
        return;
    default:
        break;
    }
    put_text(o, valid);
}

static void put_string(struct out *o, const char *valid)
{
    switch (random_below(40)) {
    case 0:
        put_text(o, "null");
        return;
    case 1:
        put_text(o, "7");
        return;
    case 2:
        put_text(o, "[\"");
        put_text(o, valid);
        put_text(o, "\"]");
        return;
    default:
        break;
    }
    put_text(o, "\"");
    put_contents(o, valid);
    if (random_below(30) != 0) {
        put_text(o, "\"");
    }
}

static const char *const state_codes[] = {"CO", "MX", "CA", "BR", "AR", "PE", "CU", "ZZ"};
static const char *const agency_ids[] = {"mx-cni", "ca-rcmp", "co-dni", "br-pf", "a", "0-9",
                                         "a-b-c-d"};
static const char *const principal_ids[] = {"co-dni-liaison", "iactn-bridge", "a.b_c-d", "0"};
static const char *const roles[] = {"liaison", "agency-system", "archiver", "admin",
                                    "unknown", "*"};
static const char *const times[] = {
    "2026-12-04T15:40:00.005Z", "2026-12-04T15:40:00Z", "2026-12-04T15:40:00+05:30",
    "2026-12-31T23:59:60.123456789-00:00", "2026-02-31T00:00:00Z",
};

static void put_list(struct out *o, const char *const *pool, size_t pool_n)
{
    size_t n = random_below(4) == 0 ? 0 : 1 + random_below(random_below(8) == 0 ? 12 : 4);

    put_text(o, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            switch (random_below(24)) {
            case 0:
                break; /* missing comma */
            case 1:
                put_text(o, ",,");
                break;
            case 2:
                put_text(o, ", ");
                break;
            default:
                put_text(o, ",");
                break;
            }
        }
        if (random_below(4) == 0) {
            put_string(o, pool[random_below((uint32_t)pool_n)]);
        } else {
            put_text(o, "\"");
            put_text(o, pool[random_below((uint32_t)pool_n)]);
            put_text(o, "\"");
        }
    }
    switch (random_below(24)) {
    case 0:
        put_text(o, ",]");
        break;
    case 1:
        put_text(o, " ]");
        break;
    case 2:
        break; /* unclosed */
    default:
        put_text(o, "]");
        break;
    }
}

/* The alert's own members, without the opening brace. */
static const char *const bodies[] = {
    "\"id\":\"6f1c2e0a-8d4b-4c53-9a55-0b7e1f2d3c4a\",\"sent\":\"2026-12-04T15:40:00Z\","
    "\"status\":\"actual\",\"msg_type\":\"alert\",\"tlp\":\"GREEN\",\"category\":"
    "\"imminent-threat\",\"headline\":{\"es\":\"Amenaza cre\xc3\xad" "ble\",\"en\":\"x\"},"
    "\"expires\":\"2026-12-05T15:40:00-05:00\"}",
    "\"id\":\"0B7F3C3E-6A55-4C3E-9D1A-2F4B5C6D7E8F\",\"sent\":\"2026-12-04T10:00:00.5Z\","
    "\"status\":\"exercise\",\"msg_type\":\"update\",\"tlp\":\"AMBER\",\"category\":"
    "\"cyber\",\"references\":[\"a\",{\"b\":[1,2.5e3,true,false,null]}],\"expires\":null}",
    "\n  \"sent\": \"2026-12-04T15:40:00+01:00\",\n  \"id\": "
    "\"6f1c2e0a-8d4b-4c53-9a55-0b7e1f2d3c4a\",\n  \"status\": \"actual\",\n  "
    "\"msg_type\": \"cancel\",\n  \"tlp\": \"RED\",\n  \"category\": \"attack\"\n}\n",
    "\"id\":\"6f1c2e0a-8d4b-4c53-9a55-0b7e1f2d3c4a\",\"sent\":\"2026-12-04T15:40:00Z\","
    "\"status\":\"\\u0061ctual\",\"msg_type\":\"alert\",\"tlp\":\"CLEAR\",\"category\":"
    "\"x\",\"sender\":{\"principal\":\"forged\"},\"note\":\"\\ud83d\\ude00\"}",
};

/* Writes a stamped payload built from parts, most of them valid. */
static void generate(struct out *o)
{
    const char *body = bodies[random_below(COUNT_OF(bodies))];
    size_t body_len = strlen(body);

    if (random_below(50) == 0) {
        put_text(o, " ");
    }
    put_text(o, "{\"iactn\":{\"recipients\":{\"states\":");
    put_list(o, state_codes, COUNT_OF(state_codes));
    if (random_below(30) == 0) {
        put_text(o, "},\"sender\":{\"principal\":"); /* no agencies */
    } else {
        put_text(o, ",\"agencies\":");
        put_list(o, agency_ids, COUNT_OF(agency_ids));
        put_text(o, "},\"sender\":{\"principal\":");
    }
    put_string(o, principal_ids[random_below(COUNT_OF(principal_ids))]);
    put_text(o, ",\"role\":");
    put_string(o, roles[random_below(COUNT_OF(roles))]);
    if (random_below(3) != 0) {
        put_text(o, ",\"state\":");
        put_string(o, state_codes[random_below(COUNT_OF(state_codes))]);
    }
    if (random_below(2) != 0) {
        put_text(o, ",\"agency\":");
        put_string(o, agency_ids[random_below(COUNT_OF(agency_ids))]);
    }
    if (random_below(40) == 0) {
        put_text(o, ",\"extra\":1");
    }
    put_text(o, "},\"received\":");
    put_string(o, times[random_below(COUNT_OF(times))]);
    switch (random_below(30)) { /* what closes the stamp and follows it */
    case 0:
        put_text(o, "},");
        put_text(o, "\"iactn\":{},");
        break;
    case 1:
        put_text(o, "}");
        put_text(o, " ,");
        break;
    case 2:
        put_text(o, "}");
        break;
    case 3:
        put_text(o, ",\"x\":1},");
        break;
    case 4:
        put_text(o, "},,");
        break;
    case 5:
        put_text(o, "}}");
        return;
    case 6:
        put_text(o, "},\"\\u0069actn\":0,");
        break;
    default:
        put_text(o, "},");
        break;
    }
    switch (random_below(20)) {
    case 0:
        put(o, body, random_below((uint32_t)body_len)); /* truncated */
        break;
    case 1:
        put_text(o, "}");
        break;
    case 2:
        put(o, body, body_len);
        put_text(o, random_below(2) ? " " : "x");
        break;
    case 3:
        put(o, body, body_len - 1);
        put_text(o, ",\"iactn\":{\"sender\":{\"principal\":\"x\"}}}");
        break;
    default:
        put(o, body, body_len);
        break;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    struct out o = {data, 0, max_size};

    rng_state = seed * 0x9E3779B97F4A7C15u + 1;
    switch (random_below(8)) {
    case 0:
    case 1: /* a fresh payload from parts */
        generate(&o);
        return o.len;
    case 2: /* truncated at any byte */
        return size > 0 ? random_below((uint32_t)size) : LLVMFuzzerMutate(data, size, max_size);
    case 3: { /* a special byte put somewhere in the stamp */
        struct stamp_view v;
        size_t pick = random_below(COUNT_OF(special_bytes));
        const char *s = special_bytes[pick];
        size_t n = pick == 0 ? 1 : strlen(s);
        size_t limit = stamp_read(data, size, &v) ? v.end + 2 : (size < 400 ? size : 400);
        size_t at = random_below((uint32_t)(limit < size ? limit : size) + 1);

        if (size + n > max_size) {
            return LLVMFuzzerMutate(data, size, max_size);
        }
        if (random_below(2) && at < size) { /* replace */
            memcpy(data + at, s, n <= size - at ? n : size - at);
            return size;
        }
        memmove(data + at + n, data + at, size - at);
        memcpy(data + at, s, n);
        return size + n;
    }
    default:
        return LLVMFuzzerMutate(data, size, max_size);
    }
}
