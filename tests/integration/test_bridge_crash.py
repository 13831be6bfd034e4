"""Crashes: iactn-bridge acknowledges an alert only after committing it, so killing the
bridge with SIGKILL, or restarting PostgreSQL, in the middle of a burst loses no alert
and archives none twice.

test_sigkill_while_database_down_loses_nothing guards the libmosquitto 2.0.11
behaviour the bridge relies on: with a threaded client, the PUBACK goes out only after
the message callback returns. With the client not marked threaded it fails, losing the
alert that each connection holds in its callback. A kill in the middle of a burst with
the database up rarely shows that, because an insert that reached PostgreSQL commits
even after the bridge dies.

The bursts also need the broker's max_queued_messages (deploy/mosquitto.conf.in) to be
well above mosquitto's default of 1000: a shared subscription hands messages to members
that are offline, and mosquitto drops QoS 1 messages beyond that limit per client."""

import threading
import time

import harness
import webhook_receiver

BURST = 10000


class CrashTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        cls.bridge = webhook_receiver.Bridge(cls.stack, connections=4)
        cls.stack.bridge = cls.bridge.process
        cls.stack.wait_for_bridge()

    def archived(self, ids):
        return self.stack.query("SELECT count(*) FROM alerts WHERE id = ANY(%s::uuid[])",
                                (ids,))[0][0]

    def wait_until_archived(self, ids, count, timeout):
        deadline = time.monotonic() + timeout
        while True:
            found = self.archived(ids)
            if found >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def start_burst(self, count):
        """Publish `count` alerts from a thread; return their ids and the thread, whose
        `codes` attribute holds the PUBACK reason codes once it ends."""
        alerts = [harness.make_alert() for _ in range(count)]
        thread = threading.Thread(target=lambda: setattr(
            thread, "codes", webhook_receiver.publish_burst(self.stack, alerts)))
        thread.codes = None
        thread.start()
        return [alert["id"] for alert in alerts], thread

    def assert_each_archived_once(self, ids, thread):
        thread.join(120)
        self.assertEqual(len(thread.codes), len(ids))
        self.assertEqual(set(thread.codes) - {harness.RC_SUCCESS}, set())
        self.assertEqual(self.wait_until_archived(ids, len(ids), 90), len(ids))
        rows = self.stack.query(
            "SELECT count(*), count(DISTINCT id) FROM alerts WHERE id = ANY(%s::uuid[])",
            (ids,))
        self.assertEqual(rows, [(len(ids), len(ids))])
        self.assertEqual(self.bridge.log_count("acknowledged without a row"), 0)

    def test_sigkill_mid_burst_loses_nothing(self):
        ids, thread = self.start_burst(BURST)
        for threshold in (BURST // 4, BURST * 3 // 5):
            self.assertGreaterEqual(self.wait_until_archived(ids, threshold, 60), threshold)
            offset = self.bridge.log_offset()
            self.bridge.kill()
            self.assertLess(self.archived(ids), BURST, "the kill came after the burst")
            time.sleep(0.5)
            self.bridge.start()
            self.stack.bridge = self.bridge.process
            # Every connection finds its persistent session, and the alerts queued in it.
            deadline = time.monotonic() + 15
            while (self.bridge.log_count("session_present=1", offset) < 4
                   and time.monotonic() < deadline):
                time.sleep(0.1)
            self.assertEqual(self.bridge.log_count("session_present=1", offset), 4)
        self.assert_each_archived_once(ids, thread)

    def test_postgres_restart_mid_burst_loses_nothing(self):
        ids, thread = self.start_burst(BURST // 4)
        self.wait_until_archived(ids, BURST // 20, 60)
        offset = self.bridge.log_offset()
        self.stack.stop_postgres(immediate=True)
        time.sleep(2)
        self.stack.start_postgres()
        self.assert_each_archived_once(ids, thread)
        self.assertTrue(self.bridge.process.alive())
        self.assertGreater(self.bridge.log_count("database available again", offset), 0)

    def test_sigkill_while_database_down_loses_nothing(self):
        # With the database down, each connection's callback keeps an alert while the
        # archive's writer retries, and the writer's log counts them as waiting. A
        # PUBACK sent before the callback returns would let the kill lose those.
        offset = self.bridge.log_offset()
        self.stack.stop_postgres()
        ids, thread = self.start_burst(200)
        thread.join(60)
        waiting_all = f"waiting={self.bridge.connections} "
        deadline = time.monotonic() + 15
        while (self.bridge.log_count(waiting_all, offset) == 0
               and time.monotonic() < deadline):
            time.sleep(0.1)
        self.assertEqual(self.bridge.log_count("database unavailable", offset), 1)
        self.assertGreater(self.bridge.log_count(waiting_all, offset), 0)
        self.bridge.kill()
        self.stack.start_postgres()
        self.bridge.start()
        self.stack.bridge = self.bridge.process
        self.assert_each_archived_once(ids, thread)


if __name__ == "__main__":
    harness.main()
