"""Attacks through session takeover, client ids, id reuse and message expiry.

mosquitto 2.0.11 publishes the old connection's will when a new connection takes over
its client id, and it does so before the disconnect event runs (handle_connect.c,
connect__on_authorised). The plugin therefore marks the old connection as gone when the
new one authenticates, and refuses any client-written stamp on checked topics; these
tests show that a will sent at takeover reaches nobody.
"""

import json
import time
import unittest

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import harness


def forged_alert_payload(alert, recipients, sender):
    """Return the bytes of alert behind a stamp written by the client itself."""
    document = {"iactn": {"recipients": {"states": recipients, "agencies": []},
                          "sender": sender,
                          "received": "2026-01-01T00:00:00.000Z"}}
    document.update(alert)
    return json.dumps(document, separators=(",", ":")).encode()


class TakeoverAttackTest(harness.StackTestCase):
    with_bridge = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.issue("co-dni-admin", "admin", "CO", "co-dni")
        cls.stack.issue("net-admin", "admin")
        # "ops" (Mexico) is a prefix of "ops-co" (Colombia) followed by '-'.
        cls.stack.issue("ops", "agency-system", "MX", "mx-cni")
        cls.stack.issue("ops-co", "agency-system", "CO", "co-dni")
        for name in ("co-dni-admin", "net-admin", "ops", "ops-co"):
            cls.stack.connect_eventually(name).close()

    def take_over_with_will(self, name, client_id, topic, payload):
        """Connect `name` with a will, then connect again with the same client id so
        that mosquitto publishes the will of the first connection."""
        first = self.stack.client(name, client_id=client_id)
        first.set_will(topic, payload)
        self.assertTrue(first.connect(), f"CONNACK {first.connect_reason}")
        second = self.stack.client(name, client_id=client_id)
        self.assertTrue(second.connect(), f"CONNACK {second.connect_reason}")

    def test_takeover_will_forges_alert_stamp(self):
        """What: a liaison's will on its own alert topic, published when the liaison
        takes over its own session, is delivered and archived with a stamp the
        client wrote. How: set a will whose payload starts with a forged stamp (sender
        mx-cni-liaison, recipients chosen freely), then reconnect with the same client
        id. Impact: any liaison can send an unvalidated alert to states the sharing
        rules exclude, under another principal's name, and the archive records the
        forged sender."""
        watchers = {principal: self.stack.connect(principal, subscribe="iactn/alerts/#")
                    for principal in ("mx-cni-system", "br-pf-system")}
        alert = harness.make_alert(category="attack")
        sender = {"principal": "mx-cni-liaison", "state": "MX", "agency": "mx-cni",
                  "role": "liaison"}
        payload = forged_alert_payload(alert, ["BR", "CO", "MX"], sender)

        self.take_over_with_will("co-dni-liaison", "co-dni-liaison-takeover",
                                 "iactn/alerts/CO/attack", payload)

        for principal, watcher in watchers.items():
            with self.subTest(receiver=principal):
                self.assertEqual(watcher.collect(3, count=1), [],
                                 f"{principal} received the forged will")
        rows = self.stack.wait_for_row("SELECT sender FROM alerts WHERE id = %s",
                                       (alert["id"],), timeout=3)
        self.assertEqual(rows, [], "the forged will was archived")

    def test_takeover_will_forges_network_admin(self):
        """What: a state administrator's will on its own request topic, published at
        takeover, reaches the bridge with a stamp the client wrote. How: co-dni-admin
        sets a will on iactn/admin/CO/request stamped as net-admin (no state) asking to
        suspend Mexico's agency, then reconnects with the same client id. Impact: any
        state administrator gains network administrator rights: it can suspend other
        states' agencies and principals, change network topic rights and register
        certificates."""
        request = {"iactn": {"sender": {"principal": "net-admin", "role": "admin"},
                             "received": "2026-01-01T00:00:00.000Z"},
                   "op": "agency-suspend", "id": "mx-cni"}

        self.take_over_with_will("co-dni-admin", "co-dni-admin-takeover",
                                 "iactn/admin/CO/request",
                                 json.dumps(request, separators=(",", ":")).encode())

        time.sleep(3)
        rows = self.stack.query("SELECT suspended FROM agencies WHERE id = 'mx-cni'")
        if rows != [(False,)]:
            # undo, so that the other tests of this module keep a working Mexico
            self.stack.admin("agency", "resume", "mx-cni", check=False)
        self.assertEqual(rows, [(False,)], "a state administrator suspended mx-cni")

    def test_prefix_principal_takes_other_client_id(self):
        """What: the client id rule "{principal}-..." lets a principal whose id is a
        prefix of another's use that other principal's client ids. How: "ops" (MX)
        connects with client id "ops-co-live" while "ops-co" (CO) is connected with it.
        Impact: one principal can disconnect another state's principal at will, and
        can take over its session's subscriptions."""
        victim = self.stack.client("ops-co", client_id="ops-co-live")
        self.assertTrue(victim.connect(), f"CONNACK {victim.connect_reason}")

        attacker = self.stack.client("ops", client_id="ops-co-live")
        accepted = attacker.connect()
        time.sleep(0.5)

        self.assertFalse(accepted, "ops was let in with a client id of ops-co")
        self.assertTrue(victim.is_connected(), "ops-co was disconnected by ops")

    def test_reused_id_delivers_unarchived_text(self):
        """What: a state may send a second alert with the id of its own earlier one.
        The plugin accepts and delivers both, but the archive keeps one row per id
        (ON CONFLICT DO NOTHING) and drops the other with a warning. How: publish two
        alerts with one id and different headlines. Impact: recipients act on a text
        the archive never holds, so the sender can later deny what it sent."""
        liaison = self.stack.connect("co-dni-liaison")
        mexico = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/#")
        first = harness.make_alert(category="attack")
        second = dict(first, headline={"en": "A different headline"})

        self.assertAccepted(liaison.publish("iactn/alerts/CO/attack", first))
        liaison.publish("iactn/alerts/CO/attack", second)
        delivered = mexico.collect(3, count=2)
        time.sleep(1)
        archived = [row[0].encode() for row in self.stack.query(
            "SELECT raw_payload FROM alerts WHERE id = %s", (first["id"],))]

        self.assertGreaterEqual(len(delivered), 1)
        for message in delivered:
            with self.subTest(headline=message.json()["headline"]):
                self.assertIn(message.payload, archived,
                              "a delivered alert is not in the archive")

    # NOTE: open weakness, listed in the README's limitations. mosquitto 2.0.11 takes the
    # message expiry interval out of the properties before the message event, so the
    # plugin can neither see nor remove it, and an alert queued for a stopped bridge
    # expires there.
    @unittest.expectedFailure
    def test_message_expiry_drops_alert_from_archive(self):
        """What: an MQTT 5 publisher can set a message expiry interval on an alert, and
        mosquitto drops the copy queued for the bridge's persistent session when it
        expires. How: stop the bridge, publish an alert with expiry 1 s, wait 2.5 s,
        start the bridge. Impact: an alert delivered to live recipients never reaches
        the archive or the webhooks; a sender can time this to any bridge restart or
        backlog."""
        self.stack.stop_bridge()
        try:
            liaison = self.stack.connect("co-dni-liaison")
            alert = harness.make_alert(category="attack")
            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = 1
            info = liaison.paho.publish("iactn/alerts/CO/attack",
                                        json.dumps(alert).encode(), qos=1,
                                        properties=properties)
            self.assertAccepted(liaison._wait_ack(info.mid, 10, "PUBACK"))
            time.sleep(2.5)
        finally:
            self.stack.start_bridge()
        rows = self.stack.wait_for_row("SELECT 1 FROM alerts WHERE id = %s",
                                       (alert["id"],), timeout=10)
        self.assertEqual(rows, [(1,)], "the alert was never archived")


if __name__ == "__main__":
    harness.main()
