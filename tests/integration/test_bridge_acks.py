"""Acknowledgements and the operator's view: iactn-bridge archives each acknowledgement
once, iactn-admin alert status shows per recipient state how an alert was delivered
and acknowledged, and the endpoint and deliveries commands check their input, keep
secrets out of their output and audit what they change."""

import json
import os
import secrets

import harness
import webhook_receiver

OK, FAILURE, USAGE = 0, 1, 2


class AcksTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        cls.receiver = webhook_receiver.receiver_for(cls.stack)
        cls.addClassCleanup(cls.receiver.close)
        cls.bridge = webhook_receiver.Bridge(cls.stack, connections=2)
        cls.stack.bridge = cls.bridge.process
        cls.stack.wait_for_bridge()

    def admin(self, *args, expect=OK):
        result = self.stack.admin(*args, check=False)
        self.assertEqual(result.returncode, expect,
                         f"iactn-admin {' '.join(args)}:\n{result.stdout}{result.stderr}")
        return result

    def secret_file(self, text):
        path = self.stack.path(f"secret-{secrets.token_hex(4)}")
        with open(path, "w") as handle:
            handle.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def publish_alert(self, **fields):
        alert = harness.make_alert(**fields)
        liaison = self.stack.connect("co-dni-liaison")
        self.assertAccepted(liaison.publish("iactn/alerts/CO/imminent-threat", alert))
        rows = self.stack.wait_for_row("SELECT 1 FROM alerts WHERE id = %s", (alert["id"],))
        self.assertEqual(rows, [(1,)])
        return alert["id"]

    def ack(self, principal, state, alert_id, status):
        client = self.stack.connect(principal)
        body = {"alert_id": alert_id, "status": status, "sent": harness.utc_now()}
        self.assertAccepted(client.publish(f"iactn/acks/CO/{state}", body))

    def wait_for_acks(self, alert_id, count):
        return self.stack.wait_for_row(
            "SELECT count(*) FROM acks WHERE alert_id = %s HAVING count(*) >= %s",
            (alert_id, count))

    def test_acks_archived_once_and_shown(self):
        endpoint = webhook_receiver.add_endpoint(self.stack, "mx-cni",
                                                 self.receiver.url("/acks"),
                                                 secrets.token_hex(32))
        self.addCleanup(self.stack.admin, "endpoint", "disable", str(endpoint))
        alert_id = self.publish_alert(distribution={"states": ["MX", "CA"]})
        self.ack("mx-cni-liaison", "MX", alert_id, "received")
        self.ack("mx-cni-liaison", "MX", alert_id, "read")
        self.ack("mx-cni-liaison", "MX", alert_id, "read")
        self.ack("ca-rcmp-system", "CA", alert_id, "received")
        self.assertTrue(self.wait_for_acks(alert_id, 3))
        self.stack.wait_for_bridge()  # archived after the repeated ack

        rows = self.stack.query(
            "SELECT origin, recipient, sender, status FROM acks WHERE alert_id = %s "
            "ORDER BY sender, status", (alert_id,))
        self.assertEqual(rows, [("CO", "CA", "ca-rcmp-system", "received"),
                                ("CO", "MX", "mx-cni-liaison", "read"),
                                ("CO", "MX", "mx-cni-liaison", "received")])
        self.assertTrue(self.stack.wait_for_row(
            "SELECT 1 FROM deliveries WHERE alert_id = %s AND status = 'delivered'",
            (alert_id,)))

        lines = self.admin("--tsv", "alert", "status", alert_id).stdout.splitlines()
        status = {line.split("\t")[0]: line.split("\t")[1:] for line in lines}
        self.assertEqual(sorted(status), ["CA", "CO", "MX"])
        delivered, webhooks, received, read, actioned = status["MX"]
        self.assertTrue(delivered.startswith("webhook 20"), delivered)
        self.assertEqual(webhooks, "1/1 delivered")
        self.assertTrue(received and read, status["MX"])
        self.assertEqual(actioned, "")
        delivered, webhooks, received, read, actioned = status["CA"]
        self.assertTrue(delivered.startswith("archive 20"), delivered)
        self.assertEqual((webhooks, bool(received), read, actioned), ("", True, "", ""))
        self.assertEqual(status["CO"][1:], ["", "", "", ""])

    def test_alert_status_unknown_alert_fails(self):
        self.admin("alert", "status", "00000000-0000-4000-8000-000000000000",
                   expect=FAILURE)
        self.admin("alert", "status", "not-a-uuid", expect=USAGE)

    def test_endpoint_add_checks_input(self):
        good = self.secret_file(secrets.token_hex(32))
        self.admin("endpoint", "add", "co-dni", "http://127.0.0.1/x", "--secret-file",
                   good, expect=USAGE)
        self.admin("endpoint", "add", "co-dni", "https:///x", "--secret-file", good,
                   expect=USAGE)
        self.admin("endpoint", "add", "co-dni", "https://127.0.0.1/x", "--secret-file",
                   self.secret_file("short"), expect=USAGE)
        self.admin("endpoint", "add", "co-dni", "https://127.0.0.1/x", "--secret-file",
                   good, "--topic-filter", "iactn/acks/#", expect=USAGE)
        self.admin("endpoint", "add", "co-dni", "https://127.0.0.1/x", "--secret-file",
                   self.stack.path("missing"), expect=USAGE)
        self.admin("endpoint", "add", "xx-none", "https://127.0.0.1/x", "--secret-file",
                   good, expect=FAILURE)
        self.admin("endpoint", "add", "co-dni", "https://127.0.0.1/x", expect=USAGE)

    def test_endpoint_add_is_idempotent_and_audited(self):
        secret = secrets.token_hex(32)
        path = self.secret_file(secret)
        args = ("endpoint", "add", "br-pf", "https://127.0.0.1:1/br", "--secret-file", path,
                "--topic-filter", "iactn/alerts/+/bomb-threat")
        first = self.admin(*args).stdout.strip()
        again = self.admin(*args)
        self.assertEqual(again.stdout.strip(), first)
        self.assertIn("nothing changed", again.stderr)

        listed = self.admin("--tsv", "endpoint", "list", "--agency", "br-pf").stdout
        self.assertEqual(listed.splitlines(), [
            f"{first}\tbr-pf\tBR\thttps://127.0.0.1:1/br\tiactn/alerts/+/bomb-threat"
            "\tyes\t0\t0"])
        self.admin("endpoint", "disable", first)
        self.assertIn("already disabled", self.admin("endpoint", "disable", first).stdout)
        self.admin("endpoint", "enable", first)
        self.admin("endpoint", "disable", "999999", expect=FAILURE)

        audit = self.stack.query(
            "SELECT action, detail::text FROM audit_log WHERE object = %s "
            "AND action LIKE 'endpoint-%%' ORDER BY id", (first,))
        self.assertEqual([row[0] for row in audit],
                         ["endpoint-add", "endpoint-disable", "endpoint-enable"])
        for _, detail in audit:
            self.assertNotIn(secret, detail)
            self.assertIn("br-pf", detail)
        self.assertNotIn(secret, listed)

    def test_deliveries_retry_rules(self):
        endpoint = webhook_receiver.add_endpoint(self.stack, "co-dni",
                                                 self.receiver.url("/retry-rules"),
                                                 secrets.token_hex(32))
        self.addCleanup(self.stack.admin, "endpoint", "disable", str(endpoint))
        alert_id = self.publish_alert()
        row = self.stack.wait_for_row(
            "SELECT id FROM deliveries WHERE alert_id = %s AND endpoint_id = %s "
            "AND status = 'delivered'", (alert_id, endpoint))
        self.assertTrue(row)
        delivery = str(row[0][0])
        listed = self.admin("--tsv", "deliveries", "--alert", alert_id).stdout
        self.assertIn(f"{delivery}\t{alert_id}\tco-dni\t{endpoint}\tdelivered\t1", listed)
        dead = self.admin("--tsv", "deliveries", "--dead").stdout.splitlines()
        self.assertNotIn(delivery, [line.split("\t")[0] for line in dead])
        self.admin("deliveries", "retry", delivery, expect=FAILURE)
        self.admin("deliveries", "retry", "999999", expect=FAILURE)
        self.admin("deliveries", "retry", expect=USAGE)
        self.admin("deliveries", "retry", delivery, "--all-dead", expect=USAGE)
        self.assertIn("0 dead deliveries", self.admin("deliveries", "retry",
                                                      "--all-dead").stdout)
        requests = [r for r in self.receiver.requests("/retry-rules")
                    if json.loads(r.body)["id"] == alert_id]
        self.assertEqual(len(requests), 1)


if __name__ == "__main__":
    harness.main()
