"""The directory: iactn-admin contact and oncall keep contacts and on-call shifts in
PostgreSQL, iactn-bridge keeps a retained entry per agency and per state at
iactn/directory/{STATE}/{agency|_state} in line with them, and only member principals
can read the entries, with a client of their own or with iactn-alert directory and
oncall."""

import datetime
import json
import os
import subprocess
import time

import psycopg2

import harness

OK, FAILURE, USAGE = 0, 1, 2
STATE_ENTRY = "iactn/directory/CO/_state"
AGENCY_ENTRY = "iactn/directory/CO/co-dni"


def utc_in(seconds):
    """Return the UTC time `seconds` from now in the form iactn-admin takes."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class DirectoryWatcher:
    """A member principal subscribed to iactn/directory/#, keeping the latest entry of
    each topic (None once an entry is cleared)."""

    def __init__(self, stack, name):
        self.client = stack.connect(name, subscribe="iactn/directory/#")
        self.entries = {}

    def _drain(self, seconds):
        for message in self.client.collect(seconds):
            self.entries[message.topic] = message.json() if message.payload else None

    def wait(self, topic, predicate, timeout=10):
        """Return the entry of topic once predicate(entry) is true, where entry is None
        for a missing or cleared one; fail the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain(0.2)
            entry = self.entries.get(topic)
            if predicate(entry):
                return entry
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic} did not reach the expected state within "
                                     f"{timeout} s; last entry: {entry}")


def contact_names(entry):
    return [contact["name"] for contact in (entry or {}).get("contacts", [])]


def on_call_name(entry, position):
    person = ((entry or {}).get("on_call_now") or {}).get(position)
    return person["name"] if person else None


