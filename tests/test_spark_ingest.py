"""Ingest on Spark loads what the DuckDB ingest loads (issue 14). The same landing files go through
both engines: loyalty.ingest into a DuckDB file, loyalty.spark.ingest into a Parquet warehouse. Then,
table by table and key by key (tests/spark_compare.py): the contract tables, the quarantine rows
(reason, line, record) and the per-file accounting of ingest_log are the same; only the clock
columns (loaded_at, quarantined_at) differ, being each engine's own time."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from loyalty import engine
from loyalty.contracts import CONTRACTS
from loyalty.engine import connect
from loyalty.ingest import ensure_tables, ingest_source
from loyalty.ingest.checks import KeyCheck, check_keys
from loyalty.ingest.results import SourceResult
from loyalty.settings import Settings, load_settings
from loyalty.spark import ingest as spark_ingest
from loyalty.spark.connection import SparkConnection
from tests.conftest import REPO, write_settings
from tests.spark_compare import assert_same_rows

pytestmark = pytest.mark.spark

KINDS = tuple(CONTRACTS)
CLOCKS = {"loaded_at", "quarantined_at"}

# a day's orders export with one line of each kind of fault; the line numbers are the file's own
BAD_ORDERS = """order_id,customer_id,ordered_at,amount,status,refund_amount,channel,original_order_id
B001,C000001,2026-11-16 09:00:00,10.50,completed,,web,
B002,C000002,2026-11-16 09:05:00,12.00,completed,web
B003,C000003,2026-13-45 10:00:00,9.00,completed,,app,
B004,C000004,2026-11-16 09:10:00,abc,completed,,web,
B005,C000005,2026-11-16 09:15:00,"12.5"x,completed,,web,
B006,C000006,2026-11-16 09:20:00,5.00,weird,,store,
B007,,2026-11-16 09:25:00,5.00,completed,-1,store,
B008,C000008,2026-11-16 09:30:00,7.00,completed,,store,,extra
B009,C000009,2026-11-16 09:35:00,8.00,completed,,store,
B009,C000010,2026-11-16 09:40:00,8.50,completed,,"store, north",
B010,C000001,2026-11-16 09:45:00,-10.50,returned,10.50,web,B001
B011,C000002,2026-11-16 09:50:00,-3.00,returned,3.00,web,NOPE
"""
# surveys with an optional score out of range (set to NULL, noted) and an NPS out of range
BAD_SURVEYS = """response_id,customer_id,responded_at,nps,csat,ces,comment
S001,C000001,2026-11-16 10:00:00,9,9,,"fine, thanks"
S002,C000002,2026-11-16 11:00:00,11,4,2,
S003,C000003,2026-11-16 12:00:00,7,,,"said ""ok"" twice"
"""


class Run:
    """Both engines' results over one landing folder."""

    def __init__(self, settings: Settings, warehouse: Path):
        self.settings = settings
        self.warehouse = warehouse
        self.duck: dict[str, SourceResult] = {}
        self.spark: dict[str, SourceResult] = {}
        self.first_key_check: tuple[KeyCheck, KeyCheck] | None = None

    def ingest(self, spark, kinds=KINDS) -> None:
        with connect(self.settings) as conn:
            for kind in kinds:
                self.duck[kind] = ingest_source(conn, self.settings, kind)
        for kind in kinds:
            self.spark[kind] = spark_ingest.ingest_source(
                spark, self.settings, kind, self.warehouse
            )

    def check_keys(self, spark, kind: str) -> tuple[KeyCheck, KeyCheck]:
        """The ingest asset's key check on both engines: (DuckDB's, Spark's)."""
        with connect(self.settings) as conn:
            duck = check_keys(conn, kind)
        conn = SparkConnection(spark, str(self.warehouse))
        try:
            ensure_tables(conn)  # the checks' bookkeeping, as the asset declares it first
            return duck, check_keys(conn, kind)
        finally:
            conn.close()

    def duck_rows(self, sql: str) -> list[dict[str, Any]]:
        with connect(self.settings, read_only=True) as conn:
            return engine.query_sql(conn, sql)


def _without_clocks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in CLOCKS} for r in rows]


def _spark_rows(spark, table: str) -> list[dict[str, Any]]:
    return [r.asDict() for r in spark.table(table).collect()]


