"""PostgreSQL outages. Down when the broker starts: every client is rejected until the
plugin, retrying with backoff, reads the policy by itself. Down later: the last policy
stays in force, the outage is logged once per database link, and a change made as
soon as the database is back takes effect. Stopped and restarted under load: the
broker keeps running, every alert is accepted, and each reaches its recipients only.
"""

import itertools
import re
import time

import harness

# The plugin retries a lost database link after 1 s, doubling up to 30 s, so after an
# outage of a few seconds it reconnects within this many seconds of the database's
# return; the rest is margin for a busy machine.
RECONNECT_TIMEOUT_S = 40
POLICY_FAILED = r"database link=policy .*failed"
POLICY_RESTORED = r"database link=policy restored"


class OutageTest(harness.StackTestCase):

    def tearDown(self):
        super().tearDown()
        # Whatever a test did, the next one starts with the database and the broker up.
        if not self.stack.postgres.alive():
            self.stack.start_postgres()
        if not self.stack.broker.alive():
            self.stack.start_broker()

    # helpers ------------------------------------------------------------------------

    def count_log(self, pattern, since):
        regex = re.compile(pattern)
        return sum(1 for line in self.stack.log_lines(since) if regex.search(line))

    def wait_for_policy_link(self, since):
        """Wait until the plugin has reconnected its policy link after every outage
        logged since the mark `since`, and has loaded the policy again."""
        deadline = time.monotonic() + RECONNECT_TIMEOUT_S
        while True:
            failed = self.count_log(POLICY_FAILED, since)
            restored = self.count_log(POLICY_RESTORED, since)
            if restored >= failed > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(restored, failed, "the policy link was not restored")
        loaded = self.stack.wait_for_log(r"policy loaded reason=change", since,
                                         timeout=10)
        self.assertIsNotNone(loaded, "no policy was loaded after the database returned")

    def publish_and_deliver(self, liaison, mexico, brazil, what):
        """Publish an alert for Mexico only and check who receives it."""
        alert = harness.make_alert(category="financing", distribution={"states": ["MX"]})
        self.assertAccepted(liaison.publish("iactn/alerts/CO/financing", alert), what)
        received = mexico.collect(5, count=1)
        self.assertEqual([m.json()["id"] for m in received], [alert["id"]],
                         f"{what}: Mexico did not receive the alert")
        self.assertEqual(brazil.collect(0.3), [], f"{what}: Brazil received an alert")

    # down at start ------------------------------------------------------------------

    def test_down_at_start_rejects_until_loaded(self):
        self.stack.stop_broker()
        self.stack.stop_postgres()
        mark = self.stack.log_mark()
        self.stack.start_broker()
        self.assertIsNotNone(self.stack.wait_for_log(r"no policy loaded at start", mark),
                             "the plugin did not log that it has no policy")

        for name in ("co-dni-liaison", "iactn-bridge"):
            with self.subTest(principal=name):
                client = self.stack.client(name)
                self.assertFalse(client.connect(), f"{name} was let in without a policy")
                self.assertIsNotNone(client.connect_reason, "no CONNACK")
                self.assertGreaterEqual(client.connect_reason, 0x80)
        self.assertIsNotNone(self.stack.wait_for_log(r"reason=no_policy", mark),
                             "no connect refused line with reason=no_policy")
        # Let a retry or two fail, so that the plugin is in its backoff.
        time.sleep(2)

        self.stack.start_postgres()
        client = self.stack.connect_eventually("co-dni-liaison",
                                               timeout=RECONNECT_TIMEOUT_S)
        self.assertTrue(client.is_connected())
        self.wait_for_policy_link(mark)

        mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        brazil = self.stack.connect("br-pf-system", subscribe="iactn/alerts/#")
        self.publish_and_deliver(client, mexico, brazil, "after the policy was loaded")

    # Every rejected connection is audited; the audit queue works without a policy.
    def test_down_at_start_rejections_audited(self):
        self.stack.stop_broker()
        self.stack.stop_postgres()
        mark = self.stack.log_mark()
        self.stack.start_broker()
        client = self.stack.client("mx-cni-system")
        self.assertFalse(client.connect(), "a client was let in without a policy")
        self.assertIsNotNone(self.stack.wait_for_log(r"reason=no_policy", mark))

        self.stack.start_postgres()
        later = self.stack.connect_eventually("mx-cni-system",
                                              timeout=RECONNECT_TIMEOUT_S)
        # The audit queue is written in order, so once the accepted connection's row
        # is in the table, the rejection's row is there too.
        self.assertTrue(self.stack.wait_for_row(
            "SELECT 1 FROM audit_log WHERE action = 'connect' AND object = %s",
            (later.client_id,), timeout=RECONNECT_TIMEOUT_S), "the audit queue is stuck")
        rows = self.stack.query(
            "SELECT actor, detail->>'reason' FROM audit_log"
            " WHERE action = 'connect-refused' AND object = %s", (client.client_id,))
        self.assertEqual(rows, [("-", "no_policy")],
                         "the rejection without a policy was not audited")

    # down later ---------------------------------------------------------------------

    def test_down_later_keeps_policy(self):
        liaison = self.stack.connect("co-dni-liaison")
        mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        brazil = self.stack.connect("br-pf-system", subscribe="iactn/alerts/#")
        cert, _ = self.stack.issue("co-dni-outage", "agency-system", "CO", "co-dni")
        doomed = self.stack.connect_eventually("co-dni-outage")
        self.stack.issue("co-dni-stranger", "liaison", "CO", "co-dni", register=False)

        mark = self.stack.log_mark()
        down_at = time.monotonic()
        self.stack.stop_postgres()
        self.assertIsNotNone(self.stack.wait_for_log(POLICY_FAILED, mark),
                             "the plugin did not log the outage")
        # libpq's error message spans lines, so the consequence may follow on another.
        self.assertIsNotNone(self.stack.wait_for_log(r"keeping the last policy", mark),
                             "the outage line does not say that the policy is kept")

        # The last policy stays in force, in both directions.
        self.publish_and_deliver(liaison, mexico, brazil, "during the outage")
        canada = self.stack.connect("ca-rcmp-system")
        self.assertTrue(canada.is_connected(), "a registered client was rejected")
        self.assertFalse(self.stack.client("co-dni-stranger").connect(),
                         "an unregistered certificate was let in during the outage")

        # The plugin retries after 1 s and 2 s more: both attempts fail silently.
        time.sleep(max(0.0, down_at + 4.5 - time.monotonic()))
        self.assertEqual(self.count_log(POLICY_FAILED, mark), 1,
                         "the policy link's outage was not logged exactly once")
        self.assertLessEqual(self.count_log(r"database link=audit .*failed", mark), 1,
                             "the audit link's outage was logged more than once")
        self.publish_and_deliver(liaison, mexico, brazil, "late in the outage")

        # A change made as soon as the database is back takes effect.
        self.stack.start_postgres()
        fingerprint = self.stack.pki("fingerprint", cert).stdout.strip()
        self.stack.admin("cert", "revoke", fingerprint)
        deadline = time.monotonic() + RECONNECT_TIMEOUT_S
        while doomed.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(doomed.is_connected(), "the revocation made after the outage "
                                                "did not disconnect the client")
        self.wait_for_policy_link(mark)
        self.assertFalse(self.stack.client("co-dni-outage").connect(),
                         "the revoked certificate was let in")

        # Audit rows written during the outage were queued, not lost.
        rows = self.stack.wait_for_row(
            "SELECT actor FROM audit_log WHERE action = 'connect' AND object = %s",
            (canada.client_id,), timeout=RECONNECT_TIMEOUT_S)
        self.assertEqual(rows, [("ca-rcmp-system",)],
                         "the connect during the outage was not audited")

    # One decision, one log line, although libpq's error messages end in a newline and
    # may span lines.
    def test_outage_logged_on_one_line(self):
        mark = self.stack.log_mark()
        self.stack.stop_postgres()
        line = self.stack.wait_for_log(POLICY_FAILED, mark)
        self.stack.start_postgres()
        self.wait_for_policy_link(mark)
        self.assertIsNotNone(line, "the plugin did not log the outage")
        self.assertIn("keeping the last policy", line,
                      "the outage line was cut by the database's error message")

    # restart under load -------------------------------------------------------------

    def test_restart_while_publishing_leaks_nothing(self):
        watchers = {state: self.stack.connect(principal, subscribe="iactn/alerts/#")
                    for state, principal in (("MX", "mx-cni-system"),
                                             ("CA", "ca-rcmp-system"),
                                             ("BR", "br-pf-system"))}
        sent = {"MX": [], "CA": []}
        targets = itertools.cycle(sent)

        def next_alert():
            state = next(targets)
            alert = harness.make_alert(category="cyber", distribution={"states": [state]})
            sent[state].append(alert["id"])
            return alert

        publisher = self.stack.connect("co-dni-liaison")
        load = harness.Load(publisher, "iactn/alerts/CO/cyber", next_alert, 100).start()
        mark = self.stack.log_mark()
        try:
            time.sleep(1)
            self.stack.stop_postgres()
            time.sleep(1.5)
            self.stack.start_postgres()
            time.sleep(1.5)
            self.stack.stop_postgres(immediate=True)
            time.sleep(1.5)
            self.stack.start_postgres()
            time.sleep(1)
        finally:
            load.stop()

        self.assertTrue(self.stack.broker.alive(), "mosquitto died")
        self.assertEqual(publisher.unacknowledged(), 0, "PUBACKs are missing")
        self.assertEqual(dict(publisher.ack_counts), {harness.RC_SUCCESS: load.sent},
                         "some alerts were not accepted")
        for state in ("MX", "CA"):
            with self.subTest(recipient=state):
                messages = watchers[state].collect(10, count=len(sent[state]))
                recipients = {tuple(m.json()["iactn"]["recipients"]["states"])
                              for m in messages}
                self.assertLessEqual(recipients, {tuple(sorted(["CO", state]))},
                                     "a delivery leaked")
                self.assertEqual([m.json()["id"] for m in messages], sent[state])
        self.assertEqual(watchers["BR"].collect(0.5), [], "Brazil received alerts")

        self.wait_for_policy_link(mark)
        late = self.stack.connect_eventually("mx-cni-liaison")
        self.assertTrue(late.is_connected())


if __name__ == "__main__":
    harness.main()
