"""iactn-alert end to end: publish, update, cancel, ack, status and watch against a
broker with the plugin, the refusal messages, languages, --json, the settings file,
the interactive prompt and the manual pages."""

import json
import os
import pty
import select
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "interop"))

import harness  # noqa: E402
from liaison import (alert_binary, connection, finish, plain_env, run_alert,  # noqa: E402
                     start_alert, wait_for_stderr_line)

COMMANDS = ["publish", "update", "cancel", "ack", "watch", "status", "import-cap"]


def accepted_id(result):
    """Return the id from an 'accepted id=... topic=...' line."""
    for line in result.stdout.splitlines():
        if line.startswith("accepted id="):
            return line.split()[1][3:]
    raise AssertionError(f"no accepted line in {result.stdout!r} {result.stderr!r}")


class LifecycleTest(harness.StackTestCase):

    def publish(self, principal="co-dni-liaison", *flags):
        args = flags or ("--category", "attack", "--tlp", "GREEN", "--status", "exercise",
                         "--headline-en", "Explosion at the central station",
                         "--headline-es", "Explosión en la estación central",
                         "--description-en", "Two devices; a third suspected.")
        result = run_alert(self.stack, principal, "publish", *args)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return accepted_id(result)

    def test_update_and_cancel_reach_recipients(self):
        watcher = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/CO/#")
        alert_id = self.publish()
        update = run_alert(self.stack, "co-dni-liaison", "update", alert_id, "--category",
                           "attack", "--tlp", "GREEN", "--severity", "extreme",
                           "--headline-en", "Second device exploded",
                           "--description-en", "A second device exploded at 15:10.")
        self.assertEqual(update.returncode, 0, update.stderr)
        cancel = run_alert(self.stack, "co-dni-liaison", "cancel", alert_id,
                           "--category", "attack", "--tlp", "GREEN")
        self.assertEqual(cancel.returncode, 0, cancel.stderr)

        received = [m.json() for m in watcher.collect(10, count=3)]
        self.assertEqual([a["msg_type"] for a in received], ["alert", "update", "cancel"])
        self.assertEqual(received[0]["id"], alert_id)
        self.assertEqual(received[1]["references"], [alert_id])
        self.assertEqual(received[1]["severity"], "extreme")
        self.assertEqual(received[2]["references"], [alert_id])
        self.assertEqual(received[2]["headline"]["es"], f"Cancelada: alerta {alert_id}")
        self.assertEqual(set(received[2]["description"]), {"en", "es", "pt", "fr"})
        for alert in received:
            self.assertEqual(alert["iactn"]["sender"]["principal"], "co-dni-liaison")

    def test_update_from_file_fills_in_lifecycle(self):
        alert_id = self.publish()
        with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
            json.dump({"id": alert_id, "status": "exercise", "tlp": "GREEN",
                       "category": "attack", "urgency": "past", "severity": "minor",
                       "certainty": "observed", "headline": {"en": "Area reopened"},
                       "description": {"en": "The station reopened at 18:00."}}, handle)
            handle.flush()
            result = run_alert(self.stack, "co-dni-liaison", "update", alert_id,
                               handle.name, "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        update = json.loads(result.stdout)
        self.assertEqual(update["msg_type"], "update")
        self.assertEqual(update["references"], [alert_id])
        self.assertNotEqual(update["id"], alert_id)
        self.assertIn("sent", update)
        self.assertIn("expires", update)

    def test_update_by_other_state_is_refused(self):
        alert_id = self.publish()
        result = run_alert(self.stack, "mx-cni-liaison", "update", alert_id, "--category",
                           "attack", "--tlp", "GREEN", "--headline-en", "Hijacked",
                           "--description-en", "Not ours to update.")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stdout, r"^refused id=\S+ reason=0x87 \(not authorized\)")
        self.assertIn("only from the state that sent the referenced alert", result.stderr)
        self.assertIn("broker's log", result.stderr)

    def test_refused_alert_is_explained_in_json(self):
        result = run_alert(self.stack, "co-dni-liaison", "publish", "--json", "--category",
                           "no-such-category", "--tlp", "GREEN", "--headline-en", "x",
                           "--description-en", "y")
        self.assertEqual(result.returncode, 1)
        answer = json.loads(result.stdout)
        self.assertEqual(answer["result"], "refused")
        self.assertEqual(answer["reason_code"], 0x87)
        self.assertEqual(answer["topic"], "iactn/alerts/CO/no-such-category")
        self.assertIn("known category", result.stderr)

    def test_ack_reaches_origin_with_status(self):
        alert_id = self.publish()
        status = start_alert(self.stack, "co-dni-liaison", "status", alert_id,
                             "--timeout", "20", "--count", "2")
        wait_for_stderr_line(status, "watching iactn/acks/CO/+")
        first = run_alert(self.stack, "mx-cni-liaison", "ack", alert_id, "--origin", "co",
                          "--status", "received")
        second = run_alert(self.stack, "ca-rcmp-system", "ack", alert_id, "--origin", "CO",
                           "--status", "actioned", "--note", "Border posts informed",
                           "--json")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout.strip(),
                         f"accepted alert={alert_id} status=received topic=iactn/acks/CO/MX")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(json.loads(second.stdout)["result"], "accepted")

        code, stdout, stderr = finish(status)
        self.assertEqual(code, 0, stderr)
        lines = stdout.splitlines()
        self.assertEqual(len(lines), 3, stdout)
        self.assertRegex(lines[0], r" MX mx-cni-liaison received$")
        self.assertRegex(lines[1], r" CA ca-rcmp-system actioned Border posts informed$")
        self.assertEqual(lines[2], f"summary alert={alert_id} acks=2 principals="
                                   "mx-cni-liaison(MX):received,ca-rcmp-system(CA):actioned")

    def test_status_json_without_acks(self):
        alert_id = self.publish()
        result = run_alert(self.stack, "co-dni-liaison", "status", alert_id, "--timeout",
                           "2", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout),
                         {"alert_id": alert_id, "acks": 0, "principals": []})

    def test_ack_with_wrong_origin_is_refused(self):
        alert_id = self.publish()
        result = run_alert(self.stack, "mx-cni-liaison", "ack", alert_id, "--origin", "BR",
                           "--status", "read")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout.strip(),
                         f"refused alert={alert_id} reason=0x87 (not authorized)")
        self.assertIn("sent by the state you named with --origin (BR)", result.stderr)

    def test_ack_needs_origin_and_status(self):
        alert_id = "0b8e6c1e-7d2a-4f2a-9c3e-5a1b2c3d4e5f"
        result = run_alert(self.stack, "mx-cni-liaison", "ack", alert_id, "--status", "read")
        self.assertEqual(result.returncode, 2)
        self.assertIn("missing --origin", result.stderr)
        result = run_alert(self.stack, "mx-cni-liaison", "ack", alert_id, "--origin", "CO",
                           "--status", "seen")
        self.assertEqual(result.returncode, 2)
        self.assertIn("invalid --status", result.stderr)

    def test_watch_acks_and_falls_back_in_language(self):
        origin = self.stack.connect("co-dni-liaison", subscribe="iactn/acks/CO/+")
        watch = start_alert(self.stack, "mx-cni-system", "watch", "--ack", "received",
                            "--count", "1", "--timeout", "20", "--lang", "fr",
                            "--topic", "iactn/alerts/CO/+")
        wait_for_stderr_line(watch, "watching iactn/alerts/CO/+")
        alert_id = self.publish()
        code, stdout, stderr = finish(watch)
        self.assertEqual(code, 0, stderr)
        self.assertRegex(stdout.strip(), rf" CO attack TLP:GREEN co-dni-liaison {alert_id} "
                                         r"\[en\] Explosion at the central station$")
        self.assertIn(f"acknowledged alert={alert_id} status=received", stderr)

        acks = [m.json() for m in origin.collect(10, count=1)]
        self.assertEqual(len(acks), 1)
        self.assertEqual(acks[0]["alert_id"], alert_id)
        self.assertEqual(acks[0]["status"], "received")
        self.assertEqual(acks[0]["iactn"]["sender"]["principal"], "mx-cni-system")

    def test_watch_language_from_environment(self):
        watch = start_alert(self.stack, "mx-cni-system", "watch", "--count", "1",
                            "--timeout", "20", env=plain_env(LANG="es_MX.UTF-8"))
        wait_for_stderr_line(watch, "watching iactn/alerts/#")
        alert_id = self.publish()
        code, stdout, stderr = finish(watch)
        self.assertEqual(code, 0, stderr)
        self.assertTrue(stdout.strip().endswith(
            f"{alert_id} Explosión en la estación central"), stdout)

    def test_watch_prints_updates_and_acks(self):
        alert_id = self.publish()
        watch = start_alert(self.stack, "co-dni-liaison", "watch", "--count", "2",
                            "--timeout", "20", "--topic", "iactn/acks/CO/+",
                            "--topic", "iactn/alerts/CO/+")
        wait_for_stderr_line(watch, "watching iactn/alerts/CO/+")
        run_alert(self.stack, "br-pf-liaison", "ack", alert_id, "--origin", "CO",
                  "--status", "read", "--note", "Seen")
        update = run_alert(self.stack, "co-dni-liaison", "update", alert_id, "--category",
                           "attack", "--tlp", "GREEN", "--headline-en", "Update",
                           "--description-en", "More.")
        code, stdout, stderr = finish(watch)
        self.assertEqual(code, 0, stderr)
        lines = stdout.splitlines()
        self.assertRegex(lines[0], rf" ack CO>BR br-pf-liaison read {alert_id} Seen$")
        self.assertRegex(lines[1], rf"{accepted_id(update)} update-of={alert_id} Update$")

    def test_settings_file_gives_connection_and_language(self):
        cert, key = self.stack.cert("mx-cni-system")
        with tempfile.TemporaryDirectory() as home:
            os.makedirs(os.path.join(home, ".config", "iactn"))
            with open(os.path.join(home, ".config", "iactn", "alert.conf"), "w") as handle:
                handle.write(f"# test settings\nbroker_host = 127.0.0.1\n"
                             f"broker_port = {self.stack.mqtt_port}\n"
                             f"ca = {self.stack.ca_file}\ncert = {cert}\nkey = {key}\n"
                             "lang = es\n")
            watch = subprocess.Popen(
                [alert_binary(), "watch", "--count", "1", "--timeout", "20"],
                env=plain_env(HOME=home, LANG="fr_CA.UTF-8"), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for_stderr_line(watch, "watching")
            self.publish()
            code, stdout, stderr = finish(watch)
        self.assertEqual(code, 0, stderr)
        self.assertTrue(stdout.strip().endswith("Explosión en la estación central"), stdout)

    def test_missing_fields_fail_without_terminal(self):
        result = run_alert(self.stack, "co-dni-liaison", "publish", "--tlp", "GREEN")
        self.assertEqual(result.returncode, 2)
        self.assertIn("missing --category", result.stderr)

    def run_with_terminal(self, args, answers, timeout=30):
        """Run iactn-alert on a pseudo-terminal, typing each answer after its prompt
        (a substring of the output). Returns (exit status, everything printed)."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(alert_binary(), [alert_binary(), *args], plain_env())
        output = b""
        pending = list(answers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0].encode() in output.rsplit(b"\n", 1)[-1]:
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), output.decode(errors="replace")

    def test_prompt_asks_missing_fields(self):
        watcher = self.stack.connect("mx-cni-system", subscribe="iactn/alerts/CO/#")
        args = ["publish", "--category", "travel", "--lang", "es",
                *connection(self.stack, "co-dni-liaison")]
        code, output = self.run_with_terminal(args, [
            ("TLP", "amber"),
            ("Headline (es)", "Sospechosos cruzan hacia México"),
            ("Description (es)", "Dos personas con pasaportes falsos."),
            ("Severity", ""), ("Urgency", "expected"), ("Certainty", "sometimes"),
            ("Certainty", "likely"), ("Receiving states", "MX"),
            ("Publish this alert to iactn/alerts/CO/travel?", "y")])
        self.assertEqual(code, 0, output)
        self.assertIn("invalid value; expected one of", output)
        self.assertIn("accepted id=", output)
        alert = watcher.collect(10, count=1)[0].json()
        self.assertEqual(alert["tlp"], "AMBER")
        self.assertEqual(alert["headline"], {"es": "Sospechosos cruzan hacia México"})
        self.assertEqual(alert["severity"], "unknown")
        self.assertEqual(alert["certainty"], "likely")
        self.assertEqual(alert["distribution"], {"states": ["MX"]})

    def test_prompt_declined_publishes_nothing(self):
        args = ["publish", "--category", "attack", "--tlp", "GREEN", "--headline-en", "x",
                *connection(self.stack, "co-dni-liaison")]
        code, output = self.run_with_terminal(args, [
            ("Description (en)", "y"), ("Severity", ""), ("Urgency", ""),
            ("Certainty", ""), ("Publish this alert", "n")])
        self.assertEqual(code, 5, output)
        self.assertIn("not published", output)
        self.assertNotIn("accepted", output)


class ManualTest(unittest.TestCase):
    """The manual pages and the option checks, which need no broker."""

    def test_every_command_has_a_manual_page(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                for argv in ([command, "--help"], ["help", command]):
                    result = run_alert(None, None, *argv)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertIn(f"iactn-alert {command} - ", result.stdout)
                    self.assertIn("EXIT STATUS", result.stdout)

    def test_overview_documents_exit_codes(self):
        result = run_alert(None, None, "--help")
        self.assertEqual(result.returncode, 0)
        for code in range(6):
            self.assertRegex(result.stdout, rf"\n    {code}   ")

    def test_option_of_other_command_is_rejected(self):
        result = run_alert(None, None, "watch", "--note", "x")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--note does not apply to watch", result.stderr)

    def test_invalid_alert_id_is_rejected(self):
        result = run_alert(None, None, "cancel", "CO-DNI-2026-0412", "--dry-run")
        self.assertEqual(result.returncode, 2)
        self.assertIn("invalid alert id", result.stderr)

    def test_dry_run_ack_prints_payload(self):
        result = run_alert(None, None, "ack", "0b8e6c1e-7d2a-4f2a-9c3e-5a1b2c3d4e5f",
                           "--origin", "CO", "--status", "read", "--note", "ok",
                           "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        ack = json.loads(result.stdout)
        self.assertEqual(ack["alert_id"], "0b8e6c1e-7d2a-4f2a-9c3e-5a1b2c3d4e5f")
        self.assertEqual(ack["status"], "read")
        self.assertEqual(ack["note"], "ok")


if __name__ == "__main__":
    harness.main()
