"""The benchmark scenarios. Each returns a dict of results for latest.json. Every
figure is the median of several runs and is paired with a baseline measured in the
same invocation."""

import statistics
import time

import loadgen
from loadgen import BenchError, Subscribers, run_tool, publisher_argv

# Four origins publish at once, from four different states.
ORIGINS = ["CO", "MX", "CA", "BR"]

# mosquitto drops QoS 1 messages for a client once 1000 wait in its queue (the
# default of max_queued_messages, which deploy/mosquitto.conf.in keeps). Subscribers
# on this 2-core machine fall behind a publisher running flat out, so every broker
# setup gets a larger queue: the figures then count every delivery, none dropped.
BENCH_CONFIG = ["max_queued_messages 1000000"]

# Replaces "log_type all" with error, warning, notice and information lines, to show
# what per-packet debug logging costs. deploy/mosquitto.conf.in now ships the quiet
# form, so the replacement only applies to a configuration that still logs everything.
QUIET_LOG = {"log_type all": "log_type error\nlog_type warning\nlog_type notice\n"
                             "log_type information"}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(value, baseline):
    return value / baseline if value is not None and baseline else None


def expected_deliveries(variant, report, n_states):
    """Deliveries the subscribers should see: through the stamp with the plugin,
    every alert to every state without it."""
    if variant == "iactn":
        return sum(report["expected"].values())
    return report["acked"] * n_states


def throughput_run(stack, variant, mix, duration):
    """One publish-throughput run; returns its figures."""
    subscribers = Subscribers(stack)
    cpu_start = stack.broker_cpu_seconds()
    try:
        report = run_tool(publisher_argv(stack, ORIGINS, mix, duration=duration),
                          duration + 120)
        expected = expected_deliveries(variant, report, len(stack.states))
        subscribers.wait_for(expected)
        cpu = stack.broker_cpu_seconds() - cpu_start
    finally:
        reports = subscribers.stop()
    received = sum(r["received"] for r in reports)
    end_ns = max([report["last_ack_ns"]] + [r["last_ns"] for r in reports])
    elapsed = (end_ns - report["start_ns"]) / 1e9
    return {
        "alerts": report["acked"],
        "rejected": report["rejected"],
        "deliveries": received,
        "missing": expected - received,
        "elapsed_s": elapsed,
        "alerts_per_s": report["acked"] / elapsed,
        "deliveries_per_s": received / elapsed,
        # CPU time the broker spent, including the drain after the last publish
        "broker_cpu_us_per_alert": cpu * 1e6 / max(report["acked"], 1),
        "broker_cpu_us_per_delivery": cpu * 1e6 / max(received, 1),
    }


def summarize(runs):
    keys = runs[0].keys()
    summary = {key: median([run[key] for run in runs]) for key in keys}
    summary["missing"] = sum(run["missing"] for run in runs)
    summary["runs"] = runs
    return summary


def publish_throughput(stack, settings, variants=("iactn", "bare", "dynsec")):
    """Scenario 1. Runs are interleaved (iactn, bare, dynsec, iactn, ...) so that a
    drift of the machine touches every setup alike. The mixes "mixed" and "broadcast"
    use the deployed logging; "mixed_quiet_log" repeats the mixed pairing with
    QUIET_LOG."""
    cases = [(mix, variant) for mix in ("mixed", "broadcast") for variant in variants]
    cases += [("mixed_quiet_log", variant) for variant in variants[:2]]
    runs = {case: [] for case in cases}
    for _ in range(settings["throughput_repeats"]):
        for mix, variant in cases:
            quiet = mix.endswith("_quiet_log")
            stack.use(variant, BENCH_CONFIG, QUIET_LOG if quiet else None)
            runs[(mix, variant)].append(throughput_run(
                stack, variant, mix[:-len("_quiet_log")] if quiet else mix,
                settings["duration"]))
    results = {}
    for mix, variant in cases:
        results.setdefault(mix, {})[variant] = summarize(runs[(mix, variant)])
    for mix, data in results.items():
        for baseline in [v for v in data if v != "iactn"]:
            data[f"iactn_vs_{baseline}"] = ratio(data["iactn"]["alerts_per_s"],
                                                 data[baseline]["alerts_per_s"])
    return results


def latency_run(stack, variant, rate, duration):
    subscribers = Subscribers(stack, latency=True)
    try:
        report = run_tool(publisher_argv(stack, ORIGINS, "mixed", duration=duration,
                                         rate=rate, window=1000), duration + 120)
        expected = expected_deliveries(variant, report, len(stack.states))
        subscribers.wait_for(expected)
    finally:
        reports = subscribers.stop()
    histogram = loadgen.merge_histograms(reports)
    bucket_us = reports[0]["bucket_us"]
    received = sum(r["received"] for r in reports)
    elapsed = (report["end_ns"] - report["start_ns"]) / 1e9
    return {
        "alerts_per_s": report["acked"] / elapsed,
        "deliveries_per_s": received / elapsed,
        "missing": expected - received,
        "mean_recipients": expected / max(report["acked"], 1),
        "p50_ms": loadgen.percentile_ms(histogram, bucket_us, 0.50),
        "p99_ms": loadgen.percentile_ms(histogram, bucket_us, 0.99),
        "p999_ms": loadgen.percentile_ms(histogram, bucket_us, 0.999),
        "max_ms": loadgen.percentile_ms(histogram, bucket_us, 1.0),
    }


