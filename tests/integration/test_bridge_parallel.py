"""Two bridges in one shared-subscription group split the alerts and the webhook
deliveries between them, and neither archives nor delivers any alert twice."""

import json
import secrets
import time

import harness
import webhook_receiver

BURST = 1000
SETTINGS = {"connections": 2, "webhook_concurrency": 4}


class ParallelBridgesTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        cls.receiver = webhook_receiver.receiver_for(cls.stack)
        cls.addClassCleanup(cls.receiver.close)
        cls.bridges = [webhook_receiver.Bridge(cls.stack, client_id, **SETTINGS)
                       for client_id in ("iactn-bridge-a", "iactn-bridge-b")]
        for bridge in cls.bridges:
            cls.addClassCleanup(bridge.stop)
        cls.stack.wait_for_bridge()

    def test_burst_archived_and_delivered_once(self):
        secret = secrets.token_hex(32)
        endpoint_id = webhook_receiver.add_endpoint(self.stack, "co-dni",
                                                    self.receiver.url("/both"), secret)
        offsets = [bridge.log_offset() for bridge in self.bridges]
        alerts = [harness.make_alert() for _ in range(BURST)]
        ids = [alert["id"] for alert in alerts]
        codes = webhook_receiver.publish_burst(self.stack, alerts)
        self.assertEqual(set(codes), {harness.RC_SUCCESS})

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivered = self.stack.query(
                "SELECT count(*) FROM deliveries WHERE endpoint_id = %s "
                "AND alert_id = ANY(%s::uuid[]) AND status = 'delivered'",
                (endpoint_id, ids))[0][0]
            if delivered == BURST:
                break
            time.sleep(0.2)

        self.assertEqual(self.stack.query(
            "SELECT count(*), count(DISTINCT id) FROM alerts WHERE id = ANY(%s::uuid[])",
            (ids,)), [(BURST, BURST)])
        self.assertEqual(self.stack.query(
            "SELECT count(*), count(*) FILTER (WHERE status = 'delivered' AND attempts = 1) "
            "FROM deliveries WHERE endpoint_id = %s AND alert_id = ANY(%s::uuid[])",
            (endpoint_id, ids)), [(BURST, BURST)])
        time.sleep(1)  # a second copy of any request would arrive by now
        requests = [r for r in self.receiver.requests("/both")
                    if json.loads(r.body)["id"] in set(ids)]
        self.assertEqual(len(requests), BURST)
        self.assertEqual(len({r.delivery_id for r in requests}), BURST)
        self.assertEqual({json.loads(r.body)["id"] for r in requests}, set(ids))
        self.assertTrue(all(r.signature_valid(secret) for r in requests))

        # Both bridges took part in archiving and in delivering.
        for bridge, offset in zip(self.bridges, offsets):
            self.assertGreater(bridge.log_count('msg="archived alert"', offset), 0,
                               bridge.client_id)
            self.assertGreater(bridge.log_count('msg="webhook delivered"', offset), 0,
                               bridge.client_id)


if __name__ == "__main__":
    harness.main()
