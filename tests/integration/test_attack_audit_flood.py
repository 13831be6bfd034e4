"""A flood of denials can neither blank the audit trail nor flood the broker's log.

The plugin writes audit rows through a bounded queue. Denial rows are limited to 20 a
second for each principal and to three quarters of the queue; the rows left out are
counted in one "audit-suppressed" row per principal, and connection rows keep the rest
of the queue. Log lines for denials are limited to the same 20 a second per principal,
and the rest of each second are counted in one line.
"""

import re
import time

import harness

BATCHES = 40
FILTERS_PER_BATCH = 500


class AuditFloodTest(harness.StackTestCase):

    def flood(self, principal):
        flooder = self.stack.connect(principal)
        mids = []
        for batch in range(BATCHES):
            filters = [(f"iactn/status/flood-{batch}-{index}", 0)
                       for index in range(FILTERS_PER_BATCH)]
            mids.append(flooder.paho.subscribe(filters)[1])
        for mid in mids:
            codes = flooder._wait_ack(mid, 30, "SUBACK")
            self.assertTrue(all(code >= 0x80 for code in codes), f"granted: {codes}")

    def wait_for_accounting(self, actor, expected):
        """Waits until the denial rows and the suppressed counts of actor add up to
        expected, and returns (denial rows, suppressed rows)."""
        deadline = time.monotonic() + 20
        while True:
            rows = self.stack.query(
                "SELECT count(*) FILTER (WHERE action = 'subscribe-denied'),"
                " coalesce(sum((detail->>'rows')::bigint)"
                "   FILTER (WHERE action = 'audit-suppressed'), 0)"
                " FROM audit_log WHERE actor = %s", (actor,))
            denied, suppressed = rows[0]
            if denied + suppressed >= expected or time.monotonic() > deadline:
                return denied, suppressed
            time.sleep(0.5)

    def test_flood_keeps_other_principals_rows(self):
        """br-pf-system sends 40 SUBSCRIBE packets of 500 denied filters each without
        waiting for the SUBACKs; mx-cni-system connects right after. Its connect row
        must be there, and every denial must be accounted for, as a row or in a
        suppressed count."""
        self.flood("br-pf-system")
        late = self.stack.connect("mx-cni-system")
        late.close()

        denied, suppressed = self.wait_for_accounting("br-pf-system",
                                                      BATCHES * FILTERS_PER_BATCH)
        self.assertEqual(denied + suppressed, BATCHES * FILTERS_PER_BATCH,
                         "denials neither written nor counted")
        self.assertGreater(suppressed, 0, "the flood was not limited")
        self.assertLess(denied, BATCHES * FILTERS_PER_BATCH)
        self.assertNotEqual(
            self.stack.wait_for_row(
                "SELECT 1 FROM audit_log WHERE actor = 'mx-cni-system' "
                "AND action = 'connect'", timeout=10), [],
            "the connect row after the flood was dropped")
        self.assertEqual([line for line in self.stack.log_lines() if "dropped=" in line],
                         [], "the audit queue dropped rows")
        self.assertLogAccountsFor("br-pf-system", BATCHES * FILTERS_PER_BATCH)

    def assertLogAccountsFor(self, principal, expected):
        """Assert at most 20 denial lines a second for principal, and that the lines
        and the counts of the lines left out add up to expected."""
        deadline = time.monotonic() + 20
        while True:
            per_second, counted = {}, 0
            for line in self.stack.log_lines():
                if f"subscribe denied principal={principal} " in line:
                    second = line.split(": ", 1)[0]
                    per_second[second] = per_second.get(second, 0) + 1
                match = re.search(rf"denials without a line of their own "
                                  rf"principal={principal} count=(\d+)", line)
                if match:
                    counted += int(match.group(1))
            logged = sum(per_second.values())
            if logged + counted >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(logged + counted, expected, "denials neither logged nor counted")
        self.assertGreater(counted, 0, "the log lines were not limited")
        self.assertLessEqual(max(per_second.values()), 20, per_second)


if __name__ == "__main__":
    harness.main()
