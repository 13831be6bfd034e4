"""Large JSON trees and numbers at the archive's limits on a real broker. The plugin
builds each alert's tree in a per-thread arena of 256 KiB and falls back to malloc when
the arena is full. Alerts near 64 KiB with tens of thousands of small values fill it,
both on the path that copies the client's bytes and on the one that serialises the tree
again (a client "sender" or "iactn" member). Each accepted alert must arrive intact with
the verified stamp, and each rejected one must give its reason, also when an accepted
alert follows it and while the policy reloads."""

import json
import re
import time

import harness

TOPIC = "iactn/alerts/CO/imminent-threat"

# Bytes left for the extra member of alert_with(), so that the alert stays under 64 KiB.
EXTRA_BYTES = 64900


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


def alert_with(member):
    """Return the bytes of a valid GREEN alert for Mexico with one more member, given as
    raw JSON text such as b'"sender":[0,0]'."""
    text = compact(harness.make_alert(distribution={"states": ["MX"]}))
    return text[:-1] + b"," + member + b"}"


def repeated(prefix, item, suffix, limit=EXTRA_BYTES):
    """Return prefix, then item as many times as fits in limit bytes, comma-separated,
    then suffix."""
    count = (limit - len(prefix) - len(suffix)) // (len(item) + 1)
    return prefix + b",".join([item] * count) + suffix


def nested(depth, inner=b""):
    return b"[" * depth + inner + b"]" * depth


class LargeAlertsTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        # The plugin adds the iactn-recipients property only when configured to.
        cls.stack.plugin_options["user_properties"] = "sender,origin,recipients"
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        cls.stack.issue("co-dni-admin", "admin", "CO", "co-dni")
        cls.stack.connect_eventually("co-dni-admin").close()
        if cls.stack.wait_for_log(r"alert history loaded", 0) is None:
            raise harness.HarnessError("the plugin did not read the alert history")

    def setUp(self):
        self.mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        self.liaison = self.stack.connect("co-dni-liaison")

    # helpers ------------------------------------------------------------------------

    def assertAcceptedOn(self, topic, payload, what, client=None):
        code = (client or self.liaison).publish(topic, payload, timeout=30)
        self.assertAccepted(code, what)

    def assertRejectedFor(self, payload, reason, what, topic=TOPIC, client=None):
        # The plugin writes a limited number of rejection lines per principal and second.
        time.sleep(0.3)
        mark = self.stack.log_mark()
        code = (client or self.liaison).publish(topic, payload, timeout=30)
        self.assertNotAuthorized(code, what)
        pattern = (rf"publish rejected principal=\S+ topic={re.escape(topic)} "
                   rf"reason={reason} ")
        self.assertIsNotNone(self.stack.wait_for_log(pattern, mark, timeout=30),
                             f"{what}: no line 'publish rejected ... reason={reason}'")

    def assertDeliveredIntact(self, payload, what):
        """Publish an alert for Mexico and assert that Mexico receives it stamped, with
        every member but "sender" and "iactn" as sent."""
        self.assertAcceptedOn(TOPIC, payload, what)
        received = self.mexico.collect(30, count=1)
        self.assertEqual(len(received), 1, f"{what}: Mexico received nothing")
        stamped = received[0].json()
        stamp = stamped.pop("iactn")
        self.assertEqual(stamp["sender"]["principal"], "co-dni-liaison", what)
        self.assertEqual(stamp["recipients"]["states"], ["CO", "MX"], what)
        self.assertEqual(received[0].user_properties.get("iactn-recipients"), "CO,MX",
                         what)
        sent = json.loads(payload)
        sent.pop("sender", None)
        sent.pop("iactn", None)
        self.assertEqual(stamped, sent, what)

    # large trees --------------------------------------------------------------------

    def test_large_trees_delivered(self):
        cases = [
            ("zeros in sender", repeated(b'"sender":[', b"0", b"]")),
            ("reals in sender", repeated(b'"sender":[', b"1.5e-3", b"]")),
            ("strings in sender", repeated(b'"sender":[', b'"aaaaaaaaaa"', b"]")),
            ("empty objects in sender", repeated(b'"sender":[', b"{}", b"]")),
            ("nested arrays in sender", repeated(b'"sender":[', b"[[]]", b"]")),
            ("keys in iactn", b'"iactn":{' + b",".join(
                b'"k%d":%d' % (i, i) for i in range(5000)) + b"}"),
        ]
        for name, member in cases:
            with self.subTest(name):
                payload = alert_with(member)
                self.assertLessEqual(len(payload), 65536, name)
                self.assertDeliveredIntact(payload, name)

    def test_large_polygon_delivered(self):
        # Without "sender" or "iactn" the broker copies the client's bytes after the
        # stamp, but the tree still fills the arena.
        ring = [[0, 0]] * 1000
        area = {"geometry": {"type": "Polygon", "coordinates": [ring] * 7}}
        payload = compact(harness.make_alert(distribution={"states": ["MX"]}, area=area))
        self.assertLess(len(payload), 65536)
        self.assertDeliveredIntact(payload, "polygon of 7000 positions")

    # numbers ------------------------------------------------------------------------

    def test_numbers_at_limits(self):
        digits_1000 = b"0." + b"0" * 998 + b"1"
        # (the value of "sender", expected reason or None when accepted)
        cases = [
            (b"-0", None),
            (b"-0.0e-0", None),
            (digits_1000, None),
            (digits_1000 + b"0", "number_out_of_range"),
            (b"1e-1000", None),
            (b"1e-1001", "number_out_of_range"),
            (b"1E-0001000", None),
            (b"1E-00001001", "number_out_of_range"),
            (b"-" + b"1" * 1000 + b"e-1000", None),
            (b"-" + b"1" * 1001 + b"e-1000", "number_out_of_range"),
            (b'"1e-1001"', None),
            (b'{"1e-1001":"' + b"9" * 5000 + b'"}', None),
            (nested(1000, b"1e-1001"), "number_out_of_range"),
            # not JSON, or beyond what the parser takes: invalid_json comes first
            (b"1e+1000", "invalid_json"),
            (b"1" * 1001, "invalid_json"),
            (b"[1e-1001", "invalid_json"),
            (b"1e-1001,", "invalid_json"),
            (b"01", "invalid_json"),
            (b"1.", "invalid_json"),
            (nested(2100), "invalid_json"),
            (b'"a","sender":1', "invalid_json"),
            (b'"\xe1"', "invalid_utf8"),
        ]
        for value, reason in cases:
            name = value[:40].decode("latin-1")
            with self.subTest(name):
                payload = alert_with(b'"sender":' + value)
                if reason is None:
                    self.assertDeliveredIntact(payload, name)
                else:
                    self.assertRejectedFor(payload, reason, name)

    def test_deep_nesting_accepted(self):
        # Python's json module exceeds its default recursion limit on 2000 levels, so
        # only the PUBACK is checked.
        self.assertAcceptedOn(TOPIC, alert_with(b'"sender":' + nested(2000)),
                              "2000 nested arrays")

    # rejections inside the arena scope ----------------------------------------------

    def test_rejection_then_acceptance(self):
        large_sender = [0] * 15000
        cases = [
            (alert_with(repeated(b'"sender":[', b"0", b'],"tlp":"PURPLE"', 64000))
             .replace(b'"tlp":"GREEN",', b""), "schema"),
            (alert_with(b'"sender":' + nested(1000, b"1e-1001")), "number_out_of_range"),
            (compact(harness.make_alert(distribution={"states": ["ZZ"]},
                                        sender=large_sender)), "unknown_state"),
            (compact(harness.make_alert(category="attack", sender=large_sender)),
             "category_mismatch"),
        ]
        for payload, reason in cases:
            with self.subTest(reason):
                self.assertRejectedFor(payload, reason, reason)
                follower = alert_with(repeated(b'"sender":[', b'"x"', b"]", 30000))
                self.assertDeliveredIntact(follower, f"alert after {reason}")

    # acknowledgements and administration requests -----------------------------------

    def test_large_ack_stamped(self):
        alert = harness.make_alert(distribution={"states": ["MX"]})
        self.assertDeliveredIntact(compact(alert), "original")
        origin = self.stack.connect("co-dni-liaison", subscribe="iactn/acks/CO/MX")
        ack = {"alert_id": alert["id"], "status": "received", "sent": harness.utc_now(),
               "sender": [0] * 20000}
        self.assertAcceptedOn("iactn/acks/CO/MX", compact(ack), "acknowledgement",
                              client=self.stack.connect("mx-cni-system"))
        received = origin.collect(30, count=1)
        self.assertEqual(len(received), 1, "Colombia received no acknowledgement")
        stamp = received[0].json()["iactn"]
        self.assertEqual(stamp["sender"]["principal"], "mx-cni-system")

    def test_admin_requests_stamped(self):
        admin = self.stack.connect("co-dni-admin")
        topic = "iactn/admin/CO/request"
        for body in ({"op": "acl-list", "sender": [0] * 20000}, {}, {"sender": 1}):
            with self.subTest(body=str(body)[:40]):
                self.assertAcceptedOn(topic, compact(body), "administration request",
                                      client=admin)
        self.assertRejectedFor(b'{"op":1e-1001}', "number_out_of_range",
                               "administration request", topic=topic, client=admin)

    # policy reloads -----------------------------------------------------------------

    def test_burst_during_policy_reloads(self):
        sent = {}
        for i in range(60):
            if i % 10 == 0:
                # Each rule change makes the loader thread read the policy again.
                self.stack.admin("rule", "add", "--origin", "CO", "--category",
                                 "imminent-threat", "--to-state", "MX", "--allow")
            alert = harness.make_alert(distribution={"states": ["MX"]},
                                       sender=[i] * (i * 200))
            sent[alert["id"]] = alert
            self.liaison.publish_nowait(TOPIC, alert)
            # a truncated copy, rejected as invalid JSON
            self.liaison.publish_nowait(TOPIC, compact(alert)[:-5])
        received = self.mexico.collect(60, count=len(sent))
        self.assertEqual(len(received), len(sent))
        for message in received:
            stamped = message.json()
            expected = dict(sent[stamped["id"]])
            expected.pop("sender")
            del stamped["iactn"]
            self.assertEqual(stamped, expected)


if __name__ == "__main__":
    harness.main()