class DirectoryTest(harness.StackTestCase):
    with_bridge = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack.admin("agency", "add", "cu-minint", "--state", "CU", "--name",
                        "Ministerio del Interior")
        cls.stack.issue("cu-minint-liaison", "liaison", "CU", "cu-minint")
        cls.stack.issue("peer-broker", "broker-bridge")

    def setUp(self):
        self.watcher = DirectoryWatcher(self.stack, "mx-cni-system")

    def admin(self, *args, expect=OK):
        """Run iactn-admin on the stack's database; return its standard output."""
        result = self.stack.admin(*args, check=False)
        self.assertEqual(result.returncode, expect,
                         f"iactn-admin {' '.join(args)}:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def alert_tool(self, name, *args):
        """Run iactn-alert as principal `name`; return the CompletedProcess."""
        cert, key = self.stack.cert(name)
        binary = harness.find_binary("IACTN_ALERT", "iactn-alert")
        return subprocess.run(
            [binary, "--ca", self.stack.ca_file, "--cert", cert, "--key", key,
             "--port", str(self.stack.mqtt_port), *args],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ, HOME="/nonexistent"))

    def add_contact(self, name, agency="co-dni", *extra):
        return self.admin("contact", "add", "--agency", agency, "--name", name, *extra)

    def test_entries_for_agencies_and_states(self):
        for topic in (AGENCY_ENTRY, STATE_ENTRY, "iactn/directory/MX/mx-cni"):
            entry = self.watcher.wait(topic, lambda e: e is not None)
            self.assertIn("updated", entry)
            self.assertIn("on_call_now", entry)
        self.assertEqual(self.watcher.entries[AGENCY_ENTRY]["state"], "CO")
        self.assertEqual(self.watcher.entries[STATE_ENTRY]["agencies"], ["co-dni"])

    def test_non_participating_state_has_no_entry(self):
        self.watcher.wait(AGENCY_ENTRY, lambda e: e is not None)
        self.assertNotIn("iactn/directory/CU/cu-minint", self.watcher.entries)

    def test_entry_lists_new_contact(self):
        contact = self.add_contact("Ana Pérez", "co-dni", "--function", "Duty officer",
                                   "--phones", "+57 601 555 0100, +57 300 555 0101",
                                   "--email", "duty@dni.example", "--languages", "es,en",
                                   "--time-zone", "America/Bogota")
        entry = self.watcher.wait(AGENCY_ENTRY, lambda e: "Ana Pérez" in contact_names(e))
        listed = [c for c in entry["contacts"] if c["name"] == "Ana Pérez"][0]
        self.assertEqual(listed["id"], int(contact))
        self.assertEqual(listed["function"], "Duty officer")
        self.assertEqual(listed["phones"], ["+57 601 555 0100", "+57 300 555 0101"])
        self.assertEqual(listed["email"], "duty@dni.example")
        self.assertEqual(listed["languages"], ["es", "en"])
        self.assertEqual(listed["time_zone"], "America/Bogota")

    def test_entry_follows_contact_edit(self):
        contact = self.add_contact("Edit Me")
        self.watcher.wait(AGENCY_ENTRY, lambda e: "Edit Me" in contact_names(e))
        self.admin("contact", "edit", contact, "--name", "Edited",
                   "--phones", "+57 1 555 0199")
        entry = self.watcher.wait(AGENCY_ENTRY, lambda e: "Edited" in contact_names(e))
        self.assertNotIn("Edit Me", contact_names(entry))
        edited = [c for c in entry["contacts"] if c["name"] == "Edited"][0]
        self.assertEqual(edited["phones"], ["+57 1 555 0199"])

    def test_removed_contact_leaves_entry(self):
        contact = self.add_contact("Gone Soon")
        self.watcher.wait(AGENCY_ENTRY, lambda e: "Gone Soon" in contact_names(e))
        self.admin("contact", "remove", contact)
        entry = self.watcher.wait(AGENCY_ENTRY, lambda e: "Gone Soon" not in contact_names(e))
        self.assertIsNotNone(entry)

    def test_suspended_agency_entry_cleared(self):
        self.admin("agency", "add", "co-temp", "--state", "CO", "--name", "Temporary")
        topic = "iactn/directory/CO/co-temp"
        self.watcher.wait(topic, lambda e: e is not None)
        self.admin("agency", "suspend", "co-temp")
        self.watcher.wait(topic, lambda e: e is None)
        fresh = DirectoryWatcher(self.stack, "ca-rcmp-system")
        fresh.wait(AGENCY_ENTRY, lambda e: e is not None)
        self.assertIsNone(fresh.entries.get(topic))
        self.admin("agency", "resume", "co-temp")
        self.watcher.wait(topic, lambda e: e is not None)

    def test_deleted_agency_entry_cleared(self):
        self.admin("agency", "add", "co-deleted", "--state", "CO", "--name", "Deleted")
        topic = "iactn/directory/CO/co-deleted"
        self.watcher.wait(topic, lambda e: e is not None)
        self.stack.query("DELETE FROM agencies WHERE id = 'co-deleted'")
        self.watcher.wait(topic, lambda e: e is None)

    def test_change_during_comparison_published(self):
        """A change committed while the bridge compares the directory is published
        too. Its notification reaches the bridge during the comparison's queries,
        where libpq queues it without leaving anything on the socket to poll."""
        holder = psycopg2.connect(self.stack.conninfo)
        self.addCleanup(holder.close)
        holder.cursor().execute("LOCK TABLE oncall_shifts IN ACCESS EXCLUSIVE MODE")
        # the first change starts a comparison, which waits for the lock
        self.admin("agency", "add", "co-first", "--state", "CO", "--name", "First")
        deadline = time.monotonic() + 10
        while not self.stack.query(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND application_name = 'iactn-bridge-directory'"):
            self.assertLess(time.monotonic(), deadline, "no comparison waited for the lock")
            time.sleep(0.05)
        self.admin("agency", "add", "co-second", "--state", "CO", "--name", "Second")
        time.sleep(0.5)
        holder.rollback()
        try:
            self.watcher.wait("iactn/directory/CO/co-first", lambda e: e is not None)
            self.watcher.wait("iactn/directory/CO/co-second", lambda e: e is not None)
        finally:
            self.stack.query("DELETE FROM agencies WHERE id IN ('co-first', 'co-second')")
        self.watcher.wait("iactn/directory/CO/co-second", lambda e: e is None)

    def test_agency_deleted_offline_cleared(self):
        self.admin("agency", "add", "co-offline", "--state", "CO", "--name", "Offline")
        topic = "iactn/directory/CO/co-offline"
        self.watcher.wait(topic, lambda e: e is not None)
        self.stack.stop_bridge()
        try:
            self.stack.query("DELETE FROM agencies WHERE id = 'co-offline'")
        finally:
            self.stack.start_bridge()
        self.watcher.wait(topic, lambda e: e is None, timeout=20)

    def test_updated_kept_across_bridge_restart(self):
        before = self.watcher.wait("iactn/directory/BR/br-pf", lambda e: e is not None)
        self.stack.stop_bridge()
        self.stack.start_bridge()
        self.stack.wait_for_bridge()
        time.sleep(2)
        fresh = DirectoryWatcher(self.stack, "ca-rcmp-system")
        after = fresh.wait("iactn/directory/BR/br-pf", lambda e: e is not None)
        self.assertEqual(after["updated"], before["updated"])

    def test_oncall_entry_changes_when_shift_starts(self):
        contact = self.add_contact("Night Shift", "co-dni", "--phones", "+57 601 555 0142")
        self.watcher.wait(AGENCY_ENTRY, lambda e: "Night Shift" in contact_names(e))
        self.admin("oncall", "add", "--contact", contact, "--position", "backup",
                   "--starts", utc_in(4), "--ends", utc_in(3600))
        entry = self.watcher.entries[AGENCY_ENTRY]
        self.assertIsNone(on_call_name(entry, "backup"))
        entry = self.watcher.wait(AGENCY_ENTRY,
                                  lambda e: on_call_name(e, "backup") == "Night Shift",
                                  timeout=15)
        self.assertEqual(entry["on_call_now"]["backup"]["phones"], ["+57 601 555 0142"])

    def test_oncall_entry_changes_when_shift_ends(self):
        contact = self.add_contact("Short Shift")
        self.admin("oncall", "add", "--contact", contact, "--position", "primary",
                   "--starts", utc_in(-60), "--ends", utc_in(5))
        self.watcher.wait(AGENCY_ENTRY, lambda e: on_call_name(e, "primary") == "Short Shift")
        self.watcher.wait(AGENCY_ENTRY, lambda e: on_call_name(e, "primary") is None,
                          timeout=15)

    def test_state_oncall_in_state_entry(self):
        contact = self.add_contact("State Duty", "co-dni", "--phones", "+57 601 555 0177")
        self.admin("oncall", "add", "--contact", contact, "--position", "primary",
                   "--scope", "state", "--starts", utc_in(-60), "--ends", utc_in(3600))
        entry = self.watcher.wait(STATE_ENTRY,
                                  lambda e: on_call_name(e, "primary") == "State Duty")
        self.assertEqual(entry["on_call_now"]["primary"]["agency"], "co-dni")
        self.assertIsNone(on_call_name(self.watcher.entries[AGENCY_ENTRY], "primary"))

    def test_overlapping_shift_rejected(self):
        contact = self.add_contact("Overlap")
        start, end = utc_in(7200), utc_in(10800)
        self.admin("oncall", "add", "--contact", contact, "--position", "primary",
                   "--starts", start, "--ends", end)
        output = self.stack.admin("oncall", "add", "--contact", contact, "--position",
                                  "primary", "--starts", utc_in(9000), "--ends",
                                  utc_in(12000), check=False)
        self.assertEqual(output.returncode, FAILURE)
        self.assertIn("already covers", output.stderr)

    def test_invalid_contact_values_rejected(self):
        cases = [("--time-zone", "Mars/Olympus"), ("--phones", "call me"),
                 ("--email", "not-an-address"), ("--languages", "spanish")]
        for option, value in cases:
            with self.subTest(option=option):
                result = self.stack.admin("contact", "add", "--agency", "co-dni",
                                          "--name", "Invalid", option, value, check=False)
                self.assertEqual(result.returncode, USAGE, result.stderr)
                self.assertIn(option, result.stderr)

    def test_contact_change_audited(self):
        contact = self.add_contact("Audited")
        rows = self.stack.query(
            "SELECT actor, detail FROM audit_log WHERE action = 'contact-add' AND object = %s",
            (contact,))
        self.assertEqual(len(rows), 1)
        actor, detail = rows[0]
        self.assertTrue(actor.startswith("db:"))
        self.assertEqual(detail["after"]["name"], "Audited")

    def test_contact_list_shows_contact(self):
        self.add_contact("Listed Person", "mx-cni")
        output = self.admin("contact", "list", "--agency", "mx-cni", "--tsv")
        self.assertIn("Listed Person", output)
        self.assertTrue(all(line.split("\t")[2] == "mx-cni" for line in output.splitlines()))

    def test_alert_directory_prints_contacts(self):
        self.add_contact("Printed Contact", "ca-rcmp", "--phones", "+1 613 555 0100")
        self.watcher.wait("iactn/directory/CA/ca-rcmp",
                          lambda e: "Printed Contact" in contact_names(e))
        result = self.alert_tool("co-dni-liaison", "directory", "CA")
        self.assertEqual(result.returncode, OK, result.stderr)
        self.assertIn("agency ca-rcmp", result.stdout)
        self.assertIn("Printed Contact", result.stdout)
        self.assertIn("+1 613 555 0100", result.stdout)

    def test_alert_directory_json_one_entry_per_line(self):
        self.watcher.wait("iactn/directory/BR/br-pf", lambda e: e is not None)
        result = self.alert_tool("br-pf-liaison", "directory", "BR", "--json")
        self.assertEqual(result.returncode, OK, result.stderr)
        entries = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(sorted(e.get("agency", "_state") for e in entries),
                         ["_state", "br-pf"])

    def test_alert_oncall_prints_who_to_call(self):
        contact = self.add_contact("Mexico Duty", "mx-cni", "--phones", "+52 55 5555 0100")
        self.admin("oncall", "add", "--contact", contact, "--position", "primary",
                   "--starts", utc_in(-60), "--ends", utc_in(3600))
        self.watcher.wait("iactn/directory/MX/mx-cni",
                          lambda e: on_call_name(e, "primary") == "Mexico Duty")
        result = self.alert_tool("co-dni-liaison", "oncall", "MX")
        self.assertEqual(result.returncode, OK, result.stderr)
        lines = result.stdout.splitlines()
        primary = [line for line in lines
                   if line.startswith("agency mx-cni") and "primary" in line]
        self.assertEqual(len(primary), 1, result.stdout)
        self.assertIn("Mexico Duty", primary[0])
        self.assertIn("+52 55 5555 0100", primary[0])
        state_lines = [line for line in lines if line.startswith("state ")]
        self.assertEqual(len(state_lines), 2, result.stdout)

    def test_alert_oncall_unknown_state_fails(self):
        result = self.alert_tool("co-dni-liaison", "oncall", "UY")
        self.assertEqual(result.returncode, FAILURE)
        self.assertIn("no directory entry for UY", result.stderr)

    def test_non_participating_principal_refused(self):
        client = self.stack.client("cu-minint-liaison")
        self.assertFalse(client.connect())

    def test_broker_bridge_subscription_refused(self):
        client = self.stack.connect_eventually("peer-broker")
        codes = client.subscribe("iactn/directory/#")
        self.assertEqual(len(codes), 1)
        self.assertGreaterEqual(codes[0], 0x80)

    def test_broker_bridge_alert_directory_refused(self):
        self.stack.connect_eventually("peer-broker").close()
        result = self.alert_tool("peer-broker", "directory")
        self.assertEqual(result.returncode, FAILURE)
        self.assertIn("refused the subscription", result.stderr)


if __name__ == "__main__":
    harness.main()
