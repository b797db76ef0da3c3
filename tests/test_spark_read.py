"""The read seam on Spark (issue 14): every report query of sql/reports/ gives, through
loyalty.spark.read.query_file, the rows loyalty.engine.query_file gives on DuckDB: the same keys in
the same order, the same rows in the same order (for a query with an ORDER BY), and the same Python
types (int, float, Decimal, str, bool, date, datetime, None). The tables are the sample's
DuckDB database after every mart (tests/spark_fixture.py), exported to Parquet for Spark.

The parameters are the ones the reports pass: the week's report (reports.queries.week_data) run
on DuckDB with engine.query_file observed, the customer lists' as reports.lists builds them
(`list_source`: the week's read fetches them as tuples); the queries that read does not
reach on this sample (CSV exports, the email's bookkeeping, a say-do panel) get the parameters
their callers build, written out below."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyalty import engine
from loyalty.engine import connect, sql_text
from loyalty.reports import lists
from loyalty.reports.insight import NPS_CLASSES, PANEL_PERIOD, RISK_STATUSES, TREND_PERIODS
from loyalty.reports.queries import week_data
from loyalty.spark import catalog
from loyalty.spark import engine as spark_engine
from loyalty.spark import read as spark_read
from loyalty.vocab import ALL, PRIORITIES, TIERS
from loyalty.weeks import Week
from tests.spark_compare import same_sequence
from tests.spark_fixture import FIRST, LAST, export, marts_sample, sample

pytestmark = pytest.mark.spark
__all__ = ["marts_sample", "sample"]  # the fixtures this module uses

REPORTS = Path(__file__).resolve().parent.parent / "sql" / "reports"
# a write, not a read: the email step's log line (run on DuckDB in the fixture)
WRITES = {"reports/email_logged.sql"}
# no say-do window has elapsed on the sample (its answers are too recent): these return no rows
EMPTY_HERE = {"reports/say_do_cells.sql", "reports/say_do_customers.sql"}
# the calls compared per query (the week's report makes one per segment of most)
PER_QUERY = 1
WEEK = Week.of(LAST)


def _every_report_query() -> list[str]:
    return sorted(f"reports/{p.name}" for p in REPORTS.glob("*.sql"))


def _observed(settings) -> list[tuple[str, dict[str, Any]]]:
    """The report queries and parameters of the week's report and the customer lists."""
    seen: list[tuple[str, dict[str, Any]]] = []
    real = engine.query_file

    def observe(conn, name, params=None):
        seen.append((name, dict(params or {})))
        return real(conn, name, params)

    with pytest.MonkeyPatch.context() as patch, connect(settings) as conn:
        patch.setattr(engine, "query_file", observe)
        data = week_data(conn, settings, WEEK)
        for kind in lists.KINDS:
            seen.append(lists.list_source(kind, LAST, ALL, 25, data.value))
    return seen


def _written_out(conn) -> list[tuple[str, dict[str, Any]]]:
    """The queries the week's read does not reach here, with the parameters their callers pass."""
    (owner,) = conn.execute("select min(owner) from action_list").fetchone()
    month = conn.execute(
        "select max(period_start) from say_do where period_type = $t", {"t": PANEL_PERIOD}
    ).fetchone()[0]
    say_do = {"period_type": PANEL_PERIOD, "period_start": month, "tiers": list(TIERS)}
    return [
        (
            "reports/action_list.sql",
            {"as_of": LAST, "tiers": ["A", "B"], "owner": owner, "row_limit": 30},
        ),
        (
            "reports/action_list.sql",
            {"as_of": LAST, "tiers": list(TIERS), "owner": None, "row_limit": None},
        ),
        ("reports/action_list_crm.sql", {"as_of": LAST}),
        ("reports/churn_warnings.sql", {"as_of": LAST, "tiers": list(TIERS), "row_limit": 40}),
        ("reports/email_sent.sql", {"week": WEEK.label, "mode": "dry_run"}),
        ("reports/last_email.sql", {"week": WEEK.label}),
        ("reports/say_do_cells.sql", {**say_do, "all_key": ALL, "risk_statuses": RISK_STATUSES}),
        (
            "reports/say_do_customers.sql",
            {**say_do, "everyone": False, "classes": list(NPS_CLASSES), "row_limit": 50},
        ),
        (
            "reports/service_impact.sql",
            {
                "period_type": PANEL_PERIOD,
                # a report 15 weeks later: the months' 90-day windows have elapsed
                "as_of": LAST + dt.timedelta(weeks=15),
                "periods": TREND_PERIODS,
                "priorities": [ALL, *PRIORITIES],
            },
        ),
        ("reports/snapshot_stored.sql", {"as_of": LAST}),
        (
            "reports/week_comments.sql",
            {
                "period_start": FIRST,
                "period_end": LAST,
                "start_as_of": FIRST,
                "tiers": list(TIERS),
                "all_key": ALL,
                "classes": ["detractor", "passive", "promoter", "dissatisfied"],
                "per_class": 4,
            },
        ),
        ("reports/snapshot_stored.sql", {"as_of": dt.date(2020, 1, 5)}),
    ]


class Reads:
    def __init__(self, calls: list[tuple[str, dict[str, Any]]]):
        self.calls = calls


@pytest.fixture(scope="module")
def reads(marts_sample, spark, tmp_path_factory) -> Iterator[Reads]:
    settings = marts_sample.settings
    folder = tmp_path_factory.mktemp("spark_read")
    with connect(settings) as conn:
        calls = _written_out(conn)
    calls += _observed(settings)
    with connect(settings) as conn:
        tables = sorted(
            {t for name in _every_report_query() for t in spark_engine.tables_read(sql_text(name))}
        )
        export(conn, folder, tables)
    for table in tables:
        spark_engine.register(spark, table, folder)
    yield Reads(calls)
    # later modules read the tables as they were registered before (the Spark-built ones)
    for table in tables:
        catalog.drop_view(spark, table)
    spark_engine.register_warehouse(spark, marts_sample.inputs)


def _difference(name: str, reference: list[dict], got: list[dict]) -> str | None:
    if reference and got and list(reference[0]) != list(got[0]):
        return f"keys differ: duckdb {list(reference[0])}, spark {list(got[0])}"
    ref = [tuple(r.values()) for r in reference]
    mine = [tuple(r.values()) for r in got]
    if "order by" not in sql_text(name).lower():
        ref, mine = sorted(ref, key=repr), sorted(mine, key=repr)
    return same_sequence(ref, mine)


def test_every_report_query_reads_the_same_rows_and_types_on_spark(marts_sample, spark, reads):
    """Each query (at most PER_QUERY of its calls) on both engines: equal rows, and values of the
    same Python types (Decimal stays Decimal, a date a date, a count an int, a rate a float): the
    reports format them by type."""
    nonempty: set[str] = set()
    kinds: set[str] = set()
    taken: dict[str, int] = {}
    with connect(marts_sample.settings, read_only=True) as conn:
        for name, params in reads.calls:
            if taken.get(name, 0) >= PER_QUERY:
                continue
            taken[name] = taken.get(name, 0) + 1
            reference = engine.query_file(conn, name, params)
            got = spark_read.query_file(spark, name, params)
            difference = _difference(name, reference, got)
            assert difference is None, f"{name} {params}: {difference}"
            if reference:
                nonempty.add(name)
            kinds |= {type(v).__name__ for row in reference for v in row.values()}
    called = {name for name, _ in reads.calls}
    assert called | WRITES == set(_every_report_query())
    assert called - nonempty == EMPTY_HERE
    assert {"int", "float", "Decimal", "str", "date", "datetime", "bool"} <= kinds
