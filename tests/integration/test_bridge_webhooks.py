"""Webhooks: iactn-bridge POSTs each archived alert, signed, to the endpoints of the
agencies that may receive it, retries failures with backoff until a 2xx response, marks
a delivery dead after its last attempt, and never lets one endpoint hold up another.
The endpoints are served by a local HTTPS receiver with a certificate of the test PKI.
"""

import json
import os
import secrets
import subprocess
import time

import harness
import webhook_receiver

# A short retry schedule: 5 attempts, delays of at most 0.1, 0.2, 0.4 and 0.4 s.
BRIDGE_SETTINGS = {
    "connections": 2,
    "webhook_timeout": "1s",
    "webhook_attempts": 5,
    "webhook_backoff_first": "100ms",
    "webhook_backoff_max": "400ms",
    "webhook_concurrency": 2,
}


class WebhookTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        cls.stack.admin("agency", "add", "mx-pf", "--state", "MX", "--name",
                        "Policía Federal")
        cls.receiver = webhook_receiver.receiver_for(cls.stack)
        cls.addClassCleanup(cls.receiver.close)
        cls.bridge = webhook_receiver.Bridge(cls.stack, **BRIDGE_SETTINGS)
        cls.stack.bridge = cls.bridge.process
        cls.stack.wait_for_bridge()

    def setUp(self):
        self.liaison = self.stack.connect("co-dni-liaison")

    def add_endpoint(self, agency, path, topic_filter=None, url=None):
        """Register an endpoint on the receiver's path and disable it after the test.
        Alerts archived from then on are routed to it. Returns (id, secret)."""
        secret = secrets.token_hex(32)
        endpoint_id = webhook_receiver.add_endpoint(
            self.stack, agency, url or self.receiver.url(path), secret, topic_filter)
        self.addCleanup(self.stack.admin, "endpoint", "disable", str(endpoint_id))
        return endpoint_id, secret

    def publish(self, topic="iactn/alerts/CO/imminent-threat", **fields):
        alert = harness.make_alert(**fields)
        self.assertAccepted(self.liaison.publish(topic, alert))
        return alert["id"]

    def requests_for(self, path, alert_id, count=1, timeout=20):
        """Wait for `count` requests about alert_id on path; return all those received."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.receiver.requests(path)
                     if json.loads(r.body)["id"] == alert_id]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def delivery(self, alert_id, endpoint_id):
        rows = self.stack.query(
            "SELECT id, status, attempts, last_error FROM deliveries "
            "WHERE alert_id = %s AND endpoint_id = %s", (alert_id, endpoint_id))
        return rows[0] if rows else None

    def wait_for_status(self, alert_id, endpoint_id, status, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            row = self.delivery(alert_id, endpoint_id)
            if (row and row[1] == status) or time.monotonic() > deadline:
                return row
            time.sleep(0.1)

    def test_delivery_is_signed_raw_alert(self):
        endpoint_id, secret = self.add_endpoint("co-dni", "/signed")
        alert_id = self.publish()
        requests = self.requests_for("/signed", alert_id)
        self.assertEqual(len(requests), 1)
        request = requests[0]
        raw = self.stack.query("SELECT raw_payload FROM alerts WHERE id = %s",
                               (alert_id,))[0][0]
        self.assertEqual(request.body, raw.encode())
        self.assertTrue(request.body.startswith(b'{"iactn":{"recipients":'))
        self.assertTrue(request.signature_valid(secret))
        self.assertFalse(request.signature_valid(secret + "x"))
        self.assertEqual(request.headers["Content-Type"], "application/json")
        self.assertLess(abs(int(request.headers["X-IACTN-Timestamp"]) - time.time()), 60)
        row = self.wait_for_status(alert_id, endpoint_id, "delivered")
        self.assertEqual(request.delivery_id, row[0])
        self.assertEqual(row[1:3], ("delivered", 1))

    def test_errors_and_timeout_then_delivered_once(self):
        endpoint_id, secret = self.add_endpoint("co-dni", "/flaky")
        self.receiver.script("/flaky", [500, 404, "hang", 200])
        alert_id = self.publish()
        row = self.wait_for_status(alert_id, endpoint_id, "delivered", timeout=30)
        self.assertEqual(row[1:3], ("delivered", 4))
        time.sleep(1)  # a further attempt would arrive within the retry delays
        requests = self.requests_for("/flaky", alert_id)
        self.assertEqual([r.answer for r in requests], [500, 404, "hang", 200])
        self.assertEqual({r.delivery_id for r in requests}, {row[0]})
        for request in requests:
            self.assertTrue(request.signature_valid(secret))

    def test_down_endpoint_dead_then_retried(self):
        port = harness.free_port()
        url = f"https://127.0.0.1:{port}/down"
        endpoint_id, secret = self.add_endpoint("co-dni", "/down", url=url)
        first = self.publish()
        second = self.publish()
        for alert_id in (first, second):
            row = self.wait_for_status(alert_id, endpoint_id, "dead")
            self.assertEqual(row[1:3], ("dead", 5))
            self.assertIn("Couldn't connect", row[3])
        listed = self.stack.admin("--tsv", "deliveries", "--dead", "--alert", first).stdout
        self.assertEqual([line.split("\t")[0] for line in listed.splitlines()],
                         [str(self.delivery(first, endpoint_id)[0])])

        with webhook_receiver.receiver_for(self.stack, port) as late:
            self.stack.admin("deliveries", "retry", str(self.delivery(first, endpoint_id)[0]))
            row = self.wait_for_status(first, endpoint_id, "delivered")
            self.assertEqual(row[1:3], ("delivered", 1))
            self.assertEqual(self.delivery(second, endpoint_id)[1], "dead")
            self.stack.admin("deliveries", "retry", "--all-dead")
            row = self.wait_for_status(second, endpoint_id, "delivered")
            self.assertEqual(row[1:3], ("delivered", 1))
            self.assertEqual(len(late.requests("/down")), 2)
            self.assertTrue(all(r.signature_valid(secret) for r in late.requests("/down")))

    def test_red_alert_reaches_listed_agencies_only(self):
        listed, _ = self.add_endpoint("mx-cni", "/red-mx-cni")
        unlisted, _ = self.add_endpoint("mx-pf", "/red-mx-pf")
        own, _ = self.add_endpoint("co-dni", "/red-co-dni")
        other_state, _ = self.add_endpoint("ca-rcmp", "/red-ca-rcmp")
        red = self.publish(tlp="RED", distribution={"agencies": ["mx-cni"]})
        green = self.publish(distribution={"states": ["MX"]})

        self.assertEqual(self.wait_for_status(red, listed, "delivered")[1], "delivered")
        self.assertEqual(self.wait_for_status(red, own, "delivered")[1], "delivered")
        self.assertEqual(self.wait_for_status(green, unlisted, "delivered")[1], "delivered")
        self.assertIsNone(self.delivery(red, unlisted))
        self.assertIsNone(self.delivery(red, other_state))
        self.assertIsNone(self.delivery(green, other_state))
        for path in ("/red-mx-pf", "/red-ca-rcmp"):
            self.assertEqual(self.requests_for(path, red, timeout=0), [])

    def test_topic_filter_selects_alerts(self):
        endpoint_id, _ = self.add_endpoint("co-dni", "/drills",
                                           topic_filter="iactn/alerts/+/exercise-drill")
        drill = self.publish("iactn/alerts/CO/exercise-drill", category="exercise-drill")
        threat = self.publish()
        self.assertEqual(self.wait_for_status(drill, endpoint_id, "delivered")[1],
                         "delivered")
        self.assertIsNone(self.delivery(threat, endpoint_id))

    def test_hanging_endpoint_delays_no_other(self):
        slow, _ = self.add_endpoint("co-dni", "/slow")
        fast, _ = self.add_endpoint("co-dni", "/fast")
        self.receiver.script("/slow", ["hang"] * 30)
        started = time.monotonic()
        ids = [self.publish() for _ in range(6)]
        for alert_id in ids:
            self.assertEqual(self.wait_for_status(alert_id, fast, "delivered")[1],
                             "delivered")
        self.assertLess(time.monotonic() - started, 5)
        # At most webhook_concurrency requests wait on the hanging endpoint at once.
        self.assertLessEqual(len(self.receiver.requests("/slow")), 2 * 3)

    def test_untrusted_certificate_not_delivered(self):
        folder = self.stack.path("untrusted")
        os.makedirs(folder, exist_ok=True)
        cert, key = os.path.join(folder, "self.crt"), os.path.join(folder, "self.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        with webhook_receiver.WebhookReceiver(cert, key) as untrusted:
            endpoint_id, _ = self.add_endpoint("co-dni", "/untrusted",
                                               url=untrusted.url("/untrusted"))
            alert_id = self.publish()
            row = self.wait_for_status(alert_id, endpoint_id, "dead")
            self.assertEqual(row[1], "dead")
            self.assertIn("certificate", row[3])
            self.assertEqual(untrusted.requests(), [])

    def test_disabled_endpoint_gets_nothing(self):
        endpoint_id, _ = self.add_endpoint("co-dni", "/disabled")
        self.stack.admin("endpoint", "disable", str(endpoint_id))
        alert_id = self.publish()
        self.stack.wait_for_bridge()
        self.assertIsNone(self.delivery(alert_id, endpoint_id))


if __name__ == "__main__":
    harness.main()
