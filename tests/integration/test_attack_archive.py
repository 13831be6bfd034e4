"""Hostile input for the bridge's archive writer, which commits the alerts and acks of
all its connections in one transaction. The cases are alert texts that PostgreSQL
array literals must escape, alerts at the plugin's size limit, one id repeated in a
burst, acks mixed with alerts, and rows that the database rejects at insert or at
commit. Each alert must be archived once, with the bytes that subscribers received."""

import json
import threading
import time

import harness
import webhook_receiver

ALERT_TOPIC = "iactn/alerts/CO/imminent-threat"
ACK_TOPIC = "iactn/acks/CO/MX"
CONNECTIONS = 8
ALERT_MAX_BYTES = 65536  # common/alert.h

# Texts that break a hand-written array literal: quotes, backslashes, braces, commas,
# the word NULL, white space at the ends, JSON escapes and characters outside the BMP.
TRICKY_TEXTS = [
    'say "hello"',
    "back\\slash \\\\ double \\\" mixed",
    "{braces}, {\"a\":1}, commas,,,",
    "NULL",
    "null",
    "  leading and trailing  ",
    "tab\there\nnewline\r\n",
    "ends with a backslash \\",
    "\"",
    "{}",
    "caf\u00e9 \u4e2d\u6587 \U0001f6a8 \u2028",
    "\\u0041 is not an escape here",
    "'single' and $1 and %s and ::text[]",
]


def encode(alert, ascii_only=True):
    return json.dumps(alert, ensure_ascii=ascii_only).encode()


