"""Group commit in iactn-bridge: the rows that the bridge's connections hold at the
same time are committed in one transaction, and a row the database rejects costs only
itself. The other rows of its batch are archived, each exactly once, and every alert
is acknowledged only once its outcome is final."""

import time

import harness
import webhook_receiver

CONNECTIONS = 8
BURST = 200
MARK = "refused-by-the-archive"


class ArchiveBatchTest(webhook_receiver.BridgeTestCase):

    bridge_settings = {"connections": CONNECTIONS}

    def test_rejected_row_leaves_its_batch_archived(self):
        # The database rejects the marked alerts with a data error (SQLSTATE 22023),
        # which the bridge treats as final for that row. Every fifth alert of the first
        # half is marked, and the second half is not, so that batches of both kinds
        # form whatever their size.
        webhook_receiver.add_rejecting_trigger(self, MARK, "22023")
        alerts = [harness.make_alert(
            headline={"en": MARK if i % 5 == 0 and i < BURST // 2 else "Batch"})
            for i in range(BURST)]
        marked = [a["id"] for a in alerts if a["headline"]["en"] == MARK]
        plain = [a["id"] for a in alerts if a["headline"]["en"] != MARK]
        offset = self.bridge.log_offset()

        holder = webhook_receiver.hold_table(self.stack, "alerts", 2)
        codes = webhook_receiver.publish_burst(self.stack, alerts)
        holder.join()
        self.assertEqual(set(codes), {harness.RC_SUCCESS})

        rows = self.stack.wait_for_row(
            "SELECT 1 FROM alerts WHERE id = ANY(%s::uuid[]) HAVING count(*) = %s",
            (plain, len(plain)), timeout=60)
        self.assertTrue(rows, "the unmarked alerts were not all archived")
        self.assertEqual(self.stack.query(
            "SELECT count(*), count(DISTINCT id) FROM alerts WHERE id = ANY(%s::uuid[])",
            (plain + marked,)), [(len(plain), len(plain))])
        self.assertEqual(self.bridge.log_count("database rejected the alert", offset),
                         len(marked))
        # The lock made batches, and some of them held a marked alert.
        self.assertGreater(self.bridge.log_count("rows committed together", offset), 0)
        self.assertGreater(
            self.bridge.log_count("database rejected a row of the batch", offset), 0)

    def test_batch_with_redelivered_alert_archives_it_once(self):
        alerts = [harness.make_alert() for _ in range(BURST)]
        ids = [a["id"] for a in alerts]
        offset = self.bridge.log_offset()
        holder = webhook_receiver.hold_table(self.stack, "alerts", 1)
        codes = webhook_receiver.publish_burst(self.stack, alerts + alerts[:20])
        holder.join()
        self.assertEqual(set(codes), {harness.RC_SUCCESS})
        rows = self.stack.wait_for_row(
            "SELECT 1 FROM alerts WHERE id = ANY(%s::uuid[]) HAVING count(*) = %s",
            (ids, len(ids)), timeout=60)
        self.assertTrue(rows, "the alerts were not all archived")
        time.sleep(1)  # the second copies are written by now
        self.assertEqual(self.stack.query(
            "SELECT count(*), count(DISTINCT id) FROM alerts WHERE id = ANY(%s::uuid[])",
            (ids,)), [(len(ids), len(ids))])
        self.assertGreater(self.bridge.log_count("rows committed together", offset), 0)
        self.assertEqual(self.bridge.log_count("acknowledged without a row", offset), 0)


if __name__ == "__main__":
    harness.main()
