"""Live policy: a topic right, a sharing rule and a new certificate committed to
PostgreSQL take effect in the running broker within one second, while another
liaison keeps the broker busy with a steady stream of alerts.

Each delay runs from the start of the COMMIT of the change to the first moment the
test observes its effect: the PUBACK of a probe publish, the arrival of a probe alert,
or the CONNACK of a probe connection. Probes run back to back, so the measured delay
is at most one probe round trip longer than the real one.
"""

import subprocess
import sys
import time

import psycopg2

import harness

# The required bound, from the commit of a change to its effect on clients.
LIVE_BOUND_S = 1.0
# How long a probe loop keeps trying before the test gives up.
PROBE_TIMEOUT_S = 10.0
# The load: alerts per second from Mexico, and the share of it the test requires.
LOAD_RATE = 200
LOAD_MIN_RATE = LOAD_RATE / 2


class LivePolicyTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.delays = {}
        cls.rates = {}

    @classmethod
    def tearDownClass(cls):
        for name, delay in sorted(cls.delays.items()):
            sys.stderr.write(f"live policy: {name} took effect {delay * 1000:.0f} ms "
                             f"after the commit\n")
        for name, rate in sorted(cls.rates.items()):
            sys.stderr.write(f"live policy: {name} ran under {rate:.0f} alerts/s\n")
        super().tearDownClass()

    def setUp(self):
        # Two agency systems receive every Mexican alert, so that each alert of the
        # load is validated, stamped and checked for delivery twice.
        for principal in ("mx-cni-system", "ca-rcmp-system"):
            self.stack.connect(principal, subscribe="iactn/alerts/MX/#")
        publisher = self.stack.connect("mx-cni-liaison")
        self.load = harness.Load(
            publisher, "iactn/alerts/MX/attack",
            lambda: harness.make_alert(category="attack",
                                       distribution={"states": ["CA"]}),
            LOAD_RATE).start()
        time.sleep(0.5)

    def tearDown(self):
        rate = self.load.stop()
        self.rates[self.id().rsplit(".", 1)[-1]] = rate
        codes = dict(self.load.client.ack_counts)
        super().tearDown()
        self.assertGreaterEqual(rate, LOAD_MIN_RATE,
                                f"the load reached only {rate:.0f} alerts/s")
        self.assertEqual(set(codes) - {harness.RC_SUCCESS}, set(),
                         f"load alerts were refused: {codes}")

    # helpers ------------------------------------------------------------------------

    def commit(self, *statements):
        """Run the statements in one transaction; return the monotonic time at which
        the COMMIT was sent."""
        connection = psycopg2.connect(self.stack.conninfo, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
            started = time.monotonic()
            connection.commit()
            return started
        finally:
            connection.close()

    def wait_until(self, probe, what):
        """Call probe() back to back until it returns a monotonic time (the moment
        the effect was seen); return that time. Fails after PROBE_TIMEOUT_S."""
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while time.monotonic() < deadline:
            seen = probe()
            if seen is not None:
                return seen
        self.fail(f"{what}: no effect within {PROBE_TIMEOUT_S} s of the commit")

    def assertLive(self, committed, seen, name):
        delay = seen - committed
        self.delays[name] = delay
        self.assertLess(delay, LIVE_BOUND_S,
                        f"{name} took effect {delay:.3f} s after the commit")

    # topic rights -------------------------------------------------------------------

    def test_acl_edit_live(self):
        liaison = self.stack.connect("co-dni-liaison")
        topic = "iactn/alerts/CO/cyber"

        def publish_probe():
            code = liaison.publish(topic, harness.make_alert(category="cyber"))
            return code, time.monotonic()

        self.assertAccepted(publish_probe()[0], "probe before the change")

        def denied():
            code, at = publish_probe()
            return at if code == harness.RC_NOT_AUTHORIZED else None

        def accepted():
            code, at = publish_probe()
            return at if code != harness.RC_NOT_AUTHORIZED else None

        committed = self.commit((
            "INSERT INTO topic_acl (state_code, role, access, pattern, allow, priority,"
            " note) VALUES ('CO', 'liaison', 'publish', %s, false, 200, 'live test')"
            " RETURNING id", (topic,)))
        self.assertLive(committed, self.wait_until(denied, "deny rule"), "acl deny")

        committed = self.commit(
            ("DELETE FROM topic_acl WHERE note = 'live test'", None))
        self.assertLive(committed, self.wait_until(accepted, "deny rule removal"),
                        "acl deny removed")

    # sharing rules ------------------------------------------------------------------

    def test_sharing_rule_change_live(self):
        liaison = self.stack.connect("co-dni-liaison")
        # Colombia's own system receives every Colombian alert and reads the stamp.
        colombia = self.stack.connect("co-dni-system", subscribe="iactn/alerts/CO/#")
        brazil = self.stack.connect("br-pf-system", subscribe="iactn/alerts/CO/#")

        def stamped_states():
            """Publish a travel alert without distribution; return (its recipient
            states, the time Colombia's system received it)."""
            alert = harness.make_alert(category="travel")
            self.assertAccepted(liaison.publish("iactn/alerts/CO/travel", alert))
            for message in colombia.collect(5, count=1):
                if message.json()["id"] == alert["id"]:
                    return message.json()["iactn"]["recipients"]["states"], \
                        message.received_at
            self.fail("Colombia's system did not receive its own probe alert")

        states, _ = stamped_states()
        self.assertIn("BR", states, "probe before the change")
        self.assertEqual(len(brazil.collect(5, count=1)), 1,
                         "Brazil did not receive the probe before the change")

        def brazil_excluded():
            states, at = stamped_states()
            return at if "BR" not in states else None

        def brazil_included():
            states, at = stamped_states()
            return at if "BR" in states else None

        # Colombia's first rules of its own replace the network default for it.
        rule = ("INSERT INTO sharing_rules (origin_state, category_pattern, target_state,"
                " allow, note) VALUES ('CO', %s, %s, %s, 'live test')")
        committed = self.commit((rule, ("*", None, True)),
                                (rule, ("travel", "BR", False)))
        self.assertLive(committed, self.wait_until(brazil_excluded, "deny rule"),
                        "sharing deny")

        # Whatever Brazil received was stamped for it, and after the change nothing is.
        received = brazil.drain()
        self.assertTrue(all("BR" in m.json()["iactn"]["recipients"]["states"]
                            for m in received), received)
        self.assertIsNotNone(brazil_excluded(), "the deny rule did not last")
        # A copy of a probe stamped for Brazil before the change may still be on its way
        # when the drain above runs. Only a copy whose stamp leaves Brazil out is a leak.
        leaked = [m for m in brazil.collect(0.5)
                  if "BR" not in m.json()["iactn"]["recipients"]["states"]]
        self.assertEqual(leaked, [], "Brazil received an excluded alert")
        code = liaison.publish("iactn/alerts/CO/travel",
                               harness.make_alert(category="travel",
                                                  distribution={"states": ["BR"]}))
        self.assertNotAuthorized(code, "distribution naming an excluded state")

        committed = self.commit(
            ("DELETE FROM sharing_rules WHERE note = 'live test'", None))
        self.assertLive(committed, self.wait_until(brazil_included, "rule removal"),
                        "sharing deny removed")

    # certificates -------------------------------------------------------------------

    def certificate_row(self, cert_path):
        """Return the certificates row values that iactn-admin would store for the
        certificate: fingerprint, subject, issuer, serial, not_before, not_after."""
        output = subprocess.run(
            ["openssl", "x509", "-in", cert_path, "-noout", "-fingerprint", "-sha256",
             "-subject", "-issuer", "-serial", "-startdate", "-enddate",
             "-nameopt", "RFC2253", "-dateopt", "iso_8601"],
            capture_output=True, text=True, check=True).stdout
        fields = dict(line.split("=", 1) for line in output.splitlines())
        return {
            "fingerprint": fields["sha256 Fingerprint"].replace(":", "").lower(),
            "subject": fields["subject"],
            "issuer": fields["issuer"],
            "serial": fields["serial"].lower(),
            "not_before": fields["notBefore"],
            "not_after": fields["notAfter"],
        }

    def test_new_certificate_live(self):
        principal = "co-dni-newcomer"
        cert, _ = self.stack.issue(principal, "liaison", "CO", "co-dni", register=False)
        self.stack.admin("principal", "add", principal, "--role", "liaison",
                         "--state", "CO", "--agency", "co-dni")
        self.assertFalse(self.stack.client(principal).connect(),
                         "an unregistered certificate was let in")

        def connected():
            client = self.stack.client(principal)
            if client.connect():
                return time.monotonic()
            return None

        row = self.certificate_row(cert)
        committed = self.commit((
            "INSERT INTO certificates (fingerprint, subject, issuer, serial, not_before,"
            " not_after, principal_id) VALUES (%(fingerprint)s, %(subject)s, %(issuer)s,"
            " %(serial)s, %(not_before)s, %(not_after)s, %(principal)s)",
            dict(row, principal=principal)))
        self.assertLive(committed, self.wait_until(connected, "new certificate"),
                        "new certificate")


if __name__ == "__main__":
    harness.main()
