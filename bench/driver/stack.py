"""The servers a benchmark runs against, started through the integration harness.

BenchStack is the harness's Stack with a durable PostgreSQL (the harness turns fsync
and synchronous commits off to speed up tests, which would make the archive figures
meaningless), one liaison certificate per member state, and three broker setups:

- iactn:  mosquitto with iactn_plugin.so, configured exactly as deploy/ ships it;
- bare:   the same mosquitto and TLS listener with no plugin, and the identity taken
          from the certificate (use_identity_as_username true), so no access control;
- dynsec: the bare setup plus mosquitto's dynamic-security plugin with per-state
          roles equivalent to IACTN's liaison topic rights.
"""

import json
import os
import signal
import subprocess
import time

import harness

DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
STATES_CSV = os.path.join(harness.SOURCE_DIR, "schemas", "data", "oas_member_states.csv")

# The harness starts PostgreSQL with these settings; the benchmark turns them back to
# PostgreSQL's defaults so that every commit reaches the disk.
DURABLE_SETTINGS = {
    "fsync=off": "fsync=on",
    "synchronous_commit=off": "synchronous_commit=on",
    "full_page_writes=off": "full_page_writes=on",
}


def member_states():
    """Return the 35 member state codes from schemas/data/oas_member_states.csv."""
    with open(STATES_CSV) as handle:
        rows = handle.read().splitlines()[1:]
    return [row.split(",")[0] for row in rows if row]


def liaison(state):
    """Return the principal id of the benchmark liaison of a state."""
    return f"{state.lower()}-bench-liaison"


class BenchStack(harness.Stack):
    """A harness Stack whose broker setup can be switched between runs."""

    def __init__(self):
        super().__init__(principals=[("iactn-bridge", "archiver", None, None)])
        self.variant = "iactn"
        self.extra_config = []
        self.config_replacements = {}
        self.states = member_states()
        self.bridges = []

    # PostgreSQL with durable commits -------------------------------------------------

    def start_postgres(self, initialize=False, timeout=30):
        original = harness.Process

        def durable_process(name, argv, *args, **kwargs):
            if name == "postgres":
                argv = [DURABLE_SETTINGS.get(arg, arg) for arg in argv]
            return original(name, argv, *args, **kwargs)

        # NOTE: the harness has no option for PostgreSQL settings, so its Process
        # class is swapped for the duration of this call to rewrite the command line.
        harness.Process = durable_process
        try:
            super().start_postgres(initialize, timeout)
        finally:
            harness.Process = original

    # Broker setups --------------------------------------------------------------------

    def _write_broker_config(self):
        self.with_plugin = self.variant == "iactn"
        path = super()._write_broker_config()
        with open(path) as handle:
            text = handle.read()
        for old, new in self.config_replacements.items():
            text = text.replace(old, new)
        with open(path, "w") as handle:
            handle.write(text)
        lines = []
        if self.variant == "dynsec":
            lines += [f"plugin {DYNSEC_PLUGIN}",
                      f"plugin_opt_config_file {self._write_dynsec_config()}"]
        lines += self.extra_config
        with open(path, "a") as handle:
            handle.write("\n# Added by the benchmark\n" + "\n".join(lines) + "\n")
        return path

    def _write_dynsec_config(self):
        roles, clients = [], []
        for state in self.states:
            acls = [
                ("publishClientSend", f"iactn/alerts/{state}/+"),
                ("subscribePattern", "iactn/alerts/#"),
                ("publishClientReceive", "iactn/alerts/#"),
                ("publishClientSend", f"iactn/acks/+/{state}"),
                ("subscribePattern", f"iactn/acks/{state}/+"),
                ("subscribePattern", f"iactn/acks/+/{state}"),
                ("publishClientReceive", f"iactn/acks/{state}/+"),
                ("publishClientReceive", f"iactn/acks/+/{state}"),
                ("subscribePattern", "iactn/directory/#"),
                ("publishClientReceive", "iactn/directory/#"),
            ]
            roles.append({"rolename": f"liaison-{state}", "acls": [
                {"acltype": kind, "topic": topic, "priority": 0, "allow": True}
                for kind, topic in acls]})
            clients.append({"username": liaison(state),
                            "roles": [{"rolename": f"liaison-{state}"}]})
        config = {
            "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": False,
                                 "subscribe": False, "unsubscribe": True},
            "clients": clients, "groups": [], "roles": roles,
        }
        path = self.path("dynamic-security.json")
        with open(path, "w") as handle:
            json.dump(config, handle, indent=1)
        self._give_to_service_user(path)
        return path

    def use(self, variant, extra_config=(), replacements=None):
        """Restart the broker with a setup (iactn, bare or dynsec), extra lines of
        mosquitto.conf and {old: new} replacements in the deployed template."""
        self.stop_broker()
        self.variant = variant
        self.extra_config = list(extra_config)
        self.config_replacements = dict(replacements or {})
        self.start_broker()

    def broker_log(self):
        return self.path("log", "mosquitto.log")

    # Identities -----------------------------------------------------------------------

    def register_states(self):
        """Make every member state active (three are not, by default) and give each an
        agency and a liaison certificate."""
        self.query("UPDATE member_states SET participation = 'active'")
        for state in self.states:
            agency = f"{state.lower()}-bench"
            self.query("INSERT INTO agencies (id, state_code, name) VALUES (%s, %s, %s) "
                       "ON CONFLICT DO NOTHING", (agency, state, f"Benchmark agency {state}"))
            self.issue(liaison(state), "liaison", state, agency, register=True)

    def identity(self, state, client_suffix, origin=False):
        """Return the CERT,KEY,CLIENT_ID[,ORIGIN] argument of the load generators."""
        cert, key = self.cert(liaison(state))
        text = f"{cert},{key},{liaison(state)}-{client_suffix}"
        return text + (f",{state}" if origin else "")

    # Bridges --------------------------------------------------------------------------

    def start_bridges(self, count):
        """Start count iactn-bridge processes in one shared subscription group."""
        for index in range(count):
            # info, as deployed: debug writes three lines per alert
            self.start_bridge(client_id=f"iactn-bridge-bench-{index}", log_level="info")
            # NOTE: the harness keeps one bridge; the others are stopped from here.
            self.bridges.append(self.bridge)

    def stop_bridges(self):
        for bridge in self.bridges:
            bridge.stop()
        self.bridges = []
        self.bridge = None

    def close(self):
        self.stop_bridges()
        super().close()

    # Broker process facts -------------------------------------------------------------

    def broker_rss_kib(self):
        """Return (VmRSS, VmHWM) of the broker in KiB."""
        values = {}
        with open(f"/proc/{self.broker.pid}/status") as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    values[name] = int(rest.split()[0])
        return values.get("VmRSS", 0), values.get("VmHWM", 0)

    def broker_cpu_seconds(self):
        """Return the user plus system CPU time the broker has used."""
        with open(f"/proc/{self.broker.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
