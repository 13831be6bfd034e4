"""iactn-admin against a real PostgreSQL: migrations, every command group, the audit
rows each change writes, and the exit statuses 0 (done or already so), 1 (runtime
failure) and 2 (usage error). The broker runs without the plugin, because these tests
read the database only."""

import datetime
import json
import os
import shutil
import subprocess
import tempfile

import psycopg2

import harness

FILTER_DATA_DIR = os.path.join(harness.SOURCE_DIR, "tests", "data", "admin",
                               "topic_filters")
SQL_DIR = os.path.join(harness.SOURCE_DIR, "schemas", "sql")
OK, FAILURE, USAGE = 0, 1, 2


def load_filters(kind):
    with open(os.path.join(FILTER_DATA_DIR, kind + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def openssl_field(cert, *options):
    """Return the value that `openssl x509 -noout OPTIONS` prints after '='."""
    output = subprocess.run(["openssl", "x509", "-in", cert, "-noout", *options,
                             "-nameopt", "RFC2253"],
                            capture_output=True, text=True, check=True).stdout
    return output.strip().split("=", 1)[1]


def sha256_fingerprint(cert):
    """Return the fingerprint as iactn-admin prints it: openssl's, without colons, in
    lower case."""
    return openssl_field(cert, "-fingerprint", "-sha256").replace(":", "").lower()


class AdminTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(plugin=False)
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()

    def admin(self, *args, expect=OK):
        """Run iactn-admin and assert its exit status; return the CompletedProcess."""
        result = self.stack.admin(*args, check=False)
        self.assertEqual(result.returncode, expect,
                         f"iactn-admin {' '.join(args)}:\n{result.stdout}{result.stderr}")
        return result

    def last_audit(self, action, object_id):
        rows = self.stack.query(
            "SELECT actor, detail FROM audit_log WHERE action = %s AND object = %s "
            "ORDER BY id DESC LIMIT 1", (action, object_id))
        self.assertEqual(len(rows), 1, f"no audit row {action} {object_id}")
        return rows[0]

    def admin_on(self, conninfo, *args):
        """Start iactn-admin on another database of the stack's server; return the
        Popen."""
        return subprocess.Popen([self.stack.admin_binary, "--db", conninfo, *args],
                                env=self.stack.tool_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def create_database(self, name):
        """Create an empty database on the stack's server; return its conninfo."""
        connection = psycopg2.connect(host="127.0.0.1", port=self.stack.pg_port,
                                      dbname="postgres", user="iactn")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return f"host=127.0.0.1 port={self.stack.pg_port} dbname={name} user=iactn"

    def sql_files(self):
        return sorted(name for name in os.listdir(SQL_DIR) if name.endswith(".sql"))

    # migrate ------------------------------------------------------------------------

    def test_migrate_again_applies_nothing(self):
        result = self.admin("migrate")
        self.assertIn("nothing to apply", result.stdout)
        versions = [row[0] for row in self.stack.query(
            "SELECT version FROM schema_migrations ORDER BY version")]
        self.assertEqual(versions, [name[:3] for name in self.sql_files()])

    def test_migrate_concurrent_runs_apply_once(self):
        conninfo = self.create_database("iactn_concurrent")
        runs = [self.admin_on(conninfo, "migrate") for _ in range(3)]
        outputs = [run.communicate(timeout=60) for run in runs]
        for run, (stdout, stderr) in zip(runs, outputs):
            self.assertEqual(run.returncode, 0, stdout + stderr)
        applied = sum(stdout.count("applied ") for stdout, _ in outputs
                      if "nothing to apply" not in stdout)
        self.assertEqual(applied, len(self.sql_files()))

        connection = psycopg2.connect(conninfo)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM audit_log WHERE action = 'migrate'")
                self.assertEqual(cursor.fetchone()[0], len(self.sql_files()))
        finally:
            connection.close()

    def test_migrate_failing_file_rolls_back(self):
        conninfo = self.create_database("iactn_failing")
        sql_dir = tempfile.mkdtemp(prefix="iactn-sql-")
        self.addCleanup(shutil.rmtree, sql_dir)
        for name in self.sql_files():
            shutil.copy(os.path.join(SQL_DIR, name), sql_dir)
        with open(os.path.join(sql_dir, "900_broken.sql"), "w") as handle:
            handle.write("CREATE TABLE broken_marker (a int);\nSELECT no_such_column\n"
                         "FROM member_states;\n")

        run = self.admin_on(conninfo, "--sql-dir", sql_dir, "migrate")
        _, stderr = run.communicate(timeout=60)
        self.assertEqual(run.returncode, FAILURE, stderr)
        self.assertIn("900_broken.sql failed at line 2", stderr)
        connection = psycopg2.connect(conninfo)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass('broken_marker') IS NULL, "
                               "(SELECT count(*) FROM schema_migrations "
                               " WHERE version = '900')")
                absent, recorded = cursor.fetchone()
        finally:
            connection.close()
        self.assertTrue(absent, "the failing file's table was kept")
        self.assertEqual(recorded, 0)

    # certificates -------------------------------------------------------------------

    def test_cert_fingerprint_matches_openssl(self):
        self.admin("principal", "add", "co-dni-fp", "--role", "liaison",
                   "--state", "CO", "--agency", "co-dni")
        cert, _ = self.stack.issue("co-dni-fp", "liaison", "CO", "co-dni", register=False)

        result = self.admin("cert", "add", cert, "--principal", "co-dni-fp")
        expected = sha256_fingerprint(cert)
        self.assertEqual(result.stdout.strip(), expected)

        subject, issuer, serial, not_after = self.stack.query(
            "SELECT subject, issuer, serial, not_after FROM certificates "
            "WHERE fingerprint = %s", (expected,))[0]
        self.assertEqual(subject, openssl_field(cert, "-subject"))
        self.assertEqual(issuer, openssl_field(cert, "-issuer"))
        self.assertEqual(serial, openssl_field(cert, "-serial"))
        openssl_not_after = datetime.datetime.strptime(
            openssl_field(cert, "-enddate"), "%b %d %H:%M:%S %Y GMT")
        self.assertEqual(not_after.replace(tzinfo=None), openssl_not_after)

        actor, detail = self.last_audit("cert-add", expected)
        self.assertEqual(actor, "db:iactn")
        self.assertEqual(detail["after"]["principal_id"], "co-dni-fp")

    def test_cert_add_twice_unchanged(self):
        cert, _ = self.stack.issue("mx-cni-twice", "liaison", "MX", "mx-cni",
                                   register=False)
        first = self.admin("cert", "add", cert, "--principal", "mx-cni-twice",
                           "--create-principal", "--role", "liaison", "--state", "MX",
                           "--agency", "mx-cni")
        second = self.admin("cert", "add", cert, "--principal", "mx-cni-twice")
        self.assertEqual(first.stdout, second.stdout)
        self.assertIn("nothing changed", second.stderr)

    def test_cert_of_other_principal_rejected(self):
        cert, _ = self.stack.cert("co-dni-liaison")
        result = self.admin("cert", "add", cert, "--principal", "co-dni-system",
                            expect=FAILURE)
        self.assertIn("already registered for principal 'co-dni-liaison'", result.stderr)

    def test_cert_revoke_by_principal(self):
        cert, _ = self.stack.issue("ca-rcmp-revoked", "liaison", "CA", "ca-rcmp")
        fingerprint = sha256_fingerprint(cert)

        result = self.admin("cert", "revoke", "--principal", "ca-rcmp-revoked",
                            "--reason", "laptop lost")
        self.assertEqual(result.stdout.strip(), f"revoked {fingerprint}")
        _, detail = self.last_audit("cert-revoke", fingerprint)
        self.assertIsNone(detail["before"]["revoked_at"])
        self.assertEqual(detail["after"]["revocation_reason"], "laptop lost")

        again = self.admin("cert", "revoke", fingerprint)
        self.assertIn("already revoked", again.stdout)
        readd = self.admin("cert", "add", cert, "--principal", "ca-rcmp-revoked",
                           expect=FAILURE)
        self.assertIn("revoked", readd.stderr)

    def test_cert_revoke_unknown_fingerprint_fails(self):
        self.admin("cert", "revoke", "ab" * 32, expect=FAILURE)
        self.admin("cert", "revoke", "abcd", expect=USAGE)

    # states, agencies, principals ---------------------------------------------------

    def test_state_suspend_audited(self):
        self.admin("state", "suspend", "UY")
        _, detail = self.last_audit("state-suspend", "UY")
        self.assertFalse(detail["before"]["suspended"])
        self.assertTrue(detail["after"]["suspended"])

        again = self.admin("state", "suspend", "UY")
        self.assertIn("already suspended", again.stdout)
        self.admin("state", "resume", "UY")
        self.admin("state", "suspend", "ZZ", expect=FAILURE)
        self.admin("state", "suspend", "uy", expect=USAGE)

    def test_agency_add_conflict_fails(self):
        self.admin("agency", "add", "pe-dirin", "--state", "PE", "--name", "DIRIN")
        self.admin("agency", "add", "pe-dirin", "--state", "PE", "--name", "DIRIN")
        self.admin("agency", "add", "pe-dirin", "--state", "CL", "--name", "DIRIN",
                   expect=FAILURE)
        listed = self.admin("--tsv", "agency", "list", "--state", "PE").stdout
        self.assertEqual(listed, "pe-dirin\tPE\tDIRIN\tno\n")

    def test_principal_checks_role_and_agency(self):
        self.admin("principal", "add", "co-x", "--role", "liaison", expect=USAGE)
        self.admin("principal", "add", "co-x", "--role", "liaison", "--state", "MX",
                   "--agency", "co-dni", expect=FAILURE)
        self.admin("principal", "add", "net-admin-test", "--role", "admin")
        self.admin("principal", "suspend", "net-admin-test")
        listed = self.admin("--tsv", "principal", "list").stdout
        self.assertIn("net-admin-test\tadmin\t\t\t\tyes\t0\n", listed)

    # topic rights and sharing -------------------------------------------------------

    def test_acl_valid_filters_added(self):
        for case in load_filters("valid") + [{"filter": "x" * 256, "note": "maximum"}]:
            with self.subTest(case["note"]):
                result = self.admin("acl", "add", "--role", "liaison", "--access",
                                    "subscribe", "--pattern", case["filter"], "--deny",
                                    "--state", "AG", "--note", case["note"])
                self.admin("acl", "remove", result.stdout.strip())

    def test_acl_invalid_filters_rejected(self):
        for case in load_filters("invalid") + [{"filter": "x" * 257, "note": "too long"}]:
            with self.subTest(case["note"]):
                result = self.admin("acl", "add", "--role", "liaison", "--access",
                                    "subscribe", "--pattern", case["filter"], "--deny",
                                    expect=USAGE)
                self.assertIn("invalid topic filter", result.stderr)

    def test_acl_add_identical_returns_id(self):
        args = ("acl", "add", "--role", "*", "--access", "publish", "--pattern",
                "iactn/test/{principal}", "--allow", "--priority", "150")
        first = self.admin(*args).stdout.strip()
        self.assertEqual(self.admin(*args, "--note", "again").stdout.strip(), first)
        _, detail = self.last_audit("acl-add", first)
        self.assertEqual(detail["after"]["priority"], 150)
        self.admin("acl", "remove", first)
        self.admin("acl", "remove", first, expect=FAILURE)
        self.admin("acl", "remove", "x", expect=USAGE)

    def test_rule_origin_without_allow_warns(self):
        deny = self.admin("rule", "add", "--origin", "BR", "--category", "cbrn",
                          "--to-state", "VE", "--deny")
        self.assertIn("alerts now reach only BR", deny.stderr)
        allow = self.admin("rule", "add", "--origin", "BR", "--category", "*",
                           "--to-all", "--allow")
        listed = self.admin("--tsv", "rule", "list", "--origin", "BR").stdout
        self.assertEqual(listed.count("\n"), 2)

        for rule_id in (deny.stdout.strip(), allow.stdout.strip()):
            self.admin("rule", "remove", rule_id)
        self.assertEqual(self.admin("--tsv", "rule", "list", "--origin", "BR").stdout, "")

    def test_rule_options_checked(self):
        self.admin("rule", "add", "--origin", "BR", "--network", "--category", "*",
                   "--to-all", "--allow", expect=USAGE)
        self.admin("rule", "add", "--origin", "BR", "--category", "no-such",
                   "--to-all", "--allow", expect=FAILURE)
        self.admin("rule", "add", "--origin", "BR", "--category", "*",
                   "--to-group", "no-such", "--allow", expect=FAILURE)

    def test_group_membership(self):
        self.admin("group", "add", "caribbean", "--name", "Caribbean states")
        self.admin("group", "member-add", "caribbean", "JM")
        self.admin("group", "member-add", "caribbean", "TT")
        again = self.admin("group", "member-add", "caribbean", "JM")
        self.assertIn("already a member", again.stdout)
        self.admin("group", "member-remove", "caribbean", "TT")
        self.admin("group", "member-remove", "caribbean", "TT", expect=FAILURE)
        listed = self.admin("--tsv", "group", "list").stdout
        self.assertIn("caribbean\tCaribbean states\tJM\n", listed)

    # archive ------------------------------------------------------------------------

    def test_alerts_list_and_show(self):
        alert = harness.make_alert()
        self.stack.query(
            "INSERT INTO alerts (id, topic, origin, category, tlp, status, msg_type, "
            "sender, recipient_states, sent, received_at, payload) "
            "VALUES (%s, 'iactn/alerts/CO/imminent-threat', 'CO', 'imminent-threat', "
            "'GREEN', 'exercise', 'alert', 'co-dni-liaison', '{CO,MX}', now(), now(), %s)",
            (alert["id"], json.dumps(alert)))

        listed = self.admin("--tsv", "alerts", "list", "--origin", "CO", "--limit", "1")
        fields = listed.stdout.rstrip("\n").split("\t")
        self.assertEqual(fields[0], alert["id"])
        self.assertEqual(fields[2:], ["CO", "imminent-threat", "GREEN", "co-dni-liaison",
                                      "CO,MX"])
        payload = self.admin("alert", "show", alert["id"]).stdout
        self.assertEqual(json.loads(payload), alert)
        self.admin("alert", "show", "6f1c2d3e-0000-4000-8000-000000000000",
                   expect=FAILURE)

    # command line -------------------------------------------------------------------

    def test_missing_database_is_usage_error(self):
        env = self.stack.tool_env()
        env.pop("IACTN_DB")
        result = subprocess.run([self.stack.admin_binary, "state", "list"], env=env,
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, USAGE)
        self.assertIn("no database given", result.stderr)

    def test_usage_errors_exit_two(self):
        for args in (("no-such-command",), ("cert",), ("cert", "frob"),
                     ("state", "list", "--name", "x"), ("acl", "add", "--role", "*"),
                     ("state", "list", "extra")):
            with self.subTest(" ".join(args)):
                self.admin(*args, expect=USAGE)

    def test_help_lists_every_command(self):
        manual = self.admin("--help").stdout
        for command in ("migrate", "state suspend", "category add", "agency add",
                        "principal add", "cert add", "cert revoke", "acl add",
                        "rule add", "group member-add", "alerts list", "alert show"):
            with self.subTest(command):
                self.assertIn(f"\n    {command}", manual)


if __name__ == "__main__":
    harness.main()
