-- iactn-bridge decides which webhook endpoints receive an alert from a copy of the
-- endpoints that it keeps in memory. Every change that can alter that decision
-- (endpoints, an agency's or a state's suspension) increments this version, and the
-- bridge archives an alert only in the same statement that checks its copy is of the
-- current version. So every alert archived after such a change commits is routed
-- with the change.
CREATE TABLE webhook_routing (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL
);
INSERT INTO webhook_routing (version) VALUES (1);

CREATE FUNCTION webhook_routing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE webhook_routing SET version = version + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER endpoints_webhook_routing
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_routing_changed();
CREATE TRIGGER agencies_webhook_routing
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agencies
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_routing_changed();
CREATE TRIGGER member_states_webhook_routing
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON member_states
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_routing_changed();
