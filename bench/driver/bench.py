"""Driver of bench/run: starts the servers, runs the scenarios, prints a table and
writes bench/results/latest.json. See docs/benchmarks.md."""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import loadgen
import policy_scale
import callgrind
import scenarios
from stack import BenchStack

SCENARIOS = ("throughput", "latency", "archive", "storm", "policy")
# Run only when named in --only, because the broker then runs under valgrind.
OPTIONAL_SCENARIOS = ("profile",)

# Figures per run; --quick keeps every pairing but shortens and repeats less.
SETTINGS = {
    # Publish throughput is repeated more: the VM's own speed moves bare mosquitto's
    # rate by several per cent between runs, as much as the differences measured.
    "full": {"repeats": 3, "throughput_repeats": 5, "duration": 5, "rates": [250, 1000],
             "archive_alerts": 10000, "storm_connects": 1000, "policy_scale": 1.0},
    "quick": {"repeats": 1, "throughput_repeats": 1, "duration": 2, "rates": [1000],
              "archive_alerts": 1000, "storm_connects": 200, "policy_scale": 0.1},
}


def machine():
    with open("/proc/cpuinfo") as handle:
        models = [line.split(":", 1)[1].strip() for line in handle
                  if line.startswith("model name")]
    with open("/proc/meminfo") as handle:
        mem_kib = int(handle.readline().split()[1])
    mosquitto = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "mosquitto"],
                               capture_output=True, text=True).stdout
    return {"nproc": os.cpu_count(), "cpu": models[0] if models else platform.machine(),
            "ram_gib": round(mem_kib / 1024 / 1024, 1), "kernel": platform.release(),
            "mosquitto": mosquitto}


def fmt(value, digits=0):
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:.{digits}f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def goal_text(met):
    if met is None:
        return "-"
    return "met" if met else "NOT met"


def table_rows(results):
    """Rows (scenario, figure, IACTN, baseline, ratio, goal) of the summary table."""
    rows = []
    for mix, data in results.get("throughput", {}).items():
        for baseline in [b for b in ("bare", "dynsec") if b in data]:
            r = data[f"iactn_vs_{baseline}"]
            if baseline == "bare":
                goal = goal_text(r >= 0.95 if r else None) + " (>=0.95)"
            else:
                goal = goal_text(r > 1.0 if r else None) + " (>1)"
            rows.append((f"1 publish {mix}", f"alerts/s vs {baseline}",
                         fmt(data["iactn"]["alerts_per_s"]),
                         fmt(data[baseline]["alerts_per_s"]), fmt(r, 2), goal))
        rows.append((f"1 publish {mix}", "broker CPU us/delivery vs bare",
                     fmt(data["iactn"]["broker_cpu_us_per_delivery"], 1),
                     fmt(data["bare"]["broker_cpu_us_per_delivery"], 1),
                     fmt(scenarios.ratio(data["iactn"]["broker_cpu_us_per_delivery"],
                                         data["bare"]["broker_cpu_us_per_delivery"]), 2),
                     "-"))
    for rate, lat in results.get("latency", {}).items():
        for q in ("p50_ms", "p99_ms", "p999_ms"):
            goal = lat["iactn"][q] < 10 if q == "p99_ms" and rate == "1000" else None
            rows.append((f"2 latency {rate}/s", f"{q[:-3]} ms vs bare (same deliveries/s)",
                         fmt(lat["iactn"][q], 2), fmt(lat["bare_equal_deliveries"][q], 2),
                         fmt(scenarios.ratio(lat["iactn"][q],
                                             lat["bare_equal_deliveries"][q]), 2),
                         goal_text(goal) + (" (<10 ms)" if goal is not None else "")))
    ar = results.get("archive")
    if ar:
        ok = (ar["bridge_vs_insert"] or 0) >= 0.8 and (ar["bridge_alerts_per_s"] or 0) >= 5000
        rows.append((f"3 archive, {ar['bridges']} bridges", "alerts/s vs one-row commits",
                     fmt(ar["bridge_alerts_per_s"]), fmt(ar["insert_rows_per_s"]),
                     fmt(ar["bridge_vs_insert"], 2), goal_text(ok) + " (>=0.8, >=5000/s)"))
        rows.append((f"3 archive, {ar['bridges']} bridges", "alerts/s vs COPY",
                     fmt(ar["bridge_alerts_per_s"]), fmt(ar["copy_rows_per_s"]),
                     fmt(ar["bridge_vs_copy"], 2), "-"))
    st = results.get("storm")
    if st:
        r = st["iactn_vs_bare"]
        rows.append((f"4 storm, {st['connects']} connects", "connects/s vs bare",
                     fmt(st["iactn"]["connects_per_s"]), fmt(st["bare"]["connects_per_s"]),
                     fmt(r, 2), goal_text(r >= 0.9 if r else None) + " (>=0.90)"))
    profile = results.get("profile", {})
    for label in ("small", "large_acl"):
        pr = profile.get(label)
        for key, figure in (("acl_on_check_per_check", "instructions per ACL check"),
                            ("rules_allow_per_alert", "instructions in rules_allow per alert"),
                            ("message_on_message_per_alert",
                             "instructions per message event")):
            if pr:
                rows.append((f"6 callgrind, {label} policy", figure, fmt(pr[key]), "-", "-",
                             "-"))
    if "broadcast" in profile:
        rows.append(("6 callgrind, broadcast", "broker instructions per alert vs bare",
                     fmt(profile["broadcast"]["broker_per_alert"]),
                     fmt(profile["broadcast_bare"]["broker_per_alert"]),
                     fmt(profile["broadcast_iactn_vs_bare"], 2), "-"))
    po = results.get("policy")
    if po:
        rows.append(("5 policy scale", "broker CPU s per reload, large vs small",
                     fmt(po["large"]["reload_cpu_s"], 2), fmt(po["small"]["reload_cpu_s"], 2),
                     "-", "-"))
        rows.append(("5 policy scale", "reload s, large vs small",
                     fmt(po["large"]["reload_s"], 3), fmt(po["small"]["reload_s"], 3),
                     fmt(scenarios.ratio(po["large"]["reload_s"], po["small"]["reload_s"]), 1),
                     "-"))
        rows.append(("5 policy scale", "broker RSS MiB, large vs small",
                     fmt(po["large"]["rss_kib"] / 1024, 1), fmt(po["small"]["rss_kib"] / 1024, 1),
                     fmt(po["rss_large_vs_small"], 2), "-"))
        rows.append(("5 policy scale", "alerts/s mixed, large vs small",
                     fmt(po["large"]["throughput"]["alerts_per_s"]),
                     fmt(results.get("throughput", {}).get("mixed", {}).get("iactn", {})
                         .get("alerts_per_s")),
                     fmt(po.get("throughput_large_vs_small"), 2), "-"))
    return rows