def assert_same_ingest(run: Run, spark, kinds=KINDS) -> None:
    for kind in kinds:
        reference = run.duck_rows(f"select * from {kind}")
        try:
            assert_same_rows(reference, _spark_rows(spark, kind), (CONTRACTS[kind].key,))
        except AssertionError as e:
            raise AssertionError(f"{kind}: {e}") from None
    for table, key in (("quarantine", ("load_id", "line")), ("ingest_log", ("load_id",))):
        reference = _without_clocks(run.duck_rows(f"select * from {table}"))
        got = _without_clocks(_spark_rows(spark, table))
        try:
            assert_same_rows(reference, got, key)
        except AssertionError as e:
            raise AssertionError(f"{table}: {e}") from None


def _folder(tmp_path_factory, name: str, timezone: str) -> tuple[Path, Settings]:
    folder = tmp_path_factory.mktemp(name)
    settings = load_settings(write_settings(folder, {"timezone": timezone}))
    return folder, settings


@pytest.fixture(scope="module")
def sample(tmp_path_factory, spark) -> Run:
    folder, settings = _folder(tmp_path_factory, "spark_ingest_sample", "Europe/London")
    shutil.copytree(REPO / "data" / "sample", folder / "landing", dirs_exist_ok=True)
    run = Run(settings, folder / "warehouse")
    run.ingest(spark)
    # the asset's key check after the first load (every row), as a run makes it
    run.first_key_check = run.check_keys(spark, "orders")
    return run


def test_the_sample_loads_the_same_tables_quarantine_and_accounting(sample, spark):
    """Every contract table, every quarantine row and every ingest_log row equal, key by key; each
    file's accounting balances on Spark."""
    loaded = sum(f.rows_loaded for r in sample.spark.values() for f in r.files)
    assert loaded > 10_000  # the sample's ~15 000 records, most of them loaded
    for kind, result in sample.spark.items():
        assert result.table_rows == sample.duck[kind].table_rows
        for f in result.files:
            assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_filtered
    assert_same_ingest(sample, spark)


@pytest.fixture(scope="module")
def next_day(sample, spark) -> Run:
    """The sample's landing folder a day later: the same files again, one of them copied under a
    new name, a day's orders with a fault on most lines and one order of the sample changed, a day's
    surveys with scores out of range; orders and surveys ingested again on both engines."""
    landing = sample.settings.landing_path
    shutil.copy(landing / "orders_2026-11-15.csv", landing / "orders_2026-11-15_again.csv")
    first = (landing / "orders_2026-11-15.csv").read_text().splitlines()[1].split(",")
    first[3] = "99.99"  # its amount changed
    day = landing / "orders_2026-11-16.csv"
    day.write_text(BAD_ORDERS + ",".join(first) + ",\n", encoding="utf-8")
    (landing / "surveys_2026-11-16.csv").write_text(BAD_SURVEYS, encoding="utf-8")
    sample.ingest(spark, ("orders", "surveys"))
    return sample


def test_a_reingest_loads_nothing_new_and_a_changed_row_replaces_its_key(next_day, spark):
    """The files loaded before are not read again (known by name, size and time); a copy under a
    new name is skipped by its content; the changed order replaces its key's row on both engines."""
    for engine_results in (next_day.spark, next_day.duck):
        names = sorted(f.file_name for f in engine_results["orders"].files)
        assert names == ["orders_2026-11-15_again.csv", "orders_2026-11-16.csv"]
    again, day = sorted(next_day.spark["orders"].files, key=lambda f: f.file_name)
    assert again.status == "skipped" and "same content as orders_2026-11-15.csv" in again.note
    assert day.keys_replaced == 1
    amounts = spark.sql("select amount from orders where _load_id = 7 and amount = 99.99").count()
    assert amounts == 1
    assert_same_ingest(next_day, spark)


def test_the_key_check_of_a_later_load_counts_the_same(next_day, spark):
    """The key check after the next day's load checks only the rows loaded since its first pass,
    within the range of their keys (loyalty.ingest.checks): the same counts on both engines (the
    file's key given twice went to quarantine, the changed order replaced its row: no duplicate)."""
    first_duck, first_spark = next_day.first_key_check
    assert first_duck == first_spark and first_duck.passed and first_duck.verified_before == 0
    duck, spark_check = next_day.check_keys(spark, "orders")
    assert duck == spark_check
    assert duck.verified_before > 0 and duck.rows_checked > 0 and duck.passed


