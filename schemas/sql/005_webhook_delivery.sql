-- Webhook delivery by iactn-bridge, and the exact payload behind each archived alert.

-- The payload exactly as the broker stamped and delivered it. The jsonb column
-- reorders members, so it no longer starts with the stamp; webhooks send these bytes
-- instead, the same ones that MQTT subscribers receive. NULL for alerts archived
-- before this column existed, which are sent as payload::text.
ALTER TABLE alerts ADD COLUMN raw_payload text;

-- A bridge claims a delivery by setting claimed_until (and next_attempt_at) to the
-- end of its lease, so that other bridges skip the row while the request is in
-- flight. A bridge that dies mid-request leaves the claim to expire, and the row is
-- attempted again once next_attempt_at passes.
ALTER TABLE deliveries
    ADD COLUMN claimed_until    timestamptz,
    ADD COLUMN last_attempt_at  timestamptz;

-- The delivery worker claims due rows endpoint by endpoint.
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
