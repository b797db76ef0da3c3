"""Opening the DuckDB file (settings applied, a second process waits for the lock) and the engine's
materialisations (a day range replaced whole or not at all, incremental builds, views)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import duckdb
import pytest

from loyalty import engine
from loyalty.settings import load_settings
from tests.conftest import write_settings


def test_connections_apply_memory_limit_and_business_time_zone(tmp_path):
    settings = load_settings(
        write_settings(tmp_path, {"timezone": "Asia/Shanghai", "duckdb": {"memory_limit": "512MB"}})
    )
    with engine.connect(settings) as conn:
        tz, limit, temp = conn.execute(
            "select current_setting('TimeZone'), current_setting('memory_limit'), "
            "current_setting('temp_directory')"
        ).fetchall()[0]
    assert tz == "Asia/Shanghai"
    assert limit.replace(" ", "") in ("488.2MiB", "512.0MB", "488.2MB")
    assert temp == str(settings.temp_path)


def test_a_second_process_waits_for_the_write_lock_instead_of_failing(tmp_path):
    settings = load_settings(write_settings(tmp_path))
    holder = f"""
import duckdb, time
c = duckdb.connect({str(settings.database_path)!r})
c.execute('create table t(a int)'); c.execute('insert into t values (1)')
print('held', flush=True); time.sleep(2); c.close()
"""
    settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        started = time.monotonic()
        with engine.connect(settings) as conn:
            assert conn.execute("select count(*) from t").fetchall() == [(1,)]
        assert time.monotonic() - started > 0.5  # it really waited for the other process
    finally:
        p.wait(timeout=30)


def test_held_open_shares_one_open_file_and_releases_it_at_the_end(tmp_path):
    settings = load_settings(
        write_settings(tmp_path, {"timezone": "Asia/Shanghai", "duckdb": {"memory_limit": "512MB"}})
    )
    reader = f"""
import duckdb
c = duckdb.connect({str(settings.database_path)!r}, read_only=True)
print(c.execute('select count(*) from t').fetchall()[0][0]); c.close()
"""
    with engine.held_open(settings):
        with engine.connect(settings) as conn:
            conn.execute("create table t(a int)")
            conn.execute("insert into t values (1), (2)")
        # a read-only connection inside the block is a connection to the file already open
        with engine.connect(settings, read_only=True) as conn:
            assert conn.execute("select count(*) from t").fetchall() == [(2,)]
            tz, limit = conn.execute(
                "select current_setting('TimeZone'), current_setting('memory_limit')"
            ).fetchall()[0]
            assert tz == "Asia/Shanghai"
            assert limit.replace(" ", "") in ("488.2MiB", "512.0MB", "488.2MB")
            assert conn.execute("select wilson_low(1, 2, 1.96) > 0").fetchall() == [(True,)]
        # the file is held: another process cannot open it while the block runs
        held = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True)
        assert held.returncode != 0 and "lock" in held.stderr.lower()
    # closed at the end: the writes are in the file and another process reads them
    done = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


def test_memory_lent_lowers_the_limit_for_a_while_and_restores_it(tmp_path):
    settings = load_settings(write_settings(tmp_path, {"duckdb": {"memory_limit": "1GB"}}))
    assert engine.memory_limit_bytes(settings) == 10**9

    def limit(conn) -> str:
        return conn.execute("select current_setting('memory_limit')").fetchall()[0][0]

    with engine.connect(settings) as conn:
        configured = limit(conn)
        with engine.memory_lent(conn, settings, 0.3):
            assert limit(conn).replace(" ", "") == "667.5MiB"  # 0.7 * 10^9 bytes
        assert limit(conn) == configured
        try:
            with engine.memory_lent(conn, settings, 0.5):
                raise RuntimeError("validation failed")
        except RuntimeError:
            pass
        assert limit(conn) == configured


# ------------------------------------------------------------------------------------------------
# materialisation: how a model's rows are stored is the engine's, the model is a plain select


def _models(folder, monkeypatch, **files: str) -> None:
    """Model files in a folder of their own, read instead of the package's sql/."""
    for name, text in files.items():
        (folder / f"{name}.sql").write_text(text, encoding="utf-8")
    monkeypatch.setattr(engine.core, "SQL_DIR", folder)


def _days(conn) -> list[tuple]:
    return conn.execute("select as_of::varchar, v from t order by as_of").fetchall()


DAYS = (
    "-- grain: one row per day in $start_date..$end_date\n"
    "select range::date as as_of, $v as v\n"
    "from range($start_date::date, $end_date::date + 1, interval 1 day)\n"
)


def test_a_rerun_replaces_exactly_its_days_and_a_failed_one_changes_nothing(tmp_path, monkeypatch):
    settings = load_settings(write_settings(tmp_path))
    models = tmp_path / "models"
    models.mkdir()
    with engine.connect(settings) as conn:
        _models(models, monkeypatch, t=DAYS, broken=DAYS + "where error('disk full') is null\n")
        conn.execute("create table t (as_of date, v integer)")
        week = {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 5), "v": 0}
        engine.replace_days(conn, "t", week)
        engine.replace_days(conn, "t", {**week, "start_date": dt.date(2024, 1, 2),
                                        "end_date": dt.date(2024, 1, 3), "v": 1})  # fmt: skip
        assert [v for _, v in _days(conn)] == [0, 1, 1, 0, 0]
        before = _days(conn)
        with pytest.raises(duckdb.Error, match="disk full"):
            engine.replace_days(conn, "broken", {**week, "v": 2}, into="t")
        assert _days(conn) == before  # the delete of those days was rolled back with the insert


