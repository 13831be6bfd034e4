"""Attack on the plugin's audit queue, a test that fails while the weakness is open.

The plugin queues one audit row per denied subscription filter in a queue of 8,192
rows and drops new rows while it is full. One client can fill it faster than the
writer empties it, and every other principal's rows are dropped meanwhile.
"""

import time

import harness

BATCHES = 40
FILTERS_PER_BATCH = 500


class AuditFloodAttackTest(harness.StackTestCase):

    def test_denied_filters_drop_audit_rows(self):
        """What: denied subscriptions by one principal fill the audit queue, and the
        plugin drops every row queued meanwhile, whoever it concerns. How:
        br-pf-system sends 40 SUBSCRIBE packets of 500 denied filters each without
        waiting for the SUBACKs. Impact: any member can make the broker forget who
        connected or what was refused, its own later refusals included, whenever it
        likes. A manual run lost the connect row of a principal that connected 0.2 s
        after such a flood."""
        flooder = self.stack.connect("br-pf-system")
        mids = []
        for batch in range(BATCHES):
            filters = [(f"iactn/status/flood-{batch}-{index}", 0)
                       for index in range(FILTERS_PER_BATCH)]
            mids.append(flooder.paho.subscribe(filters)[1])
        for mid in mids:
            codes = flooder._wait_ack(mid, 30, "SUBACK")
            self.assertTrue(all(code >= 0x80 for code in codes), f"granted: {codes}")

        expected = BATCHES * FILTERS_PER_BATCH
        deadline = time.monotonic() + 15
        while True:
            rows = self.stack.query(
                "SELECT count(*) FROM audit_log WHERE actor = 'br-pf-system' "
                "AND action = 'subscribe-denied'")
            if rows[0][0] >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(rows[0][0], expected, "audit rows were dropped")
        self.assertEqual([line for line in self.stack.log_lines() if "dropped=" in line],
                         [])


if __name__ == "__main__":
    harness.main()
