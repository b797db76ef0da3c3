"""`spark.conf` reaches the local session: a Spark setting written in the settings file is the
session's when `engine: spark` connects (runtime settings apply to the running session too)."""

from __future__ import annotations

import pytest

from loyalty import engine
from loyalty.settings import load_settings
from tests.conftest import write_settings

pytestmark = pytest.mark.spark


def test_a_setting_of_spark_conf_is_the_sessions(spark, tmp_path):
    key = "spark.sql.maxPlanStringLength"  # how much of a plan Spark prints: no result moves
    before = spark.conf.get(key)
    path = write_settings(
        tmp_path,
        {"engine": "spark", "paths": {"warehouse": "warehouse"}, "spark": {"conf": {key: 12345}}},
    )
    try:
        with engine.connect(load_settings(path)) as conn:
            assert conn.spark.conf.get(key) == "12345"  # type: ignore[attr-defined]
            assert conn.spark is spark  # type: ignore[attr-defined]
    finally:
        spark.conf.set(key, before)
