"""The settings file: every key documented, the shipped files valid."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from loyalty import vocab
from loyalty.settings import DuckDBSettings, Settings, SettingsError, SlaHours, load_settings
from tests.conftest import REPO, write_settings


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        key = f"{prefix}{name}"
        ann = field.annotation
        inner = [
            a
            for a in getattr(ann, "__args__", ())
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, key + ".")
        elif inner and name != "segment_map":
            is_dict = getattr(ann, "__origin__", None) is dict
            placeholder = {"sources": ".<kind>.", "kpis": ".<kpi>."}.get(name, ".")
            out += _keys(inner[0], key + (placeholder if is_dict else "."))
        else:
            out.append(key)
    return out


def test_every_settings_key_is_documented():
    doc = (REPO / "docs" / "settings.md").read_text()
    undocumented = []
    for key in _keys(Settings):
        last = key.split(".")[-1]
        if f"`{key}" not in doc and f"/ `.{last}`" not in doc and f"/ `.{last}" not in doc:
            undocumented.append(key)
    assert undocumented == []


def test_the_shipped_settings_files_are_valid():
    for path in [REPO / "settings.yaml", *sorted((REPO / "examples").glob("*.yaml"))]:
        s = load_settings(path)
        assert "orders" in s.sources, path


def test_sizes_are_read_as_duckdb_reads_them_and_kept_as_written():
    for text, expected in (
        ("2GB", 2 * 10**9),
        ("1.5GiB", int(1.5 * 2**30)),
        ("512MB", 512 * 10**6),
        (" 10 kib ", 10 * 2**10),
    ):
        duck = DuckDBSettings.model_validate({"memory_limit": text})
        assert duck.memory_limit_bytes == expected, text
        assert duck.memory_limit == text.strip()  # DuckDB is given the text as written
    assert DuckDBSettings().memory_limit_bytes == 2 * 10**9


def test_a_size_without_a_known_unit_is_an_error_naming_the_key(tmp_path):
    for text in ("2", "2 XB", "GB"):
        path = write_settings(tmp_path, {"duckdb": {"memory_limit": text}})
        with pytest.raises(SettingsError, match="duckdb.memory_limit: must be a size with a unit"):
            load_settings(path)


def test_defaults_name_every_priority_tier_and_kpi_of_the_vocabulary():
    s = Settings()
    assert list(SlaHours.model_fields) == list(vocab.PRIORITIES)
    assert s.metrics.sla_hours.model_dump() == vocab.DEFAULT_SLA_HOURS
    assert list(s.kpis) == list(vocab.KPI_NAMES)
    assert s.reports.segments == list(vocab.TIER_KEYS)


def test_an_unknown_kpi_is_an_error_naming_the_known_ones(tmp_path):
    path = write_settings(tmp_path, {"kpis": {"churn_rat": {"target": 0.1}}})
    with pytest.raises(
        SettingsError, match=r"unknown KPI \['churn_rat'\]; known: .*'tier_d_activation'"
    ):
        load_settings(path)


def test_spark_conf_passes_spark_settings_as_text_and_refuses_the_engines_own(tmp_path):
    path = write_settings(
        tmp_path, {"spark": {"conf": {"spark.sql.adaptive.enabled": False, "spark.x.n": 3}}}
    )
    assert load_settings(path).spark.conf_strings() == {
        "spark.sql.adaptive.enabled": "false",
        "spark.x.n": "3",
    }
    for key, says in (
        ("adaptive.enabled", "is not a Spark setting"),
        ("spark.driver.memory", "is set by `spark.driver_memory`"),
        ("spark.sql.session.timeZone", "is UTC"),
    ):
        path = write_settings(tmp_path, {"spark": {"conf": {key: "x"}}})
        with pytest.raises(SettingsError, match=rf"spark.conf.*{re.escape(says)}"):
            load_settings(path)
