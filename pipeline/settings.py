"""The settings file: one YAML document, validated on load.

Every key, its default and its meaning is documented in `docs/settings.md`; `settings.yaml` at the repo
root is the sample's settings and `examples/` holds the real-data mappings. Relative paths are
resolved against the folder of the settings file, so a settings file can be used from any directory.
Secrets never live here: SMTP credentials come from environment variables (see `EmailSettings`).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import zoneinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from loyalty import vocab
from loyalty.contracts import CONTRACTS
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema


class SettingsError(Exception):
    """A settings file that cannot be used; the message names the file, the key and the problem."""


class _Strict(BaseModel):
    # An unknown key is almost always a typo; say so instead of ignoring it.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Strict):
    landing: Path = Path("data/sample")
    database: Path = Path("out/loyalty.duckdb")
    output: Path = Path("out/reports")
    temp: Path = Path("out/tmp")


# DuckDB's reading of size units: KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB of 1024
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


class ByteSize(str):
    """A size with a unit as written in the settings ('2GB', '1.5GiB', '512MB'), parsed once.

    The text (stripped) is what DuckDB is given, so DuckDB reads the setting exactly as written;
    `.bytes` is the same size in bytes, read as DuckDB reads it (GB = 10^9, GiB = 2^30)."""

    bytes: int

    def __new__(cls, text: str) -> ByteSize:
        m = _SIZE.fullmatch(text)
        if not m or m.group(2).lower() not in _SIZE_UNITS:
            raise ValueError("must be a size with a unit, e.g. '2GB' or '512MiB'")
        size = super().__new__(cls, text.strip())
        size.bytes = int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
        return size

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


class DuckDBSettings(_Strict):
    memory_limit: ByteSize = ByteSize("2GB")
    threads: int | None = Field(default=None, ge=1)

    @property
    def memory_limit_bytes(self) -> int:
        """`memory_limit` in bytes (DuckDB's reading: GB = 10^9, GiB = 2^30)."""
        return self.memory_limit.bytes


class ReaderOptions(_Strict):
    """CSV reader options. Every one is passed explicitly to DuckDB: nothing is sniffed."""

    delimiter: str = ","
    header: bool = True
    quote: str = '"'
    escape: str = '"'
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"
    skip: int = Field(default=0, ge=0)
    # strptime formats for text timestamps/dates; None means ISO 8601 (with or without offset)
    timestamp_format: str | None = None
    date_format: str | None = None
    # source columns typed by the reader; all others are read as text
    types: dict[str, str] = Field(default_factory=dict)
    # time zone of naive timestamps in this source (default: the business time zone)
    timezone: str | None = None

    @field_validator("delimiter", "quote", "escape")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1:
            raise ValueError("must be exactly one character")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            _check_tz(v)
        return v


class SourceMapping(_Strict):
    """How one kind of export maps onto its contract (SPEC §3).

    Either `files` (one glob) with `columns` expressions over that file's columns, or `tables`
    (alias -> glob) with a `query` joining them, in which `{alias}` stands for that table.
    """

    files: str | None = None
    tables: dict[str, str] | None = None
    query: str | None = None
    reader: ReaderOptions = ReaderOptions()
    columns: dict[str, str] = Field(default_factory=dict)
    # line-level sources: group the lines by this source expression, one row per group;
    # then every column expression must be an aggregate (e.g. "sum(Quantity * UnitPrice)")
    aggregate_by: str | None = None
    filter: str | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_mode(self) -> SourceMapping:
        if bool(self.files) == bool(self.tables):
            raise ValueError("give either 'files' (a glob) or 'tables' with a 'query', not both")
        if self.tables and not self.query:
            raise ValueError("'tables' needs a 'query' that selects the contract columns")
        if self.query and not self.tables:
            raise ValueError("'query' needs 'tables' (alias: glob) to read from")
        return self


class Weights(_Strict):
    r: float = Field(default=1, ge=0)
    f: float = Field(default=1, ge=0)
    m: float = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.r + self.f + self.m <= 0:
            raise ValueError("at least one RFM weight must be positive")
        return self


class RfmBins(_Strict):
    """Explicit bin edges instead of percent ranks: four ascending edges give scores 1..5.

    recency: days, fewer is better (score 5 below the first edge); frequency and monetary: more is
    better (score 1 below the first edge).
    """

    recency_days: list[float]
    frequency: list[float]
    monetary: list[float]

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _four_ascending(cls, v: list[float]) -> list[float]:
        if len(v) != 4 or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("must be four strictly ascending edges")
        return v


class TierThresholds(_Strict):
    A: float = 80  # score >= A
    B: float = 65  # score >= B
    C: float = 50  # score > C ; D is score <= C

    @model_validator(mode="after")
    def _ordered(self) -> TierThresholds:
        if not (self.A > self.B > self.C):
            raise ValueError("tier thresholds must satisfy A > B > C")
        return self


class SegmentRule(_Strict):
    segment: str
    r: list[int]
    fm: list[int]


DEFAULT_SEGMENT_MAP: list[dict[str, Any]] = [
    {"segment": "Champions", "r": [4, 5], "fm": [4, 5]},
    {"segment": "Potential loyalists", "r": [4, 5], "fm": [2, 3]},
    {"segment": "New", "r": [4, 5], "fm": [1]},
    {"segment": "Loyal", "r": [3], "fm": [4, 5]},
    {"segment": "Needs attention", "r": [3], "fm": [2, 3]},
    {"segment": "About to sleep", "r": [3], "fm": [1]},
    {"segment": "Can't lose them", "r": [1, 2], "fm": [5]},
    {"segment": "At risk", "r": [1, 2], "fm": [3, 4]},
    {"segment": "Hibernating", "r": [2], "fm": [1, 2]},
    {"segment": "Lost", "r": [1], "fm": [1, 2]},
]


class Lifecycle(_Strict):
    new_max_days: int = Field(default=90, ge=0)
    growing_max_days: int = Field(default=180, ge=0)


class Churn(_Strict):
    inactive_days: int = Field(default=30, ge=1)
    complaint_window_days: int = Field(default=30, ge=1)
    complaint_max: int = Field(default=3, ge=0)  # flagged when MORE than this
    complaint_category: str = "complaint"
    drop_window_days: int = Field(default=30, ge=1)
    drop_ratio: float = Field(default=0.5, gt=0, le=1)
    drop_lookback_days: int = Field(default=365, ge=1)
    drop_min_history_days: int = Field(default=60, ge=1)
    drop_min_orders: int = Field(default=2, ge=1)


def _default_sla_hours(priority: str) -> float:
    # whole hours stay whole (24, not 24.0) where reports print the settings
    hours = vocab.DEFAULT_SLA_HOURS[priority]
    return int(hours) if float(hours).is_integer() else hours


class SlaHours(_Strict):
    """Hours to resolve a ticket, per priority (one field per vocab.PRIORITIES)."""

    urgent: float = Field(default=_default_sla_hours("urgent"), gt=0)
    important: float = Field(default=_default_sla_hours("important"), gt=0)
    general: float = Field(default=_default_sla_hours("general"), gt=0)


class Metrics(_Strict):
    active_days: int = Field(default=90, ge=1)
    rfm_window_days: int = Field(default=365, ge=1)
    rfm_weights: Weights = Weights()
    rfm_bins: RfmBins | None = None
    tiers: TierThresholds = TierThresholds()
    segment_map: list[SegmentRule] = Field(
        default_factory=lambda: [SegmentRule(**s) for s in DEFAULT_SEGMENT_MAP]
    )
    lifecycle: Lifecycle = Lifecycle()
    churn: Churn = Churn()
    nps_low_sample: int = Field(default=30, ge=1)
    sla_hours: SlaHours = SlaHours()
    # KPI board: rates over the trailing window (D - kpi_window_days, D]
    kpi_window_days: int = Field(default=30, ge=1)

    @field_validator("segment_map")
    @classmethod
    def _complete_map(cls, v: list[SegmentRule]) -> list[SegmentRule]:
        seen: dict[tuple[int, int], str] = {}
        for rule in v:
            for r in rule.r:
                for fm in rule.fm:
                    if not (1 <= r <= 5 and 1 <= fm <= 5):
                        raise ValueError(f"segment {rule.segment!r}: r and fm must be within 1..5")
                    if (r, fm) in seen:
                        raise ValueError(
                            f"r={r}, fm={fm} is mapped twice ({seen[(r, fm)]!r}, {rule.segment!r})"
                        )
                    seen[(r, fm)] = rule.segment
        missing = [(r, fm) for r in range(1, 6) for fm in range(1, 6) if (r, fm) not in seen]
        if missing:
            raise ValueError(f"the segment map must cover every (r, fm); missing {missing}")
        return v


class Kpi(_Strict):
    target: float | None = None
    alert: float | None = None  # beyond this the flag is 'alert' rather than 'off target'
    direction: Literal["higher", "lower"] = "higher"
    owner: str = ""


def _default_kpis() -> dict[str, Kpi]:
    """One entry per vocab.KPI_NAMES, in that order."""
    return {
        "churn_rate": Kpi(target=0.05, alert=0.10, direction="lower", owner="CRM lead"),
        "tier_a_kept_rate": Kpi(target=0.95, direction="higher", owner="Key accounts"),
        "complaint_timeliness": Kpi(target=0.90, direction="higher", owner="Service desk"),
        "tier_d_activation": Kpi(target=0.20, direction="higher", owner="Marketing"),
        "nps": Kpi(target=40, direction="higher", owner="CX"),
        "repurchase_rate": Kpi(target=None, direction="higher", owner="CRM lead"),
    }


class Ingest(_Strict):
    quarantine_threshold: float = Field(default=0.05, ge=0, le=1)
    freshness_days: int = Field(default=2, ge=0)


class Reports(_Strict):
    at_risk_top_n: int = Field(default=50, ge=1)
    segments: list[str] = Field(default_factory=lambda: list(vocab.TIER_KEYS))
    currency: str = "GBP"
    trend_weeks: int = Field(default=12, ge=1)
    # rows of each workbook's customers (and churn warnings) sheet: the top by value; the full list
    # is a CSV beside the workbook. Bounded by Excel's 1,048,576 rows (one is the header).
    workbook_customer_rows: int = Field(default=50_000, ge=1, le=1_048_575)


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
    locale: Literal["en", "zh-CN"] = "en"
    paths: Paths = Paths()
    duckdb: DuckDBSettings = DuckDBSettings()
    ingest: Ingest = Ingest()
    sources: dict[str, SourceMapping] = Field(default_factory=dict)
    metrics: Metrics = Metrics()
    kpis: dict[str, Kpi] = Field(default_factory=_default_kpis)
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


def _check_tz(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/London')"
        ) from e


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
