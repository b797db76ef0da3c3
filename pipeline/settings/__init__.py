"""The settings file: one YAML document, validated on load.

Every key, its default and its meaning is documented in `docs/settings.md`; `settings.yaml` at the repo
root is the sample's settings and `examples/` holds the real-data mappings. Relative paths are
resolved against the folder of the settings file, so a settings file can be used from any directory.
Secrets never live here: SMTP credentials come from environment variables (see `EmailSettings`).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from loyalty import vocab
from loyalty.contracts import CONTRACTS
from loyalty.settings.base import SettingsError, _check_tz, _Strict
from loyalty.settings.insight import Impact
from loyalty.settings.metrics import (
    Churn,
    Kpi,
    Lifecycle,
    Metrics,
    RfmBins,
    SegmentRule,
    SlaHours,
    TierThresholds,
    Weights,
    _default_kpis,
)
from loyalty.settings.model import ModelSettings, StatusBands
from loyalty.settings.playbook import Playbook, PlaybookRule
from loyalty.settings.sources import ReaderOptions, SourceMapping
from loyalty.sizes import ByteSize

__all__ = [
    "ByteSize",
    "Churn",
    "DuckDBSettings",
    "Impact",
    "Kpi",
    "Lifecycle",
    "Metrics",
    "ModelSettings",
    "Playbook",
    "PlaybookRule",
    "ReaderOptions",
    "RfmBins",
    "SegmentRule",
    "Settings",
    "SettingsError",
    "SlaHours",
    "SourceMapping",
    "StatusBands",
    "TierThresholds",
    "Weights",
    "deep_merge",
    "load_settings",
    "parse_overrides",
]


class Paths(_Strict):
    landing: Path = Path("data/sample")
    database: Path = Path("out/loyalty.duckdb")
    output: Path = Path("out/reports")
    temp: Path = Path("out/tmp")
    # the Dagster instance folder `loyalty run` records its runs in, so the UI shows them
    # (the DAGSTER_HOME environment variable wins); None: runs are not kept
    dagster_home: Path | None = None
    # engine: spark: the tables, one Parquet folder each (<warehouse>/<table>/); a local folder,
    # or a URL Spark writes to (s3a://bucket/loyalty, hdfs://...)
    warehouse: str = "out/warehouse"


# DuckDB's reading of size units: KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB of 1024


class DuckDBSettings(_Strict):
    memory_limit: ByteSize = ByteSize("2GB")
    threads: int | None = Field(default=None, ge=1)

    @property
    def memory_limit_bytes(self) -> int:
        """`memory_limit` in bytes (DuckDB's reading: GB = 10^9, GiB = 2^30)."""
        return self.memory_limit.bytes


class SparkSettings(_Strict):
    """engine: spark. A local session `local[cores]` unless LOYALTY_SPARK_REMOTE names a Spark
    Connect server (then the cluster's own settings apply and these are not used)."""

    cores: int = Field(default=2, ge=1)
    driver_memory: str = "1g"
    shuffle_partitions: int = Field(default=2, ge=1)
    # any other Spark setting of the local session, by Spark's own name
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("conf")
    @classmethod
    def _own_keys(
        cls, conf: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for key in conf:
            if not key.startswith("spark."):
                raise ValueError(f"{key!r} is not a Spark setting (they begin with 'spark.')")
            if key in SPARK_FIXED:
                raise ValueError(f"{key!r} {SPARK_FIXED[key]}")
        return conf

    def conf_strings(self) -> dict[str, str]:
        """`conf` as Spark takes it: text, booleans as `true`/`false`."""
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.conf.items()}


# Spark settings `spark.conf` may not hold: those with a key of their own, or the engine's
SPARK_FIXED = {
    "spark.master": "is `local[spark.cores]`, or the Spark Connect server's",
    "spark.driver.memory": "is set by `spark.driver_memory`",
    "spark.sql.shuffle.partitions": "is set by `spark.shuffle_partitions`",
    "spark.default.parallelism": "is set by `spark.shuffle_partitions`",
    "spark.sql.session.timeZone": "is UTC: the engine computes days in `timezone` itself",
    "spark.sql.sources.partitionOverwriteMode": "is `dynamic`: a day range replaces its days only",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "is `true`: timestamps are read back unshifted",
}


class Ingest(_Strict):
    quarantine_threshold: float = Field(default=0.05, ge=0, le=1)
    freshness_days: int = Field(default=2, ge=0)
    # a longer value (in characters) quarantines its record with reason too_long
    max_field_chars: int = Field(default=100_000, ge=1)


class Reports(_Strict):
    at_risk_top_n: int = Field(default=50, ge=1)
    segments: list[str] = Field(default_factory=lambda: list(vocab.TIER_KEYS))
    currency: str = "GBP"
    trend_weeks: int = Field(default=12, ge=1)
    # rows of each workbook's customers (and churn warnings) sheet: the top by value; the full list
    # is a CSV beside the workbook. Bounded by Excel's 1,048,576 rows (one is the header).
    workbook_customer_rows: int = Field(default=50_000, ge=1, le=1_048_575)
    # verbatim survey comments of the week shown per class (NPS group or CSAT class), PII masked
    comments_per_class: int = Field(default=5, ge=0, le=100)


class EmailSettings(_Strict):
    """Weekly email and failure alerts.

    SMTP connection details come only from the environment: LOYALTY_SMTP_HOST, LOYALTY_SMTP_PORT,
    LOYALTY_SMTP_TLS (none | starttls | ssl), LOYALTY_SMTP_USER, LOYALTY_SMTP_PASSWORD.
    """

    enabled: bool = False
    dry_run: bool = True  # write .eml files into the output folder instead of sending
    sender: str = "loyalty-pipeline@localhost"
    recipients: list[str] = Field(default_factory=list)
    operators: list[str] = Field(default_factory=list)  # run-failure alerts
    subject_prefix: str = "[Loyalty]"
    ui_base_url: str = "http://127.0.0.1:3000"


class Schedules(_Strict):
    nightly_cron: str = "0 2 * * *"
    weekly_cron: str = "0 7 * * 1"
    start_date: dt.date = dt.date(2024, 1, 1)  # first day of the daily/weekly partitions


class Settings(_Strict):
    timezone: str = "UTC"
    locale: Literal["en", "zh-CN"] | list[Literal["en", "zh-CN"]] = "en"  # one or several
    paths: Paths = Paths()
    duckdb: DuckDBSettings = DuckDBSettings()
    # which engine computes the tables: duckdb (one file, one machine) or spark (docs/scale-out.md)
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark: SparkSettings = SparkSettings()
    ingest: Ingest = Ingest()
    sources: dict[str, SourceMapping] = Field(default_factory=dict)
    metrics: Metrics = Metrics()
    model: ModelSettings = ModelSettings()
    impact: Impact = Impact()  # service_impact and say_do (docs/metrics.md)
    kpis: dict[str, Kpi] = Field(default_factory=_default_kpis)
    playbook: Playbook = Playbook()  # the weekly action list (docs/settings.md, "playbook")
    reports: Reports = Reports()
    email: EmailSettings = EmailSettings()
    schedules: Schedules = Schedules()
    # folder of the settings file; relative paths are resolved against it
    base_dir: Path = Path(".")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        _check_tz(v)
        return v

    @field_validator("sources")
    @classmethod
    def _known_kinds(cls, v: dict[str, SourceMapping]) -> dict[str, SourceMapping]:
        for kind, mapping in v.items():
            if kind not in CONTRACTS:
                raise ValueError(f"unknown source kind {kind!r}; expected one of {list(CONTRACTS)}")
            unknown = set(mapping.columns) - set(CONTRACTS[kind].names)
            if unknown:
                raise ValueError(
                    f"{kind}.columns maps unknown contract columns {sorted(unknown)}; "
                    f"the {kind} contract has {CONTRACTS[kind].names}"
                )
        for kind, contract in CONTRACTS.items():
            if not contract.optional_kind and kind not in v:
                raise ValueError(f"a mapping for {kind!r} is required")
        return v

    @field_validator("kpis")
    @classmethod
    def _known_kpis(cls, v: dict[str, Kpi]) -> dict[str, Kpi]:
        unknown = set(v) - set(vocab.KPI_NAMES)
        if unknown:
            raise ValueError(f"unknown KPI {sorted(unknown)}; known: {sorted(vocab.KPI_NAMES)}")
        return {**_default_kpis(), **v}

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def database_path(self) -> Path:
        return self.path(self.paths.database)

    @property
    def landing_path(self) -> Path:
        return self.path(self.paths.landing)

    @property
    def output_path(self) -> Path:
        return self.path(self.paths.output)

    @property
    def temp_path(self) -> Path:
        return self.path(self.paths.temp)

    @property
    def warehouse_path(self) -> str:
        """paths.warehouse: a local folder resolved like every path, a URL as it is."""
        where = self.paths.warehouse
        return where if "://" in where else str(self.path(Path(where)))

    @property
    def dagster_home_path(self) -> Path | None:
        home = self.paths.dagster_home
        return None if home is None else self.path(home)


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _format_errors(source: str, err: ValidationError) -> str:
    lines = [f"{source}: invalid settings"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; docs/settings.md lists every key)"
        lines.append(f"  - {key}: {msg}")
    return "\n".join(lines)


def parse_overrides(text: str | dict | None) -> dict:
    """Overrides for one run (launchpad or CLI): a YAML/JSON mapping merged onto the file."""
    if not text:
        return {}
    if isinstance(text, dict):
        return text
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SettingsError(f"run overrides are not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError("run overrides must be a mapping, e.g. 'metrics: {active_days: 60}'")
    return data


def load_settings(path: str | Path, overrides: str | dict | None = None) -> Settings:
    path = Path(path)
    if not path.exists():
        raise SettingsError(f"settings file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise SettingsError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of keys")
    raw = deep_merge(raw, parse_overrides(overrides))
    if "base_dir" in raw:
        raise SettingsError(
            f"{path}: base_dir: unknown key (paths are relative to the settings file)"
        )
    raw["base_dir"] = path.resolve().parent
    try:
        return Settings.model_validate(raw)
    except ValidationError as e:
        raise SettingsError(_format_errors(str(path), e)) from None
