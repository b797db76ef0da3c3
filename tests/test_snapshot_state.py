"""customer history stored by change (customer_state + the customer_snapshot view) against the
daily storage it replaced: the same sequence of runs is applied to two databases — one through
`compute_snapshot`, one through the same models written one row per day and customer, as before —
and after every run each stored day must hold exactly the same rows. The sequence has what real
operation brings: a first range, nights one at a time (carry), a gap, a backfill into the gap, a
re-run inside stored history, a late file with an old order, a refund, a return and a burst of
complaints, and changed thresholds for some days. Also: a night writes only the customers that
changed, and a database with the daily table is folded into the state once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from loyalty import engine
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts import snapshot
from loyalty.marts.snapshot import (
    PARAMS,
    SNAPSHOT,
    compute_snapshot,
    run_params,
    snapshot_path,
    snapshot_steps,
)
from loyalty.marts.staging import build_staging
from loyalty.settings import Settings, load_settings
from tests.conftest import write_settings

END = dt.date(2026, 3, 31)
SHORT = {
    "active_days": 20,
    "rfm_window_days": 40,
    "churn": {
        "inactive_days": 12,
        "complaint_window_days": 9,
        "complaint_max": 1,
        "drop_window_days": 10,
        "drop_lookback_days": 50,
        "drop_min_history_days": 15,
        "drop_min_orders": 1,
    },
}
# the same with other thresholds: a changed setting for the days computed with it
CHANGED = {**SHORT, "active_days": 25, "churn": {**SHORT["churn"], "inactive_days": 9}}

# customer_state on DuckDB: its closed and its current rows (loyalty.engine.state_split)
STATE_PARTS = ("customer_state_closed", "customer_state_current")


def _settings(folder: Path, landing: Path, metrics: dict) -> Settings:
    paths = {"landing": str(landing), "database": "loyalty.duckdb", "output": "out", "temp": "tmp"}
    return load_settings(write_settings(folder, {"paths": paths, "metrics": metrics}))


def _daily_compute(conn: duckdb.DuckDBPyConnection, settings: Settings, start, end) -> str:
    """The storage before: the same models, the days start..end replaced in a table of one row per
    day and customer."""
    params = run_params(conn, settings, start, end)
    path = snapshot_path(conn, start, end, params["params_json"])
    with engine.transaction(conn):
        engine.create_declared(conn, PARAMS)
        if not engine.table_exists(conn, "customer_snapshot"):
            # the daily table had the view's columns and types
            engine.create_declared(conn, SNAPSHOT)
            engine.execute_file(conn, f"{SNAPSHOT}/snapshot_view.sql")
            conn.execute("create table daily as from customer_snapshot limit 0")
            conn.execute("drop view customer_snapshot")
            conn.execute("drop table customer_state")
            conn.execute("alter table daily rename to customer_snapshot")
        # the steps that read stored rows from customer_state by their interval (a carried night's
        # day before) read each daily row as an interval of its one day (a temp view: the
        # database keeps the daily table alone, as a database from before customer_state had it)
        conn.execute(
            "create or replace temp view customer_state as "
            "select *, as_of as valid_from, as_of as valid_to from customer_snapshot"
        )
        with engine.intermediate(conn) as steps:
            # a carried night of every customer (run_params' default): the whole population
            for step in snapshot_steps(path):
                steps.create(f"{SNAPSHOT}/{step}", params)
            conn.execute(
                "create table if not exists customer_snapshot as from snapshot_rows limit 0"
            )
            conn.execute("delete from customer_snapshot where as_of between ? and ?", [start, end])
            # flagged_since day by day, as the daily table had it: a day at risk after a day of the
            # range without churn_risk is flagged since the day after that one (snapshot_rows
            # assumes at risk since before the range; the stored runs are fixed per run)
            conn.execute(
                """insert into customer_snapshot by name
                select * replace (
                    case
                        when churn_risk then coalesce(
                            max(case when not churn_risk then as_of end) over (
                                partition by customer_id order by as_of
                                rows between unbounded preceding and current row
                            ) + 1,
                            flagged_since
                        )
                    end as flagged_since
                )
                from snapshot_rows"""
            )
        engine.replace_days(conn, PARAMS, params)
        conn.execute("drop view customer_state")
    return path


def _all_days(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    cols = [r[0] for r in conn.execute("describe customer_snapshot").fetchall()]
    assert "as_of" in cols and "recency_days" in cols
    return conn.execute(
        f"select as_of, {', '.join(sorted(set(cols) - {'as_of'}))} from customer_snapshot "
        "order by as_of, customer_id"
    ).fetchall()


def _load(settings: Settings) -> None:
    with engine.connect(settings) as conn:
        for kind in ("orders", "tickets"):
            ingest_source(conn, settings, kind)
        for name in ("stg_orders", "stg_tickets"):
            build_staging(conn, settings, name)


@pytest.fixture
def two_stores(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, customers=500, days=150, seed=11, end=END)
    return tmp_path, landing


@pytest.mark.parametrize("days_per_run", [None, 4], ids=["one run per range", "runs of 4 days"])
def test_stored_by_change_equals_the_daily_rows_after_every_run(
    two_stores, monkeypatch, days_per_run
):
    """With `days_per_run`, a range longer than that (the first, 11 days, and the one over
    everything, 28 days) is computed as consecutive runs, as on a database too big for one
    run in the memory limit; the daily store computes each range in one run."""
    tmp_path, landing = two_stores
    if days_per_run:
        monkeypatch.setattr(snapshot, "days_per_run", lambda conn, settings: days_per_run)
    new, old = tmp_path / "by_change", tmp_path / "daily"
    for folder in (new, old):
        _load(_settings(folder, landing, SHORT))

    d = lambda n: END - dt.timedelta(days=n)  # noqa: E731
    runs: list[tuple[str, dt.date, dt.date, dict]] = [
        ("first range", d(40), d(30), SHORT),
        *[(f"night {i}", d(i), d(i), SHORT) for i in range(29, 24, -1)],
        ("after a gap", d(15), d(15), SHORT),
        ("backfill into the gap", d(20), d(18), SHORT),
        ("re-run inside history, changed thresholds", d(35), d(33), CHANGED),
        ("the same night again", d(27), d(27), SHORT),
        ("late file", None, None, SHORT),
        ("night after the late file", d(14), d(14), SHORT),
        ("range over everything", d(41), d(14), SHORT),
        ("nights after", d(13), d(13), SHORT),
        ("", d(12), d(12), SHORT),
    ]
    paths: dict[str, list[str]] = {"new": [], "old": []}
    for label, start, end, metrics in runs:
        settings_new = _settings(new, landing, metrics)
        settings_old = _settings(old, landing, metrics)
        if start is None:
            _late_file(landing, settings_new)
            _load(settings_new)
            _load(settings_old)
            continue
        with engine.connect(settings_new) as conn:
            paths["new"].append(compute_snapshot(conn, settings_new, start, end))
            by_change = _all_days(conn)
            state_rows = engine.scalar(conn, "select count(*) from customer_state")
        with engine.connect(settings_old) as conn:
            paths["old"].append(_daily_compute(conn, settings_old, start, end))
            daily = _all_days(conn)
        assert by_change == daily, f"after {label!r}"
    assert paths["new"] == paths["old"]
    assert {"carry", "day", "range"} <= set(paths["new"])
    # every path ran; the history is smaller stored by change than by day
    assert len(daily) > 5 * state_rows, (len(daily), state_rows)


def _late_file(landing: Path, settings: Settings) -> None:
    """An old order, a refunded one, a return and five complaints on one day for one customer."""
    with engine.connect(settings) as conn:
        customer, other = [
            r[0]
            for r in conn.execute(
                "select customer_id from customer_snapshot where as_of = ? "
                "order by lifetime_orders desc, customer_id limit 2",
                [END - dt.timedelta(days=30)],
            ).fetchall()
        ]
    day = END - dt.timedelta(days=32)
    (landing / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        f"LATE-1,{customer},{day} 10:00:00,250.00,completed,,web\n"
        f"LATE-2,{other},{day} 11:00:00,80.00,completed,80.00,web\n"
        f"LATE-3,{other},{day + dt.timedelta(days=3)} 09:00:00,-35.50,returned,,web\n",
        encoding="utf-8",
    )
    lines = [
        f"LT{i},{other},{day} 0{i}:00:00,{day} 0{i}:30:00,{day} 0{i + 1}:00:00,complaint,"
        "general,phone,"
        for i in range(1, 6)
    ]
    (landing / "tickets_late.csv").write_text(
        "ticket_id,customer_id,opened_at,first_response_at,resolved_at,category,priority,channel,"
        "satisfaction\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


def test_a_night_writes_only_the_customers_that_changed(two_stores):
    tmp_path, landing = two_stores
    settings = _settings(tmp_path / "db", landing, SHORT)
    _load(settings)
    night = END - dt.timedelta(days=5)
    with engine.connect(settings) as conn:
        compute_snapshot(
            conn, settings, night - dt.timedelta(days=20), night - dt.timedelta(days=1)
        )
        written: dict[str, int] = {}
        assert compute_snapshot(conn, settings, night, night, written=written) == "carry"
        # independently: the customers whose stored columns differ between the two days, or new
        changed = engine.scalar(
            conn,
            """
            select count(*) from (
                select * exclude (as_of, recency_days, tenure_days, drop_history_days)
                from customer_snapshot where as_of = $night
                except
                select * exclude (as_of, recency_days, tenure_days, drop_history_days)
                from customer_snapshot where as_of = $night - 1
            )""",
            {"night": night},
        )
        population = engine.scalar(
            conn, "select count(*) from customer_snapshot where as_of = ?", [night]
        )
        # a changed customer: its current row closes the day before (delete + insert of the closed
        # row) and a new row opens; a new customer: one row
        assert 0 < changed < population / 4
        assert written["inserted"] <= 2 * changed
        assert written["deleted"] <= changed
        # and computes only the customers whose row can change: those whose counts moved and
        # those whose scores, day-dependent flags or stage do (carry/snapshot_affected.sql)
        assert changed <= written["computed"] < population / 2, (written, changed, population)
        # the same night again computes every customer (the stored rows of the night are there)
        # and writes nothing
        again: dict[str, int] = {}
        compute_snapshot(conn, settings, night, night, written=again)
        assert again == {"deleted": 0, "inserted": 0, "computed": population}


def test_a_database_with_the_daily_table_is_folded_into_the_state_once(two_stores):
    tmp_path, landing = two_stores
    settings = _settings(tmp_path / "db", landing, SHORT)
    _load(settings)
    first, last = END - dt.timedelta(days=12), END - dt.timedelta(days=3)
    with engine.connect(settings) as conn:
        _daily_compute(conn, settings, first, last)
        daily = _all_days(conn)
        # the next run finds the daily table, folds it, and carries its last day forward
        assert compute_snapshot(conn, settings, last + dt.timedelta(days=1), END) == "range"
        assert [r for r in _all_days(conn) if r[0] <= last] == daily
        kinds = dict(
            conn.execute(
                "select table_name, table_type from information_schema.tables "
                "where table_name like 'customer_s%'"
            ).fetchall()
        )
    assert kinds == {
        "customer_snapshot": "VIEW",
        "customer_state": "VIEW",  # the union of the closed and the current rows
        "customer_state_closed": "BASE TABLE",
        "customer_state_current": "BASE TABLE",
    }


def test_the_snapshot_check_verifies_what_the_night_wrote(two_stores):
    from loyalty.marts.checks import SNAPSHOT_CHECK, run_check

    tmp_path, landing = two_stores
    settings = _settings(tmp_path / "db", landing, SHORT)
    _load(settings)
    night = END - dt.timedelta(days=2)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, night - dt.timedelta(days=9), night - dt.timedelta(days=1))
        written: dict[str, int] = {}
        assert compute_snapshot(conn, settings, night, night, written=written) == "carry"
        ok = run_check(conn, SNAPSHOT_CHECK)
        assert ok.passed, ok.metadata
        assert ok.metadata["state rows written"] == written["inserted"] > 0
        population = engine.scalar(
            conn,
            "select count(distinct customer_id) from stg_orders "
            "where is_counted and order_date <= ?",
            [night],
        )
        assert ok.metadata["rows checked"] == population

        # a customer whose first order is on the night loses their row: one short of the
        # population (the night's newcomers are the day's buyers not in the day before's)
        conn.execute(
            "create temp table gone as select * from customer_state where valid_from = ? and "
            "customer_id in (select customer_id from stg_orders where is_counted group by 1 "
            "having min(order_date) = ?) limit 1",
            [night, night],
        )
        assert engine.scalar(conn, "select count(*) from gone") == 1
        for part in STATE_PARTS:
            conn.execute(
                f"delete from {part} where (customer_id, valid_from) in "
                "(select customer_id, valid_from from gone)"
            )
        missing = run_check(conn, SNAPSHOT_CHECK)
        assert missing.metadata["failed"] == "days whose row count differs from the population"
        conn.execute("insert into customer_state_current by name from gone where valid_to is null")
        conn.execute(
            "insert into customer_state_closed by name from gone where valid_to is not null"
        )
        assert run_check(conn, SNAPSHOT_CHECK).passed

        # a customer who changed on the night loses that night's row: one short of the population
        conn.execute(
            "create temp table changed as select customer_id, valid_from from customer_state "
            "where valid_from = ? and customer_id in (select customer_id from customer_state "
            "where valid_to = ? - 1) limit 1",
            [night, night],
        )
        for part in STATE_PARTS:
            conn.execute(f"delete from {part} where (customer_id, valid_from) in (from changed)")
        short = run_check(conn, SNAPSHOT_CHECK)
        assert short.metadata["failed"] == "days whose row count differs from the population"

        # a written row that overlaps another row of its customer: the customer twice on a day
        conn.execute(
            "create temp table twice as select * replace (valid_from - 3 as valid_from) "
            "from customer_state where written_at = (select max(computed_at) from snapshot_params) "
            "and valid_from = ? limit 1",
            [night],
        )
        conn.execute("insert into customer_state_current by name from twice where valid_to is null")
        conn.execute(
            "insert into customer_state_closed by name from twice where valid_to is not null"
        )
        broken = run_check(conn, SNAPSHOT_CHECK)
        assert not broken.passed
        assert broken.metadata["violations: duplicate (as_of, customer_id)"] >= 1


def test_a_range_runs_as_many_days_at_once_as_fit_the_memory_limit(two_stores):
    tmp_path, landing = two_stores
    settings = _settings(tmp_path / "db", landing, SHORT)
    _load(settings)
    with engine.connect(settings) as conn:
        customers = len(
            {r[0] for r in conn.execute("select customer_id from stg_orders").fetchall()}
        )
        per_run = snapshot.days_per_run(conn, settings)
    budget = settings.duckdb.memory_limit_bytes // snapshot.DAY_ROW_BYTES
    # approx_count_distinct is within a few percent of the exact count
    assert abs(per_run - budget // customers) <= 0.05 * budget // customers


def test_the_snapshot_check_counts_a_ranges_days_as_the_days_hold_them(two_stores):
    """check_days counts each day of a range from the state's intervals without expanding them:
    its counts equal customer_snapshot's rows day by day (counted here from the view), and a row
    broken on each rule is counted on exactly the days the row holds (its first and last day
    inside the range and outside it)."""
    from loyalty.marts.checks import SNAPSHOT_CHECK, run_check

    tmp_path, landing = two_stores
    settings = _settings(tmp_path / "db", landing, SHORT)
    _load(settings)
    first, last = END - dt.timedelta(days=40), END - dt.timedelta(days=1)
    with engine.connect(settings) as conn:
        # days stored before the range: some of its rows hold from before it
        compute_snapshot(
            conn, settings, first - dt.timedelta(days=20), first - dt.timedelta(days=1)
        )
        assert compute_snapshot(conn, settings, first, last) == "range"
        ok = run_check(conn, SNAPSHOT_CHECK)
        assert ok.passed, ok.metadata
        assert ok.metadata["days checked"] == 40
        assert ok.metadata["rows checked"] == engine.scalar(
            conn,
            "select count(*) from customer_snapshot where as_of between ? and ?",
            [first, last],
        )

        # closed rows broken on a rule each, where they hold: their days inside the range
        broken = conn.execute(
            "select customer_id, valid_from, valid_to from customer_state_closed "
            "where valid_to - valid_from between 3 and 20 and valid_from >= ? "
            "order by customer_id, valid_from limit 3",
            [first],
        ).fetchall()
        assert len(broken) == 3
        # one more that starts before the range and ends inside it: counted from the first day
        early = conn.execute(
            "select customer_id, valid_from, valid_to from customer_state_closed "
            "where valid_from < ? and valid_to between ? and ? order by customer_id limit 1",
            [first, first + dt.timedelta(days=2), last],
        ).fetchone()
        assert early is not None
        edits = (
            ("tier = 'Z'", broken[0]),
            ("m = 6", broken[1]),
            ("r = 9", broken[2]),
            ("f = 0", early),
        )
        for change, (customer, start, _end) in edits:
            conn.execute(
                f"update customer_state_closed set {change} "
                "where customer_id = ? and valid_from = ?",
                [customer, start],
            )

        def days(row) -> int:
            _, start, end = row
            return (min(end, last) - max(start, first)).days + 1

        found = run_check(conn, SNAPSHOT_CHECK).metadata
        assert found["violations: tier not in A-D"] == days(broken[0])
        assert found["violations: segment missing"] == 0  # NOT NULL in DuckDB's table
        assert found["violations: r/f/m outside 1-5"] == sum(map(days, (*broken[1:], early)))
        # the days the bad tier holds: the tiers no longer add up to the day's rows
        assert found["violations: days whose tier counts do not add up"] == days(broken[0])
        # and each day's counts are the view's, day by day
        by_view = conn.execute(
            "select as_of, count(*), count(*) filter (tier not in ('A', 'B', 'C', 'D')), "
            "count(*) filter (segment is null), "
            "count(*) filter (not (r between 1 and 5 and f between 1 and 5 and m between 1 and 5)) "
            "from customer_snapshot where as_of between ? and ? group by as_of order by as_of",
            [first, last],
        ).fetchall()
        with engine.intermediate(conn) as steps:
            from loyalty.marts.checks import _snapshot_steps

            _snapshot_steps(steps)
            by_check = conn.execute(
                "select as_of, rows_, bad_tier, no_segment, bad_rfm from check_days order by as_of"
            ).fetchall()
        assert by_check == by_view


class _RolledBack(Exception):
    """Rolls a transaction back on purpose."""


@pytest.mark.parametrize("every_customer", [False, True], ids=["the night's", "every customer"])
def test_a_nights_one_step_fold_writes_what_the_general_fold_writes(two_stores, every_customer):
    """A carried night with no stored day after it is folded by state/night_changes.sql in one
    step (snapshot_fold.night_fold); the general fold (the state/ steps) of the same computed rows
    gives the same changes and the same customer_state, row for row. Both run on the same steps
    in a transaction that is rolled back between them. The night computes the customers whose row
    can change (all of them change here); computed for every customer, most rows stay as stored."""
    from loyalty.marts import snapshot_fold

    tmp_path, landing = two_stores
    settings = _settings(tmp_path / "db", landing, SHORT)
    _load(settings)
    night = END - dt.timedelta(days=5)
    results = {}
    with engine.connect(settings) as conn:
        compute_snapshot(
            conn, settings, night - dt.timedelta(days=20), night - dt.timedelta(days=1)
        )
        params = run_params(conn, settings, night, night)
        assert snapshot_path(conn, night, night, params["params_json"]) == "carry"
        params.update(
            every_customer=every_customer, only_computed=True, reach_date=snapshot.OPEN_END
        )
        for how in ("night", "general"):
            with pytest.raises(_RolledBack), engine.transaction(conn):
                with engine.intermediate(conn) as steps:
                    snapshot.create_steps(conn, steps, "carry", params)
                    steps.create(
                        f"{SNAPSHOT}/state/day_intervals", params, name="snapshot_intervals"
                    )
                    if how == "night":
                        counts = snapshot_fold.night_fold(conn, steps, params)
                    else:
                        counts = snapshot_fold.fold(conn, steps, params, 1)
                state = conn.execute(
                    "select * exclude (written_at) from customer_state "
                    "order by customer_id, valid_from"
                ).fetchall()
                results[how] = (counts, state)
                raise _RolledBack  # the next fold starts from the same stored rows
    (night_counts, night_state), (general_counts, general_state) = results.values()
    assert night_counts == general_counts and night_counts[0] > 0 and night_counts[1] > 0
    assert night_state == general_state
    if every_customer:  # most customers kept their stored row: fewer changed than computed
        population = sum(1 for row in night_state if row[2] is None)
        assert night_counts[0] < population / 2
