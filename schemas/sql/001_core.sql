-- Core tables of the IACTN network: identity, policy, archive, delivery and audit.
-- Applied once by `iactn-admin migrate`, which records it in schema_migrations.

CREATE TABLE member_states (
    code              char(2) PRIMARY KEY CHECK (code ~ '^[A-Z]{2}$'),
    name              text NOT NULL,
    languages         text[] NOT NULL,
    working_language  text NOT NULL,
    -- 'active' states may connect; any other value ('not participating',
    -- 'withdrawn 2023-11-19', 'disputed', ...) keeps the state's principals out.
    participation     text NOT NULL,
    suspended         boolean NOT NULL DEFAULT false
);

CREATE TABLE categories (
    slug         text PRIMARY KEY CHECK (slug ~ '^[a-z][a-z0-9-]{0,31}$'),
    name         text NOT NULL,
    description  text NOT NULL DEFAULT ''
);

CREATE TABLE agencies (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    state_code  char(2) NOT NULL REFERENCES member_states (code),
    name        text NOT NULL,
    suspended   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, state_code)
);

-- A principal is who a certificate speaks for: a state, an agency and a role.
-- Network-wide principals (the bridge, network administrators, broker bridges)
-- have no state or agency.
CREATE TABLE principals (
    id            text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    state_code    char(2) REFERENCES member_states (code),
    agency_id     text,
    role          text NOT NULL CHECK (role IN ('liaison', 'agency-system', 'admin',
                                                'archiver', 'broker-bridge')),
    display_name  text NOT NULL DEFAULT '',
    suspended     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (agency_id, state_code) REFERENCES agencies (id, state_code),
    CHECK ((state_code IS NULL) = (agency_id IS NULL)),
    CHECK (state_code IS NOT NULL OR role IN ('admin', 'archiver', 'broker-bridge'))
);

CREATE TABLE certificates (
    -- SHA-256 of the DER encoding, lower-case hex.
    fingerprint        text PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    subject            text NOT NULL,
    issuer             text NOT NULL DEFAULT '',
    serial             text NOT NULL,
    not_before         timestamptz NOT NULL,
    not_after          timestamptz NOT NULL,
    principal_id       text NOT NULL REFERENCES principals (id),
    revoked_at         timestamptz,
    revocation_reason  text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (not_before < not_after)
);
CREATE INDEX certificates_principal ON certificates (principal_id);

-- Topic rights. In pattern, {state}, {agency} and {principal} stand for the
-- client's own state code, agency id and principal id. The row with the highest
-- priority whose pattern concerns the topic decides; no such row means deny.
CREATE TABLE topic_acl (
    id          bigserial PRIMARY KEY,
    state_code  char(2) REFERENCES member_states (code),  -- NULL: every state
    role        text NOT NULL CHECK (role IN ('*', 'liaison', 'agency-system', 'admin',
                                              'archiver', 'broker-bridge')),
    access      text NOT NULL CHECK (access IN ('publish', 'subscribe')),
    pattern     text NOT NULL CHECK (pattern <> '' AND length(pattern) <= 256),
    allow       boolean NOT NULL,
    priority    integer NOT NULL DEFAULT 0,
    note        text NOT NULL DEFAULT ''
);

CREATE TABLE sharing_groups (
    id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name         text NOT NULL,
    description  text NOT NULL DEFAULT ''
);

CREATE TABLE sharing_group_members (
    group_id    text NOT NULL REFERENCES sharing_groups (id) ON DELETE CASCADE,
    state_code  char(2) NOT NULL REFERENCES member_states (code),
    PRIMARY KEY (group_id, state_code)
);

