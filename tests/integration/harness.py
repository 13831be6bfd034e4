"""Shared harness for the IACTN integration tests.

A Stack starts real servers in one temporary folder. PostgreSQL runs on a free
loopback port and is migrated with iactn-admin. deploy/pki makes a development PKI and
registers the demo principals. mosquitto loads iactn_plugin.so on a free mTLS port, and
iactn-bridge runs on request. The Stack stops every process it started when the `with` block ends,
at interpreter exit, on SIGTERM, and (through PR_SET_PDEATHSIG) when the test process
itself dies.

Runs under Debian's /usr/bin/python3 with python3-paho-mqtt (1.6) and python3-psycopg2.
Binary paths come from environment variables set by tests/integration/CMakeLists.txt:
IACTN_SOURCE_DIR, IACTN_BUILD_DIR, IACTN_ADMIN, IACTN_PLUGIN, IACTN_BRIDGE,
IACTN_ALERT, IACTN_PG_BINDIR, IACTN_MOSQUITTO. IACTN_KEEP_TMP=1 keeps the folder.
"""

import atexit
import collections
import ctypes
import datetime
import json
import os
import pwd
import queue
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import paho.mqtt.client as mqtt
import psycopg2
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

SOURCE_DIR = os.environ.get(
    "IACTN_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
BUILD_DIR = os.environ.get("IACTN_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
PG_BINDIR = os.environ.get("IACTN_PG_BINDIR", "/usr/lib/postgresql/15/bin")
SERVICE_USER = os.environ.get("IACTN_SERVICE_USER", "iactn")
PKI_SCRIPT = os.path.join(SOURCE_DIR, "deploy", "pki")
ALERT_DATA_DIR = os.path.join(SOURCE_DIR, "tests", "data", "alerts")

# MQTT 5 reason codes the tests compare against.
RC_SUCCESS = 0x00
RC_NO_MATCHING_SUBSCRIBERS = 0x10
RC_NOT_AUTHORIZED = 0x87

# The principals of the demo: per state a liaison and an agency system, plus the
# archiver used by the bridge. Tuples: (principal, role, state, agency).
DEMO_AGENCIES = [
    ("co-dni", "CO", "Dirección Nacional de Inteligencia"),
    ("mx-cni", "MX", "Centro Nacional de Inteligencia"),
    ("ca-rcmp", "CA", "Royal Canadian Mounted Police"),
    ("br-pf", "BR", "Polícia Federal"),
]
DEMO_PRINCIPALS = [
    (agency + suffix, role, state, agency)
    for agency, state, _ in DEMO_AGENCIES
    for suffix, role in (("-liaison", "liaison"), ("-system", "agency-system"))
] + [("iactn-bridge", "archiver", None, None)]


class HarnessError(Exception):
    """A server or tool of the stack failed to start or to run."""


def find_binary(env_name, file_name, fallbacks=()):
    """Return the path of a binary: $env_name, else a match under BUILD_DIR, else a
    fallback path. Raises HarnessError naming the variable when none exists."""
    path = os.environ.get(env_name)
    if path:
        if not os.path.exists(path):
            raise HarnessError(f"{env_name}={path} does not exist; build it first")
        return path
    for root, _, files in os.walk(BUILD_DIR):
        if file_name in files:
            return os.path.join(root, file_name)
    for path in fallbacks:
        if os.path.exists(path):
            return path
    raise HarnessError(f"{file_name} not found under {BUILD_DIR}; build it or set {env_name}")


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def utc_now(offset_seconds=0):
    """Return an RFC 3339 UTC time string, offset_seconds from now."""
    moment = datetime.datetime.now(datetime.timezone.utc)
    moment += datetime.timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_alert(**fields):
    """Build a valid GREEN alert dict with a fresh id. Keyword arguments replace or add
    top-level members, and a value of None drops the member."""
    alert = {
        "id": str(uuid.uuid4()),
        "sent": utc_now(),
        "status": "exercise",
        "msg_type": "alert",
        "tlp": "GREEN",
        "category": "imminent-threat",
        "urgency": "immediate",
        "severity": "severe",
        "certainty": "likely",
        "headline": {"en": "Integration test alert", "es": "Alerta de prueba"},
        "description": {"en": "Raised by the IACTN integration tests."},
        "expires": utc_now(86400),
    }
    for name, value in fields.items():
        if value is None:
            alert.pop(name, None)
        else:
            alert[name] = value
    return alert


def load_fixture(kind, name):
    """Return the bytes of tests/data/alerts/{kind}/{name}."""
    with open(os.path.join(ALERT_DATA_DIR, kind, name), "rb") as handle:
        return handle.read()


def fixture_names(kind):
    """Return the sorted file names in tests/data/alerts/{kind}."""
    folder = os.path.join(ALERT_DATA_DIR, kind)
    return sorted(name for name in os.listdir(folder) if name.endswith(".json"))


# Every process started by any Stack, so that exit and signal handlers can stop them.
_LIVE_PROCESSES = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_processes():
    with _LIVE_LOCK:
        processes = list(_LIVE_PROCESSES)
    for process in processes:
        process.stop()


def _terminate_handler(signum, _frame):
    _stop_all_processes()
    sys.exit(128 + signum)


atexit.register(_stop_all_processes)
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _terminate_handler)

_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _child_setup(death_signal):
    """Return a preexec_fn that makes the child receive death_signal when the harness
    dies. It runs after the user switch, which would otherwise clear the setting."""

    def setup():
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)

    return setup