def max_size_alert():
    """Return an alert of exactly ALERT_MAX_BYTES bytes, mostly quotes, backslashes,
    braces, commas and JSON escapes."""
    quoted = '"\\{,}' * (16384 // 5)
    alert = harness.make_alert(headline={"en": "x"},
                               description={"en": quoted, "pt": quoted, "es": "",
                                            "fr": "\U0001f6a8" * 600})
    alert["description"]["es"] = "\u00e9" * ((ALERT_MAX_BYTES - len(encode(alert)) - 200)
                                             // 6)
    alert["headline"]["en"] += "x" * (ALERT_MAX_BYTES - len(encode(alert)))
    return encode(alert)


class AttackStackTest(webhook_receiver.BridgeTestCase):
    """A stack with a bridge of several connections."""

    bridge_settings = {"connections": CONNECTIONS}

    def archived_count(self, ids):
        return self.stack.query("SELECT count(*) FROM alerts WHERE id = ANY(%s::uuid[])",
                                (list(ids),))[0][0]

    def wait_archived(self, ids, timeout=60):
        """Wait until every id is archived; return how many are."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.archived_count(ids)
            if found >= len(ids) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def archive_rows(self, ids):
        """Return {id: row} with the columns the stamp and the payload determine."""
        rows = self.stack.query(
            "SELECT id::text, raw_payload, payload, sender, sender_agency, "
            "recipient_states, recipient_agencies, sent, expires, received_at "
            "FROM alerts WHERE id = ANY(%s::uuid[])", (list(ids),))
        return {row[0]: row for row in rows}

    def subscribe_alerts(self):
        return self.stack.connect("co-dni-system", subscribe="iactn/alerts/#")

    def assert_matches_delivery(self, row, delivered):
        """Check an archive row against the payload bytes a subscriber received."""
        alert_id, raw, payload, sender, agency, states, agencies, _, expires, _ = row
        document = json.loads(delivered)
        stamp = document["iactn"]
        self.assertEqual(raw.encode(), delivered, f"raw_payload of {alert_id}")
        self.assertEqual(payload, document, f"payload of {alert_id}")
        self.assertEqual(sender, stamp["sender"]["principal"])
        self.assertEqual(agency, stamp["sender"].get("agency"))
        self.assertEqual(states, stamp["recipients"]["states"])
        self.assertEqual(agencies, stamp["recipients"]["agencies"])
        self.assertIsNotNone(expires, f"expires of {alert_id}")


class ArchiveValuesTest(AttackStackTest):

    def test_tricky_texts_archived_verbatim(self):
        """Alerts whose texts need escaping in array literals, committed together,
        keep the exact bytes, recipients and sender that subscribers received."""
        subscriber = self.subscribe_alerts()
        alerts = []
        for i, text in enumerate(TRICKY_TEXTS * 3):
            alert = harness.make_alert(headline={"en": text[:256], "es": text[::-1]},
                                       description={"en": text * 50, "fr": text})
            if i % 2:
                alert["area"] = {"description": text, "countries": ["CO"]}
            alerts.append(encode(alert, ascii_only=i % 3 == 0))
        holder = webhook_receiver.hold_table(self.stack, "alerts", 2)
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, payload) for payload in alerts])
        holder.join()
        self.assertEqual(codes, [harness.RC_SUCCESS] * len(alerts))

        delivered = {json.loads(m.payload)["id"]: m.payload
                     for m in subscriber.collect(20, count=len(alerts))}
        self.assertEqual(len(delivered), len(alerts))
        self.assertEqual(self.wait_archived(delivered), len(alerts))
        rows = self.archive_rows(delivered)
        for alert_id, payload in delivered.items():
            self.assert_matches_delivery(rows[alert_id], payload)
        self.assertGreater(self.bridge.log_count("rows committed together"), 0)

    def test_restricted_tlp_values_archived(self):
        """A RED alert's agency list and a GREEN alert's empty one, committed in one
        batch, reach recipient_agencies as the stamp lists them."""
        subscriber = self.subscribe_alerts()
        red = [harness.make_alert(tlp="RED", distribution={"agencies": ["co-dni"]})
               for _ in range(6)]
        green = [harness.make_alert() for _ in range(6)]
        holder = webhook_receiver.hold_table(self.stack, "alerts", 1.5)
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, encode(a)) for a in red + green])
        holder.join()
        self.assertEqual(codes, [harness.RC_SUCCESS] * 12)
        delivered = {json.loads(m.payload)["id"]: m.payload
                     for m in subscriber.collect(20, count=12)}
        self.assertEqual(len(delivered), 12)
        self.assertEqual(self.wait_archived(delivered), 12)
        rows = self.archive_rows(delivered)
        for alert_id, payload in delivered.items():
            self.assert_matches_delivery(rows[alert_id], payload)
        self.assertEqual({tuple(rows[a["id"]][6]) for a in red}, {("co-dni",)})
        self.assertEqual({tuple(rows[a["id"]][6]) for a in green}, {()})

    def test_max_size_alerts_batched(self):
        """Alerts of exactly the plugin's limit (65,536 bytes before the stamp), full
        of characters that the array literal escapes, are archived byte for byte when
        many wait at once."""
        subscriber = self.subscribe_alerts()
        payloads = [max_size_alert() for _ in range(3 * CONNECTIONS)]
        self.assertEqual({len(p) for p in payloads}, {ALERT_MAX_BYTES})

        holder = webhook_receiver.hold_table(self.stack, "alerts", 2)
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, p) for p in payloads])
        holder.join()
        self.assertEqual(codes, [harness.RC_SUCCESS] * len(payloads))
        delivered = {json.loads(m.payload)["id"]: m.payload
                     for m in subscriber.collect(30, count=len(payloads))}
        self.assertEqual(len(delivered), len(payloads))
        self.assertEqual(self.wait_archived(delivered), len(payloads))
        rows = self.archive_rows(delivered)
        for alert_id, payload in delivered.items():
            self.assert_matches_delivery(rows[alert_id], payload)

    def test_same_id_repeated_in_burst(self):
        """One alert sent 30 times among others in one burst is archived once, with
        the bytes of one of the copies subscribers received."""
        subscriber = self.subscribe_alerts()
        repeated = encode(harness.make_alert())
        repeated_id = json.loads(repeated)["id"]
        others = [encode(harness.make_alert()) for _ in range(30)]
        messages = [p for pair in zip([repeated] * 30, others) for p in pair]
        holder = webhook_receiver.hold_table(self.stack, "alerts", 2)
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, p) for p in messages])
        holder.join()
        self.assertEqual(codes, [harness.RC_SUCCESS] * len(messages))

        received = subscriber.collect(20, count=len(messages))
        self.assertEqual(len(received), len(messages))
        copies = {m.payload for m in received if json.loads(m.payload)["id"] == repeated_id}
        ids = {json.loads(p)["id"] for p in others} | {repeated_id}
        self.assertEqual(self.wait_archived(ids), len(ids))
        time.sleep(1)  # the later copies are settled by now
        self.assertEqual(self.stack.query(
            "SELECT count(*), count(DISTINCT id) FROM alerts WHERE id = ANY(%s::uuid[])",
            (list(ids),)), [(len(ids), len(ids))])
        raw = self.archive_rows([repeated_id])[repeated_id][1]
        self.assertIn(raw.encode(), copies)
        self.assertEqual(self.bridge.log_count("acknowledged without a row"), 0)

    def test_acks_mixed_with_alerts(self):
        """Acks (some repeated, with notes that need escaping) and new alerts that wait
        in one batch are each archived once."""
        targets = [harness.make_alert() for _ in range(10)]
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, encode(a)) for a in targets])
        self.assertEqual(codes, [harness.RC_SUCCESS] * len(targets))
        self.assertEqual(self.wait_archived([a["id"] for a in targets]), len(targets))

        acks = []
        for i, alert in enumerate(targets):
            for status in ("received", "read"):
                ack = {"alert_id": alert["id"], "status": status, "sent": harness.utc_now(),
                       "note": TRICKY_TEXTS[i % len(TRICKY_TEXTS)]}
                acks.append((ACK_TOPIC, encode(ack)))
        fresh = [harness.make_alert() for _ in range(20)]
        results = {}

        def send(name, messages, principal):
            results[name] = webhook_receiver.publish_raw(self.stack, messages, principal)

        holders = [webhook_receiver.hold_table(self.stack, "alerts", 2), webhook_receiver.hold_table(self.stack, "acks", 2)]
        senders = [
            threading.Thread(target=send, args=("acks", acks + acks[:6], "mx-cni-liaison")),
            threading.Thread(target=send, args=(
                "alerts", [(ALERT_TOPIC, encode(a)) for a in fresh], "co-dni-liaison")),
        ]
        for thread in senders:
            thread.start()
        for thread in senders + holders:
            thread.join()
        self.assertEqual(results["acks"], [harness.RC_SUCCESS] * (len(acks) + 6))
        self.assertEqual(results["alerts"], [harness.RC_SUCCESS] * len(fresh))

        self.assertEqual(self.wait_archived([a["id"] for a in fresh]), len(fresh))
        rows = self.stack.query(
            "SELECT alert_id::text, status, note, sender FROM acks "
            "WHERE alert_id = ANY(%s::uuid[]) ORDER BY 1, 2",
            ([a["id"] for a in targets],))
        expected = sorted((json.loads(p)["alert_id"], json.loads(p)["status"],
                           json.loads(p)["note"], "mx-cni-liaison") for _, p in acks)
        self.assertEqual(rows, expected)

    def test_extreme_exponents_archived(self):
        """Coordinates whose exponents lie beyond a double's range (jansson reads them
        as 0) are either archived as subscribers received them, or rejected at publish
        when they exceed what PostgreSQL's jsonb stores. None is delivered and then
        lost by the archive."""
        subscriber = self.subscribe_alerts()
        missing = []
        accepted = []
        for number in (b"1e-999", b"1e-1001", b"1e-20000", b"0e99999", b"1e-2000000000",
                       b"0e2000000000", b"0.0000000000000000000000000000000000001"):
            alert = harness.make_alert(area={"geometry": {"type": "Point",
                                                          "coordinates": [1.5, 2.5]}})
            payload = encode(alert).replace(b"[1.5, 2.5]", b"[" + number + b", 2.5]")
            codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, payload)])
            if codes != [harness.RC_SUCCESS]:
                continue  # the broker rejected it, so no subscriber received it
            accepted.append(number.decode())
            self.assertEqual(len(subscriber.collect(10, count=1)), 1)
            if self.wait_archived([alert["id"]], timeout=5) != 1:
                missing.append(number.decode())
        self.assertEqual(missing, [])
        self.assertEqual(accepted, ["1e-999", "0.0000000000000000000000000000000000001"])


class RejectingTrigger:
    """Rows that an operator's trigger rejects. Each test class gets a stack of its
    own, because a batch left unfinished by one test would spill into the next."""

    MARK = "rejected-by-a-trigger"

    def add_trigger(self, errcode, deferred=False):
        webhook_receiver.add_rejecting_trigger(self, self.MARK, errcode, deferred)

    def marked_alerts(self, count, every):
        """Return `count` alerts, every `every`-th one marked, and the ids of the plain
        and the marked ones."""
        alerts = [harness.make_alert(headline={"en": self.MARK if i % every == 0
                                               else "plain"}) for i in range(count)]
        plain = [a["id"] for a in alerts if a["headline"]["en"] == "plain"]
        marked = [a["id"] for a in alerts if a["headline"]["en"] == self.MARK]
        return alerts, plain, marked

    def burst_with_marked(self, count, every, seconds):
        """Publish `count` alerts under a table lock, every `every`-th one marked.
        Returns the plain ids, the marked ids and the PUBACK codes."""
        alerts, plain, marked = self.marked_alerts(count, every)
        holder = webhook_receiver.hold_table(self.stack, "alerts", 2)
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, encode(a)) for a in alerts],
                            timeout=seconds)
        holder.join()
        return plain, marked, codes


class ImmediateRejectionTest(RejectingTrigger, AttackStackTest):

    def test_rejection_spares_batch(self):
        """A trigger that rejects marked rows on insert with a data error costs only
        those rows, and the bridge acknowledges all of them."""
        self.add_trigger("22023")
        offset = self.bridge.log_offset()
        # Every other row is marked, because how many rows each batch takes depends on
        # timing, and a marked row alone in its batch does not test the batch fallback.
        plain, marked, codes = self.burst_with_marked(40, 2, seconds=60)
        self.assertEqual(codes, [harness.RC_SUCCESS] * 40)
        self.assertEqual(self.wait_archived(plain, timeout=30), len(plain))
        self.assertEqual(self.archived_count(marked), 0)
        self.assertEqual(self.bridge.log_count("database rejected the alert", offset),
                         len(marked))
        self.assertGreater(
            self.bridge.log_count("database rejected a row of the batch", offset), 0)


class DeferredRejectionTest(RejectingTrigger, AttackStackTest):

    def test_rejection_spares_batch(self):
        """A deferred constraint trigger that rejects marked rows at commit with a data
        error (22023) costs only those rows, as it does when each row commits alone.
        In a batch the error arrives with the pipeline's Sync, after the last
        statement, and must not be taken for an outage."""
        self.add_trigger("22023", deferred=True)
        offset = self.bridge.log_offset()
        plain, marked, codes = self.burst_with_marked(40, 8, seconds=20)
        self.assertEqual(codes, [harness.RC_SUCCESS] * 40)
        self.assertEqual(self.wait_archived(plain, timeout=15), len(plain))
        self.assertEqual(self.archived_count(marked), 0)
        self.assertEqual(self.bridge.log_count("database unavailable", offset), 0)


class RetriedRowTest(RejectingTrigger, AttackStackTest):

    def test_retried_row_blocks_only_itself(self):
        """An alert that the database keeps failing with an error the bridge retries
        (P0001, a plain RAISE EXCEPTION) holds up only its own connection. Later
        alerts, handed to the bridge's other connections, are archived while the
        writer retries that row on its own."""
        self.add_trigger("P0001")
        offset = self.bridge.log_offset()
        alerts, plain, marked = self.marked_alerts(1, 1)
        publisher = webhook_receiver.connect_publisher(self.stack)
        self.addCleanup(publisher.loop_stop)
        self.addCleanup(publisher.disconnect)
        publisher.publish(ALERT_TOPIC, encode(alerts[0]), qos=1)
        deadline = time.monotonic() + 10
        while (self.bridge.log_count("database failed the row", offset) == 0
               and time.monotonic() < deadline):
            time.sleep(0.1)
        self.assertGreater(self.bridge.log_count("database failed the row", offset), 0)
        self.assertEqual(self.bridge.log_count("database unavailable", offset), 0)

        later = [harness.make_alert() for _ in range(4 * CONNECTIONS)]
        codes = webhook_receiver.publish_raw(self.stack, [(ALERT_TOPIC, encode(a)) for a in later],
                            timeout=15)
        # Shared subscriptions hand some alerts to the blocked connection, so only the
        # others must get through.
        deadline = time.monotonic() + 30
        archived = self.archived_count([a["id"] for a in later])
        while archived < len(later) // 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            archived = self.archived_count([a["id"] for a in later])
        self.assertGreaterEqual(archived, len(later) // 2)
        self.assertGreaterEqual(codes.count(harness.RC_SUCCESS), len(later) // 2)


if __name__ == "__main__":
    harness.main()
