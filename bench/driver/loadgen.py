"""Runs the C load generators of bench/ and reads their JSON reports."""

import json
import os
import signal
import subprocess
import time

BUILD_DIR = os.environ["IACTN_BUILD_DIR"]


class BenchError(Exception):
    """A load generator failed or a measurement could not be completed."""


def tool(name):
    return os.path.join(BUILD_DIR, "bench", name)


def run_tool(argv, timeout):
    """Run a load generator to completion and return its JSON report."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise BenchError(f"{os.path.basename(argv[0])} exited with {result.returncode}: "
                         f"{result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class Subscribers:
    """bench-sub processes holding one connection per member state."""

    def __init__(self, stack, processes=5, latency=False, filter_="iactn/alerts/#"):
        self.processes = []
        identities = [stack.identity(state, "sub") for state in stack.states]
        per_process = -(-len(identities) // processes)
        for start in range(0, len(identities), per_process):
            argv = [tool("bench-sub"), "--port", str(stack.mqtt_port), "--ca", stack.ca_file,
                    "--filter", filter_]
            if latency:
                argv.append("--latency")
            for identity in identities[start:start + per_process]:
                argv += ["--client", identity]
            self.processes.append(subprocess.Popen(argv, stdout=subprocess.PIPE,
                                                   stderr=subprocess.PIPE, text=True))
        for process in self.processes:
            line = process.stdout.readline()
            if not line.startswith("ready"):
                self.stop()
                raise BenchError(f"bench-sub did not get ready: {process.stderr.read()[-800:]}")

    def count(self):
        """Return the messages received so far by all subscribers."""
        total = 0
        for process in self.processes:
            process.send_signal(signal.SIGUSR1)
        for process in self.processes:
            line = process.stdout.readline()
            total += int(line.split()[1])
        return total

    def wait_for(self, expected, quiet_seconds=1.0, timeout=60):
        """Wait until expected messages arrived, or no new one for quiet_seconds."""
        deadline = time.monotonic() + timeout
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            total = self.count()
            if total >= expected:
                return total
            if total != last:
                last, last_change = total, time.monotonic()
            elif time.monotonic() - last_change > quiet_seconds:
                return total
            time.sleep(0.05)
        return last

    def stop(self):
        """Stop every subscriber and return their reports."""
        reports = []
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                out, err = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if lines:
                reports.append(json.loads(lines[-1]))
        self.processes = []
        return reports


def publisher_argv(stack, origins, mix, duration=None, count=None, rate=None, window=100,
                   size=1024):
    argv = [tool("bench-pub"), "--port", str(stack.mqtt_port), "--ca", stack.ca_file,
            "--states", ",".join(stack.states), "--mix", mix, "--window", str(window),
            "--size", str(size)]
    for index, state in enumerate(origins):
        argv += ["--client", stack.identity(state, f"pub{index}", origin=True)]
    if duration:
        argv += ["--duration", str(duration)]
    if count:
        argv += ["--count", str(count)]
    if rate:
        argv += ["--rate", str(rate)]
    return argv


def merge_histograms(reports):
    """Merge the latency histograms of bench-sub reports: {bucket: count}."""
    merged = {}
    for report in reports:
        for bucket, count in report["latency"]:
            merged[bucket] = merged.get(bucket, 0) + count
    return merged


def percentile_ms(histogram, bucket_us, q):
    """Return the q-quantile (0..1) of a histogram, in ms, at the bucket's upper edge."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return (bucket + 1) * bucket_us / 1000
    return None