class Process:
    """A server started by the harness, with its log file."""

    def __init__(self, name, argv, log_path, run_as=None, stop_signal=signal.SIGTERM,
                 env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        options = {}
        if run_as is not None:
            options = {"user": run_as.pw_uid, "group": run_as.pw_gid, "extra_groups": []}
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(stop_signal), env=env, cwd=cwd, **options)
        with _LIVE_LOCK:
            _LIVE_PROCESSES.add(self)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, sig=None, timeout=15):
        """Send sig (default: the process's stop signal), wait up to timeout seconds,
        then SIGKILL. Returns the exit status."""
        if self.alive():
            try:
                self.popen.send_signal(sig or self.stop_signal)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        with _LIVE_LOCK:
            _LIVE_PROCESSES.discard(self)
        return self.popen.returncode

    def kill(self):
        """Stop the process with SIGKILL, as a crash would."""
        return self.stop(signal.SIGKILL)


class Message:
    """A message received by a test client."""

    def __init__(self, paho_message):
        self.topic = paho_message.topic
        self.payload = paho_message.payload
        self.qos = paho_message.qos
        self.retain = bool(paho_message.retain)
        self.received_at = time.monotonic()
        properties = getattr(paho_message, "properties", None)
        self.user_properties = dict(getattr(properties, "UserProperty", None) or [])

    def json(self):
        return json.loads(self.payload)

    def __repr__(self):
        return f"Message(topic={self.topic!r}, payload={self.payload[:120]!r})"