def latency_at(stack, settings, rate):
    cases = {"iactn": [], "bare": [], "bare_equal_deliveries": []}
    for _ in range(settings["repeats"]):
        stack.use("iactn", BENCH_CONFIG)
        iactn = latency_run(stack, "iactn", rate, settings["duration"])
        cases["iactn"].append(iactn)
        stack.use("bare", BENCH_CONFIG)
        cases["bare"].append(latency_run(stack, "bare", rate, settings["duration"]))
        equal_rate = rate * iactn["mean_recipients"] / len(stack.states)
        cases["bare_equal_deliveries"].append(
            latency_run(stack, "bare", equal_rate, settings["duration"]))
    results = {name: summarize(runs) for name, runs in cases.items()}
    for name in ("bare", "bare_equal_deliveries"):
        results[f"p99_iactn_vs_{name}"] = ratio(results["iactn"]["p99_ms"],
                                                results[name]["p99_ms"])
    return results


def latency(stack, settings):
    """Scenario 2: latency at fixed rates of alerts with mixed recipients. Without the
    plugin every subscriber receives every alert, so the baseline runs twice: at the
    same alert rate, and at the alert rate that gives the same deliveries per second
    as IACTN (bare_equal_deliveries)."""
    return {str(rate): latency_at(stack, settings, rate) for rate in settings["rates"]}


def wait_for_archive(stack, expected, quiet_seconds=5, timeout=600):
    """Wait until the alerts table holds expected rows, or stops growing."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        rows = stack.query("SELECT count(*) FROM alerts")[0][0]
        if rows >= expected:
            return rows
        if rows != last:
            last, last_change = rows, time.monotonic()
        elif time.monotonic() - last_change > quiet_seconds:
            return rows
        time.sleep(0.2)
    return last


def archive_run(stack, bridges, count):
    stack.query("TRUNCATE alerts CASCADE")
    report = run_tool(publisher_argv(stack, ORIGINS, "broadcast", count=count), 600)
    archived = wait_for_archive(stack, report["acked"])
    # archived_at is the time of each row's own transaction, so the span between the
    # first and the last row is the time the bridges took, to the microsecond
    span = stack.query("SELECT extract(epoch FROM max(archived_at) - min(archived_at)) "
                       "FROM alerts")[0][0]
    bridge_rate = (archived - 1) / float(span) if span else None
    conninfo = stack.conninfo
    insert = run_tool([loadgen.tool("bench-archive"), "--db", conninfo, "--mode", "insert",
                       "--connections", str(bridges)], 600)
    copy = run_tool([loadgen.tool("bench-archive"), "--db", conninfo, "--mode", "copy",
                     "--connections", str(bridges)], 600)
    return {
        "alerts": report["acked"],
        "archived": archived,
        "missing": report["acked"] - archived,
        "bridge_alerts_per_s": bridge_rate,
        "insert_rows_per_s": insert["rows_per_s"],
        "copy_rows_per_s": copy["rows_per_s"],
    }


def archive(stack, settings, bridges=2):
    """Scenario 3: iactn-bridge against one-row transactions and COPY of the same rows
    from the same number of connections, on a PostgreSQL that syncs every commit."""
    stack.use("iactn", BENCH_CONFIG)
    stack.start_bridges(bridges)
    try:
        time.sleep(1.5)  # the bridges subscribe after connecting
        runs = [archive_run(stack, bridges, settings["archive_alerts"])
                for _ in range(settings["repeats"])]
    finally:
        stack.stop_bridges()
    results = summarize(runs)
    results["bridges"] = bridges
    results["bridge_vs_insert"] = ratio(results["bridge_alerts_per_s"],
                                        results["insert_rows_per_s"])
    results["bridge_vs_copy"] = ratio(results["bridge_alerts_per_s"],
                                      results["copy_rows_per_s"])
    return results


def storm_run(stack, count, workers):
    identities = [stack.identity(state, "x") for state in stack.states]
    argv = [loadgen.tool("bench-connect"), "--port", str(stack.mqtt_port), "--ca",
            stack.ca_file, "--count", str(count), "--workers", str(workers)]
    for identity in identities:
        # bench-connect appends -storm-N to the client id it is given
        argv += ["--client", identity.rsplit("-", 1)[0]]
    cpu_start = stack.broker_cpu_seconds()
    report = run_tool(argv, 600)
    report["broker_cpu_ms_per_connect"] = (stack.broker_cpu_seconds() - cpu_start) * 1e3 / count
    report["missing"] = report["refused"]
    return report


def connection_storm(stack, settings, workers=4):
    """Scenario 4: mTLS connects with the plugin's certificate lookup and without."""
    runs = {"iactn": [], "bare": []}
    for _ in range(settings["repeats"]):
        for variant in runs:
            stack.use(variant, BENCH_CONFIG)
            runs[variant].append(storm_run(stack, settings["storm_connects"], workers))
    results = {}
    for variant, variant_runs in runs.items():
        results[variant] = {
            key: median([run[key] for run in variant_runs])
            for key in ("connects_per_s", "elapsed_s", "broker_cpu_ms_per_connect")}
        results[variant]["p50_ms"] = median([r["latency_ms"]["p50"] for r in variant_runs])
        results[variant]["p99_ms"] = median([r["latency_ms"]["p99"] for r in variant_runs])
        results[variant]["refused"] = sum(r["refused"] for r in variant_runs)
        results[variant]["runs"] = variant_runs
    results["connects"] = settings["storm_connects"]
    results["iactn_vs_bare"] = ratio(results["iactn"]["connects_per_s"],
                                     results["bare"]["connects_per_s"])
    return results
