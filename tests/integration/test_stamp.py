"""The broker's stamp: whatever sender or stamp a client writes into an alert, the
subscribers see the verified principal in a stamp the broker wrote."""

import json
import re
import time

import harness

FORGED_STAMP = {
    "recipients": {"states": ["BR", "CA", "CO", "MX"], "agencies": []},
    "sender": {"principal": "mx-cni-liaison", "state": "MX", "agency": "mx-cni",
               "role": "liaison"},
    "received": "2020-01-01T00:00:00Z",
}


class StampTest(harness.StackTestCase):

    def setUp(self):
        self.mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        self.brazil = self.stack.connect("br-pf-system", subscribe="iactn/alerts/#")
        self.liaison = self.stack.connect("co-dni-liaison")

    def publish_forged(self):
        alert = harness.make_alert(distribution={"states": ["MX"]}, sender="mx-cni-liaison",
                                   iactn=FORGED_STAMP)
        self.assertAccepted(self.liaison.publish("iactn/alerts/CO/imminent-threat", alert))
        messages = self.mexico.collect(5, count=1)
        self.assertEqual(len(messages), 1, "Mexico did not receive the alert")
        return alert, messages[0]

    def test_forged_sender_replaced(self):
        _, message = self.publish_forged()
        stamped = message.json()
        self.assertEqual(stamped["iactn"]["sender"]["principal"], "co-dni-liaison")
        self.assertEqual(stamped["iactn"]["sender"]["role"], "liaison")
        self.assertNotIn("sender", stamped)

    def test_forged_stamp_replaced(self):
        _, message = self.publish_forged()
        stamp = message.json()["iactn"]
        self.assertEqual(stamp["recipients"]["states"], ["CO", "MX"])
        self.assertNotEqual(stamp["received"], FORGED_STAMP["received"])

    def test_forged_recipients_not_delivered(self):
        self.publish_forged()
        self.assertEqual(self.brazil.collect(2), [])

    def test_stamp_is_first_member(self):
        _, message = self.publish_forged()
        self.assertTrue(message.payload.startswith(b'{"iactn":{"recipients":'),
                        message.payload[:60])

    def test_alert_body_kept(self):
        alert, message = self.publish_forged()
        stamped = message.json()
        for name in ("id", "sent", "tlp", "category", "headline", "distribution"):
            self.assertEqual(stamped[name], alert[name], name)

    def test_user_properties_name_sender(self):
        _, message = self.publish_forged()
        self.assertEqual(message.user_properties.get("iactn-sender"), "co-dni-liaison")
        self.assertEqual(message.user_properties.get("iactn-origin"), "CO")
        # the recipients stay in the stamp unless the broker is configured to repeat them
        self.assertNotIn("iactn-recipients", message.user_properties)

    def test_client_iactn_property_refused(self):
        alert = harness.make_alert(distribution={"states": ["MX"]})
        code = self.liaison.publish("iactn/alerts/CO/imminent-threat", json.dumps(alert),
                                    user_properties=[("iactn-sender", "mx-cni-liaison")])
        self.assertNotAuthorized(code)
        self.assertEqual(self.mexico.collect(2), [])


class UserPropertiesOptionTest(harness.StackTestCase):
    """plugin_opt_user_properties chooses the facts of the stamp that go out as user
    properties. A broker given an unknown name does not start."""

    def restart_with(self, value):
        self.stack.plugin_options["user_properties"] = value
        self.addCleanup(self.stack.restart_broker)
        self.addCleanup(self.stack.plugin_options.clear)
        self.stack.restart_broker()

    def deliver(self):
        mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        liaison = self.stack.connect("co-dni-liaison")
        alert = harness.make_alert(distribution={"states": ["MX"]})
        self.assertAccepted(liaison.publish("iactn/alerts/CO/imminent-threat", alert))
        messages = mexico.collect(5, count=1)
        self.assertEqual(len(messages), 1, "Mexico did not receive the alert")
        self.assertEqual(messages[0].json()["iactn"]["recipients"]["states"], ["CO", "MX"])
        return {k: v for k, v in messages[0].user_properties.items()
                if k.startswith("iactn-")}

    def test_all_three(self):
        self.restart_with("sender,origin,recipients")
        self.assertEqual(self.deliver(), {"iactn-sender": "co-dni-liaison",
                                          "iactn-origin": "CO", "iactn-recipients": "CO,MX"})

    def test_recipients_only(self):
        self.restart_with("recipients")
        self.assertEqual(self.deliver(), {"iactn-recipients": "CO,MX"})

    def test_none(self):
        self.restart_with("none")
        self.assertEqual(self.deliver(), {})

    def test_unknown_name_stops_the_broker(self):
        self.addCleanup(self.stack.start_broker)
        self.addCleanup(self.stack.plugin_options.clear)
        for value in ("sender,country", "sender,", "Sender"):
            with self.subTest(value=value):
                self.stack.plugin_options["user_properties"] = value
                mark = self.stack.log_mark()
                with self.assertRaises(harness.HarnessError):
                    self.stack.restart_broker()
                self.assertTrue(any(f"plugin_opt_user_properties={value} is invalid" in line
                                    for line in self.stack.log_lines(mark)), value)


class AcceptedLogLinesTest(harness.StackTestCase):
    """Accepted alerts get a log line each, up to 10 a second. The others of that
    second are counted in one line once it is over."""

    ALERTS = 60

    def test_burst_is_counted_not_lost(self):
        liaison = self.stack.connect("co-dni-liaison")
        mark = self.stack.log_mark()
        for _ in range(self.ALERTS):
            liaison.publish_nowait("iactn/alerts/CO/imminent-threat",
                                   harness.make_alert(distribution={"states": ["MX"]}))
        deadline = time.monotonic() + 20
        while liaison.unacknowledged() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(liaison.ack_counts.get(harness.RC_NO_MATCHING_SUBSCRIBERS, 0) +
                         liaison.ack_counts.get(harness.RC_SUCCESS, 0), self.ALERTS)
        # the count of a second is written at the first tick after it
        self.assertIsNotNone(self.stack.wait_for_log(r"alerts accepted without a line",
                                                     since=mark))
        time.sleep(1.5)
        lines = [line for line in self.stack.log_lines(mark) if "principal=co-dni-liaison"
                 in line or "alerts accepted without" in line]
        per_second, counted = {}, 0
        for line in lines:
            if "alert accepted principal=co-dni-liaison" in line:
                second = line.split(": ", 1)[0]
                per_second[second] = per_second.get(second, 0) + 1
            match = re.search(r"alerts accepted without a line of their own count=(\d+)",
                              line)
            if match:
                counted += int(match.group(1))
        self.assertLessEqual(max(per_second.values()), 10, per_second)
        self.assertGreater(counted, 0)
        self.assertEqual(sum(per_second.values()) + counted, self.ALERTS)


if __name__ == "__main__":
    harness.main()