def print_table(rows):
    header = ("scenario", "figure", "IACTN", "baseline", "ratio", "goal")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(6)]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def lost_deliveries(results):
    """Sum the 'missing' counts anywhere in the results: deliveries, archive rows or
    connections that never arrived. A figure with losses is not comparable."""
    if isinstance(results, dict):
        own = results.get("missing", 0) if isinstance(results.get("missing"), int) else 0
        return own + sum(lost_deliveries(v) for k, v in results.items()
                         if k not in ("runs", "missing"))
    return 0


def main():
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="one short run of each pairing (1-2 minutes), a smoke check")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated scenarios to run (default: {','.join(SCENARIOS)})")
    parser.add_argument("--output", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results", "latest.json"),
        help="where to write the JSON results")
    args = parser.parse_args()
    wanted = args.only.split(",")
    unknown = set(wanted) - set(SCENARIOS) - set(OPTIONAL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    settings = SETTINGS["quick" if args.quick else "full"]
    started = time.monotonic()
    results = {}
    with BenchStack() as stack:
        stack.register_states()
        if "throughput" in wanted:
            results["throughput"] = scenarios.publish_throughput(stack, settings)
        if "latency" in wanted:
            results["latency"] = scenarios.latency(stack, settings)
        if "archive" in wanted:
            results["archive"] = scenarios.archive(stack, settings)
        if "storm" in wanted:
            results["storm"] = scenarios.connection_storm(stack, settings)
        if "policy" in wanted:
            small = results.get("throughput", {}).get("mixed", {}).get("iactn")
            results["policy"] = policy_scale.policy_scale(stack, settings, small)
        if "profile" in wanted:
            results["profile"] = callgrind.profile(stack, settings)
    document = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "command": " ".join(["bench/run"] + sys.argv[1:]),
        "machine": machine(),
        "settings": settings,
        "elapsed_s": round(time.monotonic() - started, 1),
        "results": results,
    }
    rows = table_rows(results)
    document["table"] = [dict(zip(("scenario", "figure", "iactn", "baseline", "ratio", "goal"),
                                  row)) for row in rows]
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    print_table(rows)
    lost = lost_deliveries(results)
    print(f"\n{document['mode']} run took {document['elapsed_s']} s; results in {args.output}")
    if lost:
        print(f"WARNING: {lost} deliveries, archive rows or connections were lost; "
              "the figures that include them are not comparable", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except loadgen.BenchError as error:
        print(f"bench/run: {error}", file=sys.stderr)
        sys.exit(1)
