"""deploy/iactn-stack and deploy/demo, run as a user would: start a stack in a
temporary state folder on free ports, run the demo, and stop everything again."""

import os
import shutil
import subprocess
import tempfile
import unittest

import harness

STACK = os.path.join(harness.SOURCE_DIR, "deploy", "iactn-stack")


class DemoScriptTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.var_dir = tempfile.mkdtemp(prefix="iactn-stack-")
        # PostgreSQL and mosquitto run as the service user when the tests run as root.
        os.chmod(cls.var_dir, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.var_dir, ignore_errors=True)
        cls.env = dict(os.environ)
        cls.env.update({
            "IACTN_VAR": cls.var_dir,
            "IACTN_BUILD_DIR": harness.BUILD_DIR,
            "IACTN_PG_PORT": str(harness.free_port()),
            "IACTN_MQTT_PORT": str(harness.free_port()),
            "IACTN_DEMO_WATCH_SECONDS": "5",
        })
        cls.addClassCleanup(cls.run_stack, "stop")
        cls.start = cls.run_stack("start")

    @classmethod
    def run_stack(cls, command):
        result = subprocess.run([STACK, command], env=cls.env, capture_output=True,
                                text=True, timeout=150)
        print(f"$ iactn-stack {command} -> {result.returncode}\n{result.stdout}{result.stderr}")
        return result

    def test_stack_starts(self):
        self.assertEqual(self.start.returncode, 0, self.start.stderr)

    def test_status_reports_all_running(self):
        result = self.run_stack("status")
        self.assertEqual(result.returncode, 0, result.stdout)
        for name in ("postgresql", "mosquitto", "iactn-bridge"):
            self.assertRegex(result.stdout, rf"{name}\s+running")

    def test_demo_promises_hold(self):
        result = self.run_stack("demo")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("mx-cni-system received the alert with verified sender co-dni-liaison",
                      result.stdout)
        self.assertIn("ca-rcmp-system received the alert with verified sender co-dni-liaison",
                      result.stdout)
        self.assertIn("br-pf-system (Brazil, subscribed to iactn/alerts/#) received nothing",
                      result.stdout)
        self.assertIn("the archive holds the alert once, sender co-dni-liaison", result.stdout)
        self.assertNotIn("[FAIL]", result.stdout)

    def test_zz_stop_stops_everything(self):
        # Named to run last: unittest orders tests by name.
        stop = self.run_stack("stop")
        self.assertEqual(stop.returncode, 0, stop.stderr)
        status = self.run_stack("status")
        self.assertEqual(status.returncode, 3, status.stdout)
        for name in ("postgresql", "mosquitto", "iactn-bridge"):
            self.assertRegex(status.stdout, rf"{name}\s+stopped")


if __name__ == "__main__":
    harness.main()
