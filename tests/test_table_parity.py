"""No behaviour change: every table and view of the sample's database, row for row, equals the
digest recorded from the code before the architecture rework (tests/data/sample_tables.json,
written by scripts/table_digest.py). Two runs, as a user makes them: up to 2026-11-08, then up to
2026-11-15 with the weekly email (dry run), so the incremental paths (carried snapshot, period marts
built from the last build, KPI board reusing a stored day) are in the digest too.

A change that is meant to change a table re-records the digest:
    python scripts/table_digest.py out/loyalty.duckdb --json tests/data/sample_tables.json
after the same two runs (see `_run` below), and says why in the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO / "scripts"))
from table_digest import compare, digests  # noqa: E402


def _run(settings: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loyalty.cli", "run", "--settings", str(settings), *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_sample_tables_equal_recorded_digest(tmp_path):
    data = yaml.safe_load((REPO / "settings.yaml").read_text(encoding="utf-8"))
    data["paths"] = {
        "landing": str(REPO / "data" / "sample"),
        "database": str(tmp_path / "loyalty.duckdb"),
        "output": str(tmp_path / "reports"),
        "temp": str(tmp_path / "tmp"),
    }
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    _run(settings, "--as-of", "2026-11-08")
    _run(settings, "--as-of", "2026-11-15", "--email")
    recorded = json.loads((REPO / "tests" / "data" / "sample_tables.json").read_text("utf-8"))
    got = compare(digests(tmp_path / "loyalty.duckdb"), recorded)
    assert got == [], "\n".join(got)
