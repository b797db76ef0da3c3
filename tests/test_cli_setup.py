"""scripts/setup.sh says what it is doing, one line per phase, instead of minutes of silence.

The script runs on a copy of itself in a temporary folder whose Python is a stand-in that records
its arguments and creates the virtual environment's `python` (the same stand-in): the phases and
their order are the script's, nothing is installed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.conftest import REPO

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$0 $*" >> "{log}"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
if [ "$1" = "--version" ]; then echo "Python 3.11.0"; fi
exit 0
"""


def _setup(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    log = tmp_path / "calls.log"
    fake = tmp_path / "fake_python"
    fake.write_text(FAKE_PYTHON.format(log=log), encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "setup.sh"), *args],
        env={**os.environ, "PYTHON": str(fake)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return done, calls


def test_a_first_install_prints_each_phase_in_order(tmp_path):
    done, calls = _setup(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["setup"] * len(lines)
    phases = [
        "creating the virtual environment",
        "updating pip",
        "installing the project and its packages",
        "packages installed in",
        "done",
    ]
    assert len(lines) == len(phases)
    for line, phase in zip(lines, phases, strict=True):
        assert line.startswith(f"setup: {phase}"), (line, phase)
    assert "a few minutes" in lines[2]
    # pip itself stays quiet: every pip call has --quiet
    pip_calls = [c for c in calls if " pip install " in c]
    assert len(pip_calls) == 2 and all("--quiet" in c for c in pip_calls)


def test_a_second_install_reuses_the_environment(tmp_path):
    _setup(tmp_path)
    done, _ = _setup(tmp_path)  # not "--test": that may call apt-get on a machine without chromium
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "setup: using the existing virtual environment .venv"
    assert "creating" not in done.stdout
