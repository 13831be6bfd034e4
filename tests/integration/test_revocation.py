"""Revocation and expiry. Revoking a certificate, suspending an agency or suspending a
state disconnects the live client within a second and rejects it afterwards, and the
alerts published in the meantime never reach its persistent sessions. A certificate
outside its validity period fails the TLS handshake (mosquitto's OpenSSL checks the
dates before the plugin sees the client), and one that expires while connected is
disconnected by the plugin within two seconds.
"""

import datetime
import subprocess
import time

import harness

# Revocations and suspensions disconnect live clients within this many seconds of
# the iactn-admin command's return.
KICK_BOUND_S = 1.0
# A certificate that expires while connected is disconnected within this many
# seconds of its notAfter: the plugin compares whole seconds, once a second.
EXPIRY_BOUND_S = 2.0
SESSION_EXPIRY_S = 3600


def not_after(cert_path):
    """Return the certificate's notAfter as seconds since the epoch."""
    output = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-enddate",
                             "-dateopt", "iso_8601"],
                            capture_output=True, text=True, check=True).stdout
    text = output.strip().split("=", 1)[1]
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class RevocationTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.admin("agency", "add", "pe-dircote", "--state", "PE",
                        "--name", "DIRCOTE")
        cls.stack.admin("agency", "add", "uy-dnii", "--state", "UY", "--name", "DNII")

    # helpers ------------------------------------------------------------------------

    def session_client(self, name, client_id, timeout=10):
        """Connect as `name` to the persistent session `client_id`, retrying while the
        plugin has not loaded a registration yet. Returns the connected client."""
        deadline = time.monotonic() + timeout
        while True:
            client = self.stack.client(name, client_id=client_id)
            if client.connect(clean_start=False, session_expiry=SESSION_EXPIRY_S):
                return client
            if time.monotonic() > deadline:
                self.fail(f"{client_id}: rejected (CONNACK {client.connect_reason})")
            time.sleep(0.2)

    def publish_alerts(self, count, distribution=None):
        """Publish `count` Colombian alerts; return their ids."""
        liaison = self.stack.connect("co-dni-liaison")
        ids = []
        for _ in range(count):
            alert = harness.make_alert(category="wanted-person",
                                       distribution=distribution)
            self.assertAccepted(liaison.publish("iactn/alerts/CO/wanted-person", alert))
            ids.append(alert["id"])
        liaison.close()
        return ids

    def assertReceives(self, client, alert_ids, what):
        messages = client.collect(5, count=len(alert_ids))
        self.assertEqual({m.json()["id"] for m in messages}, set(alert_ids), what)

    def assertKicked(self, client, since, reason, log_mark):
        deadline = since + 5
        while client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        delay = time.monotonic() - since
        self.assertFalse(client.is_connected(), "the live client kept its connection")
        self.assertLess(delay, KICK_BOUND_S, f"disconnected only after {delay:.2f} s")
        line = self.stack.wait_for_log(
            rf"client disconnected client_id={client.client_id} .*reason={reason}",
            log_mark)
        self.assertIsNotNone(line, f"no disconnect log line with reason={reason}")

    def assertRejected(self, name, client_id, reason, log_mark):
        """Assert that the plugin rejects `name` at connect, with a CONNACK error code
        and a log line naming the reason. Returns the rejected client."""
        client = self.stack.client(name, client_id=client_id)
        accepted = client.connect(clean_start=False, session_expiry=SESSION_EXPIRY_S)
        self.assertFalse(accepted, f"{client_id} was let in again")
        self.assertIsNotNone(
            client.connect_reason,
            f"no CONNACK: the TLS handshake failed ({client.disconnect_reason})")
        self.assertGreaterEqual(client.connect_reason, 0x80)
        line = self.stack.wait_for_log(
            rf"connect refused client_id={client_id} .*reason={reason}", log_mark)
        self.assertIsNotNone(line, f"no connect refused log line with reason={reason}")
        return client

    def assertHandshakeFails(self, name, client_id):
        """Assert that the TLS handshake rejects `name`, before the plugin is asked:
        OpenSSL checks the validity period of the client certificate."""
        mark = self.stack.log_mark()
        client = self.stack.client(name, client_id=client_id)
        self.assertFalse(client.connect(), f"{client_id} was let in")
        self.assertIsNone(client.connect_reason, "the TLS handshake succeeded")
        self.assertIsNotNone(self.stack.wait_for_log(r"certificate verify failed", mark),
                             "mosquitto logged no certificate verification failure")
        return client

    def live_subscriber(self, name, client_id):
        """Connect a persistent session subscribed to every alert and check that it
        receives a Colombian alert."""
        client = self.session_client(name, client_id)
        self.assertEqual(client.subscribe("iactn/alerts/#"), [1])
        self.assertReceives(client, self.publish_alerts(1), "alert before the change")
        return client

    # revocation and suspension ------------------------------------------------------

    def test_revoked_certificate_kicked_and_rejected(self):
        name, client_id = "co-dni-revoked", "co-dni-revoked-session"
        cert, _ = self.stack.issue(name, "agency-system", "CO", "co-dni")
        client = self.live_subscriber(name, client_id)

        mark = self.stack.log_mark()
        fingerprint = self.stack.pki("fingerprint", cert).stdout.strip()
        self.stack.admin("cert", "revoke", fingerprint)
        self.assertKicked(client, time.monotonic(), "certificate_revoked", mark)

        # The principal is still active, so its session queues these.
        queued = self.publish_alerts(3)
        retry = self.assertRejected(name, client_id, "certificate_revoked", mark)
        self.assertEqual(retry.collect(1), [], "the revoked certificate received alerts")

        # Control: the session did keep them, for a new certificate of the principal.
        self.stack.issue(name, "agency-system", "CO", "co-dni", name="co-dni-revoked-new")
        renewed = self.session_client("co-dni-revoked-new", client_id)
        self.assertReceives(renewed, queued, "queued alerts for the renewed certificate")

    def offline_subscriber(self, name, client_id):
        """Leave a persistent session subscribed to every alert, offline."""
        client = self.live_subscriber(name, client_id)
        client.close()

    def assertSkippedWhileSuspended(self, name, client_id, during):
        """Reconnect the offline session after the suspension: it kept its subscription
        but holds none of the alerts published during the suspension."""
        resumed = self.session_client(name, client_id)
        received = resumed.collect(1.5)
        self.assertEqual({m.json()["id"] for m in received} & set(during), set(),
                         "alerts published during the suspension were delivered")
        self.assertReceives(resumed, self.publish_alerts(1), "alert after the resumption")

    def test_suspended_agency_kicked_and_rejected(self):
        name, client_id = "pe-dircote-system", "pe-dircote-system-live"
        offline_id = "pe-dircote-system-offline"
        self.stack.issue(name, "agency-system", "PE", "pe-dircote")
        self.offline_subscriber(name, offline_id)
        client = self.live_subscriber(name, client_id)

        mark = self.stack.log_mark()
        self.stack.admin("agency", "suspend", "pe-dircote")
        try:
            self.assertKicked(client, time.monotonic(), "agency_suspended", mark)
            during = self.publish_alerts(3)
            retry = self.assertRejected(name, client_id, "agency_suspended", mark)
            self.assertEqual(retry.collect(1), [], "the suspended agency received alerts")
        finally:
            self.stack.admin("agency", "resume", "pe-dircote")

        self.assertSkippedWhileSuspended(name, offline_id, during)

    def test_suspended_state_kicked_and_rejected(self):
        name, client_id = "uy-dnii-system", "uy-dnii-system-live"
        offline_id = "uy-dnii-system-offline"
        self.stack.issue(name, "agency-system", "UY", "uy-dnii")
        self.offline_subscriber(name, offline_id)
        client = self.live_subscriber(name, client_id)

        mark = self.stack.log_mark()
        self.stack.admin("state", "suspend", "UY")
        try:
            self.assertKicked(client, time.monotonic(), "state_inactive", mark)
            during = self.publish_alerts(3)
            retry = self.assertRejected(name, client_id, "state_inactive", mark)
            self.assertEqual(retry.collect(1), [], "the suspended state received alerts")
            # A distribution cannot name a suspended state.
            liaison = self.stack.connect("co-dni-liaison")
            alert = harness.make_alert(category="wanted-person",
                                       distribution={"states": ["UY"]})
            self.assertNotAuthorized(
                liaison.publish("iactn/alerts/CO/wanted-person", alert))
        finally:
            self.stack.admin("state", "resume", "UY")

        self.assertSkippedWhileSuspended(name, offline_id, during)

    # validity period ----------------------------------------------------------------

    def test_expired_certificate_rejected(self):
        self.stack.issue("co-dni-expired", "liaison", "CO", "co-dni", extra=["--expired"])
        self.assertHandshakeFails("co-dni-expired", "co-dni-expired-1")

    def test_not_yet_valid_certificate_rejected(self):
        self.stack.issue("co-dni-early", "liaison", "CO", "co-dni",
                         extra=["--not-before", "+1 day"])
        self.assertHandshakeFails("co-dni-early", "co-dni-early-1")

    def test_certificate_expiring_while_connected(self):
        cert, _ = self.stack.issue("co-dni-brief", "agency-system", "CO", "co-dni",
                                   extra=["--not-after", "+5 seconds"])
        expiry = not_after(cert)
        client = self.session_client("co-dni-brief", "co-dni-brief-session")
        mark = self.stack.log_mark()

        while client.is_connected() and time.time() < expiry + 5:
            time.sleep(0.01)
        delay = time.time() - expiry
        self.assertFalse(client.is_connected(), "still connected 5 s after notAfter")
        self.assertGreater(delay, 0, "disconnected before the certificate expired")
        self.assertLess(delay, EXPIRY_BOUND_S,
                        f"disconnected {delay:.2f} s after notAfter")
        self.assertIsNotNone(
            self.stack.wait_for_log(r"client disconnected client_id=co-dni-brief-session "
                                    r".*reason=certificate_expired", mark),
            "no disconnect log line with reason=certificate_expired")
        self.assertHandshakeFails("co-dni-brief", "co-dni-brief-session")


if __name__ == "__main__":
    harness.main()
