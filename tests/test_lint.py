"""The code stays lint-clean and formatted (ruff, configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

FOLDERS = ["pipeline", "assets", "reports", "sql", "tests", "bench", "scripts"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    return subprocess.run(
        [ruff, *args, *FOLDERS], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_ruff_finds_nothing():
    result = _ruff("check")
    assert result.returncode == 0, result.stdout[-3000:]


def test_code_is_formatted():
    result = _ruff("format", "--check")
    assert result.returncode == 0, "run `ruff format`:\n" + result.stdout[-3000:]
