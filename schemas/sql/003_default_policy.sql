-- Default policy: the topic rights of each role and the network-wide sharing rule.
-- Administrators add rows of their own with higher priority to narrow or widen these.

INSERT INTO topic_acl (role, access, pattern, allow, priority, note) VALUES
    -- Alerts: liaisons publish under their own state; readers subscribe broadly
    -- because every delivery is checked against the alert's stamped recipients.
    ('liaison',       'publish',   'iactn/alerts/{state}/+',      true, 100, 'own alerts'),
    ('liaison',       'subscribe', 'iactn/alerts/#',              true, 100, 'per-message check'),
    ('agency-system', 'subscribe', 'iactn/alerts/#',              true, 100, 'per-message check'),
    ('admin',         'subscribe', 'iactn/alerts/#',              true, 100, 'per-message check'),
    ('archiver',      'subscribe', 'iactn/alerts/#',              true, 100, 'archive'),

    -- Acknowledgements: written by the recipient, read by origin and recipient.
    ('liaison',       'publish',   'iactn/acks/+/{state}',        true, 100, 'own acks'),
    ('agency-system', 'publish',   'iactn/acks/+/{state}',        true, 100, 'own acks'),
    ('liaison',       'subscribe', 'iactn/acks/{state}/+',        true, 100, 'acks of own alerts'),
    ('liaison',       'subscribe', 'iactn/acks/+/{state}',        true, 100, 'own acks'),
    ('agency-system', 'subscribe', 'iactn/acks/{state}/+',        true, 100, 'acks of own alerts'),
    ('agency-system', 'subscribe', 'iactn/acks/+/{state}',        true, 100, 'own acks'),
    ('archiver',      'subscribe', 'iactn/acks/#',                true, 100, 'archive'),

    -- Directory: kept by the archiver, read by every member principal.
    ('archiver',      'publish',   'iactn/directory/+/+',         true, 100, 'directory'),
    ('liaison',       'subscribe', 'iactn/directory/#',           true, 100, 'directory'),
    ('agency-system', 'subscribe', 'iactn/directory/#',           true, 100, 'directory'),
    ('admin',         'subscribe', 'iactn/directory/#',           true, 100, 'directory'),

    -- Presence: each principal its own status (also its will); admins and the
    -- archiver read them all.
    ('*',             'publish',   'iactn/status/{principal}',    true, 100, 'own status'),
    ('admin',         'subscribe', 'iactn/status/#',              true, 100, 'presence'),
    ('archiver',      'subscribe', 'iactn/status/#',              true, 100, 'presence'),

    -- Administration requests and replies.
    ('admin',         'publish',   'iactn/admin/{state}/request', true, 100, 'own state'),
    ('archiver',      'subscribe', 'iactn/admin/+/request',       true, 100, 'applies requests'),
    ('archiver',      'publish',   'iactn/admin/reply/+',         true, 100, 'replies'),
    ('*',             'subscribe', 'iactn/admin/reply/{principal}', true, 100, 'own replies'),

    -- Broker internals are for administrators only.
    ('admin',         'subscribe', '$SYS/#',                      true, 100, 'monitoring');

-- Every origin shares every category with every member state unless it sets rules
-- of its own; messages narrow this further with their distribution.
INSERT INTO sharing_rules (origin_state, category_pattern, allow, note) VALUES
    (NULL, '*', true, 'network default: all member states');