-- Who may receive the alerts of an origin state. When an origin has rows of its
-- own, only those apply; otherwise the network-wide rows (origin_state NULL) do.
-- category_pattern is a category slug, or '*' for every category. A row targets
-- one state, one sharing group, or (both NULL) every member state. Deny beats allow.
CREATE TABLE sharing_rules (
    id                bigserial PRIMARY KEY,
    origin_state      char(2) REFERENCES member_states (code),
    category_pattern  text NOT NULL DEFAULT '*',
    target_state      char(2) REFERENCES member_states (code),
    target_group      text REFERENCES sharing_groups (id),
    allow             boolean NOT NULL,
    note              text NOT NULL DEFAULT '',
    CHECK (target_state IS NULL OR target_group IS NULL),
    CHECK (category_pattern = '*' OR category_pattern ~ '^[a-z][a-z0-9-]{0,31}$')
);

-- Archive. Written by iactn-bridge, idempotent on id.
CREATE TABLE alerts (
    id                  uuid PRIMARY KEY,
    topic               text NOT NULL,
    origin              char(2) NOT NULL,
    category            text NOT NULL,
    tlp                 text NOT NULL,
    status              text NOT NULL,
    msg_type            text NOT NULL,
    sender              text NOT NULL,   -- verified principal id, stamped by the broker
    sender_agency       text,
    recipient_states    text[] NOT NULL,
    recipient_agencies  text[] NOT NULL DEFAULT '{}',
    sent                timestamptz NOT NULL,
    expires             timestamptz,
    received_at         timestamptz NOT NULL, -- when the broker accepted it
    archived_at         timestamptz NOT NULL DEFAULT now(),
    payload             jsonb NOT NULL
);
CREATE INDEX alerts_origin_received ON alerts (origin, received_at);

CREATE TABLE acks (
    id           bigserial PRIMARY KEY,
    alert_id     uuid NOT NULL,
    origin       char(2) NOT NULL,
    recipient    char(2) NOT NULL,
    sender       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('received', 'read', 'actioned')),
    note         text,
    sent         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_id, sender, status)
);

-- Directory of designated people and institutions.
CREATE TABLE contacts (
    id          bigserial PRIMARY KEY,
    agency_id   text NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    name        text NOT NULL,
    function    text NOT NULL DEFAULT '',
    phones      text[] NOT NULL DEFAULT '{}',
    email       text NOT NULL DEFAULT '',
    languages   text[] NOT NULL DEFAULT '{}',
    time_zone   text NOT NULL DEFAULT 'UTC',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oncall_shifts (
    id          bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position    text NOT NULL CHECK (position IN ('primary', 'backup')),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    CHECK (starts_at < ends_at)
);

-- Webhook endpoints of agencies, and the deliveries owed to them.
CREATE TABLE endpoints (
    id            bigserial PRIMARY KEY,
    agency_id     text NOT NULL REFERENCES agencies (id),
    url           text NOT NULL CHECK (url ~ '^https://'),
    secret        text NOT NULL,
    topic_filter  text NOT NULL DEFAULT 'iactn/alerts/#',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deliveries (
    id               bigserial PRIMARY KEY,
    alert_id         uuid NOT NULL REFERENCES alerts (id),
    endpoint_id      bigint NOT NULL REFERENCES endpoints (id),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    delivered_at     timestamptz,
    UNIQUE (alert_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

-- Append-only record of connections, refusals and policy changes.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,     -- principal id, or the database role for direct edits
    action     text NOT NULL,     -- connect, refuse-connect, refuse-publish, policy-change, ...
    object     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}'
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Any change to a table the broker's policy snapshot reads wakes its listeners.
CREATE FUNCTION notify_policy_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('iactn_policy', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['member_states', 'categories', 'agencies', 'principals',
                             'certificates', 'topic_acl', 'sharing_groups',
                             'sharing_group_members', 'sharing_rules', 'contacts',
                             'oncall_shifts', 'endpoints']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                       'ON %I FOR EACH STATEMENT EXECUTE FUNCTION notify_policy_change()',
                       t || '_notify_policy', t);
    END LOOP;
END;
$$;
