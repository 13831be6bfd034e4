"""The plugin's policy loader thread under attack. The cases are a change committed
while a load runs, a burst of changes, a killed loader backend and a load that keeps
failing. Others are a shutdown during a load blocked on a table lock, and topic rights
of many kinds of rows, before and after reloads.

The loader's backend is the one whose last query is the policy read
(policy_load_sql in common/policy.c), which starts as below.
"""

import os
import re
import signal
import subprocess
import threading
import time
import unittest

import psycopg2

import harness

LOAD_QUERY = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;%"
# A change takes effect at the tick after its load, so well within this many seconds.
APPLY_TIMEOUT_S = 5
# mosquitto stops its clients and the plugin within this many seconds of SIGTERM.
STOP_TIMEOUT_S = 5
POLICY_FAILED = r"database link=policy .*failed"
LOAD_FAILED = r"policy load failed"
POLICY_RESTORED = r"database link=policy restored"


class TableLock:
    """An open transaction that holds ACCESS EXCLUSIVE on one table, so that a policy
    load reading it waits until release()."""

    def __init__(self, stack, table):
        self.connection = psycopg2.connect(stack.conninfo, connect_timeout=5)
        with self.connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    def release(self):
        if self.connection is not None:
            self.connection.rollback()
            self.connection.close()
            self.connection = None


class PolicyLoaderAttackTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A network-wide administrator: no state, no agency.
        cls.stack.issue("net-admin", "admin")

    def setUp(self):
        self.locks = []

    def tearDown(self):
        for lock in self.locks:
            lock.release()
        super().tearDown()
        if not self.stack.postgres.alive():
            self.stack.start_postgres()
        if not self.stack.broker.alive():
            self.stack.start_broker()

    # helpers ------------------------------------------------------------------------

    def lock_table(self, table):
        lock = TableLock(self.stack, table)
        self.locks.append(lock)
        return lock

    def notify_change(self):
        """Commit a statement that changes nothing but fires the NOTIFY trigger."""
        self.stack.query("UPDATE categories SET name = name WHERE false")

    def wait_for_blocked_load(self, timeout=10):
        """Wait until a policy load waits on a lock; return its backend pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.stack.query(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE %s", (LOAD_QUERY,))
            if rows:
                return rows[0][0]
            time.sleep(0.05)
        self.fail("no policy load waited on the table lock")

    def loader_pid(self):
        rows = self.stack.wait_for_row(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND pid <>"
            " pg_backend_pid()", (LOAD_QUERY,))
        self.assertEqual(len(rows), 1, f"expected one loader backend, found {rows}")
        return rows[0][0]

    def fingerprint(self, name):
        cert, _ = self.stack.cert(name)
        return self.stack.pki("fingerprint", cert).stdout.strip()

    def revoke(self, name):
        self.stack.query("UPDATE certificates SET revoked_at = now()"
                         " WHERE fingerprint = %s", (self.fingerprint(name),))

    def wait_disconnected(self, client, timeout=APPLY_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not client.is_connected()

    def count_log(self, pattern, since):
        regex = re.compile(pattern)
        return sum(1 for line in self.stack.log_lines(since) if regex.search(line))

    def task_descriptors(self):
        """Return {thread id: {descriptor: link target}} for the broker's threads."""
        pid = self.stack.broker.pid
        tables = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            folder = f"/proc/{pid}/task/{tid}/fd"
            try:
                tables[int(tid)] = {name: os.readlink(f"{folder}/{name}")
                                    for name in os.listdir(folder)}
            except FileNotFoundError:
                pass  # a descriptor closed, or the thread ended, while being read
        return tables

    def broker_descriptors(self):
        """Return the descriptors of the broker's threads, the loader's own included."""
        return sum(len(table) for table in self.task_descriptors().values())

    def wait_for_acl_rules(self, count, since, timeout=APPLY_TIMEOUT_S):
        """Wait for a policy load with `count` topic_acl rows logged after `since`."""
        line = self.stack.wait_for_log(rf"policy loaded .*acl_rules={count} ", since,
                                       timeout=timeout)
        self.assertIsNotNone(line, f"no policy with {count} topic_acl rows was loaded")

    def acl_count(self):
        return self.stack.query("SELECT count(*) FROM topic_acl")[0][0]

    # changes committed during a load ------------------------------------------------

    def test_change_during_load_applied(self):
        """A revocation committed while a reload runs takes effect after that reload.

        The loader's REPEATABLE READ snapshot cannot see the revocation, and
        PostgreSQL sends its notification before the load's ReadyForQuery, so libpq
        reads it during PQgetResult and queues it. The loader must take that queued
        notification and load again."""
        name = "co-dni-midload"
        self.stack.issue(name, "agency-system", "CO", "co-dni")
        victim = self.stack.connect_eventually(name)

        lock = self.lock_table("sharing_rules")
        self.notify_change()
        self.wait_for_blocked_load()
        self.revoke(name)
        lock.release()

        self.assertTrue(self.wait_disconnected(victim),
                        "the revoked client kept its connection")
        self.assertFalse(self.stack.client(name).connect(),
                         "the revoked certificate was let in")

    def test_change_during_start_load_applied(self):
        """A revocation committed while the broker reads its first policy takes effect.

        snapshot_start listens before its load, and the notification that arrives
        during the load stays in libpq's queue until the loader thread takes it."""
        name = "co-dni-startload"
        self.stack.issue(name, "agency-system", "CO", "co-dni")
        fingerprint = self.fingerprint(name)
        self.stack.stop_broker()
        lock = self.lock_table("sharing_rules")
        errors = []

        def revoke_during_load():
            try:
                self.wait_for_blocked_load()
                self.stack.query("UPDATE certificates SET revoked_at = now()"
                                 " WHERE fingerprint = %s", (fingerprint,))
            except BaseException as error:  # reported by the main thread
                errors.append(error)
            finally:
                lock.release()

        # mosquitto starts from the main thread: the harness ties each child process
        # to the life of the thread that started it (PR_SET_PDEATHSIG).
        revoker = threading.Thread(target=revoke_during_load)
        revoker.start()
        try:
            self.stack.start_broker(timeout=30)
        finally:
            revoker.join()
        self.assertEqual(errors, [])

        time.sleep(1)
        client = self.stack.client(name)
        self.assertFalse(client.connect(), "the certificate revoked during the first "
                                           "load was let in")
        self.assertTrue(self.stack.broker.alive(), "mosquitto exited")

    def test_broker_serves_during_blocked_load(self):
        """While a reload waits on a lock, clients still connect, publish and
        receive, under the policy in force."""
        receiver = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/CO/#")
        lock = self.lock_table("topic_acl")
        self.notify_change()
        self.wait_for_blocked_load()

        started = time.monotonic()
        liaison = self.stack.connect("co-dni-liaison")
        alert = harness.make_alert(category="cyber", distribution={"states": ["MX"]})
        self.assertAccepted(liaison.publish("iactn/alerts/CO/cyber", alert))
        received = receiver.collect(5, count=1)
        elapsed = time.monotonic() - started
        self.assertEqual([m.json()["id"] for m in received], [alert["id"]])
        self.assertLess(elapsed, 2, f"connect, publish and delivery took {elapsed:.1f} s")

        mark = self.stack.log_mark()
        lock.release()
        self.assertIsNotNone(self.stack.wait_for_log(r"policy loaded reason=change", mark),
                             "the blocked load was not put in force after the lock")

    # bursts, killed backends, failing loads -----------------------------------------

    def test_burst_of_changes_applied(self):
        """After a burst of 199 committed topic rights, the policy in force contains all of
        them, in fewer loads than changes, and a sharing rule change made next stops
        deliveries to the state it removes.

        NOTE: a burst also hits the missed notification of test_change_during_load_applied
        whenever its last commit lands during a load. The sharing rule change waits for
        the burst's load, so that this test checks coalescing and delivery alone."""
        liaison = self.stack.connect("co-dni-liaison")
        brazil = self.stack.connect("br-pf-system", subscribe="iactn/alerts/CO/#")
        base = self.acl_count()
        rules = self.stack.query("SELECT count(*) FROM sharing_rules")[0][0]
        mark = self.stack.log_mark()

        connection = psycopg2.connect(self.stack.conninfo, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                for n in range(199):
                    cursor.execute(
                        "INSERT INTO topic_acl (role, access, pattern, allow, priority,"
                        " note) VALUES ('liaison', 'publish', %s, true, 1, 'burst')",
                        (f"iactn/burst/{n}",))
                    connection.commit()
        finally:
            connection.close()
        self.wait_for_acl_rules(base + 199, mark)
        loads = self.count_log(r"policy loaded reason=change", mark)
        self.assertLess(loads, 199, "each notification of the burst got its own load")
        self.assertAccepted(liaison.publish("iactn/burst/198", b"x"),
                            "publish under the burst's last topic right")

        self.stack.query(
            "INSERT INTO sharing_rules (origin_state, category_pattern, target_state,"
            " allow, note) VALUES ('CO', '*', NULL, true, 'burst'),"
            " ('CO', '*', 'BR', false, 'burst')")
        self.assertIsNotNone(
            self.stack.wait_for_log(rf"policy loaded .*sharing_rules={rules + 2}$", mark),
            "the sharing rule change was not loaded")
        alert = harness.make_alert(category="cyber")
        self.assertAccepted(liaison.publish("iactn/alerts/CO/cyber", alert))
        self.assertEqual(brazil.collect(1), [], "Brazil received an alert after the "
                                                "sharing rules excluded it")

        self.stack.query("DELETE FROM sharing_rules WHERE note = 'burst'")
        self.stack.query("DELETE FROM topic_acl WHERE note = 'burst'")
        self.wait_for_acl_rules(base, mark)

    def test_terminated_backend_reconnects(self):
        """Killing the loader's backend is logged once, the loader reconnects, and a
        revocation committed right after the kill takes effect."""
        name = "co-dni-terminated"
        self.stack.issue(name, "agency-system", "CO", "co-dni")
        victim = self.stack.connect_eventually(name)
        descriptors = self.broker_descriptors()

        mark = self.stack.log_mark()
        self.stack.query("SELECT pg_terminate_backend(%s)", (self.loader_pid(),))
        self.revoke(name)
        self.assertTrue(self.wait_disconnected(victim, timeout=10),
                        "the revocation after the kill did not disconnect the client")
        self.assertIsNotNone(self.stack.wait_for_log(POLICY_RESTORED, mark))
        self.assertEqual(self.count_log(POLICY_FAILED, mark), 1)
        self.assertEqual(self.count_log(POLICY_RESTORED, mark), 1)

        # Five more kills, each followed by a change, leave no descriptor behind.
        for _ in range(5):
            mark = self.stack.log_mark()
            self.stack.query("SELECT pg_terminate_backend(%s)", (self.loader_pid(),))
            self.assertIsNotNone(self.stack.wait_for_log(POLICY_RESTORED, mark),
                                 "the loader did not reconnect")
            self.assertIsNotNone(
                self.stack.wait_for_log(r"policy loaded reason=change", mark),
                "the loader did not reload after reconnecting")
        self.assertLessEqual(self.broker_descriptors(), descriptors,
                             "reconnects left descriptors open")

    def test_failing_load_logged_once(self):
        """A load that fails on every attempt is logged once and retried with growing
        backoff. A connection that succeeds while its loads fail must neither log
        'restored' nor reset the backoff."""
        mark = self.stack.log_mark()
        self.stack.query("ALTER TABLE topic_acl RENAME COLUMN principal_scope TO scope_x")
        try:
            self.notify_change()
            self.assertIsNotNone(self.stack.wait_for_log(LOAD_FAILED, mark))
            time.sleep(7)
            failures = self.count_log(LOAD_FAILED, mark)
            outages = self.count_log(POLICY_FAILED, mark)
            restored = self.count_log(POLICY_RESTORED, mark)
        finally:
            self.stack.query("ALTER TABLE topic_acl RENAME COLUMN scope_x TO principal_scope")
        # The next retry, after a backoff of up to 30 s, ends the outage, so that the
        # tests after this one start without it.
        self.assertIsNotNone(
            self.stack.wait_for_log(r"policy loaded reason=change", mark, timeout=35),
            "the policy was not loaded after the failure ended")
        self.assertEqual(restored, 0, "a connect during the outage was logged as restored")
        self.assertEqual(failures, 1, f"{failures} load failures logged in 7 s")
        self.assertEqual(outages, 1, f"the failure was logged as {outages} outages")

    def test_failing_load_recovers(self):
        """After a load failure the loader keeps retrying and puts the policy in force
        once the table can be read again."""
        mark = self.stack.log_mark()
        self.stack.query("ALTER TABLE topic_acl RENAME COLUMN principal_scope TO scope_x")
        try:
            self.notify_change()
            self.assertIsNotNone(self.stack.wait_for_log(LOAD_FAILED, mark))
            liaison = self.stack.connect("co-dni-liaison")
            self.assertAccepted(liaison.publish("iactn/alerts/CO/cyber",
                                                harness.make_alert(category="cyber")),
                                "publish under the last policy")
        finally:
            self.stack.query("ALTER TABLE topic_acl RENAME COLUMN scope_x TO principal_scope")
        self.assertIsNotNone(
            self.stack.wait_for_log(r"policy loaded reason=change", mark, timeout=35),
            "the policy was not loaded after the failure ended")

    def assertLoaderOwnsTable(self):
        """Assert that the loader thread has a descriptor table of its own, with no
        socket that the broker's main thread also holds."""
        tables = self.task_descriptors()
        main = tables.pop(self.stack.broker.pid)
        self.assertEqual(len(tables), 1, f"expected one loader thread: {sorted(tables)}")
        loader = next(iter(tables.values()))
        self.assertLessEqual(len(loader), 5, f"the loader kept descriptors: {loader}")
        shared = {target for target in loader.values() if target.startswith("socket:")}
        shared &= set(main.values())
        self.assertEqual(shared, set(), "the main thread holds the loader's socket")

    def test_loader_owns_descriptor_table(self):
        """The loader thread works in a descriptor table of its own, before and after
        it reconnects, so the broker's table is not shared."""
        self.assertLoaderOwnsTable()
        mark = self.stack.log_mark()
        self.stack.query("SELECT pg_terminate_backend(%s)", (self.loader_pid(),))
        self.assertIsNotNone(self.stack.wait_for_log(POLICY_RESTORED, mark),
                             "the loader did not reconnect")
        self.assertLoaderOwnsTable()

    def test_reloads_leak_no_descriptors(self):
        """Fifty reloads leave the broker's descriptor count unchanged."""
        self.notify_change()
        time.sleep(0.5)
        before = self.broker_descriptors()
        for _ in range(50):
            mark = self.stack.log_mark()
            self.notify_change()
            self.assertIsNotNone(
                self.stack.wait_for_log(r"policy loaded reason=change", mark))
        self.assertLessEqual(self.broker_descriptors(), before)

    # shutdown -----------------------------------------------------------------------

    def test_stop_during_blocked_load(self):
        """SIGTERM ends mosquitto within a few seconds while a reload waits on a lock.
        The loader thread, blocked in PQgetResult, never looks at its wake pipe, so
        stopping must cancel the query."""
        lock = self.lock_table("sharing_rules")
        self.notify_change()
        self.wait_for_blocked_load()
        self.stack.broker.popen.send_signal(signal.SIGTERM)
        try:
            status = self.stack.broker.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            status = None
        lock.release()
        self.stack.broker.stop()
        self.assertIsNotNone(status, f"mosquitto did not exit within {STOP_TIMEOUT_S} s "
                                     "of SIGTERM")

    def test_stop_during_outage(self):
        """SIGTERM ends mosquitto quickly while the loader waits out its backoff."""
        mark = self.stack.log_mark()
        self.stack.stop_postgres()
        self.assertIsNotNone(self.stack.wait_for_log(POLICY_FAILED, mark))
        started = time.monotonic()
        self.stack.broker.popen.send_signal(signal.SIGTERM)
        try:
            self.stack.broker.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        elapsed = time.monotonic() - started
        self.stack.broker.stop()
        self.assertLess(elapsed, STOP_TIMEOUT_S, "mosquitto did not stop during the outage")

    # topic rights -------------------------------------------------------------------

    def test_acl_rows_same_after_reloads(self):
        """Publish decisions for '*' rows, state-scoped and network-scoped rows and
        {state} patterns, among 2,000 filler rows, hold after the load that added them
        and after twenty more reloads."""
        rows = [
            # role, state, scope, pattern, allow, priority
            ("*", None, "any", "iactn/t/any/#", True, 50),
            ("liaison", None, "any", "iactn/t/any/secret", False, 60),
            ("*", None, "any", "iactn/t/any/{state}", False, 70),
            ("liaison", "CO", "any", "iactn/t/co-only", True, 50),
            ("*", None, "network", "iactn/t/net", True, 50),
            ("*", None, "state", "iactn/t/state", True, 50),
            ("*", None, "any", "iactn/t/st/{state}", True, 50),
            ("liaison", None, "any", "iactn/t/deep/#", True, 1),
            ("liaison", None, "any", "iactn/t/deep/x", False, 2),
        ]
        cases = [
            # client, topic, allowed
            ("co-dni-liaison", "iactn/t/any/x", True),
            ("net-admin", "iactn/t/any/x", True),
            ("co-dni-liaison", "iactn/t/any/secret", False),
            ("net-admin", "iactn/t/any/secret", True),
            ("co-dni-liaison", "iactn/t/any/CO", False),
            ("co-dni-liaison", "iactn/t/any/MX", True),
            # a {state} row never reaches a network principal, deny rows included
            ("net-admin", "iactn/t/any/CO", True),
            ("net-admin", "iactn/t/any/{state}", True),
            ("co-dni-liaison", "iactn/t/co-only", True),
            ("mx-cni-liaison", "iactn/t/co-only", False),
            ("co-dni-system", "iactn/t/co-only", False),
            ("net-admin", "iactn/t/net", True),
            ("co-dni-liaison", "iactn/t/net", False),
            ("co-dni-liaison", "iactn/t/state", True),
            ("net-admin", "iactn/t/state", False),
            ("co-dni-liaison", "iactn/t/st/CO", True),
            ("co-dni-liaison", "iactn/t/st/MX", False),
            ("co-dni-liaison", "iactn/t/st/{state}", False),
            ("net-admin", "iactn/t/st/{state}", False),
            ("net-admin", "iactn/t/st/XX", False),
            ("co-dni-liaison", "iactn/t/deep/y", True),
            ("co-dni-liaison", "iactn/t/deep/x", False),
            ("co-dni-system", "iactn/t/deep/y", False),
        ]
        base = self.acl_count()
        mark = self.stack.log_mark()
        connection = psycopg2.connect(self.stack.conninfo, connect_timeout=5)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO topic_acl (role, access, pattern, allow, priority, note)"
                    " SELECT (ARRAY['*', 'liaison', 'admin', 'agency-system'])[n % 4 + 1],"
                    " (ARRAY['publish', 'subscribe'])[n % 2 + 1],"
                    " 'iactn/filler/' || n || '/{state}', n % 3 = 0, n % 40 + 30,"
                    " 'attack acl' FROM generate_series(1, 2000) AS n")
                for role, state, scope, pattern, allow, priority in rows:
                    cursor.execute(
                        "INSERT INTO topic_acl (role, state_code, principal_scope, access,"
                        " pattern, allow, priority, note)"
                        " VALUES (%s, %s, %s, 'publish', %s, %s, %s, 'attack acl')",
                        (role, state, scope, pattern, allow, priority))
        finally:
            connection.close()
        self.wait_for_acl_rules(base + 2000 + len(rows), mark)

        clients = {name: self.stack.connect(name)
                   for name in sorted({case[0] for case in cases})}

        def check(when):
            for name, topic, allowed in cases:
                with self.subTest(when=when, client=name, topic=topic):
                    code = clients[name].publish(topic, b"probe")
                    if allowed:
                        self.assertAccepted(code, f"{when}: {name} on {topic}")
                    else:
                        self.assertNotAuthorized(code, f"{when}: {name} on {topic}")

        check("after the load")
        for _ in range(20):
            reload_mark = self.stack.log_mark()
            self.notify_change()
            self.assertIsNotNone(
                self.stack.wait_for_log(r"policy loaded reason=change", reload_mark))
        check("after twenty reloads")

        self.stack.query("DELETE FROM topic_acl WHERE note = 'attack acl'")
        self.wait_for_acl_rules(base, mark)


if __name__ == "__main__":
    harness.main()