class _PahoClient(mqtt.Client):
    """paho Client that records the reason code of each PUBACK, because paho 1.6
    parses it but does not pass it to on_publish."""

    def __init__(self, *args, on_puback=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_puback = on_puback

    def _handle_pubackcomp(self, cmd):
        packet = bytes(self._in_packet["packet"])
        if cmd == "PUBACK" and len(packet) >= 2:
            (mid,) = struct.unpack("!H", packet[:2])
            self._on_puback(mid, packet[2] if len(packet) > 2 else RC_SUCCESS)
        return super()._handle_pubackcomp(cmd)


class Client:
    """An MQTT 5 client over mTLS with a principal's certificate, with its own network
    thread. Received messages wait in a queue until collect() reads them."""

    def __init__(self, stack, cert, key, client_id):
        self.client_id = client_id
        self.messages = queue.Queue()
        self.connect_reason = None
        self.disconnect_reason = None
        self._connected = threading.Event()
        self._finished = threading.Event()
        self._acks = {}
        self._acks_changed = threading.Condition()
        # PUBACKs of publish_nowait(): counted by reason code, never stored per mid
        self._unawaited = set()
        self.ack_counts = collections.Counter()
        self._stopping = threading.Event()
        self._thread = None

        args = (mqtt.CallbackAPIVersion.VERSION1,) if hasattr(mqtt, "CallbackAPIVersion") else ()
        self.paho = _PahoClient(*args, client_id=client_id, protocol=mqtt.MQTTv5,
                                on_puback=self._record_ack)
        context = ssl.create_default_context(cafile=stack.ca_file)
        context.load_cert_chain(cert, key)
        self.paho.tls_set_context(context)
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_message = lambda _c, _u, message: self.messages.put(Message(message))
        self.paho.on_subscribe = self._on_subscribe
        # Only the network thread may write to the TLS socket, because an OpenSSL
        # connection written by two threads at once corrupts its records. With this
        # callback set, paho's publish(), subscribe() and disconnect() queue their
        # packet and wake the network loop instead of writing from the calling thread.
        self.paho.on_socket_register_write = lambda _client, _userdata, _sock: None
        self._host, self._port = "127.0.0.1", stack.mqtt_port

    def _on_connect(self, _client, _userdata, _flags, reason, _properties=None):
        self.connect_reason = int(reason.value if hasattr(reason, "value") else reason)
        if self.connect_reason == RC_SUCCESS:
            self._connected.set()
        self._finished.set()

    def _on_disconnect(self, _client, _userdata, reason, _properties=None):
        self.disconnect_reason = int(reason.value if hasattr(reason, "value") else reason)
        self._connected.clear()
        self._finished.set()
        with self._acks_changed:
            self._acks_changed.notify_all()

    def _on_subscribe(self, _client, _userdata, mid, reasons, _properties=None):
        self._record_ack(mid, [int(r.value if hasattr(r, "value") else r) for r in reasons])

    def _record_ack(self, mid, value):
        with self._acks_changed:
            if mid in self._unawaited:
                self._unawaited.discard(mid)
                self.ack_counts[value] += 1
                return
            self._acks[mid] = value
            self._acks_changed.notify_all()

    def _wait_ack(self, mid, timeout, what):
        deadline = time.monotonic() + timeout
        with self._acks_changed:
            while mid not in self._acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._connected.is_set():
                    raise HarnessError(
                        f"{self.client_id}: no {what} for mid {mid} "
                        f"(connected={self._connected.is_set()}, "
                        f"disconnect reason={self.disconnect_reason})")
                self._acks_changed.wait(min(remaining, 0.2))
            return self._acks.pop(mid)

    def connect(self, timeout=10, clean_start=True, session_expiry=None):
        """Connect and wait for CONNACK or for the broker to drop the connection.
        Returns True when accepted. A refusal leaves connect_reason set (or None when
        TLS failed before any CONNACK) and the network thread stopped."""
        properties = None
        if session_expiry is not None:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = session_expiry
        try:
            self.paho.connect(self._host, self._port, keepalive=30,
                              clean_start=clean_start, properties=properties)
        except (ssl.SSLError, OSError) as error:
            self.disconnect_reason = str(error)
            return False
        self._thread = threading.Thread(target=self._network_loop, daemon=True,
                                        name=f"mqtt-{self.client_id}")
        self._thread.start()
        self._finished.wait(timeout)
        if not self._connected.is_set():
            self.close()
            return False
        return True

    def _network_loop(self):
        # paho's loop_start() would reconnect after the broker drops the client, and a
        # TLS alert raised inside it ends its thread without any callback. This loop
        # does neither: it ends on the first lost connection and records why.
        try:
            while not self._stopping.is_set():
                result = self.paho.loop(timeout=0.1)
                if result != mqtt.MQTT_ERR_SUCCESS:
                    if self.disconnect_reason is None:
                        self.disconnect_reason = mqtt.error_string(result)
                    break
        except (ssl.SSLError, OSError) as error:
            self.disconnect_reason = str(error)
        finally:
            self._connected.clear()
            self._finished.set()
            with self._acks_changed:
                self._acks_changed.notify_all()

    def is_connected(self):
        return self._connected.is_set()

    def subscribe(self, topic_filter, qos=1, timeout=10):
        """Subscribe and return the list of SUBACK reason codes (granted QoS or an
        error code at or above 0x80)."""
        result, mid = self.paho.subscribe(topic_filter, qos)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise HarnessError(f"{self.client_id}: subscribe failed: {mqtt.error_string(result)}")
        return self._wait_ack(mid, timeout, "SUBACK")

    def publish(self, topic, payload, qos=1, user_properties=(), timeout=10, retain=False):
        """Publish and, for QoS 1, return the PUBACK reason code; for QoS 0 return None
        once the packet is written. payload may be bytes, str or a dict (sent as JSON)."""
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        properties = None
        if user_properties:
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = list(user_properties)
        info = self.paho.publish(topic, payload, qos=qos, retain=retain,
                                 properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise HarnessError(f"{self.client_id}: publish failed: {mqtt.error_string(info.rc)}")
        if qos == 0:
            info.wait_for_publish(timeout)
            return None
        return self._wait_ack(info.mid, timeout, "PUBACK")

    def publish_nowait(self, topic, payload):
        """Publish at QoS 1 without waiting for the PUBACK, for loads that one round
        trip per message would slow down. The reason codes are counted in ack_counts.
        payload may be bytes, str or a dict (sent as JSON)."""
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        info = self.paho.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise HarnessError(f"{self.client_id}: publish failed: "
                               f"{mqtt.error_string(info.rc)}")
        with self._acks_changed:
            # The network thread may have read the PUBACK before this point.
            if info.mid in self._acks:
                self.ack_counts[self._acks.pop(info.mid)] += 1
            else:
                self._unawaited.add(info.mid)

    def unacknowledged(self):
        """Return how many publish_nowait() messages still wait for their PUBACK."""
        with self._acks_changed:
            return len(self._unawaited)

    def collect(self, seconds, count=None):
        """Return the messages received within `seconds`, stopping early once `count`
        messages have arrived."""
        received = []
        deadline = time.monotonic() + seconds
        while count is None or len(received) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                received.append(self.messages.get(timeout=remaining))
            except queue.Empty:
                break
        return received

    def drain(self):
        """Return the messages received so far, without waiting."""
        received = []
        while True:
            try:
                received.append(self.messages.get_nowait())
            except queue.Empty:
                return received

    def set_will(self, topic, payload, qos=1, retain=False):
        """Set the will message sent with the next connect(). payload may be bytes, str
        or a dict (sent as JSON)."""
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        self.paho.will_set(topic, payload, qos=qos, retain=retain)

    def drop(self):
        """End the connection without a DISCONNECT packet, as a crash or a lost network
        would, so that the broker publishes the client's will."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        sock = self.paho.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._connected.clear()

    def close(self, timeout=2):
        """Disconnect (if connected) and stop the network thread."""
        if self._connected.is_set():
            self.paho.disconnect()
            # The network thread sends the DISCONNECT; paho then reports the
            # disconnection, which clears _connected.
            deadline = time.monotonic() + timeout
            while self._connected.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._connected.clear()


class Load:
    """A thread that publishes alerts through a connected client at a steady rate
    (messages per second), so that the broker stays busy while a test measures
    something else. make_payload() returns each payload (bytes, str or dict)."""

    def __init__(self, client, topic, make_payload, rate):
        self.client = client
        self.topic = topic
        self.make_payload = make_payload
        self.interval = 1.0 / rate
        self.sent = 0
        self.started_at = None
        self.stopped_at = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"load-{client.client_id}")

    def start(self):
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    def _run(self):
        next_send = time.monotonic()
        while not self._stopping.is_set() and self.client.is_connected():
            self.client.publish_nowait(self.topic, self.make_payload())
            self.sent += 1
            next_send += self.interval
            delay = next_send - time.monotonic()
            if delay > 0:
                self._stopping.wait(delay)
            elif delay < -1:
                # Far behind (the machine is busy): do not send a burst to catch up.
                next_send = time.monotonic()

    def stop(self, timeout=10):
        """Stop publishing and wait up to timeout seconds for the outstanding PUBACKs.
        Returns the rate achieved, in messages per second."""
        self._stopping.set()
        self._thread.join(timeout)
        self.stopped_at = time.monotonic()
        deadline = time.monotonic() + timeout
        while self.client.unacknowledged() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.rate()

    def rate(self):
        """Return the messages sent per second since start()."""
        end = self.stopped_at or time.monotonic()
        return self.sent / max(end - self.started_at, 1e-6)


class Stack:
    """PostgreSQL, the PKI, mosquitto with the plugin and (optionally) the bridge, in a
    temporary folder. Use as a context manager, or call start() and close()."""

    def __init__(self, bridge=False, plugin=True, principals=DEMO_PRINCIPALS):
        self.with_bridge = bridge
        self.with_plugin = plugin
        # further plugin_opt_NAME lines of mosquitto.conf, {NAME: value}
        self.plugin_options = {}
        self.principals = list(principals)
        self.root = None
        self.pg_port = None
        self.mqtt_port = None
        self.postgres = None
        self.broker = None
        self.bridge = None
        self._client_count = 0
        self._clients = []
        self.run_as = None
        if os.geteuid() == 0:
            try:
                self.run_as = pwd.getpwnam(SERVICE_USER)
            except KeyError as error:
                raise HarnessError(
                    f"running as root needs the system user {SERVICE_USER!r} "
                    "(PostgreSQL refuses to run as root); create it with "
                    f"'useradd --system {SERVICE_USER}'") from error

    # Layout -------------------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def ca_file(self):
        return self.path("pki", "ca.crt")

    @property
    def conninfo(self):
        return f"host=127.0.0.1 port={self.pg_port} dbname=iactn user=iactn"

    def cert(self, name):
        """Return (certificate, key) paths of DIR/clients/name."""
        return (self.path("pki", "clients", name + ".crt"),
                self.path("pki", "clients", name + ".key"))

    def _give_to_service_user(self, path):
        if self.run_as is not None:
            os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)

    def _make_folder(self, *parts):
        folder = self.path(*parts)
        os.makedirs(folder, exist_ok=True)
        self._give_to_service_user(folder)
        return folder

    def tool_env(self):
        """Return the environment for iactn-admin, deploy/pki and deploy/demo."""
        env = dict(os.environ)
        env.update({
            "IACTN_DB": self.conninfo,
            "IACTN_SQL_DIR": os.path.join(SOURCE_DIR, "schemas", "sql"),
            "IACTN_ADMIN": self.admin_binary,
            "IACTN_BUILD_DIR": BUILD_DIR,
            "PGCONNECT_TIMEOUT": "5",
        })
        return env

    # Whole stack --------------------------------------------------------------------

    def start(self):
        """Start everything; on failure stop what was started and raise."""
        try:
            self.root = tempfile.mkdtemp(prefix="iactn-it-")
            os.chmod(self.root, 0o755)
            self._make_folder("log")
            self.admin_binary = find_binary("IACTN_ADMIN", "iactn-admin")
            self.pg_port = free_port()
            self.mqtt_port = free_port()
            self.start_postgres(initialize=True)
            self._create_database()
            self.admin("migrate")
            self._make_pki()
            self.start_broker()
            if self.with_bridge:
                self.start_bridge()
        except BaseException:
            self.close()
            raise
        return self

    def close_clients(self):
        """Disconnect every client made by client() or connect()."""
        for client in self._clients:
            try:
                client.close()
            except Exception:  # a dead connection must not stop the cleanup
                pass
        self._clients.clear()

    def close(self):
        """Stop every client and process of this stack, print the end of each log to
        stderr (ctest shows it when a test fails) and remove the folder."""
        self.close_clients()
        for process in (self.bridge, self.broker, self.postgres):
            if process is not None:
                process.stop()
        if self.root is None:
            return
        self.print_logs()
        if os.environ.get("IACTN_KEEP_TMP") == "1":
            sys.stderr.write(f"harness: kept {self.root}\n")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def print_logs(self, lines=40):
        log_dir = self.path("log")
        for name in sorted(os.listdir(log_dir)):
            with open(os.path.join(log_dir, name), "rb") as handle:
                tail = handle.read().decode(errors="replace").splitlines()[-lines:]
            sys.stderr.write(f"----- {name} (last {len(tail)} lines) -----\n")
            sys.stderr.write("\n".join(tail) + "\n")

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.close()

    # PostgreSQL ---------------------------------------------------------------------

    def start_postgres(self, initialize=False, timeout=30):
        """Start PostgreSQL on 127.0.0.1:pg_port (initdb first when initialize) and
        wait until it accepts connections."""
        data = self.path("pg")
        sockets = self._make_folder("pg-socket")
        if initialize:
            self._make_folder("pg")
            self._run_as_service_user(
                [os.path.join(PG_BINDIR, "initdb"), "-D", data, "-U", "iactn", "-A",
                 "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                self.path("log", "initdb.log"))
        self.postgres = Process(
            "postgres",
            [os.path.join(PG_BINDIR, "postgres"), "-D", data, "-p", str(self.pg_port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
             "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off"],
            self.path("log", "postgres.log"), run_as=self.run_as,
            stop_signal=signal.SIGINT, cwd=self.root)
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(host="127.0.0.1", port=self.pg_port, dbname="postgres",
                                 user="iactn", connect_timeout=2).close()
                return
            except psycopg2.OperationalError as error:
                if not self.postgres.alive() or time.monotonic() > deadline:
                    raise HarnessError(f"PostgreSQL did not start: {error}") from error
                time.sleep(0.1)

    def stop_postgres(self, immediate=False):
        """Stop PostgreSQL: fast shutdown, or immediate (like a crash) when asked."""
        if self.postgres is not None:
            self.postgres.stop(signal.SIGQUIT if immediate else signal.SIGINT)

    def restart_postgres(self):
        self.stop_postgres()
        self.start_postgres()

    def _run_as_service_user(self, argv, log_path):
        options = {}
        if self.run_as is not None:
            options = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid,
                       "extra_groups": []}
        with open(log_path, "ab") as log:
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=self.root, **options)
        if result.returncode != 0:
            raise HarnessError(f"{argv[0]} failed with status {result.returncode}; "
                               f"see {log_path}")

    def _create_database(self):
        connection = psycopg2.connect(host="127.0.0.1", port=self.pg_port,
                                      dbname="postgres", user="iactn")
        # Not `with connection`: psycopg2 2.9 opens a transaction there even in
        # autocommit mode, and CREATE DATABASE cannot run inside one.
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("CREATE DATABASE iactn")
        finally:
            connection.close()

    def query(self, sql, params=None):
        """Run one statement in its own transaction and return all rows (or [] when
        it returns none)."""
        connection = psycopg2.connect(self.conninfo, connect_timeout=5)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def wait_for_row(self, sql, params=None, timeout=10):
        """Poll until the query returns a row; return the rows, or [] on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(sql, params)
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.2)

    # Broker log ---------------------------------------------------------------------

    def log_mark(self):
        """Return the current size of mosquitto's log, to read only later lines."""
        path = self.path("log", "mosquitto.log")
        return os.path.getsize(path) if os.path.exists(path) else 0

    def log_lines(self, since=0):
        """Return the lines mosquitto logged after the mark `since`."""
        with open(self.path("log", "mosquitto.log"), "rb") as handle:
            handle.seek(since)
            return handle.read().decode(errors="replace").splitlines()

    def wait_for_log(self, pattern, since=0, timeout=10):
        """Poll mosquitto's log until a line after `since` matches the regular
        expression; return that line, or None on timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_lines(since):
                if regex.search(line):
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    # Tools --------------------------------------------------------------------------

    def admin(self, *args, check=True):
        """Run iactn-admin with the stack's database; return the CompletedProcess."""
        return self._run([self.admin_binary, "--db", self.conninfo, *args], check)

    def pki(self, *args, check=True):
        """Run deploy/pki with the stack's PKI folder and database."""
        return self._run([PKI_SCRIPT, *args], check)

    def _run(self, argv, check):
        result = subprocess.run(argv, env=self.tool_env(), capture_output=True, text=True,
                                timeout=120)
        if check and result.returncode != 0:
            raise HarnessError(f"{' '.join(argv)} exited with {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result

    def _make_pki(self):
        self.pki("init", self.path("pki"))
        for agency, state, name in DEMO_AGENCIES:
            self.admin("agency", "add", agency, "--state", state, "--name", name)
        for principal, role, state, agency in self.principals:
            self.issue(principal, role, state, agency, register=True)

    def issue(self, principal, role, state=None, agency=None, register=True, name=None,
              extra=()):
        """Issue a client certificate with deploy/pki (and register it); return the
        (certificate, key) paths. extra contains further pki options (--expired, ...)."""
        argv = ["issue", self.path("pki"), principal, "--role", role]
        if state:
            argv += ["--state", state, "--agency", agency]
        if name:
            argv += ["--name", name]
        if register:
            argv.append("--register")
        self.pki(*argv, *extra)
        return self.cert(name or principal)

    # Broker -------------------------------------------------------------------------

    def _write_broker_config(self):
        substitutions = {
            "@PORT@": str(self.mqtt_port),
            "@PKI_DIR@": self.path("pki"),
            "@DATA_DIR@": self._make_folder("mosquitto"),
            "@LOG_FILE@": self.path("log", "mosquitto.log"),
            "@PLUGIN@": self._copy_plugin() if self.with_plugin else "",
            "@DB_CONNINFO@": self.conninfo,
            "@SERVICE_USER@": SERVICE_USER,
        }
        with open(os.path.join(SOURCE_DIR, "deploy", "mosquitto.conf.in")) as handle:
            text = handle.read()
        for key, value in substitutions.items():
            text = text.replace(key, value)
        for name, value in self.plugin_options.items():
            text = text.replace("plugin_opt_conninfo ", f"plugin_opt_{name} {value}\n"
                                "plugin_opt_conninfo ", 1)
        if not self.with_plugin:
            # Without the plugin only the TLS layer can be checked: take the identity
            # from the certificate so that mosquitto lets clients in.
            text = "\n".join(line for line in text.splitlines()
                             if not line.startswith("plugin"))
            text = text.replace("use_identity_as_username false",
                                "use_identity_as_username true")
        config = self.path("mosquitto.conf")
        with open(config, "w") as handle:
            handle.write(text + "\n")
        return config

    def _copy_plugin(self):
        # mosquitto loads plugins after switching to the service user, which may not
        # reach the build folder (for example under /root), so it gets its own copy.
        copy = self.path("iactn_plugin.so")
        shutil.copyfile(find_binary("IACTN_PLUGIN", "iactn_plugin.so"), copy)
        os.chmod(copy, 0o755)
        return copy

    def start_broker(self, timeout=15):
        """Start mosquitto and wait until it logs that it is running, which it does
        after opening the listener and loading the plugin."""
        config = self._write_broker_config()
        log_path = self.path("log", "mosquitto.log")
        if not os.path.exists(log_path):
            open(log_path, "w").close()
            self._give_to_service_user(log_path)
        log_start = os.path.getsize(log_path)
        self.broker = Process(
            "mosquitto",
            [find_binary("IACTN_MOSQUITTO", "mosquitto", ["/usr/sbin/mosquitto"]), "-c", config],
            self.path("log", "mosquitto.stderr.log"), cwd=self.root,
            # Started as the service user rather than left to switch users itself:
            # the kernel clears PR_SET_PDEATHSIG when a process changes its user.
            run_as=self.run_as)
        deadline = time.monotonic() + timeout
        while True:
            with open(log_path, "rb") as handle:
                handle.seek(log_start)
                if b" running" in handle.read():
                    return
            if not self.broker.alive():
                raise HarnessError(f"mosquitto exited with status {self.broker.popen.returncode}")
            if time.monotonic() > deadline:
                raise HarnessError(f"mosquitto did not start within {timeout} s")
            time.sleep(0.05)

    def stop_broker(self):
        if self.broker is not None:
            self.broker.stop()

    def restart_broker(self):
        self.stop_broker()
        self.start_broker()

    # Bridge -------------------------------------------------------------------------

    def start_bridge(self, client_id="iactn-bridge-1", log_level="debug", connections=None):
        """Start iactn-bridge with the archiver certificate. It opens the
        configuration's default number of MQTT connections unless `connections` is
        given. Returns once it runs; its subscription may take a moment longer."""
        cert, key = self.cert("iactn-bridge")
        substitutions = {
            "@DB_CONNINFO@": self.conninfo,
            "@BROKER_PORT@": str(self.mqtt_port),
            "@CA_FILE@": self.ca_file,
            "@CERT_FILE@": cert,
            "@KEY_FILE@": key,
            "@CLIENT_ID@": client_id,
            "@LOG_LEVEL@": log_level,
        }
        with open(os.path.join(SOURCE_DIR, "deploy", "iactn-bridge.conf.in")) as handle:
            text = handle.read()
        for name, value in substitutions.items():
            text = text.replace(name, value)
        if connections is not None:
            text += f"connections = {connections}\n"
        config = self.path("iactn-bridge.conf")
        with open(config, "w") as handle:
            handle.write(text)
        self.bridge = Process(
            "iactn-bridge",
            [find_binary("IACTN_BRIDGE", "iactn-bridge"), "--config", config],
            self.path("log", "iactn-bridge.log"), cwd=self.root)
        time.sleep(0.5)
        if not self.bridge.alive():
            raise HarnessError(f"iactn-bridge exited with status {self.bridge.popen.returncode}")

    def stop_bridge(self, kill=False):
        if self.bridge is not None:
            self.bridge.stop(signal.SIGKILL if kill else None)

    def wait_for_bridge(self, timeout=15):
        """Publish probe alerts as co-dni-liaison until one is archived, proving the
        bridge's subscription is live. Returns the probe id."""
        client = self.connect("co-dni-liaison")
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                alert = make_alert(status="test", category="exercise-drill",
                                   distribution={"states": ["CO"]})
                client.publish("iactn/alerts/CO/exercise-drill", alert)
                if self.wait_for_row("SELECT 1 FROM alerts WHERE id = %s", (alert["id"],),
                                     timeout=1):
                    return alert["id"]
            raise HarnessError("iactn-bridge archived no probe alert")
        finally:
            client.close()

    # MQTT clients -------------------------------------------------------------------

    def client(self, name, client_id=None, principal=None):
        """Create (not connect) a client with the certificate DIR/clients/name. The
        client id defaults to '{principal}-test-{n}'."""
        self._client_count += 1
        cert, key = self.cert(name)
        client_id = client_id or f"{principal or name}-test-{self._client_count}"
        client = Client(self, cert, key, client_id)
        self._clients.append(client)
        return client

    def connect_eventually(self, name, timeout=10):
        """Connect as `name`, retrying until the broker accepts the certificate. The
        plugin reloads its policy only after PostgreSQL notifies it, so a certificate
        registered a moment ago may still be unknown. Returns the connected client."""
        deadline = time.monotonic() + timeout
        while True:
            client = self.client(name)
            if client.connect():
                return client
            if time.monotonic() > deadline:
                raise HarnessError(f"{name}: still refused {timeout} s after registration "
                                   f"(CONNACK {client.connect_reason})")
            time.sleep(0.2)

    def connect(self, name, client_id=None, timeout=10, subscribe=None):
        """Connect a client as `name` and optionally subscribe it; raise HarnessError
        when the broker refuses either."""
        client = self.client(name, client_id)
        if not client.connect(timeout):
            raise HarnessError(f"{client.client_id}: connection refused "
                               f"(CONNACK {client.connect_reason}, "
                               f"disconnect {client.disconnect_reason})")
        if subscribe:
            codes = client.subscribe(subscribe)
            if any(code >= 0x80 for code in codes):
                raise HarnessError(f"{client.client_id}: subscription to {subscribe} "
                                   f"refused with {codes}")
        return client


class StackTestCase(unittest.TestCase):
    """Test case whose tests share one Stack, started once for the class. Clients made
    by a test are disconnected after it, so tests do not see each other's messages."""

    with_bridge = False

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(bridge=cls.with_bridge)
        cls.addClassCleanup(cls.stack.close)
        cls.stack.start()
        if cls.with_bridge:
            cls.stack.wait_for_bridge()

    def tearDown(self):
        self.stack.close_clients()

    def assertAccepted(self, reason_code, what="publish"):
        """Assert a PUBACK code that means the broker took the message."""
        self.assertIn(reason_code, (RC_SUCCESS, RC_NO_MATCHING_SUBSCRIBERS),
                      f"{what} was rejected with reason code 0x{reason_code:02x}")

    def assertNotAuthorized(self, reason_code, what="publish"):
        """Assert PUBACK reason code 0x87 (not authorized)."""
        self.assertEqual(reason_code, RC_NOT_AUTHORIZED,
                         f"{what}: expected reason code 0x87, got 0x{reason_code:02x}")


def main():
    """Run the unittest module that calls it, verbosely."""
    unittest.main(verbosity=2)
