"""Schema agreement: the broker plugin's alert validator (common's alert_parse and
alert_validate, run by iactn-validate-alert) and ajv, a JSON Schema validator, with
schemas/alert.schema.json judge every file in tests/data/alerts/{valid,invalid} the
same way. The exceptions are rules that JSON Schema cannot express: they concern the
bytes of the JSON text, or compare two members. Each one is listed below with its
reason, and each must still be a disagreement.

Environment (set by tests/integration/schema/CMakeLists.txt): IACTN_VALIDATE_ALERT,
IACTN_NODE, NODE_PATH (where ajv is installed), IACTN_SOURCE_DIR.
"""

import os
import subprocess
import unittest

SOURCE_DIR = os.environ.get(
    "IACTN_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ALERT_DATA_DIR = os.path.join(SOURCE_DIR, "tests", "data", "alerts")
SCHEMA = os.path.join(SOURCE_DIR, "schemas", "alert.schema.json")
NODE_SCRIPT = os.path.join(SOURCE_DIR, "tests", "integration", "schema",
                           "validate_alert.js")

# Files that the plugin rejects and JSON Schema accepts: file name -> (the plugin's
# reason, why JSON Schema cannot express the rule).
EXPECTED_DISAGREEMENTS = {
    "expires_before_sent--earlier.json":
        ("expires_before_sent", "JSON Schema cannot compare two date-time members"),
    "expires_before_sent--same_instant.json":
        ("expires_before_sent", "JSON Schema cannot compare two date-time members"),
    "too_large--over_64_kib.json":
        ("too_large", "JSON Schema cannot limit the size of the document in bytes"),
    "invalid_utf8--latin1_byte.json":
        ("invalid_utf8", "JSON Schema validates decoded text, never the bytes"),
    "invalid_utf8--overlong_slash.json":
        ("invalid_utf8", "JSON Schema validates decoded text, never the bytes"),
    "invalid_json--duplicate_member.json":
        ("invalid_json", "a parsed document keeps one of the duplicate members, so JSON "
                         "Schema never sees the other"),
    "invalid_json--nul_escape_in_headline.json":
        ("invalid_json", "jansson rejects \\u0000 in strings; JSON allows it and JSON "
                         "Schema has no rule against it"),
    "invalid_json--lone_surrogate_escape.json":
        ("invalid_json", "jansson rejects an unpaired surrogate escape; JavaScript keeps "
                         "it, and JSON Schema cannot tell"),
    "number_out_of_range--point_exponent_beyond_archive.json":
        ("number_out_of_range", "JSON Schema sees the number's value (0), not its text, "
                                "whose exponent PostgreSQL's jsonb cannot store"),
    "invalid_json--integer_too_large.json":
        ("invalid_json", "jansson rejects integers beyond 64 bits; JSON Schema numbers "
                         "have no range unless the schema gives one"),
}


def fixture_paths():
    """Return (kind, name, path) of every fixture, valid ones first."""
    paths = []
    for kind in ("valid", "invalid"):
        folder = os.path.join(ALERT_DATA_DIR, kind)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                paths.append((kind, name, os.path.join(folder, name)))
    return paths


def run_validator(argv):
    """Run a validator over files; return {path: (verdict, reason, message)}."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} exited with {result.returncode}: "
                           f"{result.stderr}")
    verdicts = {}
    for line in result.stdout.splitlines():
        path, verdict, *rest = line.split("\t")
        reason = rest[0] if rest else ""
        message = rest[1] if len(rest) > 1 else ""
        verdicts[path] = (verdict, reason, message)
    return verdicts


class SchemaAgreementTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for variable in ("IACTN_VALIDATE_ALERT", "IACTN_NODE", "NODE_PATH"):
            if not os.environ.get(variable):
                raise unittest.SkipTest(f"{variable} is not set: run this test "
                                        "with ctest")
        cls.fixtures = fixture_paths()
        paths = [path for _, _, path in cls.fixtures]
        cls.plugin = run_validator([os.environ["IACTN_VALIDATE_ALERT"], *paths])
        cls.schema = run_validator([os.environ["IACTN_NODE"], NODE_SCRIPT, SCHEMA,
                                    *paths])

    def test_every_fixture_judged(self):
        self.assertGreater(len(self.fixtures), 0, f"no fixtures in {ALERT_DATA_DIR}")
        for _, name, path in self.fixtures:
            with self.subTest(fixture=name):
                self.assertIn(path, self.plugin, "the plugin's validator printed nothing")
                self.assertIn(path, self.schema, "ajv printed nothing")

    def test_validators_agree(self):
        for kind, name, path in self.fixtures:
            if name in EXPECTED_DISAGREEMENTS:
                continue
            expected = "accept" if kind == "valid" else "reject"
            with self.subTest(fixture=f"{kind}/{name}"):
                plugin, schema = self.plugin.get(path), self.schema.get(path)
                self.assertEqual(plugin[0], expected, f"the plugin's validator: {plugin}")
                self.assertEqual(schema[0], expected, f"ajv: {schema}")

    def test_disagreements_are_the_listed_ones(self):
        names = {name for kind, name, _ in self.fixtures if kind == "invalid"}
        self.assertEqual(set(EXPECTED_DISAGREEMENTS) - names, set(),
                         "listed disagreements without a fixture")
        for kind, name, path in self.fixtures:
            if name not in EXPECTED_DISAGREEMENTS:
                continue
            reason, why = EXPECTED_DISAGREEMENTS[name]
            with self.subTest(fixture=name):
                plugin, schema = self.plugin.get(path), self.schema.get(path)
                self.assertEqual(plugin[:2], ("reject", reason),
                                 f"the plugin's validator: {plugin}")
                self.assertEqual(schema[0], "accept",
                                 f"ajv now rejects it too ({schema}); remove it from the "
                                 f"list of disagreements ({why})")


if __name__ == "__main__":
    unittest.main(verbosity=2)
