"""The SQL files stay uniform: sqlfluff (dialect duckdb, rules in .sqlfluff) finds nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def test_sqlfluff_finds_nothing():
    sqlfluff = shutil.which("sqlfluff") or str(Path(sys.executable).with_name("sqlfluff"))
    if not Path(sqlfluff).exists():
        pytest.skip("sqlfluff is not installed: pip install -e '.[test]' brings it")
    result = subprocess.run(
        [sqlfluff, "lint", "sql", "--processes", "1", "--disable-progress-bar"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