def test_bad_lines_give_the_same_quarantine_rows_and_accounting(next_day, spark):
    """A short row, a row too long, a bad date, a bad amount, a broken quote, a status not allowed,
    a missing customer with a negative refund, a duplicate key, a return whose original order is
    unknown, a score out of range: each lands in quarantine (or a note) with the same line, reason
    and record on both engines, and each file's counts balance."""
    day = next(f for f in next_day.spark["orders"].files if f.status == "loaded")
    data_lines = len(BAD_ORDERS.splitlines())  # the header aside, plus the changed order
    assert day.rows_read == data_lines
    assert day.rows_read == day.rows_loaded + day.rows_quarantined + day.rows_filtered
    reasons = {
        r["line"]: r["reason_code"]
        for r in _spark_rows(spark, "quarantine")
        if r["file_name"] == day.file_name
    }
    assert reasons == {
        3: "unparseable_line",  # short row
        4: "bad_type",  # month 13
        5: "bad_type",  # amount abc
        6: "unparseable_line",  # text after a closing quote
        7: "not_allowed",
        8: "missing_value",  # and a refund out of range
        9: "unparseable_line",  # one field too many
        10: "duplicate_key",  # line 11 has the same order and wins
    }
    assert "return_unlinked: 1 return(s)" in day.note  # B011 names no known order
    (surveys,) = next_day.spark["surveys"].files
    assert surveys.note.startswith("csat outside 1–5 on 1 row(s)")
    assert_same_ingest(next_day, spark, ("orders", "surveys"))


# order lines (one row per order after the mapping), in latin-1, day-first times in New York
LINES = (
    "InvoiceNo,Cust,Date,Qty,Price,Shop\n"
    "I1,C1,01/11/2026 10:00,2,3.50,Café\n"
    "I1,C1,01/11/2026 10:00,1,1.25,Café\n"
    'I2,C2,31/03/2026 01:30,1,9.99,"a shop, with\na newline"\n'
    "I3,C3,02/11/2026 11:00,-1,2.00,y\n"
    "I4,C4,not a time,1,2.00,z\n"
)
LINE_LEVEL = {
    "files": "lines*.csv",
    "aggregate_by": "InvoiceNo",
    "filter": "try_cast(Qty as integer) > 0",
    "reader": {
        "timestamp_format": "%d/%m/%Y %H:%M",
        "encoding": "latin-1",
        "timezone": "America/New_York",
    },
    "columns": {
        "order_id": "InvoiceNo",
        "customer_id": "max(Cust)",
        "ordered_at": "min(Date)",
        "amount": "sum(cast(Qty as integer) * cast(Price as decimal(10, 2)))",
        "channel": "max(Shop)",
    },
}


@pytest.fixture
def small_splits(spark):
    """Files split every 64 bytes: a file's lines are numbered across many splits, and a quoted
    value spanning lines can start in one split and end in the next."""
    conf = {"spark.sql.files.maxPartitionBytes": "64", "spark.sql.files.openCostInBytes": "0"}
    before = {k: spark.conf.get(k) for k in conf}
    for k, v in conf.items():
        spark.conf.set(k, v)
    yield
    for k, v in before.items():
        spark.conf.set(k, v)


def test_a_line_level_export_maps_filters_and_types_the_same(tmp_path, spark, small_splits):
    """A mapping that aggregates lines into orders, filters returns' lines out, reads day-first
    times in New York into London time, from a latin-1 file with a quoted value spanning lines,
    read in splits of 64 bytes: the same orders, quarantine and accounting (the mapping's DuckDB
    SQL translated for Spark)."""
    settings = load_settings(
        write_settings(tmp_path, {"timezone": "Europe/London", "sources": {"orders": LINE_LEVEL}})
    )
    (tmp_path / "landing" / "lines_1.csv").write_bytes(LINES.encode("latin-1"))
    run = Run(settings, tmp_path / "warehouse")
    run.ingest(spark, ("orders",))
    (f,) = run.spark["orders"].files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_filtered) == (5, 3, 1, 1)
    assert_same_ingest(run, spark, ("orders",))
