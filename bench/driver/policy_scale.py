"""Scenario 5: a policy at scale. Adds 500 certificates per member state and 10,000
topic_acl rows, then measures how long the broker takes to reload its snapshot after
a change, its memory, and publish throughput with that policy in force."""

import os
import time

import scenarios

CERTS_PER_STATE = 500
ACL_ROWS = 10000

# One agency-system principal and certificate per row. The fingerprints are made up
# because no client connects with these certificates, which only make the snapshot large.
CERTS_SQL = """
INSERT INTO principals (id, state_code, agency_id, role)
SELECT lower(s.code) || '-bench-system-' || n, s.code, lower(s.code) || '-bench',
       'agency-system'
FROM member_states s, generate_series(1, %(per_state)s) n;
INSERT INTO certificates (fingerprint, subject, serial, not_before, not_after, principal_id)
SELECT encode(sha256(convert_to(p.id, 'UTF8')), 'hex'), 'CN=' || p.id, p.id,
       now() - interval '1 day', now() + interval '365 days', p.id
FROM principals p WHERE p.id LIKE '%%-bench-system-%%';
"""

# Rows above the default priority (100), so every check walks them before reaching
# the default rows. None of them matches an alert topic, so they change no outcome
# of the benchmark's publishes and subscriptions. Most are per state, as an
# administrator's narrowing rows would be. The rest name a role for every state.
ACL_SQL = """
INSERT INTO topic_acl (state_code, role, access, pattern, allow, priority, note)
SELECT CASE WHEN n %% 40 = 0 THEN NULL ELSE s.code END,
       (ARRAY['liaison', 'agency-system', 'admin', '*'])[1 + n %% 4],
       (ARRAY['publish', 'subscribe'])[1 + n %% 2],
       CASE n %% 3
           WHEN 0 THEN 'iactn/directory/{state}/bench-agency-' || n
           WHEN 1 THEN 'iactn/status/{principal}/bench-' || n
           ELSE 'iactn/acks/' || s.code || '/+/bench-' || n
       END,
       n %% 5 <> 0, 101 + n %% 300, 'benchmark'
FROM (SELECT code, row_number() OVER (ORDER BY code) AS i FROM member_states) s,
     generate_series(1, %(per_state)s) n
ORDER BY s.i, n
LIMIT %(rows)s;
"""


def count_loads(log_path):
    with open(log_path, "rb") as handle:
        return handle.read().count(b"policy loaded reason=change")


def timed_reload(stack, change_sql, timeout=120):
    """Run a policy change and wait for the broker to log the reload it causes.
    Returns (seconds from commit to log line, broker CPU seconds in between)."""
    log_path = stack.broker_log()
    before = count_loads(log_path)
    cpu_start = stack.broker_cpu_seconds()
    start = time.monotonic()
    stack.query(change_sql)
    committed = time.monotonic()
    deadline = committed + timeout
    while count_loads(log_path) == before:
        if time.monotonic() > deadline:
            raise scenarios.BenchError("the broker logged no policy reload")
        time.sleep(0.002)
    return time.monotonic() - committed, stack.broker_cpu_seconds() - cpu_start, start


def measure_reloads(stack, repeats):
    touch = "UPDATE topic_acl SET note = note WHERE id = (SELECT min(id) FROM topic_acl)"
    runs = []
    for _ in range(repeats):
        seconds, cpu, _ = timed_reload(stack, touch)
        rss, hwm = stack.broker_rss_kib()
        runs.append({"reload_s": seconds, "reload_cpu_s": cpu, "rss_kib": rss,
                     "peak_rss_kib": hwm})
        time.sleep(0.3)
    return scenarios.summarize([dict(run, missing=0) for run in runs])


def policy_size(stack):
    return {table: stack.query(f"SELECT count(*) FROM {table}")[0][0]
            for table in ("certificates", "principals", "topic_acl")}


def policy_scale(stack, settings, small_throughput=None):
    """small_throughput: scenario 1's IACTN figures with the small policy, measured
    earlier in the same invocation, to pair with the large-policy runs."""
    stack.use("iactn", scenarios.BENCH_CONFIG)
    results = {"small": measure_reloads(stack, settings["repeats"])}
    results["small"]["size"] = policy_size(stack)

    # --quick scales the policy down, to check the path in a few seconds
    certs_per_state = int(CERTS_PER_STATE * settings["policy_scale"])
    acl_rows = int(ACL_ROWS * settings["policy_scale"])
    acl_per_state = -(-acl_rows // len(stack.states))
    first_load_s, _, _ = timed_reload(stack, CERTS_SQL % {"per_state": certs_per_state})
    timed_reload(stack, ACL_SQL % {"per_state": acl_per_state, "rows": acl_rows})
    results["large"] = measure_reloads(stack, settings["repeats"])
    results["large"]["size"] = policy_size(stack)
    results["large"]["first_reload_s"] = first_load_s

    runs = [scenarios.throughput_run(stack, "iactn", "mixed", settings["duration"])
            for _ in range(settings["repeats"])]
    results["large"]["throughput"] = scenarios.summarize(runs)
    if small_throughput:
        results["throughput_large_vs_small"] = scenarios.ratio(
            results["large"]["throughput"]["alerts_per_s"], small_throughput["alerts_per_s"])
    results["rss_large_vs_small"] = scenarios.ratio(results["large"]["rss_kib"],
                                                    results["small"]["rss_kib"])
    return results
