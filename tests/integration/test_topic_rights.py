"""Topic rights: a liaison publishes alerts only under its own state, agency systems
publish no alerts, and a refused publish reaches nobody."""

import harness


class TopicRightsTest(harness.StackTestCase):

    def setUp(self):
        self.mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        self.colombia = self.stack.connect("co-dni-system", subscribe="iactn/alerts/#")

    def test_own_state_topic_accepted(self):
        liaison = self.stack.connect("co-dni-liaison")
        code = liaison.publish("iactn/alerts/CO/attack", harness.make_alert(category="attack"))
        self.assertAccepted(code)
        self.assertEqual(len(self.colombia.collect(5, count=1)), 1)

    def test_other_state_topic_refused(self):
        liaison = self.stack.connect("co-dni-liaison")
        code = liaison.publish("iactn/alerts/MX/imminent-threat", harness.make_alert())
        self.assertNotAuthorized(code)
        self.assertEqual(self.mexico.collect(2), [])
        self.assertEqual(self.colombia.collect(0.5), [])

    def test_agency_system_cannot_publish_alerts(self):
        system = self.stack.connect("mx-cni-system")
        code = system.publish("iactn/alerts/MX/imminent-threat", harness.make_alert())
        self.assertNotAuthorized(code)
        self.assertEqual(self.mexico.collect(2), [])

    def test_topic_outside_iactn_refused(self):
        liaison = self.stack.connect("co-dni-liaison")
        self.assertNotAuthorized(liaison.publish("alerts/CO/attack", harness.make_alert()))

    def test_sys_subscription_refused(self):
        liaison = self.stack.connect("co-dni-liaison")
        codes = liaison.subscribe("$SYS/#")
        self.assertEqual(len(codes), 1)
        self.assertGreaterEqual(codes[0], 0x80)


if __name__ == "__main__":
    harness.main()
