"""CAP 1.2 import and export: iactn-alert import-cap on the fixture corpus in
tests/data/cap, and the round trip import-cap --publish, archive, iactn-admin
export-cap, import-cap."""

import datetime
import json
import os
import re
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "interop"))

import harness  # noqa: E402
from liaison import CAP_DATA_DIR, run_alert  # noqa: E402

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"

# Element order of the CAP 1.2 schema (the optional elements IACTN writes included).
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope",
               "restriction", "addresses", "code", "note", "references", "incidents",
               "info"]
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity",
              "certainty", "audience", "eventCode", "effective", "onset", "expires",
              "senderName", "headline", "description", "instruction", "web", "contact",
              "parameter", "resource", "area"]
AREA_ORDER = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")

# Published in this order, so that updates and cancellations find their original.
ROUND_TRIP_FIXTURES = ["bomb_threat_en_es", "bomb_threat_update", "bomb_threat_cancel",
                       "cbrn_private_fr_en", "cyber_event_code_amber",
                       "exercise_public_pt"]


def fixture_path(kind, name):
    return os.path.join(CAP_DATA_DIR, kind, name)


def fixture_names(kind, suffix):
    return sorted(name for name in os.listdir(os.path.join(CAP_DATA_DIR, kind))
                  if name.endswith(suffix))


def expected_error(path):
    """Return the fragment after 'expect:' in the fixture's first comment."""
    with open(path, encoding="utf-8") as handle:
        match = re.search(r"<!-- expect: (.*?) -->", handle.read())
    return match.group(1)


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def without_times(alert):
    """Return a copy of the alert without sent and expires, which a round trip may
    write with another offset."""
    return {key: value for key, value in alert.items() if key not in ("sent", "expires")}


def local_name(element):
    return element.tag.replace(CAP, "")


class CapImportTest(unittest.TestCase):
    """import-cap on the corpus, without a broker."""

    def import_cap(self, path, *flags):
        return run_alert(None, None, "import-cap", path, *flags)

    def test_valid_fixtures_match_expected_json(self):
        for name in fixture_names("valid", ".xml"):
            with self.subTest(fixture=name):
                result = self.import_cap(fixture_path("valid", name))
                self.assertEqual(result.returncode, 0, result.stderr)
                with open(fixture_path("valid", name[:-4] + ".json"), encoding="utf-8") as f:
                    expected = json.load(f)
                self.assertEqual(json.loads(result.stdout), expected)

    def test_invalid_fixtures_fail_with_reason(self):
        for name in fixture_names("invalid", ".xml"):
            with self.subTest(fixture=name):
                path = fixture_path("invalid", name)
                result = self.import_cap(path)
                self.assertEqual(result.returncode, 4, result.stdout + result.stderr)
                self.assertEqual(result.stdout, "")
                self.assertIn(expected_error(path), result.stderr)

    def test_left_out_parts_are_warned(self):
        result = self.import_cap(fixture_path("valid", "cyber_event_code_amber.xml"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('warning: <info> in language "nl" left out', result.stderr)
        self.assertIn("warning: an extra <polygon> was left out", result.stderr)

    def test_category_flag_maps_unknown_category(self):
        result = self.import_cap(fixture_path("invalid", "category--unmapped_geo.xml"),
                                 "--category", "attack")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["category"], "attack")

    def test_flags_override_tlp_and_distribution(self):
        result = self.import_cap(fixture_path("invalid", "tlp--amber_without_addresses.xml"),
                                 "--to", "mx,ca")
        self.assertEqual(result.returncode, 0, result.stderr)
        alert = json.loads(result.stdout)
        self.assertEqual(alert["tlp"], "AMBER")
        self.assertEqual(alert["distribution"], {"states": ["MX", "CA"]})
        result = self.import_cap(fixture_path("valid", "exercise_public_pt.xml"),
                                 "--tlp", "RED", "--agencies", "br-pf")
        self.assertEqual(result.returncode, 0, result.stderr)
        alert = json.loads(result.stdout)
        self.assertEqual(alert["tlp"], "RED")
        self.assertEqual(alert["distribution"], {"agencies": ["br-pf"]})

    def test_same_identifier_gives_same_id(self):
        first = json.loads(self.import_cap(fixture_path("valid", "bomb_threat_en_es.xml")).stdout)
        update = json.loads(self.import_cap(fixture_path("valid", "bomb_threat_update.xml")).stdout)
        self.assertEqual(update["references"], [first["id"]])
        self.assertEqual(first["id"][14], "5", "non-UUID identifiers get version 5 ids")

    def test_standard_input_is_read(self):
        with open(fixture_path("valid", "cbrn_private_fr_en.xml"), "rb") as handle:
            result = run_alert(None, None, "import-cap", "-", stdin=handle)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["tlp"], "AMBER+STRICT")


