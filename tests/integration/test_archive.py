"""The archive: iactn-bridge stores each accepted alert exactly once, with the sender
verified by the broker, also when the same alert id is published twice."""

import harness


class ArchiveTest(harness.StackTestCase):
    with_bridge = True

    def setUp(self):
        self.liaison = self.stack.connect("co-dni-liaison")

    def archived(self, alert_id):
        rows = self.stack.wait_for_row(
            "SELECT count(*), min(sender) FROM alerts WHERE id = %s HAVING count(*) > 0",
            (alert_id,))
        self.assertEqual(len(rows), 1, f"alert {alert_id} not archived within 10 s")
        return rows[0]

    def publish(self, alert):
        self.assertAccepted(self.liaison.publish("iactn/alerts/CO/imminent-threat", alert))

    def test_alert_archived_once(self):
        alert = harness.make_alert()
        self.publish(alert)
        self.assertEqual(self.archived(alert["id"]), (1, "co-dni-liaison"))

    def test_same_id_twice_archived_once(self):
        alert = harness.make_alert()
        self.publish(alert)
        self.archived(alert["id"])
        self.publish(alert)
        # A later alert, archived after the duplicate, shows the duplicate was handled.
        later = harness.make_alert()
        self.publish(later)
        self.archived(later["id"])
        self.assertEqual(self.archived(alert["id"]), (1, "co-dni-liaison"))

    def test_archive_keeps_verified_sender(self):
        alert = harness.make_alert(sender="br-pf-liaison")
        self.publish(alert)
        self.assertEqual(self.archived(alert["id"])[1], "co-dni-liaison")
        payload = self.stack.query("SELECT payload FROM alerts WHERE id = %s",
                                   (alert["id"],))[0][0]
        self.assertEqual(payload["iactn"]["sender"]["principal"], "co-dni-liaison")
        self.assertNotIn("sender", payload)

    def test_refused_alert_not_archived(self):
        alert = harness.make_alert()
        self.assertNotAuthorized(
            self.liaison.publish("iactn/alerts/MX/imminent-threat", alert))
        # The probe is archived after anything published before it.
        self.stack.wait_for_bridge()
        rows = self.stack.query("SELECT count(*) FROM alerts WHERE id = %s", (alert["id"],))
        self.assertEqual(rows[0][0], 0)

    def test_many_alerts_each_archived_once(self):
        alerts = [harness.make_alert() for _ in range(20)]
        for alert in alerts:
            self.publish(alert)
        ids = [alert["id"] for alert in alerts]
        rows = self.stack.wait_for_row(
            "SELECT count(*) FROM alerts WHERE id = ANY(%s::uuid[]) HAVING count(*) >= %s",
            (ids, len(ids)))
        self.assertEqual(rows, [(20,)])

    def test_large_alert_compressed_with_lz4(self):
        text = "Repeated situation report line for the compression check. " * 80
        alert = harness.make_alert(description={"en": text})
        self.publish(alert)
        self.archived(alert["id"])
        rows = self.stack.query(
            "SELECT pg_column_compression(payload), pg_column_compression(raw_payload), "
            "payload -> 'description' ->> 'en', raw_payload::jsonb -> 'description' ->> 'en' "
            "FROM alerts WHERE id = %s", (alert["id"],))
        self.assertEqual(rows, [("lz4", "lz4", text, text)])


if __name__ == "__main__":
    harness.main()
