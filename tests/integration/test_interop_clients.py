"""Interoperability: mosquitto_pub/mosquitto_sub, the Paho Python client and MQTT.js
publish and subscribe with client certificates over MQTT 3.1.1 and 5 against the
broker with the plugin. Each sees exactly what its state may see, with the verified
sender; MQTT 5 clients get reason code 0x87 for refusals, while MQTT 3.1.1 has no
PUBACK reason code and a refused message simply reaches nobody. The worked examples
under examples/ run here too, so that they stay true.

MQTT.js comes from the npm registry: the test installs the versions pinned in
examples/node/package-lock.json into {build dir}/interop-node with `npm ci`."""

import filecmp
import json
import os
import queue
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402

EXAMPLES_DIR = os.path.join(harness.SOURCE_DIR, "examples")
NODE_DIR = os.path.join(harness.BUILD_DIR, "interop-node")
MQTTJS_HELPER = os.path.join(HERE, "interop", "mqttjs_client.js")
VERSIONS = ("3.1.1", "5")


def ensure_node_modules():
    """Install the pinned MQTT.js into NODE_DIR unless the same lock file is there."""
    os.makedirs(NODE_DIR, exist_ok=True)
    source = os.path.join(EXAMPLES_DIR, "node")
    current = all(os.path.exists(os.path.join(NODE_DIR, name)) and
                  filecmp.cmp(os.path.join(source, name), os.path.join(NODE_DIR, name),
                              shallow=False)
                  for name in ("package.json", "package-lock.json"))
    if current and os.path.isdir(os.path.join(NODE_DIR, "node_modules", "mqtt")):
        return
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(source, name), os.path.join(NODE_DIR, name))
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                            cwd=NODE_DIR, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise harness.HarnessError(f"npm ci in {NODE_DIR} failed:\n{result.stderr}")


def node_env():
    env = dict(os.environ)
    env["NODE_PATH"] = os.path.join(NODE_DIR, "node_modules")
    return env


def stamped_sender(payload):
    return json.loads(payload)["iactn"]["sender"]["principal"]


