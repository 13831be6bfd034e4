"""Support for the iactn-bridge tests: an HTTPS webhook receiver on 127.0.0.1, and
helpers that start bridges with their own settings, publish bursts of alerts and
register endpoints.

The receiver serves with the broker's certificate from the stack's development PKI
(SAN IP:127.0.0.1), so a bridge trusts it with webhook_ca set to the PKI's ca.crt.
Each path responds with the actions of its script in turn, then with 200:
    an int       respond with that HTTP status
    "hang"       read the request, then send nothing for HANG_SECONDS
Every request is recorded with its headers and body, including those it hung on.

Runs under Debian's /usr/bin/python3, like harness.py.
"""

import hashlib
import hmac
import http.server
import itertools
import json
import os
import signal
import ssl
import threading
import time

import paho.mqtt.client as mqtt
import psycopg2

import harness

HANG_SECONDS = 30


class Request:
    """A request the receiver got."""

    def __init__(self, path, headers, body, answer):
        self.path = path
        self.headers = headers
        self.body = body
        self.answer = answer  # the status sent, or "hang"
        self.at = time.time()

    @property
    def delivery_id(self):
        return int(self.headers["X-IACTN-Delivery"])

    def signature_valid(self, secret):
        """Check X-IACTN-Signature against HMAC-SHA256(secret, timestamp "." body)."""
        signed = self.headers["X-IACTN-Timestamp"].encode() + b"." + self.body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-IACTN-Signature"])

    def __repr__(self):
        return f"Request(path={self.path!r}, answer={self.answer!r}, bytes={len(self.body)})"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        answer = self.server.receiver._next_answer(self.path)
        self.server.receiver._record(Request(self.path, dict(self.headers), body, answer))
        if answer == "hang":
            self.server.receiver._stopping.wait(HANG_SECONDS)
            self.close_connection = True
            return
        self.send_response(answer)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        # The TLS handshake runs in the handler's thread (on its first read), so a
        # client that never completes it cannot block the accepting thread.
        sock, address = self.socket.accept()
        return self.receiver.context.wrap_socket(sock, server_side=True,
                                                 do_handshake_on_connect=False), address

    def handle_error(self, _request, _address):
        pass  # a client that gave up mid-request is part of the tests