class CapRoundTripTest(harness.StackTestCase):
    """import-cap --publish, the archive, export-cap and import-cap again."""

    with_bridge = True

    def export(self, alert_id):
        result = self.stack.admin("export-cap", alert_id, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def check_cap_document(self, text):
        """Assert that the export is well-formed CAP 1.2 in schema order."""
        root = ElementTree.fromstring(text.encode())
        self.assertEqual(root.tag, CAP + "alert")
        names = [local_name(child) for child in root]
        self.assertEqual(names, sorted(names, key=ALERT_ORDER.index))
        self.assertRegex(root.find(CAP + "sent").text, CAP_TIME)
        for info in root.findall(CAP + "info"):
            names = [local_name(child) for child in info]
            self.assertEqual(names, sorted(names, key=INFO_ORDER.index))
            self.assertRegex(info.find(CAP + "expires").text, CAP_TIME)
            for area in info.findall(CAP + "area"):
                names = [local_name(child) for child in area]
                self.assertEqual(names, sorted(names, key=AREA_ORDER.index))
        return root

    def test_fixtures_survive_round_trip(self):
        for name in ROUND_TRIP_FIXTURES:
            with self.subTest(fixture=name):
                with open(fixture_path("valid", name + ".json"), encoding="utf-8") as f:
                    original = json.load(f)
                result = run_alert(self.stack, "co-dni-liaison", "import-cap",
                                   fixture_path("valid", name + ".xml"), "--publish")
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertTrue(self.stack.wait_for_row(
                    "SELECT 1 FROM alerts WHERE id = %s", (original["id"],)))

                exported = self.export(original["id"])
                root = self.check_cap_document(exported)
                self.assertEqual(root.find(CAP + "sender").text, "iactn:co-dni-liaison")
                with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
                    handle.write(exported)
                    handle.flush()
                    again = run_alert(None, None, "import-cap", handle.name)
                self.assertEqual(again.returncode, 0, again.stderr)
                imported = json.loads(again.stdout)
                self.assertEqual(without_times(imported), without_times(original))
                self.assertEqual(instant(imported["sent"]), instant(original["sent"]))
                self.assertEqual(instant(imported["expires"]), instant(original["expires"]))

    def test_references_name_archived_sender(self):
        for name in ROUND_TRIP_FIXTURES[:2]:
            result = run_alert(self.stack, "co-dni-liaison", "import-cap",
                               fixture_path("valid", name + ".xml"), "--publish")
            self.assertIn(result.returncode, (0, 1), result.stderr)
        with open(fixture_path("valid", "bomb_threat_update.json"), encoding="utf-8") as f:
            update = json.load(f)
        self.assertTrue(self.stack.wait_for_row("SELECT 1 FROM alerts WHERE id = %s",
                                                (update["id"],)))
        root = self.check_cap_document(self.export(update["id"]))
        self.assertEqual(root.find(CAP + "references").text,
                         f"iactn:co-dni-liaison,{update['references'][0]},"
                         "2026-12-04T10:40:00-05:00")

    def test_export_writes_point_tlp_and_attachments(self):
        alert = harness.make_alert(
            tlp="AMBER", distribution={"states": ["CO", "MX"], "agencies": ["mx-cni"]},
            area={"countries": ["MX"], "geometry": {"type": "Point",
                                                    "coordinates": [-99.1332, 19.4326]}},
            attachments=[{"name": "photo.jpg", "media_type": "image/jpeg", "size": 2048,
                          "sha256": "ab" * 32}])
        client = self.stack.connect("co-dni-liaison")
        self.assertAccepted(client.publish("iactn/alerts/CO/imminent-threat", alert))
        self.assertTrue(self.stack.wait_for_row("SELECT 1 FROM alerts WHERE id = %s",
                                                (alert["id"],)))
        root = self.check_cap_document(self.export(alert["id"]))
        self.assertEqual(root.find(CAP + "scope").text, "Restricted")
        self.assertEqual(root.find(CAP + "restriction").text, "TLP:AMBER")
        self.assertEqual(root.find(CAP + "addresses").text, "CO MX mx-cni")
        info = root.find(CAP + "info")
        self.assertEqual(info.find(f"{CAP}area/{CAP}circle").text, "19.4326,-99.1332 0")
        self.assertEqual(info.find(f"{CAP}area/{CAP}areaDesc").text, "MX")
        self.assertEqual(info.find(f"{CAP}resource/{CAP}resourceDesc").text, "photo.jpg")
        self.assertIsNone(info.find(f"{CAP}resource/{CAP}digest"))

    def test_export_of_unknown_alert_fails(self):
        result = self.stack.admin("export-cap", "00000000-0000-4000-8000-000000000000",
                                  check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not found in the archive", result.stderr)


if __name__ == "__main__":
    harness.main()