class Subscription:
    """A subscriber running in a child process that prints one line per message."""

    def __init__(self, argv, ready_text, parse, env=None, ready_stream="stderr"):
        self.parse = parse
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env)
        self.lines = queue.Queue()
        self.ready = threading.Event()
        self.readers = [threading.Thread(target=self._read, daemon=True,
                                         args=(name, ready_text, ready_stream))
                        for name in ("stdout", "stderr")]
        for reader in self.readers:
            reader.start()

    def _read(self, name, ready_text, ready_stream):
        for line in getattr(self.process, name):
            if name == ready_stream and ready_text in line:
                self.ready.set()
            if name == "stdout":
                self.lines.put(line)

    def wait_ready(self, timeout=15):
        if not self.ready.wait(timeout):
            self.process.kill()
            raise harness.HarnessError(f"{self.process.args[0]} did not subscribe")

    def messages(self, timeout=20):
        """Wait for the process to end; return [(topic, payload, user_properties)]."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for reader in self.readers:
            reader.join(5)
        self.process.stdout.close()
        self.process.stderr.close()
        found = []
        while not self.lines.empty():
            parsed = self.parse(self.lines.get())
            if parsed is not None:
                found.append(parsed)
        return found


class PahoClient:
    """Paho client of either protocol version on its own network thread."""

    def __init__(self, stack, principal, version, name):
        protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
        args = (mqtt.CallbackAPIVersion.VERSION1,) if hasattr(mqtt, "CallbackAPIVersion") else ()
        self.acks = {}
        self.received = queue.Queue()
        self.subscribed = threading.Event()
        self.connected = threading.Event()
        self.client = harness._PahoClient(*args, client_id=f"{principal}-{name}",
                                          protocol=protocol, on_puback=self.acks.__setitem__)
        cert, key = stack.cert(principal)
        context = ssl.create_default_context(cafile=stack.ca_file)
        context.load_cert_chain(cert, key)
        self.client.tls_set_context(context)
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.received.put(
            (m.topic, m.payload.decode(),
             dict(getattr(getattr(m, "properties", None), "UserProperty", None) or [])))
        self.client.connect("127.0.0.1", stack.mqtt_port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise harness.HarnessError(f"{principal}: paho did not connect")

    def subscribe(self, topic_filter):
        self.client.subscribe(topic_filter, qos=1)
        if not self.subscribed.wait(10):
            raise harness.HarnessError("paho: no SUBACK")

    def publish(self, topic, payload):
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 10
        while info.mid not in self.acks and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.acks.get(info.mid)

    def messages(self, seconds):
        time.sleep(seconds)
        found = []
        while not self.received.empty():
            found.append(self.received.get())
        return found

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class InteropTest(harness.StackTestCase):

    @classmethod
    def setUpClass(cls):
        ensure_node_modules()
        super().setUpClass()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.count = 0

    def tearDown(self):
        super().tearDown()
        self.tmp.cleanup()

    def write(self, payload):
        self.count += 1
        path = os.path.join(self.tmp.name, f"payload-{self.count}.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        return path

    def alert_for_mexico(self):
        return harness.make_alert(distribution={"states": ["MX"]})

    def check_visibility(self, version, mexico, brazil, accepted, refused_code):
        """Assert what the Mexican and Brazilian subscribers saw of the accepted alert
        and of the refused one."""
        self.assertEqual(len(mexico), 1, mexico)
        topic, payload, properties = mexico[0]
        self.assertEqual(topic, "iactn/alerts/CO/imminent-threat")
        self.assertEqual(json.loads(payload)["id"], accepted["id"])
        self.assertEqual(stamped_sender(payload), "co-dni-liaison")
        if version == "5":
            self.assertEqual(properties.get("iactn-sender"), "co-dni-liaison")
            self.assertEqual(refused_code, 0x87)
        else:
            self.assertEqual(properties, {})
        self.assertEqual(brazil, [], "Brazil is not a recipient")

    # mosquitto_pub and mosquitto_sub ------------------------------------------------

    def mosquitto_options(self, principal, version, suffix):
        cert, key = self.stack.cert(principal)
        return ["-h", "127.0.0.1", "-p", str(self.stack.mqtt_port), "--cafile",
                self.stack.ca_file, "--cert", cert, "--key", key, "-q", "1",
                "-i", f"{principal}-{suffix}", "-V", "mqttv5" if version == "5" else "mqttv311"]

    def mosquitto_sub(self, principal, version, count):
        def parse(line):
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) != 3 or not parts[2].startswith("{"):
                return None
            properties = dict(item.split(":", 1) for item in parts[1].split() if ":" in item)
            return parts[0], parts[2], properties

        # mosquitto_sub writes through stdio, so a pipe would hold its lines until exit.
        argv = ["stdbuf", "-oL", "mosquitto_sub",
                *self.mosquitto_options(principal, version, "sub"),
                "-t", "iactn/alerts/#", "-C", str(count), "-W", "6", "-d",
                "-F", "%t\t%P\t%p"]
        return Subscription(argv, "received SUBACK", parse, ready_stream="stdout")

    def test_mosquitto_clients(self):
        for version in VERSIONS:
            with self.subTest(version=version):
                mexico = self.mosquitto_sub("mx-cni-system", version, 1)
                brazil = self.mosquitto_sub("br-pf-system", version, 1)
                mexico.wait_ready()
                brazil.wait_ready()
                alert = self.alert_for_mexico()
                pub = ["mosquitto_pub", *self.mosquitto_options("co-dni-liaison", version, "pub")]
                result = subprocess.run([*pub, "-t", "iactn/alerts/CO/imminent-threat",
                                         "-f", self.write(alert)], capture_output=True,
                                        text=True, timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr)
                refused = subprocess.run([*pub, "-t", "iactn/alerts/MX/imminent-threat",
                                          "-f", self.write(self.alert_for_mexico())],
                                         capture_output=True, text=True, timeout=30)
                code = 0x87 if "Not authorized" in refused.stderr else 0
                self.check_visibility(version, mexico.messages(), brazil.messages(), alert,
                                      code)

    # Paho ---------------------------------------------------------------------------

    def test_paho_clients(self):
        for version in VERSIONS:
            with self.subTest(version=version):
                mexico = PahoClient(self.stack, "mx-cni-system", version, f"paho-{version}")
                brazil = PahoClient(self.stack, "br-pf-system", version, f"paho-{version}")
                liaison = PahoClient(self.stack, "co-dni-liaison", version, f"paho-{version}")
                try:
                    mexico.subscribe("iactn/alerts/#")
                    brazil.subscribe("iactn/alerts/#")
                    alert = self.alert_for_mexico()
                    code = liaison.publish("iactn/alerts/CO/imminent-threat", json.dumps(alert))
                    self.assertIn(code, (0x00, 0x10))
                    refused = liaison.publish("iactn/alerts/MX/imminent-threat",
                                              json.dumps(self.alert_for_mexico()))
                    self.check_visibility(version, mexico.messages(2), brazil.messages(0),
                                          alert, refused)
                finally:
                    for client in (mexico, brazil, liaison):
                        client.close()

    # MQTT.js ------------------------------------------------------------------------

    def mqttjs(self, mode, principal, version, *args):
        cert, key = self.stack.cert(principal)
        return ["node", MQTTJS_HELPER, mode, "--port", str(self.stack.mqtt_port), "--ca",
                self.stack.ca_file, "--cert", cert, "--key", key, "--client-id",
                f"{principal}-mqttjs-{mode}", "--version", "5" if version == "5" else "4",
                *args]

    def test_mqttjs_clients(self):
        def parse(line):
            message = json.loads(line)
            return message["topic"], message["payload"], message["user_properties"]

        for version in VERSIONS:
            with self.subTest(version=version):
                subscribers = [Subscription(self.mqttjs("subscribe", principal, version,
                                                        "--filter", "iactn/alerts/#",
                                                        "--count", "1", "--timeout", "6"),
                                            "subscribed", parse, env=node_env())
                               for principal in ("mx-cni-system", "br-pf-system")]
                for subscriber in subscribers:
                    subscriber.wait_ready()
                alert = self.alert_for_mexico()
                outcomes = []
                for topic, payload in (("iactn/alerts/CO/imminent-threat", alert),
                                       ("iactn/alerts/MX/imminent-threat",
                                        self.alert_for_mexico())):
                    result = subprocess.run(self.mqttjs("publish", "co-dni-liaison", version,
                                                        "--topic", topic, "--file",
                                                        self.write(payload)),
                                            capture_output=True, text=True, timeout=30,
                                            env=node_env())
                    self.assertEqual(result.returncode, 0, result.stderr)
                    outcomes.append(json.loads(result.stdout))
                self.assertEqual(outcomes[0], {"result": "accepted"})
                refused = outcomes[1].get("code", 0) if outcomes[1]["result"] == "refused" else 0
                self.check_visibility(version, subscribers[0].messages(),
                                      subscribers[1].messages(), alert, refused)

    # Worked examples ----------------------------------------------------------------

    def example_argv(self, language, principal, version):
        cert, key = self.stack.cert(principal)
        options = ["--port", str(self.stack.mqtt_port), "--ca", self.stack.ca_file,
                   "--cert", cert, "--key", key, "--principal", principal, "--state", "MX",
                   "--category", "travel", "--mqtt", version, "--count", "2",
                   "--timeout", "20"]
        if language == "python":
            return [os.environ.get("IACTN_PYTHON", "/usr/bin/python3"),
                    os.path.join(EXAMPLES_DIR, "python", "agency_system.py"), *options]
        return ["node", os.path.join(EXAMPLES_DIR, "node", "agency-system.js"), *options]

    def run_example(self, language, version):
        """Start the example as mx-cni-system, publish four alerts, and return its
        output lines and the acks that reached Colombia and Mexico."""
        origin_co = self.stack.connect("co-dni-liaison", subscribe="iactn/acks/CO/MX")
        origin_mx = self.stack.connect("mx-cni-liaison", subscribe="iactn/acks/MX/MX")
        example = Subscription(self.example_argv(language, "mx-cni-system", version),
                               "subscribed", json.loads, env=node_env())
        example.wait_ready()
        own = harness.make_alert(category="attack")
        travel = harness.make_alert(category="travel")
        other_category = harness.make_alert(category="cyber")
        not_recipient = harness.make_alert(category="travel",
                                           distribution={"states": ["CA"]})
        mexico = self.stack.connect("mx-cni-liaison")
        colombia = self.stack.connect("co-dni-liaison")
        self.assertAccepted(mexico.publish("iactn/alerts/MX/attack", own))
        self.assertAccepted(colombia.publish("iactn/alerts/CO/cyber", other_category))
        self.assertAccepted(colombia.publish("iactn/alerts/CO/travel", not_recipient))
        self.assertAccepted(colombia.publish("iactn/alerts/CO/travel", travel))
        lines = example.messages(timeout=30)
        acks = [m.json() for m in origin_co.collect(5, count=1)]
        acks += [m.json() for m in origin_mx.collect(5, count=1)]
        return lines, acks, own, travel

    def check_example(self, language):
        for version in VERSIONS:
            with self.subTest(version=version):
                lines, acks, own, travel = self.run_example(language, version)
                alerts = [line for line in lines if line["event"] == "alert"]
                self.assertEqual(sorted(a["id"] for a in alerts),
                                 sorted([own["id"], travel["id"]]))
                senders = {a["id"]: a["sender"] for a in alerts}
                self.assertEqual(senders[own["id"]], "mx-cni-liaison")
                self.assertEqual(senders[travel["id"]], "co-dni-liaison")
                acked = [line["id"] for line in lines if line["event"] == "acked"]
                self.assertEqual(sorted(acked), sorted([own["id"], travel["id"]]))
                self.assertEqual(sorted(a["alert_id"] for a in acks),
                                 sorted([own["id"], travel["id"]]))
                for ack in acks:
                    self.assertEqual(ack["status"], "received")
                    self.assertEqual(ack["iactn"]["sender"]["principal"], "mx-cni-system")
                self.stack.close_clients()

    def test_python_example(self):
        self.check_example("python")

    def test_node_example(self):
        self.check_example("node")


if __name__ == "__main__":
    harness.main()
