"""Helpers shared by the pytest files: the CLI binary to compare with, and a child process
interrupted with SIGINT."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

#: The dgeval command-line binary (DGEVAL_CLI); tests comparing with it skip without it.
CLI = os.environ.get("DGEVAL_CLI", "")
needs_cli = pytest.mark.skipif(
    not (CLI and os.path.isfile(CLI) and os.access(CLI, os.X_OK)),
    reason="set DGEVAL_CLI to the dgeval command-line binary to compare with it",
)


def cli(*args, check=True):
    """Runs the CLI with `args`; the CompletedProcess (text output)."""
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=check, timeout=120)


def interrupt_child(script, *args, delay=0.3):
    """Runs `python -c script args...`, waits for it to print "ready", sends SIGINT after `delay`
    seconds and returns (returncode, stdout, stderr, seconds from the signal to the exit)."""
    child = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        sent = time.perf_counter()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=30)
        waited = time.perf_counter() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return child.returncode, out, err, waited


def ticks_inside(run):
    """Runs `run()` on a thread while this one ticks every millisecond; returns (the run's
    duration, how many ticks fell in its middle 60%). A run that held the GIL throughout would
    leave no ticks there."""
    span = {}

    def work():
        span["start"] = time.perf_counter()
        run()
        span["end"] = time.perf_counter()

    t = threading.Thread(target=work)
    stamps = []
    t.start()
    while t.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    duration = span["end"] - span["start"]
    return duration, len([s for s in stamps if span["start"] + 0.2 * duration < s < span["end"] - 0.2 * duration])
