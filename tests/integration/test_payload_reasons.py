"""Payload rules on a real broker. Each rejected publish gets PUBACK 0x87, reaches no
subscriber, and leaves one mosquitto log line `publish rejected ... reason=<code>`
with the expected reason. Only the origin state may update or cancel its alerts, under
the original's category, a reference must name a known alert, and only recipient
states may acknowledge one.
"""

import json
import re
import uuid

import harness

# Canada's own sharing rules, set up once: everything to everyone, except CBRN alerts
# to Brazil.
CANADA_RULES = [
    ("--category", "*", "--to-all", "--allow"),
    ("--category", "cbrn", "--to-state", "BR", "--deny"),
]


def too_large_alert():
    """Return an otherwise valid alert of more than 64 KiB."""
    text = "x" * 16384
    return harness.make_alert(description={language: text
                                           for language in ("en", "es", "pt", "fr")})


def with_latin1_byte():
    """Return a valid alert whose headline holds a Latin-1 byte, invalid in UTF-8."""
    return json.dumps(harness.make_alert(headline={"es": "Alerta en Bogota"})).encode() \
        .replace(b"Bogota", b"Bogot\xe1")


# (name, publishing liaison, category, payload, expected reason). The payload is a
# dict sent as JSON, or bytes sent as they are.
PAYLOAD_CASES = [
    ("invalid JSON", "co-dni-liaison", "attack", b'{"id": "4d3c", "sent":',
     "invalid_json"),
    ("invalid UTF-8", "co-dni-liaison", "imminent-threat", with_latin1_byte(),
     "invalid_utf8"),
    ("over 64 KiB", "co-dni-liaison", "imminent-threat", too_large_alert(), "too_large"),
    ("severity is a number", "co-dni-liaison", "imminent-threat",
     harness.make_alert(severity=5), "schema"),
    ("sent is a number", "co-dni-liaison", "imminent-threat",
     harness.make_alert(sent=1764860400), "schema"),
    ("headline is a string", "co-dni-liaison", "imminent-threat",
     harness.make_alert(headline="Threat"), "schema"),
    ("unknown TLP", "co-dni-liaison", "imminent-threat", harness.make_alert(tlp="PURPLE"),
     "schema"),
    ("AMBER without distribution", "co-dni-liaison", "imminent-threat",
     harness.make_alert(tlp="AMBER"), "tlp_requires_distribution"),
    ("RED without agencies", "co-dni-liaison", "imminent-threat",
     harness.make_alert(tlp="RED", distribution={"states": ["MX"]}),
     "tlp_requires_agencies"),
    ("AMBER+STRICT with no agency", "co-dni-liaison", "imminent-threat",
     harness.make_alert(tlp="AMBER+STRICT", distribution={"agencies": []}),
     "tlp_requires_agencies"),
    ("expires before sent", "co-dni-liaison", "imminent-threat",
     harness.make_alert(sent=harness.utc_now(), expires=harness.utc_now(-3600)),
     "expires_before_sent"),
    ("distribution names a non-participating state", "co-dni-liaison", "imminent-threat",
     harness.make_alert(distribution={"states": ["MX", "CU"]}), "not_permitted"),
    ("distribution names a state the origin's rules exclude", "ca-rcmp-liaison", "cbrn",
     harness.make_alert(category="cbrn", distribution={"states": ["MX", "BR"]}),
     "not_permitted"),
    ("distribution names an agency the origin's rules exclude", "ca-rcmp-liaison", "cbrn",
     harness.make_alert(category="cbrn", tlp="RED", distribution={"agencies": ["br-pf"]}),
     "not_permitted"),
    ("distribution names an unknown state", "co-dni-liaison", "imminent-threat",
     harness.make_alert(distribution={"states": ["ZZ"]}), "unknown_state"),
]


def payload_bytes(payload):
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def alert_id_of(payload):
    """Return the id of a JSON payload, or None when it has none that can be read."""
    try:
        return json.loads(payload).get("id")
    except (ValueError, AttributeError):
        return None


class PayloadReasonsTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        mark = 0
        for rule in CANADA_RULES:
            cls.stack.admin("rule", "add", "--origin", "CA", *rule)
        if cls.stack.wait_for_log(r"policy loaded .*sharing_rules=3", mark) is None:
            raise harness.HarnessError("the plugin did not load Canada's sharing rules")
        if cls.stack.wait_for_log(r"alert history loaded", mark) is None:
            raise harness.HarnessError("the plugin did not read the alert history")

    def setUp(self):
        # Every state that could receive one of the alerts below, if it were accepted.
        self.watchers = {
            principal: self.stack.connect(principal, subscribe="iactn/alerts/#")
            for principal in ("co-dni-system", "mx-cni-system", "ca-rcmp-system",
                              "br-pf-system")
        }
        self.liaisons = {}

    # helpers ------------------------------------------------------------------------

    def liaison(self, principal):
        if principal not in self.liaisons:
            self.liaisons[principal] = self.stack.connect(principal)
        return self.liaisons[principal]

    def publish(self, principal, topic, payload, user_properties=()):
        """Publish as `principal`; return (PUBACK reason code, log mark before it)."""
        mark = self.stack.log_mark()
        code = self.liaison(principal).publish(topic, payload_bytes(payload),
                                               user_properties=user_properties)
        return code, mark

    def assertRejectedFor(self, principal, topic, payload, reason, what,
                          user_properties=()):
        code, mark = self.publish(principal, topic, payload, user_properties)
        self.assertNotAuthorized(code, what)
        pattern = (rf"publish rejected principal={principal} topic={re.escape(topic)} "
                   rf"reason={reason} ")
        self.assertIsNotNone(self.stack.wait_for_log(pattern, mark),
                             f"{what}: no line 'publish rejected ... reason={reason}'")

    def assertNothingDelivered(self, rejected_ids):
        """Publish one control alert that every watcher receives, and assert that none
        of the rejected alerts (ids mapped to case names) came before it: a delivery of
        a rejected alert would have."""
        control = harness.make_alert(category="attack")
        liaison = self.liaison("co-dni-liaison")
        self.assertAccepted(liaison.publish("iactn/alerts/CO/attack", control))
        for principal, watcher in self.watchers.items():
            with self.subTest(watcher=principal):
                ids = []
                while control["id"] not in ids:
                    received = watcher.collect(5, count=1)
                    if not received:
                        break
                    ids.append(alert_id_of(received[0].payload))
                self.assertIn(control["id"], ids, f"{principal} missed the control alert")
                leaked = [rejected_ids[i] for i in ids if i in rejected_ids]
                self.assertEqual(leaked, [], f"{principal} received rejected alerts")

    def publish_original(self, **fields):
        """Publish a Colombian alert; return its id."""
        alert = harness.make_alert(category="travel", **fields)
        liaison = self.liaison("co-dni-liaison")
        self.assertAccepted(liaison.publish("iactn/alerts/CO/travel", alert))
        return alert["id"]

    # alert payloads -----------------------------------------------------------------

    def test_invalid_payloads_rejected_with_reason(self):
        rejected = {}
        for what, principal, category, payload, reason in PAYLOAD_CASES:
            with self.subTest(case=what):
                topic = f"iactn/alerts/{principal[:2].upper()}/{category}"
                self.assertRejectedFor(principal, topic, payload, reason, what)
                rejected[alert_id_of(payload_bytes(payload))] = what
        self.assertNothingDelivered(rejected)

    def test_permitted_distribution_accepted(self):
        # Control for the not_permitted cases: the same rules let these through.
        cases = [
            ("ca-rcmp-liaison", "cbrn", {"states": ["MX"]}),
            ("ca-rcmp-liaison", "attack", {"states": ["BR"]}),
            ("co-dni-liaison", "imminent-threat", {"states": ["MX", "BR"]}),
        ]
        for principal, category, distribution in cases:
            with self.subTest(principal=principal, category=category):
                alert = harness.make_alert(category=category, distribution=distribution)
                topic = f"iactn/alerts/{principal[:2].upper()}/{category}"
                self.assertAccepted(self.liaison(principal).publish(topic, alert))

    def test_reserved_user_property_rejected(self):
        alert = harness.make_alert(category="attack")
        self.assertRejectedFor("co-dni-liaison", "iactn/alerts/CO/attack", alert,
                               "reserved_property", "iactn-recipients property",
                               user_properties=[("iactn-recipients", "BR,CO,MX")])
        self.assertNothingDelivered({alert["id"]: "iactn-recipients property"})

    # updates and cancellations ------------------------------------------------------

    def test_update_and_cancel_by_origin_accepted(self):
        original = self.publish_original()
        for msg_type in ("update", "cancel"):
            with self.subTest(msg_type=msg_type):
                follow_up = harness.make_alert(category="travel", msg_type=msg_type,
                                               references=[original])
                code, _ = self.publish("co-dni-liaison", "iactn/alerts/CO/travel",
                                       follow_up)
                self.assertAccepted(code, msg_type)

    def test_update_and_cancel_by_other_state_rejected(self):
        original = self.publish_original()
        rejected = {}
        for msg_type in ("update", "cancel"):
            with self.subTest(msg_type=msg_type):
                follow_up = harness.make_alert(category="travel", msg_type=msg_type,
                                               references=[original])
                self.assertRejectedFor("mx-cni-liaison", "iactn/alerts/MX/travel",
                                       follow_up, "not_original_sender",
                                       f"Mexican {msg_type}")
                rejected[follow_up["id"]] = f"Mexican {msg_type}"
        self.assertNothingDelivered(rejected)

    def test_update_under_other_category_rejected(self):
        original = self.publish_original()
        follow_up = harness.make_alert(category="cyber", msg_type="update",
                                       references=[original])
        self.assertRejectedFor("co-dni-liaison", "iactn/alerts/CO/cyber", follow_up,
                               "category_changed", "update under another category")
        self.assertNothingDelivered({follow_up["id"]: "update under another category"})

    def test_unknown_reference_rejected(self):
        follow_up = harness.make_alert(category="travel", msg_type="update",
                                       references=[str(uuid.uuid4())])
        self.assertRejectedFor("co-dni-liaison", "iactn/alerts/CO/travel", follow_up,
                               "unknown_reference", "update of an unknown alert")
        self.assertNothingDelivered({follow_up["id"]: "update of an unknown alert"})

    def test_alert_id_of_other_state_rejected(self):
        original = self.publish_original()
        copy = harness.make_alert(category="travel", id=original)
        self.assertRejectedFor("mx-cni-liaison", "iactn/alerts/MX/travel", copy,
                               "id_taken", "Mexican alert reusing a Colombian id")

    # acknowledgements ---------------------------------------------------------------

    def ack(self, alert_id, status="received"):
        return {"alert_id": alert_id, "status": status, "sent": harness.utc_now()}

    def test_ack_by_recipient_accepted(self):
        original = self.publish_original(distribution={"states": ["MX"]})
        origin = self.stack.connect("co-dni-system", subscribe="iactn/acks/CO/+")
        code, _ = self.publish("mx-cni-liaison", "iactn/acks/CO/MX", self.ack(original))
        self.assertAccepted(code, "acknowledgement by a recipient")
        received = origin.collect(5, count=1)
        self.assertEqual(len(received), 1,
                         "the origin did not receive the acknowledgement")
        stamped = received[0].json()
        self.assertEqual(stamped["alert_id"], original)
        self.assertEqual(stamped["iactn"]["sender"]["principal"], "mx-cni-liaison")

    def test_ack_rejections(self):
        original = self.publish_original(distribution={"states": ["MX"]})
        origin = self.stack.connect("co-dni-system", subscribe="iactn/acks/CO/+")
        cases = [
            ("acknowledgement by a state that did not receive the alert",
             "br-pf-system", "iactn/acks/CO/BR", self.ack(original), "not_a_recipient"),
            ("acknowledgement of an unknown alert",
             "mx-cni-liaison", "iactn/acks/CO/MX", self.ack(str(uuid.uuid4())),
             "unknown_alert"),
            ("acknowledgement under the wrong origin",
             "mx-cni-liaison", "iactn/acks/CA/MX", self.ack(original), "unknown_alert"),
            ("acknowledgement with an unknown status",
             "mx-cni-liaison", "iactn/acks/CO/MX", self.ack(original, status="seen"),
             "schema"),
        ]
        for what, principal, topic, payload, reason in cases:
            with self.subTest(case=what):
                self.assertRejectedFor(principal, topic, payload, reason, what)
        self.assertEqual(origin.collect(1), [],
                         "a rejected acknowledgement was delivered")

    def test_ack_for_other_state_denied(self):
        original = self.publish_original(distribution={"states": ["MX", "BR"]})
        code, mark = self.publish("mx-cni-liaison", "iactn/acks/CO/BR",
                                  self.ack(original))
        self.assertNotAuthorized(code, "acknowledgement in Brazil's name")
        self.assertIsNotNone(
            self.stack.wait_for_log(r"publish denied principal=mx-cni-liaison "
                                    r"topic=iactn/acks/CO/BR .*reason=no_rule", mark),
            "no log line 'publish denied ... reason=no_rule'")


if __name__ == "__main__":
    harness.main()
