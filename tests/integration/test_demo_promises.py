"""The promises the demo shows, checked on real servers: an alert from Colombia with
distribution [MX, CA] reaches the agency systems of Mexico and Canada (and Colombia's
own), never Brazil's although it subscribes to iactn/alerts/#, and the archive holds it
once with the verified sender."""

import harness


class DemoPromisesTest(harness.StackTestCase):
    with_bridge = True

    def setUp(self):
        self.systems = {
            state: self.stack.connect(f"{agency}-system", subscribe="iactn/alerts/#")
            for state, agency in (("CO", "co-dni"), ("MX", "mx-cni"), ("CA", "ca-rcmp"),
                                  ("BR", "br-pf"))
        }
        self.liaison = self.stack.connect("co-dni-liaison")
        self.alert = harness.make_alert(distribution={"states": ["MX", "CA"]})
        code = self.liaison.publish("iactn/alerts/CO/imminent-threat", self.alert)
        self.assertAccepted(code)

    def received(self, state):
        messages = self.systems[state].collect(5, count=1)
        return [m for m in messages if m.json().get("id") == self.alert["id"]]

    def test_mexico_receives_with_verified_sender(self):
        messages = self.received("MX")
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0].json()["iactn"]["sender"]["principal"], "co-dni-liaison")

    def test_canada_receives_with_verified_sender(self):
        messages = self.received("CA")
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0].json()["iactn"]["sender"]["principal"], "co-dni-liaison")

    def test_origin_receives_own_alert(self):
        self.assertEqual(len(self.received("CO")), 1)

    def test_brazil_receives_nothing(self):
        self.received("MX")  # delivery to MX proves the broker has fanned it out
        self.assertEqual(self.systems["BR"].collect(2), [])

    def test_stamp_lists_recipient_states(self):
        stamp = self.received("MX")[0].json()["iactn"]
        self.assertEqual(stamp["recipients"]["states"], ["CA", "CO", "MX"])
        self.assertEqual(stamp["recipients"]["agencies"], [])

    def test_archive_holds_alert_once(self):
        rows = self.stack.wait_for_row(
            "SELECT count(*), min(sender), min(origin), min(recipient_states::text) "
            "FROM alerts WHERE id = %s HAVING count(*) > 0", (self.alert["id"],))
        self.assertEqual(len(rows), 1, "alert not archived within 10 s")
        count, sender, origin, recipients = rows[0]
        self.assertEqual(count, 1)
        self.assertEqual(sender, "co-dni-liaison")
        self.assertEqual(origin, "CO")
        self.assertEqual(recipients, "{CA,CO,MX}")


if __name__ == "__main__":
    harness.main()
