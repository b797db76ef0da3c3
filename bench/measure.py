"""Running one benchmark step in a fresh process and measuring it; describing the machine.

Each step is its own process, so its peak resident memory is its own: `os.wait4` returns the
child's rusage (ru_maxrss covers the child and anything it waited for), not the running maximum
over all children that `getrusage(RUSAGE_CHILDREN)` gives.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
RESULT_TAG = "BENCH-RESULT "


@dataclass
class Measured:
    returncode: int
    wall_seconds: float  # the whole process, interpreter start and imports included
    peak_rss_mb: float
    result: dict = field(default_factory=dict)  # what the step printed after RESULT_TAG


def run_measured(
    cmd: list[str], log_path: Path, env: dict | None = None, timeout: float | None = None
) -> Measured:
    """Run `cmd` from the repository root, output to `log_path`; wall time and peak RSS. After
    `timeout` seconds the process (and only it) is stopped and the result says so."""
    started = time.perf_counter()
    timed_out = False
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - started > timeout and not timed_out:
                timed_out = True
                proc.kill()
            time.sleep(0.05)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped above; keep Popen consistent
    if timed_out:
        return Measured(
            proc.returncode, wall, usage.ru_maxrss / 1024, {"na": f"> {timeout:.0f} s (stopped)"}
        )
    result = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG) :])
    return Measured(proc.returncode, wall, usage.ru_maxrss / 1024, result)


def report_result(result: dict) -> None:
    """Called by a step process: hand its measurements to the parent."""
    print(RESULT_TAG + json.dumps(result, default=str), flush=True)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def machine() -> dict:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": model,
        "load_avg": os.getloadavg(),
    }
