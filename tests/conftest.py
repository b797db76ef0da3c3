"""Shared fixtures: a settings file in a temporary folder pointing at a temporary DuckDB file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED_REAL = REPO.parent / "shared" / "data" / "real"

# the code location reads its partitions from this file at import time
os.environ.setdefault("LOYALTY_SETTINGS", str(REPO / "settings.yaml"))


def write_settings(folder: Path, extra: dict | None = None) -> Path:
    """A settings file in `folder` whose landing folder is `folder/landing` and database
    `folder/loyalty.duckdb`; `extra` is merged on top (one level deep per top key)."""
    data = {
        "timezone": "UTC",
        "paths": {
            "landing": "landing",
            "database": "loyalty.duckdb",
            "output": "reports",
            "temp": "tmp",
        },
        "duckdb": {"memory_limit": "1GB", "threads": 2},
        "sources": {
            "orders": {"files": "orders*.csv"},
            "tickets": {"files": "tickets*.csv"},
            "surveys": {"files": "surveys*.csv"},
            "customers": {"files": "customers*.csv"},
        },
    }
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k] = {**data[k], **v}
        else:
            data[k] = v
    (folder / "landing").mkdir(parents=True, exist_ok=True)
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_settings(tmp_path)
    return tmp_path


def real_data(name: str) -> Path:
    path = SHARED_REAL / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (../shared is not beside the repo)")
    return path


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole test session (the tests marked `spark`): local[2],
    few shuffle partitions, no UI, a small driver (loyalty.spark.session), expressions interpreted
    (TEST_SPARK_CONF). Skipped without pyspark."""
    pytest.importorskip("pyspark")
    from loyalty.spark.session import get_session, stop_session
    from tests.spark_compare import TEST_SPARK_CONF

    conf = {"spark.driver.memory": "1g", **TEST_SPARK_CONF}
    session = get_session(cores=2, conf=conf, app_name="loyalty-tests")
    yield session
    stop_session(session)
