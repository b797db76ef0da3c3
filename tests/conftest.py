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


# The longest test files, longest first (seconds in the whole suite on 2 cores, stop 49). With
# `--dist loadfile --no-loadscope-reorder` (scripts/test.sh) xdist hands files to its two workers in
# this collection order, so the longest start first and the short ones fill in behind them; its
# default order (most tests first) started the Spark run test (about 560 s) last.
LONGEST_FIRST = (
    "test_spark_run.py",  # 558
    "test_bench_smoke.py",  # 153
    "test_spark_parity.py",  # 121
    "test_spark_ingest.py",  # 95
    "test_cli.py",  # 83
    "test_table_parity.py",  # 67
    "test_sql_lint.py",  # 63
    "test_orchestration_e2e.py",  # 56
    "test_model_vs_pymc.py",  # 50
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep order
