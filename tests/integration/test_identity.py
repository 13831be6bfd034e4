"""Identity at connect: only registered, valid certificates of the network CA get in,
and only with a client id that starts with their principal id."""

import time

import harness


class IdentityTest(harness.StackTestCase):

    def assertRefused(self, client):
        accepted = client.connect()
        self.assertFalse(accepted, f"{client.client_id} was let in")

    def test_registered_certificate_accepted(self):
        client = self.stack.client("co-dni-liaison")
        self.assertTrue(client.connect(), f"CONNACK {client.connect_reason}")

    def test_untrusted_ca_certificate_refused(self):
        self.stack.issue("co-dni-rogue", "liaison", "CO", "co-dni", register=False,
                         extra=["--untrusted-ca"])
        client = self.stack.client("co-dni-rogue")
        self.assertRefused(client)
        self.assertIsNone(client.connect_reason, "the TLS handshake should fail")

    def test_unregistered_certificate_refused(self):
        self.stack.issue("co-dni-unregistered", "liaison", "CO", "co-dni", register=False)
        client = self.stack.client("co-dni-unregistered")
        self.assertRefused(client)
        self.assertIsNotNone(client.connect_reason, "the broker should send a CONNACK")
        self.assertGreaterEqual(client.connect_reason, 0x80)

    def test_unregistered_copy_of_principal_refused(self):
        # A second certificate with the subject of a registered principal: the broker
        # trusts fingerprints, not subjects.
        self.stack.issue("co-dni-liaison", "liaison", "CO", "co-dni", register=False,
                         name="co-dni-liaison-copy")
        client = self.stack.client("co-dni-liaison-copy", principal="co-dni-liaison")
        self.assertRefused(client)

    def test_expired_certificate_refused(self):
        self.stack.issue("co-dni-expired", "liaison", "CO", "co-dni", register=False,
                         extra=["--expired"])
        self.assertRefused(self.stack.client("co-dni-expired"))

    def test_revoked_certificate_refused(self):
        cert, _ = self.stack.issue("co-dni-revoked", "liaison", "CO", "co-dni")
        self.stack.connect_eventually("co-dni-revoked").close()

        fingerprint = self.stack.pki("fingerprint", cert).stdout.strip()
        self.stack.admin("cert", "revoke", fingerprint)
        # The plugin refreshes its snapshot after the database notifies it.
        deadline = time.monotonic() + 10
        while True:
            client = self.stack.client("co-dni-revoked")
            if not client.connect() or time.monotonic() > deadline:
                break
            client.close()
            time.sleep(0.5)
        self.assertFalse(client.is_connected(), "revoked certificate still accepted")

    def test_revoked_client_disconnected(self):
        cert, _ = self.stack.issue("co-dni-revoked-live", "liaison", "CO", "co-dni")
        client = self.stack.connect_eventually("co-dni-revoked-live")

        fingerprint = self.stack.pki("fingerprint", cert).stdout.strip()
        self.stack.admin("cert", "revoke", fingerprint)
        deadline = time.monotonic() + 10
        while client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(client.is_connected(), "live client kept its connection for 10 s")

    def test_client_id_of_other_principal_refused(self):
        client = self.stack.client("co-dni-liaison", client_id="mx-cni-liaison-takeover")
        self.assertRefused(client)

    def test_client_id_without_principal_prefix_refused(self):
        client = self.stack.client("co-dni-liaison", client_id="co-dni-liaisonX")
        self.assertRefused(client)


if __name__ == "__main__":
    harness.main()
