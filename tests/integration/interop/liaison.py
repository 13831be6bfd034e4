"""Helpers shared by the liaison client tests: running iactn-alert and iactn-admin as
a principal of a harness Stack, and waiting for a background iactn-alert to subscribe."""

import os
import subprocess
import time

import harness

ALERT_BINARY = None
CAP_DATA_DIR = os.path.join(harness.SOURCE_DIR, "tests", "data", "cap")


def alert_binary():
    """Return the path of iactn-alert (IACTN_ALERT, else found under the build dir)."""
    global ALERT_BINARY
    if ALERT_BINARY is None:
        ALERT_BINARY = harness.find_binary("IACTN_ALERT", "iactn-alert")
    return ALERT_BINARY


def plain_env(**extra):
    """Return the environment for iactn-alert: no locale preference and no settings
    file unless the test sets one, plus `extra`."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("LANG", "LC_ALL", "LC_MESSAGES") and not key.startswith("IACTN_")}
    env["HOME"] = "/nonexistent"
    env.update(extra)
    return env


def connection(stack, principal):
    """Return the iactn-alert connection options of `principal`."""
    cert, key = stack.cert(principal)
    return ["--ca", stack.ca_file, "--cert", cert, "--key", key,
            "--host", "127.0.0.1", "--port", str(stack.mqtt_port)]


def run_alert(stack, principal, *args, env=None, stdin=subprocess.DEVNULL, timeout=60):
    """Run iactn-alert as `principal` (None: without connection options) and return
    the CompletedProcess with text output."""
    argv = [alert_binary(), *args]
    if principal is not None:
        argv += connection(stack, principal)
    return subprocess.run(argv, env=env or plain_env(), stdin=stdin, capture_output=True,
                          text=True, timeout=timeout)


def start_alert(stack, principal, *args, env=None):
    """Start iactn-alert in the background as `principal`; return the Popen."""
    argv = [alert_binary(), *args, *connection(stack, principal)]
    return subprocess.Popen(argv, env=env or plain_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_stderr_line(process, needle, timeout=15):
    """Read the process's stderr until a line contains `needle`; return the lines
    read. Raises HarnessError if the process ends or the time runs out first."""
    deadline = time.monotonic() + timeout
    lines = []
    os.set_blocking(process.stderr.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if line:
            lines.append(line)
            if needle in line:
                os.set_blocking(process.stderr.fileno(), True)
                return lines
            continue
        if process.poll() is not None:
            break
        time.sleep(0.05)
    os.set_blocking(process.stderr.fileno(), True)
    raise harness.HarnessError(f"no stderr line with {needle!r}; read {lines!r}")


def finish(process, timeout=60):
    """Wait for a background iactn-alert; return (returncode, stdout, stderr)."""
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr
