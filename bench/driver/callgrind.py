"""Optional scenario "profile": runs the broker with the plugin under valgrind's
callgrind while a fixed workload of alerts with mixed recipients goes through it.
It runs once with the small default policy and once with 10,000 extra topic_acl
rows, and reports the instructions the plugin's functions executed per alert and
per ACL check. Two more runs, with the default policy, send alerts to all 35 states
through the broker with the plugin and through bare mosquitto, and compare the
broker's instructions per alert. An instruction count moves less with the machine's
load than a rate does, though how many packets one read of the broker takes still
varies: bare mosquitto's count moved by about 10 % between runs."""

import os
import re
import stat
import subprocess

import loadgen
import policy_scale
import scenarios

ALERTS = 1000
# alerts/s: an estimate of what the broker sustains under callgrind, which slows it
# down many times over
RATE = 100

# Functions of iactn_plugin.so and iactn_common whose inclusive cost is reported.
FUNCTIONS = ["acl_on_check", "stamp_permits_memo", "rules_allow", "topic_expand",
             "topic_matches", "message_on_message", "alert_parse", "alert_validate",
             "sharing_compute", "stamp_write", "policy_find_principal",
             # mosquitto's own: its loop, and the TLS handshakes within it
             "mosquitto_main_loop", "net__socket_accept"]


def write_wrapper(stack, out_file):
    """Write a script that starts mosquitto under callgrind; return its path."""
    path = stack.path("mosquitto-callgrind")
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n"
                     f"exec valgrind --tool=callgrind --callgrind-out-file={out_file} "
                     "/usr/sbin/mosquitto \"$@\"\n")
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path


def inclusive_costs(out_file):
    """Return {function: inclusive instructions} from a callgrind output file."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                           out_file], capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in text.splitlines():
        match = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+\S+:(\w+)", line)
        if match and match.group(2) in FUNCTIONS:
            costs.setdefault(match.group(2), int(match.group(1).replace(",", "")))
    return costs


def profile_run(stack, label, variant="iactn", mix="mixed"):
    out_file = stack.path(f"callgrind.{label}.out")
    os.environ["IACTN_MOSQUITTO"] = write_wrapper(stack, out_file)
    # the broker drops to the service user, who must be able to write the output
    stack._give_to_service_user(stack.root)
    try:
        stack.use(variant, scenarios.BENCH_CONFIG)
        subscribers = loadgen.Subscribers(stack)
        try:
            report = loadgen.run_tool(loadgen.publisher_argv(
                stack, scenarios.ORIGINS, mix, count=ALERTS, rate=RATE), 600)
            expected = scenarios.expected_deliveries(variant, report, len(stack.states))
            received = subscribers.wait_for(expected, quiet_seconds=5)
        finally:
            subscribers.stop()
        stack.stop_broker()
    finally:
        del os.environ["IACTN_MOSQUITTO"]
    alerts = report["acked"]
    read_checks = alerts * len(stack.states)
    costs = inclusive_costs(out_file)
    return {
        "alerts": alerts,
        "deliveries": received,
        "read_checks": read_checks,
        "instructions": costs,
        "acl_on_check_per_check": costs.get("acl_on_check", 0) / (read_checks + alerts),
        "stamp_check_per_read_check": costs.get("stamp_permits_memo", 0) / read_checks,
        "message_on_message_per_alert": costs.get("message_on_message", 0) / alerts,
        "rules_allow_per_alert": costs.get("rules_allow", 0) / alerts,
        # the broker's work after the handshakes: publishes, deliveries, acknowledgements
        "broker_per_alert": (costs.get("mosquitto_main_loop", 0)
                             - costs.get("net__socket_accept", 0)) / alerts,
    }


def profile(stack, settings):
    results = {"small": profile_run(stack, "small")}
    # the broadcast pair runs with the default policy, before the extra rows exist
    results["broadcast"] = profile_run(stack, "broadcast", "iactn", "broadcast")
    results["broadcast_bare"] = profile_run(stack, "broadcast_bare", "bare", "broadcast")
    results["broadcast_iactn_vs_bare"] = scenarios.ratio(
        results["broadcast"]["broker_per_alert"], results["broadcast_bare"]["broker_per_alert"])
    acl_per_state = -(-policy_scale.ACL_ROWS // len(stack.states))
    stack.query(policy_scale.ACL_SQL % {"per_state": acl_per_state,
                                        "rows": policy_scale.ACL_ROWS})
    results["large_acl"] = profile_run(stack, "large_acl")
    return results
