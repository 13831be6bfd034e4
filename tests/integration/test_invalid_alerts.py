"""Invalid alerts are refused with PUBACK 0x87 and reach nobody: every fixture in
tests/data/alerts/invalid, plus payloads that are not JSON at all."""

import json
import re

import harness


def topic_for(payload):
    """Return the alert topic for a fixture: its own category when it has a valid one,
    so that the topic is never the reason for the refusal."""
    try:
        category = json.loads(payload).get("category", "")
    except (ValueError, AttributeError):
        category = ""
    if not isinstance(category, str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", category):
        category = "imminent-threat"
    return f"iactn/alerts/CO/{category}"


class InvalidAlertsTest(harness.StackTestCase):

    def setUp(self):
        # The origin always receives its own alerts, so an accepted alert would reach
        # Colombia's agency system.
        self.colombia = self.stack.connect("co-dni-system", subscribe="iactn/alerts/#")
        self.liaison = self.stack.connect("co-dni-liaison")

    def assertRefusedAndUndelivered(self, topic, payload, what):
        self.assertNotAuthorized(self.liaison.publish(topic, payload), what)
        self.assertEqual(self.colombia.collect(0.3), [], f"{what} was delivered")

    def test_invalid_fixtures_refused(self):
        names = harness.fixture_names("invalid")
        self.assertGreater(len(names), 0, "no fixtures in tests/data/alerts/invalid")
        for name in names:
            with self.subTest(fixture=name):
                payload = harness.load_fixture("invalid", name)
                self.assertRefusedAndUndelivered(topic_for(payload), payload, name)

    def test_not_json_refused(self):
        self.assertRefusedAndUndelivered("iactn/alerts/CO/attack", b"{not json",
                                         "malformed JSON")

    def test_empty_payload_refused(self):
        self.assertRefusedAndUndelivered("iactn/alerts/CO/attack", b"", "empty payload")

    def test_json_string_refused(self):
        self.assertRefusedAndUndelivered("iactn/alerts/CO/attack", b'"alert"', "JSON string")

    def test_category_differs_from_topic_refused(self):
        alert = harness.make_alert(category="cyber")
        self.assertRefusedAndUndelivered("iactn/alerts/CO/attack", json.dumps(alert),
                                         "category cyber on topic .../attack")

    def test_valid_alert_still_accepted(self):
        # Control: the same client and subscriber work for a valid alert.
        alert = harness.make_alert()
        self.assertAccepted(self.liaison.publish("iactn/alerts/CO/imminent-threat", alert))
        self.assertEqual(len(self.colombia.collect(5, count=1)), 1)


if __name__ == "__main__":
    harness.main()
