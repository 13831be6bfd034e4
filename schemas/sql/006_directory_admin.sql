-- Directory of focal points and administration by member states over MQTT.

-- An on-call shift covers either the contact's own agency ('agency') or the whole
-- state of that agency ('state'). So every state and every agency keeps its own 24/7
-- rotation of a primary and a backup.
ALTER TABLE oncall_shifts
    ADD COLUMN scope text NOT NULL DEFAULT 'agency' CHECK (scope IN ('agency', 'state'));

COMMENT ON COLUMN oncall_shifts.scope IS
    'agency: on call for the contact''s agency; state: on call for the whole state of '
    'that agency';

CREATE INDEX contacts_agency ON contacts (agency_id);
CREATE INDEX oncall_shifts_contact ON oncall_shifts (contact_id);
CREATE INDEX oncall_shifts_ends ON oncall_shifts (ends_at);

-- contacts.updated_at is set on every change, whichever tool makes it, so that it
-- shows how recent a contact's details are.
CREATE FUNCTION contacts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_touch();

-- A sharing group owned by a state can be changed only by that state's administrators
-- and by network administrators. NULL means the network owns it. Without an owner,
-- any state administrator could add its own state to a group that another state's
-- sharing rules name, and so receive that state's alerts.
ALTER TABLE sharing_groups ADD COLUMN owner_state char(2) REFERENCES member_states (code);

COMMENT ON COLUMN sharing_groups.owner_state IS
    'state whose administrators may change the group; NULL: network administrators only';

-- The archiver reads the retained directory entries to find and clear those of
-- agencies that no longer exist, including ones removed while it was stopped.
INSERT INTO topic_acl (role, access, pattern, allow, priority, note, principal_scope) VALUES
    ('archiver', 'subscribe', 'iactn/directory/#', true, 100, 'clears stale entries',
     'network');
