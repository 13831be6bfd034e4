-- Topic rights can now be limited to principals of a state or to network-wide ones
-- (the secretariat's administrators, the archiver). Rows with state_code NULL used
-- to reach both, which made it impossible to give network administrators a right
-- that state administrators of the same role must not have.
ALTER TABLE topic_acl
    ADD COLUMN principal_scope text NOT NULL DEFAULT 'any'
        CHECK (principal_scope IN ('any', 'state', 'network'));

COMMENT ON COLUMN topic_acl.principal_scope IS
    'any: every principal of the role; state: only principals of a state; '
    'network: only network-wide principals (no state)';

-- Network administrators send requests for any state and read every presence topic.
INSERT INTO topic_acl (role, access, pattern, allow, priority, note, principal_scope) VALUES
    ('admin', 'publish', 'iactn/admin/+/request', true, 100, 'network administrators',
     'network');
