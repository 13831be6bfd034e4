"""Audit trail: the plugin records connections, rejected connections, rejected and
denied publishes, denied subscriptions, disconnections by policy and policy loads in
audit_log. Rows go through the plugin's asynchronous queue, so each check polls the
table with a timeout.
"""

import json
import time

import harness

ROW_TIMEOUT_S = 10


class AuditTest(harness.StackTestCase):

    def audit_row(self, action, object_name, since=None):
        """Return (actor, detail) of the newest audit row with this action and object
        written after `since` (a database timestamp), or fail after ROW_TIMEOUT_S."""
        rows = self.stack.wait_for_row(
            "SELECT actor, detail FROM audit_log WHERE action = %s AND object = %s"
            " AND at >= coalesce(%s::timestamptz, '-infinity') ORDER BY id DESC LIMIT 1",
            (action, object_name, since), timeout=ROW_TIMEOUT_S)
        self.assertEqual(len(rows), 1,
                         f"no audit row action={action} object={object_name}")
        return rows[0]

    def now(self):
        """Return the database's clock, to find rows written from now on."""
        return self.stack.query("SELECT clock_timestamp()")[0][0]

    def fingerprint(self, name):
        cert, _ = self.stack.cert(name)
        return self.stack.pki("fingerprint", cert).stdout.strip()

    # connections --------------------------------------------------------------------

    def test_connect_audited(self):
        client = self.stack.connect("co-dni-liaison")
        actor, detail = self.audit_row("connect", client.client_id)
        self.assertEqual(actor, "co-dni-liaison")
        self.assertEqual(detail["reason"], "accepted")
        self.assertEqual(detail["fingerprint"], self.fingerprint("co-dni-liaison"))

    def test_unknown_certificate_audited(self):
        self.stack.issue("co-dni-unknown", "liaison", "CO", "co-dni", register=False)
        client = self.stack.client("co-dni-unknown")
        self.assertFalse(client.connect())
        actor, detail = self.audit_row("connect-refused", client.client_id)
        self.assertEqual(actor, "-")
        self.assertEqual(detail["reason"], "certificate_unknown")
        self.assertEqual(detail["fingerprint"], self.fingerprint("co-dni-unknown"))

    def test_invalid_client_id_audited(self):
        client = self.stack.client("mx-cni-system", client_id="co-dni-system-takeover")
        self.assertFalse(client.connect())
        actor, detail = self.audit_row("connect-refused", "co-dni-system-takeover")
        self.assertEqual(actor, "mx-cni-system")
        self.assertEqual(detail["reason"], "client_id_invalid")

    def test_revocation_audited(self):
        cert, _ = self.stack.issue("co-dni-audited", "agency-system", "CO", "co-dni")
        client = self.stack.connect_eventually("co-dni-audited")
        fingerprint = self.stack.pki("fingerprint", cert).stdout.strip()
        self.stack.admin("cert", "revoke", fingerprint)

        actor, detail = self.audit_row("disconnect", client.client_id)
        self.assertEqual(actor, "co-dni-audited")
        self.assertEqual(detail, {"fingerprint": fingerprint,
                                  "reason": "certificate_revoked"})

        retry = self.stack.client("co-dni-audited")
        self.assertFalse(retry.connect())
        actor, detail = self.audit_row("connect-refused", retry.client_id)
        self.assertEqual(actor, "co-dni-audited")
        self.assertEqual(detail["reason"], "certificate_revoked")

    # publishes and subscriptions ----------------------------------------------------

    def test_rejected_publish_audited(self):
        liaison = self.stack.connect("co-dni-liaison")
        since = self.now()
        self.assertNotAuthorized(liaison.publish("iactn/alerts/CO/cbrn", b"{not json"))
        actor, detail = self.audit_row("publish-rejected", "iactn/alerts/CO/cbrn", since)
        self.assertEqual(actor, "co-dni-liaison")
        self.assertEqual(detail["reason"], "invalid_json")
        self.assertIn("invalid JSON", detail["detail"])

    # A member's path is cut at 96 bytes; the cut must not split a character, or the
    # audit row could not hold the reason as JSON.
    def test_rejection_reason_survives_multibyte_names(self):
        liaison = self.stack.connect("co-dni-liaison")
        since = self.now()
        alert = harness.make_alert(category="explosives")
        alert["a" + "\u00e9" * 100] = 1
        payload = json.dumps(alert, ensure_ascii=False).encode()
        self.assertNotAuthorized(liaison.publish("iactn/alerts/CO/explosives", payload))
        _, detail = self.audit_row("publish-rejected", "iactn/alerts/CO/explosives",
                                   since)
        self.assertEqual(detail.get("reason"), "schema",
                         f"the audit row lost the reason: {detail}")

    def test_denied_publish_audited(self):
        liaison = self.stack.connect("co-dni-liaison")
        since = self.now()
        alert = harness.make_alert(category="propaganda")
        self.assertNotAuthorized(liaison.publish("iactn/alerts/MX/propaganda", alert))
        actor, detail = self.audit_row("publish-denied", "iactn/alerts/MX/propaganda",
                                       since)
        self.assertEqual(actor, "co-dni-liaison")
        self.assertEqual(detail, {"rule": 0, "reason": "no_rule"})

    def test_denied_subscription_audited(self):
        system = self.stack.connect("mx-cni-system")
        since = self.now()
        self.assertGreaterEqual(system.subscribe("iactn/status/#")[0], 0x80)
        actor, detail = self.audit_row("subscribe-denied", "iactn/status/#", since)
        self.assertEqual(actor, "mx-cni-system")
        self.assertEqual(detail["reason"], "no_rule_covers_filter")

    # policy loads -------------------------------------------------------------------

    def test_policy_loads_audited(self):
        actor, detail = self.audit_row("policy-load", "")
        self.assertEqual(actor, "broker")

        rows = self.stack.wait_for_row(
            "SELECT actor, detail FROM audit_log WHERE action = 'policy-load'"
            " AND detail->>'reason' = 'start'", timeout=ROW_TIMEOUT_S)
        self.assertEqual(len(rows), 1, "no single policy-load row for the start")
        self.assertEqual(rows[0][0], "broker")
        self.assertEqual(rows[0][1]["certificates"], len(harness.DEMO_PRINCIPALS))

        since = self.now()
        before = self.stack.query("SELECT count(*) FROM sharing_rules")[0][0]
        self.stack.admin("rule", "add", "--origin", "BR", "--category", "*", "--to-all",
                         "--allow")
        deadline = time.monotonic() + ROW_TIMEOUT_S
        while True:
            actor, detail = self.audit_row("policy-load", "", since)
            if detail["sharing_rules"] == before + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(actor, "broker")
        self.assertEqual(detail["reason"], "change")
        self.assertEqual(detail["sharing_rules"], before + 1)


if __name__ == "__main__":
    harness.main()
