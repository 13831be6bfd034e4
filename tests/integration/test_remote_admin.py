"""Administration over MQTT: iactn-admin --remote sends requests that iactn-bridge
applies with the rights of the administrator whose certificate the broker verified. A
state administrator changes its own state's rows, and the change is live at once. It
cannot change another state's rows, create network principals or widen the network's
topic rights, and every refusal is audited. Sharing groups created this way work in
sharing rules and in an alert's distribution."""

import json
import os
import ssl
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import harness

OK, FAILURE, USAGE = 0, 1, 2


class RemoteAdminTest(harness.StackTestCase):
    with_bridge = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.issue("co-dni-admin", "admin", "CO", "co-dni")
        cls.stack.issue("mx-cni-admin", "admin", "MX", "mx-cni")
        cls.stack.issue("net-admin", "admin")
        for name in ("co-dni-admin", "mx-cni-admin", "net-admin"):
            cls.stack.connect_eventually(name).close()

    def remote(self, admin, *args, expect=OK, timeout=15):
        """Run iactn-admin --remote as `admin`; assert its exit status and return the
        CompletedProcess."""
        cert, key = self.stack.cert(admin)
        argv = [self.stack.admin_binary, "--remote", "--ca", self.stack.ca_file,
                "--cert", cert, "--key", key, "--port", str(self.stack.mqtt_port),
                "--timeout", "10", *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                env=dict(os.environ, IACTN_DB=""))
        self.assertEqual(result.returncode, expect,
                         f"{admin}: iactn-admin --remote {' '.join(args)}:\n"
                         f"{result.stdout}{result.stderr}")
        return result

    def rejections(self, admin, op):
        """Return the details of the audited rejections of `op` sent by `admin`."""
        return [row[0] for row in self.stack.query(
            "SELECT detail FROM audit_log WHERE actor = %s AND object = %s "
            "AND action = 'admin-request-rejected' ORDER BY id", (admin, op))]

    def assertForbiddenAndAudited(self, admin, op, *args):
        before = len(self.rejections(admin, op))
        result = self.remote(admin, *args, expect=FAILURE)
        rows = self.rejections(admin, op)
        self.assertEqual(len(rows), before + 1, result.stderr)
        self.assertEqual(rows[-1]["code"], "forbidden")
        return result

    def publish_until(self, client, topic, expected, timeout=5):
        """Publish fresh alerts on topic until the PUBACK code is `expected`; return
        the seconds that took. The plugin reloads its policy on NOTIFY."""
        start = time.monotonic()
        category = topic.rsplit("/", 1)[1]
        while True:
            code = client.publish(topic, harness.make_alert(category=category))
            if code == expected:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                self.fail(f"publish on {topic} still answered 0x{code:02x}, "
                          f"expected 0x{expected:02x}, after {timeout} s")
            time.sleep(0.1)

    # Live topic rights ------------------------------------------------------------

    def test_state_acl_change_is_live(self):
        liaison = self.stack.connect("co-dni-liaison")
        self.assertAccepted(liaison.publish("iactn/alerts/CO/cyber",
                                            harness.make_alert(category="cyber")))
        rule = self.remote("co-dni-admin", "acl", "add", "--role", "liaison", "--access",
                           "publish", "--pattern", "iactn/alerts/{state}/cyber", "--deny",
                           "--priority", "200", "--note", "no cyber alerts").stdout.strip()
        self.assertLess(self.publish_until(liaison, "iactn/alerts/CO/cyber", 0x87), 3)
        self.remote("co-dni-admin", "acl", "remove", rule)
        self.assertLess(self.publish_until(liaison, "iactn/alerts/CO/cyber", 0x00), 3)

    def test_state_acl_change_audited_with_principal(self):
        rule = self.remote("co-dni-admin", "acl", "add", "--role", "agency-system",
                           "--access", "subscribe", "--pattern", "iactn/acks/{state}/MX",
                           "--deny").stdout.strip()
        rows = self.stack.query("SELECT actor, detail FROM audit_log "
                                "WHERE action = 'acl-add' AND object = %s", (rule,))
        self.assertEqual(len(rows), 1)
        actor, detail = rows[0]
        self.assertEqual(actor, "co-dni-admin")
        self.assertEqual(detail["after"]["state_code"], "CO")
        self.remote("co-dni-admin", "acl", "remove", rule)
        rows = self.stack.query("SELECT actor, detail FROM audit_log "
                                "WHERE action = 'acl-remove' AND object = %s", (rule,))
        self.assertEqual(rows[0][0], "co-dni-admin")
        self.assertEqual(rows[0][1]["before"]["pattern"], "iactn/acks/{state}/MX")

    def test_state_acl_list_own_and_network_rows(self):
        self.remote("mx-cni-admin", "acl", "add", "--role", "liaison", "--access",
                    "publish", "--pattern", "iactn/alerts/{state}/propaganda", "--deny")
        output = self.remote("co-dni-admin", "acl", "list", "--tsv").stdout
        states = {line.split("\t")[1] for line in output.splitlines()}
        self.assertIn("*", states)
        self.assertNotIn("MX", states)
        self.remote("co-dni-admin", "acl", "list", "--state", "MX", expect=FAILURE)

    # Other states' rows -----------------------------------------------------------

    def test_other_state_acl_refused(self):
        self.assertForbiddenAndAudited(
            "co-dni-admin", "acl-add", "acl", "add", "--state", "MX", "--role", "liaison",
            "--access", "publish", "--pattern", "iactn/alerts/MX/cyber", "--deny")

    def test_other_state_acl_remove_refused(self):
        rule = self.remote("mx-cni-admin", "acl", "add", "--role", "liaison", "--access",
                           "publish", "--pattern", "iactn/alerts/{state}/travel",
                           "--deny").stdout.strip()
        self.assertForbiddenAndAudited("co-dni-admin", "acl-remove", "acl", "remove", rule)
        self.assertEqual(self.stack.query("SELECT count(*) FROM topic_acl WHERE id = %s",
                                          (rule,))[0][0], 1)

    def test_network_acl_remove_refused(self):
        self.assertForbiddenAndAudited("co-dni-admin", "acl-remove", "acl", "remove", "1")

    def test_other_state_rule_refused(self):
        self.assertForbiddenAndAudited(
            "co-dni-admin", "rule-add", "rule", "add", "--origin", "MX", "--category", "*",
            "--to-all", "--deny")

    def test_other_state_contact_refused(self):
        self.assertForbiddenAndAudited(
            "co-dni-admin", "contact-add", "contact", "add", "--agency", "mx-cni",
            "--name", "Intruder")

    def test_other_state_agency_refused(self):
        self.assertForbiddenAndAudited(
            "co-dni-admin", "agency-add", "agency", "add", "mx-new", "--state", "MX",
            "--name", "Not yours")
        self.assertForbiddenAndAudited("co-dni-admin", "agency-suspend", "agency",
                                       "suspend", "mx-cni")

    def test_other_state_cert_revoke_refused(self):
        self.assertForbiddenAndAudited("co-dni-admin", "cert-revoke", "cert", "revoke",
                                       "--principal", "mx-cni-liaison")
        self.stack.connect("mx-cni-liaison").close()

    def test_other_state_topic_refused_by_broker(self):
        code = self.stack.connect("co-dni-admin").publish(
            "iactn/admin/MX/request", {"op": "acl-list"})
        self.assertNotAuthorized(code)

    # Network principals and roles ---------------------------------------------------

    def test_network_principal_creation_refused(self):
        self.assertForbiddenAndAudited("co-dni-admin", "principal-add", "principal",
                                       "add", "rogue-admin", "--role", "admin")
        self.assertEqual(self.stack.query(
            "SELECT count(*) FROM principals WHERE id = 'rogue-admin'")[0][0], 0)

    def test_network_role_principal_refused(self):
        for role in ("archiver", "broker-bridge"):
            with self.subTest(role=role):
                self.assertForbiddenAndAudited(
                    "co-dni-admin", "principal-add", "principal", "add", f"co-{role}",
                    "--role", role, "--state", "CO", "--agency", "co-dni")

    def test_network_role_acl_refused(self):
        self.assertForbiddenAndAudited(
            "co-dni-admin", "acl-add", "acl", "add", "--role", "archiver", "--access",
            "subscribe", "--pattern", "iactn/alerts/#", "--deny")

    def test_acl_widening_refused(self):
        result = self.assertForbiddenAndAudited(
            "co-dni-admin", "acl-add", "acl", "add", "--role", "liaison", "--access",
            "publish", "--pattern", "iactn/directory/+/+", "--allow", "--priority", "500")
        self.assertIn("only narrow", result.stderr)

    def test_certificate_for_network_role_refused(self):
        cert, _ = self.stack.issue("co-rogue-bridge", "broker-bridge", register=False)
        self.assertForbiddenAndAudited(
            "co-dni-admin", "cert-register", "cert", "add", cert, "--principal",
            "co-rogue-bridge", "--create-principal", "--role", "broker-bridge")

    def test_network_admin_changes_any_state(self):
        contact = self.remote("net-admin", "contact", "add", "--agency", "mx-cni",
                              "--name", "Set by the network").stdout.strip()
        rows = self.stack.query("SELECT actor FROM audit_log WHERE action = 'contact-add' "
                                "AND object = %s", (contact,))
        self.assertEqual(rows, [("net-admin",)])

    # Principals and certificates ---------------------------------------------------

    def test_certificate_registered_and_revoked_remotely(self):
        cert, _ = self.stack.issue("co-dni-liaison2", "liaison", "CO", "co-dni",
                                   register=False)
        fingerprint = self.remote(
            "co-dni-admin", "cert", "add", cert, "--principal", "co-dni-liaison2",
            "--create-principal", "--role", "liaison", "--agency", "co-dni").stdout.strip()
        self.assertRegex(fingerprint, r"^[0-9a-f]{64}$")
        self.stack.connect_eventually("co-dni-liaison2").close()
        self.remote("co-dni-admin", "cert", "revoke", fingerprint, "--reason", "test")
        deadline = time.monotonic() + 5
        while self.stack.client("co-dni-liaison2").connect():
            self.assertLess(time.monotonic(), deadline, "revoked certificate still accepted")
            time.sleep(0.2)

    def test_certificate_from_other_ca_refused(self):
        cert, _ = self.stack.issue("co-dni-foreign", "liaison", "CO", "co-dni",
                                   register=False, extra=("--untrusted-ca",))
        result = self.remote("co-dni-admin", "cert", "add", cert, "--principal",
                             "co-dni-foreign", "--create-principal", "--role", "liaison",
                             "--agency", "co-dni", expect=USAGE)
        self.assertIn("network CA", result.stderr)

    # Webhook endpoints --------------------------------------------------------------

    def write_secret(self):
        path = self.stack.path("endpoint-secret")
        with open(path, "w") as handle:
            handle.write("s3cret-for-the-webhook-test\n")
        return path

    def test_endpoint_added_and_disabled_remotely(self):
        secret = self.write_secret()
        endpoint = self.remote("co-dni-admin", "endpoint", "add", "co-dni",
                               "https://hooks.example/iactn", "--secret-file",
                               secret).stdout.strip()
        rows = self.stack.query("SELECT active, secret FROM endpoints WHERE id = %s",
                                (endpoint,))
        self.assertEqual(rows, [(True, "s3cret-for-the-webhook-test")])
        self.remote("co-dni-admin", "endpoint", "disable", endpoint)
        rows = self.stack.query("SELECT active FROM endpoints WHERE id = %s", (endpoint,))
        self.assertEqual(rows, [(False,)])
        audit = self.stack.query("SELECT detail FROM audit_log WHERE actor = 'co-dni-admin' "
                                 "AND action = 'endpoint-add' AND object = %s", (endpoint,))
        self.assertEqual(len(audit), 1)
        self.assertNotIn("secret", audit[0][0]["after"])

    def test_other_state_endpoint_refused(self):
        self.assertForbiddenAndAudited(
            "co-dni-admin", "endpoint-add", "endpoint", "add", "mx-cni",
            "https://hooks.example/mx", "--secret-file", self.write_secret())

    # Sharing groups -----------------------------------------------------------------

    def test_remote_group_in_rule_and_distribution(self):
        self.remote("co-dni-admin", "group", "add", "northern", "--name", "Northern group")
        self.remote("co-dni-admin", "group", "member-add", "northern", "MX")
        self.remote("co-dni-admin", "group", "member-add", "northern", "CA")
        rule = self.remote("co-dni-admin", "rule", "add", "--origin", "CO", "--category",
                           "*", "--to-group", "northern", "--allow").stdout.strip()
        try:
            systems = {state: self.stack.connect(f"{agency}-system",
                                                 subscribe="iactn/alerts/#")
                       for state, agency in (("MX", "mx-cni"), ("CA", "ca-rcmp"),
                                             ("BR", "br-pf"))}
            liaison = self.stack.connect("co-dni-liaison")
            # The broker accepts the group once it has reloaded its policy.
            deadline = time.monotonic() + 5
            while True:
                alert = harness.make_alert(category="travel",
                                           distribution={"groups": ["northern"]})
                if liaison.publish("iactn/alerts/CO/travel", alert) == 0x00:
                    break
                self.assertLess(time.monotonic(), deadline, "group still unknown")
                time.sleep(0.1)
            for state in ("MX", "CA"):
                received = [m.json()["id"] for m in systems[state].collect(5, count=1)]
                self.assertEqual(received, [alert["id"]], state)
            self.assertEqual(systems["BR"].collect(1), [])

            # Without a distribution the rule alone limits the recipients.
            plain = harness.make_alert(category="travel")
            self.assertAccepted(liaison.publish("iactn/alerts/CO/travel", plain))
            self.assertEqual(len(systems["MX"].collect(5, count=1)), 1)
            self.assertEqual(systems["BR"].collect(1), [])

            # A distribution that names a state outside the rule is rejected.
            wider = harness.make_alert(category="travel", distribution={"states": ["BR"]})
            self.assertNotAuthorized(liaison.publish("iactn/alerts/CO/travel", wider))
        finally:
            self.remote("co-dni-admin", "rule", "remove", rule)

    def test_group_owned_by_other_state_refused(self):
        self.remote("mx-cni-admin", "group", "add", "mexican", "--name", "Mexico's group")
        self.assertForbiddenAndAudited("co-dni-admin", "group-member-add", "group",
                                       "member-add", "mexican", "CO")
        self.assertForbiddenAndAudited(
            "co-dni-admin", "rule-add", "rule", "add", "--origin", "CO", "--category", "*",
            "--to-group", "mexican", "--allow")

    def test_group_owner_recorded(self):
        self.remote("co-dni-admin", "group", "add", "owned", "--name", "Owned")
        output = self.remote("net-admin", "group", "list", "--tsv").stdout
        rows = {line.split("\t")[0]: line.split("\t") for line in output.splitlines()}
        self.assertEqual(rows["owned"][2], "CO")

    # The MQTT exchange itself ---------------------------------------------------------

    def raw_request(self, admin, payload, response_topic=None):
        """Send one request with paho and return (reply topic, correlation data, reply)."""
        cert, key = self.stack.cert(admin)
        replies = []
        arrived = threading.Event()
        version = ((mqtt.CallbackAPIVersion.VERSION1,)
                   if hasattr(mqtt, "CallbackAPIVersion") else ())
        client = mqtt.Client(*version, client_id=f"{admin}-raw-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
        context = ssl.create_default_context(cafile=self.stack.ca_file)
        context.load_cert_chain(cert, key)
        client.tls_set_context(context)

        def on_message(_client, _userdata, message):
            replies.append(message)
            arrived.set()

        client.on_message = on_message
        client.connect("127.0.0.1", self.stack.mqtt_port)
        client.loop_start()
        try:
            client.subscribe(f"iactn/admin/reply/{admin}", qos=1)
            time.sleep(0.5)
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = response_topic or f"iactn/admin/reply/{admin}"
            properties.CorrelationData = b"correlation-42"
            client.publish("iactn/admin/CO/request", json.dumps(payload), qos=1,
                           properties=properties)
            self.assertTrue(arrived.wait(10), "no reply within 10 s")
        finally:
            client.loop_stop()
            client.disconnect()
        message = replies[0]
        return (message.topic, message.properties.CorrelationData,
                json.loads(message.payload))

    def test_reply_carries_correlation_data(self):
        topic, correlation, reply = self.raw_request("co-dni-admin", {"op": "group-list"})
        self.assertEqual(topic, "iactn/admin/reply/co-dni-admin")
        self.assertEqual(correlation, b"correlation-42")
        self.assertTrue(reply["ok"])
        self.assertIsInstance(reply["result"], list)

    def test_foreign_response_topic_ignored(self):
        topic, _, reply = self.raw_request("co-dni-admin", {"op": "agency-list"},
                                           response_topic="iactn/admin/reply/mx-cni-admin")
        self.assertEqual(topic, "iactn/admin/reply/co-dni-admin")
        self.assertTrue(reply["ok"])

    def test_unknown_op_reported(self):
        _, _, reply = self.raw_request("co-dni-admin", {"op": "drop-everything"})
        self.assertFalse(reply["ok"])
        self.assertEqual(reply["code"], "unknown_op")
        self.assertIn("drop-everything", reply["error"])

    def test_unknown_field_reported(self):
        _, _, reply = self.raw_request("co-dni-admin",
                                       {"op": "agency-list", "sate": "CO"})
        self.assertFalse(reply["ok"])
        self.assertEqual(reply["code"], "invalid_request")

    def test_stamp_in_request_cannot_forge_sender(self):
        # Only the broker writes stamps: a request that carries one is refused before
        # any bridge sees it.
        forged = {"op": "principal-add", "id": "forged-admin", "role": "admin",
                  "iactn": {"sender": {"principal": "net-admin", "role": "admin"}}}
        code = self.stack.connect("co-dni-admin").publish("iactn/admin/CO/request",
                                                          json.dumps(forged))
        self.assertNotAuthorized(code)
        time.sleep(1)
        self.assertEqual(
            self.stack.query("SELECT 1 FROM principals WHERE id = 'forged-admin'"), [],
            "the forged request was applied")

    def test_non_object_request_refused_by_broker(self):
        code = self.stack.connect("co-dni-admin").publish("iactn/admin/CO/request",
                                                          b"[1, 2, 3]")
        self.assertNotAuthorized(code)

    def test_local_only_command_rejected_remotely(self):
        result = self.remote("net-admin", "migrate", expect=USAGE)
        self.assertIn("cannot run with --remote", result.stderr)


if __name__ == "__main__":
    harness.main()
