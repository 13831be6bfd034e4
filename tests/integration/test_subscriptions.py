"""Topic rules on a real broker. Whatever filter a client subscribes with, it receives
only the alerts whose stamp names its state, and `$share/{group}/` is judged on the
filter after the group. `$SYS` is for administrators. Wills and retained publishes
cannot carry an alert past the message event. Client ids that could address other
sessions or topics are rejected.
"""

import json
import time
import unittest

import harness

BRAZIL = "BR"

# (publishing liaison, category, distribution or None). Brazil is a recipient of
# the alerts whose distribution names it, and of those without a distribution
# (every member state may receive them under the network default rule).
ALERT_MIX = [
    ("co-dni-liaison", "attack", {"states": ["MX"]}),
    ("co-dni-liaison", "cyber", {"states": ["BR"]}),
    ("co-dni-liaison", "travel", {"states": ["MX", "CA"]}),
    ("co-dni-liaison", "financing", None),
    ("mx-cni-liaison", "attack", {"states": ["CO"]}),
    ("mx-cni-liaison", "explosives", {"states": ["BR", "CA"]}),
    ("ca-rcmp-liaison", "imminent-threat", {"states": ["CA"]}),
    ("ca-rcmp-liaison", "wanted-person", None),
]

# Filters a Brazilian agency system may try. Each goes to its own client, because a
# client with overlapping subscriptions receives a message once per filter.
WILDCARD_FILTERS = [
    "#",
    "+/+/+",
    "+/+/+/+",
    "iactn/#",
    "iactn/alerts/#",
    "iactn/alerts/+/+",
    "iactn/alerts/+/attack",
    "$share/g/#",
    "$share/g/iactn/alerts/#",
    "$share/g/+/+/+/+",
]

FORGED_STAMP = {
    "recipients": {"states": ["BR", "CO", "MX"], "agencies": []},
    "sender": {"principal": "mx-cni-liaison", "state": "MX", "agency": "mx-cni",
               "role": "liaison"},
    "received": "2026-01-01T00:00:00.000Z",
}


def granted(codes):
    return len(codes) == 1 and codes[0] < 0x80


def filter_matches(topic_filter, topic):
    """Return True when the MQTT filter (with any $share/{group}/ prefix) matches the
    topic, which must not start with '$'."""
    if topic_filter.startswith("$share/"):
        topic_filter = topic_filter.split("/", 2)[2]
    levels = topic.split("/")
    for index, level in enumerate(topic_filter.split("/")):
        if level == "#":
            return True
        if index >= len(levels) or level not in ("+", levels[index]):
            return False
    return len(topic_filter.split("/")) == len(levels)


def stamp_names(message, state):
    """Return True when the message carries a broker stamp that names state."""
    try:
        recipients = message.json()["iactn"]["recipients"]["states"]
    except (ValueError, KeyError, TypeError):
        return False
    return state in recipients


class SubscriptionsTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.issue("net-admin", "admin")

    def publish_mix(self):
        """Publish ALERT_MIX; return {id: topic} of the alerts that name Brazil."""
        liaisons = {}
        for_brazil = {}
        for principal, category, distribution in ALERT_MIX:
            if principal not in liaisons:
                liaisons[principal] = self.stack.connect(principal)
            state = principal[:2].upper()
            alert = harness.make_alert(category=category, distribution=distribution)
            topic = f"iactn/alerts/{state}/{category}"
            self.assertAccepted(liaisons[principal].publish(topic, alert),
                                f"{principal} {category} {distribution}")
            if distribution is None or BRAZIL in distribution["states"]:
                for_brazil[alert["id"]] = topic
        return for_brazil

    def assertOnlyFor(self, messages, state, what):
        for message in messages:
            self.assertTrue(stamp_names(message, state),
                            f"{what}: {state} received {message!r}")

    # wildcard and shared subscriptions ----------------------------------------------

    def test_wildcards_deliver_only_recipient_alerts(self):
        clients = {}
        for topic_filter in WILDCARD_FILTERS:
            client = self.stack.connect("br-pf-system")
            clients[topic_filter] = (client, client.subscribe(topic_filter))

        for_brazil = self.publish_mix()

        # Wait for the granted filters first: once they have everything, any leak to a
        # refused filter would have arrived as well, from the same fan-out.
        ordered = sorted(clients.items(), key=lambda item: not granted(item[1][1]))
        for topic_filter, (client, codes) in ordered:
            with self.subTest(filter=topic_filter, suback=codes):
                expected = {alert_id for alert_id, topic in for_brazil.items()
                            if granted(codes) and filter_matches(topic_filter, topic)}
                messages = client.collect(5 if expected else 0.2,
                                          count=len(expected) or None)
                alerts = [m for m in messages if m.topic.startswith("iactn/alerts/")]
                self.assertOnlyFor(alerts, BRAZIL, topic_filter)
                self.assertEqual({m.json()["id"] for m in alerts}, expected)

    def test_shared_group_of_two_states_leaks_nothing(self):
        brazil = self.stack.connect("br-pf-system")
        mexico = self.stack.connect("mx-cni-system")
        for client in (brazil, mexico):
            self.assertTrue(granted(client.subscribe("$share/mixed/iactn/alerts/#")))

        self.publish_mix()

        # mosquitto drops a shared delivery that the chosen member may not read, so
        # only the absence of leaks is certain here.
        self.assertOnlyFor(brazil.collect(2), "BR", "Brazilian member")
        self.assertOnlyFor(mexico.collect(0.5), "MX", "Mexican member")

    def test_share_prefix_judged_after_group(self):
        liaison = self.stack.connect("co-dni-liaison")
        cases = [
            ("$share/g/iactn/alerts/#", True),
            ("$share/g/iactn/directory/#", True),
            # group "iactn", filter "alerts/#": outside every allowed topic
            ("$share/iactn/alerts/#", False),
            ("$share/iactn/directory/#", False),
            ("$share/g/iactn/status/#", False),
            ("$share/g/$SYS/#", False),
        ]
        for topic_filter, allowed in cases:
            with self.subTest(filter=topic_filter):
                codes = liaison.subscribe(topic_filter)
                self.assertEqual(granted(codes), allowed, f"SUBACK {codes}")

    # broker internals ---------------------------------------------------------------

    def test_sys_topics_for_admins_only(self):
        for principal in ("co-dni-liaison", "mx-cni-system"):
            with self.subTest(principal=principal):
                client = self.stack.connect(principal)
                self.assertFalse(granted(client.subscribe("$SYS/#")))
                self.assertFalse(granted(client.subscribe("$SYS/broker/version")))
                # $SYS/broker/version is retained: a granted filter delivers at once
                self.assertEqual(client.collect(1), [])

        admin = self.stack.connect("net-admin")
        self.assertTrue(granted(admin.subscribe("$SYS/broker/version")))
        messages = admin.collect(3, count=1)
        self.assertEqual([m.topic for m in messages], ["$SYS/broker/version"])

    def test_control_topics_refused_to_members(self):
        for principal in ("co-dni-liaison", "mx-cni-system"):
            with self.subTest(principal=principal):
                client = self.stack.connect(principal)
                self.assertFalse(granted(client.subscribe("$CONTROL/#")))
                code = client.publish("$CONTROL/dynamic-security/v1",
                                      {"commands": [{"command": "listClients"}]})
                self.assertNotAuthorized(code, "publish to $CONTROL")

    # wills --------------------------------------------------------------------------

    def will_reaches_nobody(self, topic, payload):
        """Connect co-dni-liaison with a will, drop the connection, and assert that no
        subscriber, the archiver included, receives the will."""
        watchers = {
            principal: self.stack.connect(principal, subscribe="iactn/alerts/#")
            for principal in ("co-dni-system", "mx-cni-system", "br-pf-system",
                              "iactn-bridge")
        }
        liaison = self.stack.client("co-dni-liaison")
        liaison.set_will(topic, payload)
        if liaison.connect():
            liaison.drop()
        time.sleep(1)
        for principal, watcher in watchers.items():
            self.assertEqual(watcher.drain(), [], f"{principal} received the will")

        # control: the watchers are live and receive a regular alert
        sender = self.stack.connect("co-dni-liaison")
        self.assertAccepted(sender.publish("iactn/alerts/CO/attack",
                                           harness.make_alert(category="attack")))
        for principal, watcher in watchers.items():
            self.assertEqual(len(watcher.collect(5, count=1)), 1, principal)

    def test_will_on_other_state_topic_reaches_nobody(self):
        self.will_reaches_nobody("iactn/alerts/MX/attack",
                                 harness.make_alert(category="attack"))

    def test_will_with_invalid_payload_reaches_nobody(self):
        self.will_reaches_nobody("iactn/alerts/CO/attack", b"{not json")

    def test_will_with_unstamped_alert_reaches_nobody(self):
        self.will_reaches_nobody("iactn/alerts/CO/attack",
                                 harness.make_alert(category="attack"))

    # mosquitto 2.0.11 publishes a will after the ACL write check only, without the
    # message event, so a will on the client's own alert topic would keep a stamp that
    # the client wrote.
    def test_will_with_forged_stamp_reaches_nobody(self):
        payload = json.dumps({"iactn": FORGED_STAMP, "note": "never validated"},
                             separators=(",", ":"))
        self.will_reaches_nobody("iactn/alerts/CO/attack", payload)

    # retained alerts ----------------------------------------------------------------

    def test_retained_alert_refused_and_not_retained(self):
        liaison = self.stack.connect("co-dni-liaison")
        mark = self.stack.log_mark()
        code = liaison.publish("iactn/alerts/CO/attack", harness.make_alert(category="attack"),
                               retain=True)
        self.assertNotAuthorized(code, "retained alert")
        self.assertIsNotNone(self.stack.wait_for_log(r"reason=alert_retained", mark),
                             "no log line with reason=alert_retained")
        liaison.publish("iactn/alerts/CO/cyber", harness.make_alert(category="cyber"),
                        qos=0, retain=True)

        late = self.stack.connect("co-dni-system", subscribe="iactn/alerts/#")
        self.assertEqual(late.collect(1.5), [], "a retained alert was delivered")

    # client ids ---------------------------------------------------------------------

    def test_client_id_with_reserved_characters_refused(self):
        for suffix in ("a+b", "a#b", "a/b", "#", "+", "a\x01b", "a\nb", "a\x1fb", "a\x7fb"):
            client_id = "co-dni-liaison-" + suffix
            with self.subTest(client_id=client_id):
                client = self.stack.client("co-dni-liaison", client_id=client_id)
                self.assertFalse(client.connect(), f"{client_id!r} was let in")

        control = self.stack.client("co-dni-liaison", client_id="co-dni-liaison-plain-1")
        self.assertTrue(control.connect(), f"CONNACK {control.connect_reason}")


if __name__ == "__main__":
    harness.main()