def test_steps_in_one_transaction_are_undone_together(tmp_path, monkeypatch):
    settings = load_settings(write_settings(tmp_path))
    models = tmp_path / "models"
    models.mkdir()
    with engine.connect(settings) as conn:
        _models(models, monkeypatch, t=DAYS)
        conn.execute("create table t (as_of date, v integer)")
        day = {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 1), "v": 0}
        with pytest.raises(RuntimeError), engine.transaction(conn):
            engine.replace_days(conn, "t", day)  # joins the outer transaction
            with engine.intermediate(conn) as steps:
                steps.create("t", day)  # a temp table `t` of this step
            raise RuntimeError("the next step failed")
        assert _days(conn) == []


def test_a_step_as_a_view_has_the_rows_of_the_step_as_a_table_and_takes_dates_only(
    tmp_path, monkeypatch
):
    settings = load_settings(write_settings(tmp_path))
    models = tmp_path / "models"
    models.mkdir()
    span = (
        "-- grain: one row per day in $start_date..$end_date\n"
        "select range::date as as_of from range($start_date::date, $end_date::date + 1, "
        "interval 1 day)\n"
    )
    with engine.connect(settings) as conn:
        _models(models, monkeypatch, span=span)
        week = {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 7)}
        with engine.intermediate(conn) as steps:
            steps.create("span", week, name="as_table")
            steps.view("span", week, name="as_view")
            rows = conn.execute("select * from as_view order by 1").fetchall()
            assert rows == conn.execute("select * from as_table order by 1").fetchall()
            assert len(rows) == 7
            assert engine.table_kind(conn, "as_view") == "view"
            with pytest.raises(TypeError, match=r"\$end_date must be a date, not str"):
                steps.view("span", {**week, "end_date": "2024-01-07'); drop table x; --"})
        # the block's views are dropped with its tables
        assert engine.table_kind(conn, "as_view") is None
        assert engine.table_kind(conn, "as_table") is None


def test_table_kind_names_tables_and_views_as_the_catalog_lists_them(tmp_path):
    """The fast lookup (a query's resolution) answers as duckdb_tables() and duckdb_views() do,
    and never takes a Python variable for a table (DuckDB's replacement scans)."""
    import pyarrow as pa

    conn = duckdb.connect(str(tmp_path / "kinds.duckdb"))
    try:
        conn.execute(
            "create table plain_t (a int); create view plain_v as select * from plain_t; "
            "create temp table temp_t (a int); create temp view temp_v as select 1 as a; "
            "create table gone_t (a int); create view broken_v as select * from gone_t; "
            'drop table gone_t; create table "Odd Name" (a int)'
        )
        conn.register("registered", pa.table({"a": [1]}))
        missing_frame = pa.table({"a": [1]})  # a variable named like a missing table  # noqa: F841
        names = ["plain_t", "plain_v", "temp_t", "temp_v", "broken_v", "registered", "Odd Name"]
        names += ["missing_frame", "conn", "name", "nowhere"]
        catalog = {n: engine.scalar(conn, engine.core._KIND, [n]) for n in names}
        assert catalog == {
            "plain_t": "table",
            "plain_v": "view",
            "temp_t": "table",
            "temp_v": "view",
            "broken_v": "view",
            "registered": "view",
            "Odd Name": "table",
            "missing_frame": None,
            "conn": None,
            "name": None,
            "nowhere": None,
        }
        assert {n: engine.table_kind(conn, n) for n in names} == catalog
        assert engine.table_exists(conn, "plain_t") and not engine.table_exists(conn, "nowhere")
    finally:
        conn.close()


def test_an_incremental_build_replaces_every_key_it_does_not_keep(tmp_path, monkeypatch):
    settings = load_settings(write_settings(tmp_path))
    models = tmp_path / "models"
    models.mkdir()
    with engine.connect(settings) as conn:
        _models(
            models,
            monkeypatch,
            marts=(
                "-- grain: one row per key k >= $since\n"
                "select k, 'new' as v from range(1, 5) as r (k) where k >= $since\n"
            ),
            unchanged="-- grain: one row per key k < $since\nselect range as k from range(1, 5) "
            "where range < $since\n",
        )
        conn.execute("create table marts as select range as k, 'old' as v from range(0, 4)")
        engine.replace_keys(conn, "marts", {"since": 3}, key=["k"], keep="unchanged")
        rows = conn.execute("select k, v from marts order by k").fetchall()
    # 1 and 2 kept, 3 rebuilt, 4 new, and 0 (no longer a key at all) gone
    assert rows == [(1, "old"), (2, "old"), (3, "new"), (4, "new")]


def test_a_view_model_refuses_parameters_and_read_only_connections_have_the_macros(
    tmp_path, monkeypatch
):
    settings = load_settings(write_settings(tmp_path))
    with engine.connect(settings) as conn:
        conn.execute("create table t (v integer)")
    with engine.connect(settings, read_only=True) as conn:
        # percent rank 0 -> score 1; the top of five customers -> 5
        assert conn.execute("select rfm_rank_score(0, 5), rfm_rank_score(4, 5)").fetchall() == [
            (1, 5)
        ]
    models = tmp_path / "models"
    models.mkdir()
    with engine.connect(settings) as conn, pytest.raises(ValueError, match="parameters"):
        _models(models, monkeypatch, v="select $x as x\n")
        engine.create_view(conn, "v")