class WebhookReceiver:
    """HTTPS server on 127.0.0.1 with a free port. Use as a context manager, or call
    start() and close()."""

    def __init__(self, cert, key, port=0):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self._lock = threading.Condition()
        self._scripts = {}
        self._requests = []
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="webhook-receiver")
        self._thread.start()
        return self

    def close(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.close()

    def url(self, path):
        return f"https://127.0.0.1:{self.port}{path}"

    def script(self, path, answers):
        """Respond to the next requests on path with `answers` in order, then with 200."""
        with self._lock:
            self._scripts[path] = list(answers)

    def _next_answer(self, path):
        with self._lock:
            answers = self._scripts.get(path)
            return answers.pop(0) if answers else 200

    def _record(self, request):
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def requests(self, path=None):
        """Return the requests received so far, on path or on any path."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def wait_for(self, path, count, timeout=20):
        """Wait until path has received `count` requests; return all of them (fewer on
        timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [r for r in self._requests if r.path == path]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._lock.wait(min(remaining, 0.2))


def receiver_for(stack, port=0):
    """Return a started receiver that serves with the stack's broker certificate, on
    `port` or a free one."""
    return WebhookReceiver(stack.path("pki", "server.crt"), stack.path("pki", "server.key"),
                           port).start()


class Bridge:
    """An iactn-bridge process with its own config: deploy/iactn-bridge.conf.in with the
    stack's values and log_level debug, changed by the keyword settings. Its log is
    log/{client_id}.log."""

    def __init__(self, stack, client_id="iactn-bridge-1", **settings):
        settings.setdefault("webhook_ca", stack.ca_file)
        self.stack = stack
        self.client_id = client_id
        self.connections = int(settings.get("connections", 16))
        self.log_path = stack.path("log", f"{client_id}.log")
        self.config = stack.path(f"{client_id}.conf")
        self._write_config(settings)
        self.process = None
        self.start()

    def _write_config(self, settings):
        cert, key = self.stack.cert("iactn-bridge")
        substitutions = {
            "@DB_CONNINFO@": self.stack.conninfo,
            "@BROKER_PORT@": str(self.stack.mqtt_port),
            "@CA_FILE@": self.stack.ca_file,
            "@CERT_FILE@": cert,
            "@KEY_FILE@": key,
            "@CLIENT_ID@": self.client_id,
            "@LOG_LEVEL@": "debug",
        }
        with open(os.path.join(harness.SOURCE_DIR, "deploy", "iactn-bridge.conf.in")) as handle:
            text = handle.read()
        for name, value in substitutions.items():
            text = text.replace(name, value)
        # A key may appear once: replace the template's line, or append a new one.
        lines = text.splitlines()
        for name, value in settings.items():
            line = f"{name} = {value}"
            index = next((i for i, old in enumerate(lines)
                          if old.split("=")[0].strip() == name), None)
            if index is None:
                lines.append(line)
            else:
                lines[index] = line
        text = "\n".join(lines) + "\n"
        with open(self.config, "w") as handle:
            handle.write(text)

    def start(self):
        """Start the process (again, after stop or kill)."""
        self.process = harness.Process(
            self.client_id,
            [harness.find_binary("IACTN_BRIDGE", "iactn-bridge"), "--config", self.config],
            self.log_path, cwd=self.stack.root)
        time.sleep(0.3)
        if not self.process.alive():
            raise harness.HarnessError(f"iactn-bridge {self.client_id} exited with status "
                                       f"{self.process.popen.returncode}")

    def stop(self):
        """Stop with SIGTERM and return the exit status."""
        return self.process.stop()

    def kill(self):
        """Stop with SIGKILL, as a crash would."""
        return self.process.stop(signal.SIGKILL)

    def log_offset(self):
        """Return the size of the log, to look only at lines written after now."""
        return os.path.getsize(self.log_path)

    def log_count(self, text, offset=0):
        """Return how many log lines after byte `offset` contain text."""
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            return sum(1 for line in handle if text.encode() in line)


class BridgeTestCase(harness.StackTestCase):
    """A test class with its own stack and one iactn-bridge, started with the keyword
    settings in `bridge_settings`."""

    bridge_settings = {}

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        cls.bridge = Bridge(cls.stack, **cls.bridge_settings)
        cls.addClassCleanup(cls.bridge.stop)
        cls.stack.bridge = cls.bridge.process
        cls.stack.wait_for_bridge()


def add_rejecting_trigger(test, mark, errcode, deferred=False):
    """Create, for the length of `test`, a trigger on alerts that raises SQLSTATE
    `errcode` for every row whose raw payload contains `mark`: on insert or, when
    `deferred`, at commit. It stands for a rule an operator might add."""
    timing = ("CONSTRAINT TRIGGER test_reject_marked AFTER INSERT ON alerts "
              "DEFERRABLE INITIALLY DEFERRED" if deferred else
              "TRIGGER test_reject_marked BEFORE INSERT ON alerts")
    test.stack.query(f"""
        CREATE FUNCTION test_reject_marked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.raw_payload LIKE '%{mark}%' THEN
                RAISE EXCEPTION 'marked alert rejected' USING ERRCODE = '{errcode}';
            END IF;
            RETURN NEW;
        END $$;
        CREATE {timing}
            FOR EACH ROW EXECUTE FUNCTION test_reject_marked();
        """)
    test.addCleanup(test.stack.query, "DROP TRIGGER test_reject_marked ON alerts; "
                                      "DROP FUNCTION test_reject_marked()")


_client_numbers = itertools.count(1)


def connect_publisher(stack, principal="co-dni-liaison"):
    """Connect an MQTT 5 client as `principal` with up to 20 publishes in flight. Its
    `codes` maps each mid to its PUBACK reason code, and `codes_changed` is notified
    after each one."""
    codes = {}
    changed = threading.Condition()

    def on_puback(mid, code):
        with changed:
            codes[mid] = code
            changed.notify_all()

    client = harness._PahoClient(client_id=f"{principal}-burst-{next(_client_numbers)}",
                                 protocol=mqtt.MQTTv5, on_puback=on_puback)
    context = ssl.create_default_context(cafile=stack.ca_file)
    context.load_cert_chain(*stack.cert(principal))
    client.tls_set_context(context)
    client.max_inflight_messages_set(20)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", stack.mqtt_port, keepalive=60)
    client.loop_start()
    client.codes = codes
    client.codes_changed = changed
    return client


def publish_raw(stack, messages, principal="co-dni-liaison", timeout=60):
    """Publish (topic, payload bytes) pairs at QoS 1 as fast as the broker takes them
    and return the PUBACK reason codes in order, with None for each PUBACK that did
    not arrive within `timeout`."""
    client = connect_publisher(stack, principal)
    try:
        mids = [client.publish(topic, payload, qos=1).mid for topic, payload in messages]
        deadline = time.monotonic() + timeout
        with client.codes_changed:
            while len(client.codes) < len(mids) and time.monotonic() < deadline:
                client.codes_changed.wait(0.2)
            return [client.codes.get(mid) for mid in mids]
    finally:
        client.disconnect()
        client.loop_stop()


def publish_burst(stack, alerts, topic="iactn/alerts/CO/imminent-threat",
                  principal="co-dni-liaison", timeout=120):
    """Publish the alert dicts at QoS 1 as fast as the broker takes them (paho keeps as
    many unacknowledged as the broker's receive maximum allows) and return the PUBACK
    reason codes, one per alert."""
    codes = publish_raw(stack, [(topic, json.dumps(alert)) for alert in alerts],
                        principal, timeout)
    if None in codes:
        raise harness.HarnessError(f"burst: {len(codes) - codes.count(None)} of "
                                   f"{len(alerts)} PUBACKs within {timeout} s")
    return codes


def hold_table(stack, table, seconds, first_insert_timeout=15):
    """Lock `table` against inserts from a thread, so that every bridge connection is
    left holding a row and the next batch takes them all. The lock is released
    `seconds` after the first insert starts waiting for it, so a slow publisher does
    not find the table free again. Without such an insert, it is released after
    `first_insert_timeout` seconds. Returns the thread."""
    connection = psycopg2.connect(stack.conninfo)
    connection.cursor().execute(f"LOCK TABLE {table} IN SHARE MODE")

    def release():
        watcher = psycopg2.connect(stack.conninfo)
        watcher.autocommit = True
        deadline = time.monotonic() + first_insert_timeout
        try:
            while time.monotonic() < deadline:
                with watcher.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity "
                                   "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
                    if cursor.fetchone()[0] > 0:
                        break
                time.sleep(0.05)
        finally:
            watcher.close()
        time.sleep(seconds)
        connection.rollback()
        connection.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def add_endpoint(stack, agency, url, secret, topic_filter=None):
    """Register an endpoint with iactn-admin; return its id."""
    secret_file = stack.path(f"secret-{agency}-{time.monotonic_ns()}")
    with open(secret_file, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(secret_file, 0o600)
    args = ["endpoint", "add", agency, url, "--secret-file", secret_file]
    if topic_filter:
        args += ["--topic-filter", topic_filter]
    return int(stack.admin(*args).stdout.strip())


