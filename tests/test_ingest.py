"""Ingest: exports land in the contract tables, bad rows in quarantine, nothing double-counts and
nothing is lost."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import IngestError, ingest_source
from loyalty.settings import SettingsError, load_settings
from tests.conftest import write_settings

ORDERS_HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"


def _write(folder: Path, name: str, text: str) -> Path:
    p = folder / "landing" / name
    p.write_text(text, encoding="utf-8")
    return p


def _load(folder: Path, kind: str = "orders", extra: dict | None = None):
    settings = load_settings(write_settings(folder, extra) if extra else folder / "settings.yaml")
    with connect(settings) as conn:
        result = ingest_source(conn, settings, kind)
    return settings, result


def _query(settings, sql: str, params=None):
    with connect(settings) as conn:
        return conn.execute(sql, params).fetchall()


def _revenue(settings) -> Decimal:
    return _query(settings, "select coalesce(sum(amount), 0) from orders")[0][0]


def test_loading_the_same_files_twice_changes_nothing(workdir):
    _write(
        workdir,
        "orders_1.csv",
        ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10.50,completed,0,web\n"
        "O2,C2,2024-01-02 11:00:00,20.00,completed,0,app\n",
    )
    settings, first = _load(workdir)
    assert [f.status for f in first.files] == ["loaded"]
    before = _query(settings, "select * from orders order by order_id")
    log_before = _query(settings, "select count(*) from ingest_log")
    _, second = _load(workdir)
    assert second.files == []  # nothing new, nothing logged again
    assert _query(settings, "select * from orders order by order_id") == before
    assert _query(settings, "select count(*) from ingest_log") == log_before


def test_a_redelivered_file_with_a_new_name_does_not_double_revenue(workdir):
    p = _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10.50,completed,0,web\n"
    )
    settings, _ = _load(workdir)
    assert _revenue(settings) == Decimal("10.50")
    shutil.copy(p, p.with_name("orders_1_resent.csv"))
    _, result = _load(workdir)
    assert [(f.file_name, f.status) for f in result.files] == [("orders_1_resent.csv", "skipped")]
    assert "same content as orders_1.csv" in result.files[0].note
    assert _revenue(settings) == Decimal("10.50")
    assert _query(settings, "select status from ingest_log order by load_id") == [
        ("loaded",),
        ("skipped",),
    ]


def test_an_overlapping_export_replaces_the_rows_it_repeats(workdir):
    _write(
        workdir,
        "orders_2024-01-01.csv",
        ORDERS_HEADER
        + "O1,C1,2024-01-01 10:00:00,10.00,completed,0,web\n"
        + "O2,C2,2024-01-01 11:00:00,20.00,completed,0,web\n",
    )
    _write(
        workdir,
        "orders_2024-01-02.csv",
        ORDERS_HEADER
        + "O2,C2,2024-01-01 11:00:00,20.00,refunded,20.00,web\n"
        + "O3,C3,2024-01-02 09:00:00,30.00,completed,0,web\n",
    )
    settings, result = _load(workdir)
    rows = _query(settings, "select order_id, status, refund_amount from orders order by 1")
    assert rows == [
        ("O1", "completed", Decimal("0.00")),
        ("O2", "refunded", Decimal("20.00")),  # the later file's version wins
        ("O3", "completed", Decimal("0.00")),
    ]
    assert [f.keys_replaced for f in result.files] == [0, 1]


def test_a_later_delivery_replaces_an_earlier_one_across_runs(workdir):
    _write(
        workdir, "orders_a.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10.00,completed,0,web\n"
    )
    settings, _ = _load(workdir)
    _write(
        workdir, "orders_b.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,12.00,completed,0,web\n"
    )
    _load(workdir)
    assert _query(settings, "select count(*), sum(amount) from orders") == [(1, Decimal("12.00"))]


def test_a_renamed_column_is_an_error_naming_file_and_column(workdir):
    _write(workdir, "orders_x.csv", "order_id,client_id,ordered_at,amount\nO1,C1,2024-01-01,1\n")
    with pytest.raises(IngestError) as e:
        _load(workdir)
    msg = str(e.value)
    assert "orders_x.csv" in msg and "'customer_id'" in msg and "client_id" in msg


def test_a_column_named_in_the_mapping_but_missing_is_an_error_naming_it(workdir):
    _write(workdir, "orders_x.csv", "InvoiceNo,Cust,Stamp,Total\nO1,C1,2024-01-01,1\n")
    extra = {
        "sources": {
            "orders": {
                "files": "orders*.csv",
                "columns": {
                    "order_id": "InvoiceNo",
                    "customer_id": "CustomerID",
                    "ordered_at": "Stamp",
                    "amount": "Total",
                },
            }
        }
    }
    with pytest.raises(IngestError) as e:
        _load(workdir, extra=extra)
    assert "orders_x.csv" in str(e.value) and "'CustomerID'" in str(e.value)
    assert "customer_id" in str(e.value)  # which contract column needed it


def test_reordered_columns_load_by_name(workdir):
    _write(
        workdir,
        "orders_r.csv",
        "amount,channel,customer_id,order_id,ordered_at\n12.34,web,C9,O9,2024-03-01 08:00:00\n",
    )
    settings, _ = _load(workdir)
    assert _query(
        settings, "select order_id, customer_id, amount, channel, status from orders"
    ) == [("O9", "C9", Decimal("12.34"), "web", "completed")]


def test_bad_rows_go_to_quarantine_with_reasons_and_nothing_is_lost(workdir):
    text = (
        ORDERS_HEADER
        + "O1,C1,2024-01-01 10:00:00,10.50,completed,0,web\n"  # line 2 ok
        + "O2,C2,31/12/2024,5,completed,0,web\n"  # line 3 bad date
        + "O3,C3,2024-01-03 10:00:00,5\n"  # line 4 ragged (too few fields)
        + "O4,,2024-01-04 10:00:00,5,completed,0,web\n"  # line 5 no customer
        + "O5,C5,2024-01-05 10:00:00,abc,completed,0,web\n"  # line 6 bad amount
        + "O6,C6,2024-01-06 10:00:00,5,lost,0,web\n"  # line 7 status not allowed
        + "O7,C7,2024-01-07 10:00:00,5,completed,0,web,extra\n"  # line 8 too many fields
        + "O8,C8,2024-01-08 10:00:00,5,completed,-1,web\n"  # line 9 negative refund
        + 'O9,C9,2024-01-09 10:00:00,7,completed,0,"multi\nline"\n'  # line 10 ok (quoted newline)
        + "O1,C1,2024-01-01 10:00:00,11.50,completed,0,web\n"  # line 11 repeats O1: wins
    )
    _write(workdir, "orders_bad.csv", text)
    settings, result = _load(workdir)
    f = result.files[0]
    assert f.rows_read == 10
    assert f.rows_loaded + f.rows_quarantined + f.rows_filtered == f.rows_read
    assert (f.rows_loaded, f.rows_quarantined) == (2, 8)
    q = _query(settings, "select line, reason_code, column_name from quarantine order by line")
    assert q == [
        (2, "duplicate_key", "order_id"),
        (3, "bad_type", "ordered_at"),
        (4, "unparseable_line", None),
        (5, "missing_value", "customer_id"),
        (6, "bad_type", "amount"),
        (7, "not_allowed", "status"),
        (8, "unparseable_line", None),
        (9, "out_of_range", "refund_amount"),
    ]
    assert _query(settings, "select order_id, amount from orders order by 1") == [
        ("O1", Decimal("11.50")),
        ("O9", Decimal("7.00")),
    ]
    reasons = dict(_query(settings, "select line, reason from quarantine"))
    assert "31/12/2024" not in reasons[3]  # reasons name the column; the raw record is kept apart
    assert "ordered_at" in reasons[3]
    record = _query(settings, "select record from quarantine where line = 3")[0][0]
    assert "31/12/2024" in record


def test_an_out_of_range_nps_is_quarantined_but_a_bad_csat_or_ces_only_loses_that_score(workdir):
    _write(
        workdir,
        "surveys_1.csv",
        "response_id,customer_id,responded_at,nps,csat,ces,comment\n"
        "R1,C1,2024-01-01 10:00:00,10,5,7,great\n"
        "R2,C1,2024-01-02 10:00:00,11,,,\n"
        "R3,C2,2024-01-02 10:00:00,9,0,,\n"
        "R4,C3,2024-01-02 10:00:00,3,2,8,\n"
        'R5,C4,2024-01-02 10:00:00,0,1,1,"says ""hi"", ok"\n',
    )
    settings, result = _load(workdir, "surveys")
    # the responses with a bad optional score keep their NPS and their valid scores
    assert _query(settings, "select response_id, nps, csat, ces from surveys order by 1") == [
        ("R1", 10, 5, 7),
        ("R3", 9, None, None),
        ("R4", 3, 2, None),
        ("R5", 0, 1, 1),
    ]
    # an NPS out of range is the whole response's problem
    assert _query(settings, "select line, column_name, reason_code from quarantine order by 1") == [
        (3, "nps", "out_of_range"),
    ]
    f = result.files[0]
    assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_filtered == 5
    # only the bad field is reported, with its line
    assert "csat outside 1–5 on 1 row(s)" in f.note and "line 4" in f.note
    assert "ces outside 1–7 on 1 row(s)" in f.note and "line 5" in f.note
    assert _query(settings, "select note from ingest_log") == [(f.note,)]
    assert _query(settings, "select comment from surveys where response_id = 'R5'") == [
        ('says "hi", ok',)
    ]


def test_empty_and_header_only_files_load_as_empty(workdir):
    _write(workdir, "orders_empty.csv", "")
    _write(workdir, "orders_header.csv", ORDERS_HEADER)
    settings, result = _load(workdir)
    assert sorted((f.file_name, f.status, f.rows_read) for f in result.files) == [
        ("orders_empty.csv", "empty", 0),
        ("orders_header.csv", "loaded", 0),
    ]
    assert _query(settings, "select count(*) from orders") == [(0,)]


def test_a_failing_file_rolls_back_the_whole_load(workdir):
    _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
    )
    _write(workdir, "orders_2.csv", "order_id,amount\nO2,3\n")
    settings = load_settings(workdir / "settings.yaml")
    with pytest.raises(IngestError):
        _load(workdir)
    assert _query(settings, "select count(*) from orders") == [(0,)]
    assert _query(settings, "select count(*) from ingest_log") == [(0,)]
    assert _query(settings, "select count(*) from quarantine") == [(0,)]


def test_timestamps_are_converted_to_the_business_time_zone(workdir):
    _write(
        workdir,
        "orders_tz.csv",
        ORDERS_HEADER
        + "O1,C1,2024-07-01 23:30:00,1,completed,0,web\n"  # naive: source zone (New York)
        + "O2,C1,2024-07-01T23:30:00+00:00,1,completed,0,web\n",
    )  # explicit offset
    extra = {
        "timezone": "Asia/Shanghai",
        "sources": {"orders": {"files": "orders*.csv", "reader": {"timezone": "America/New_York"}}},
    }
    settings, _ = _load(workdir, extra=extra)
    assert _query(settings, "select order_id, ordered_at from orders order by 1") == [
        ("O1", dt.datetime(2024, 7, 2, 11, 30)),  # 23:30 EDT = 03:30 UTC = 11:30 CST
        ("O2", dt.datetime(2024, 7, 2, 7, 30)),  # 23:30 UTC = 07:30 CST next day
    ]


def test_mapping_expressions_filter_and_line_level_aggregation(workdir):
    _write(
        workdir,
        "lines.csv",
        "Inv,Qty,Price,Stamp,Cust,Code\n"
        "1001,2,1.50,01/02/2024 10:00,17,A\n"
        "1001,1,4.00,01/02/2024 10:00,17,B\n"
        "1001,1,9.99,01/02/2024 10:00,17,POST\n"  # filtered out: not a product
        "C1002,-1,4.00,02/02/2024 09:00,17,B\n"
        "1003,1,2.00,03/02/2024 09:00,,A\n",
    )  # no customer: quarantined as one order of one line
    extra = {
        "sources": {
            "orders": {
                "files": "lines*.csv",
                "reader": {
                    "timestamp_format": "%d/%m/%Y %H:%M",
                    "types": {"Qty": "INTEGER", "Price": "DECIMAL(10,2)"},
                },
                "aggregate_by": "Inv",
                "filter": "Code <> 'POST'",
                "columns": {
                    "order_id": "Inv",
                    "customer_id": "min(Cust)",
                    "ordered_at": "min(Stamp)",
                    "amount": "sum(Qty * Price)",
                    "status": "case when Inv like 'C%' then 'cancelled' else 'completed' end",
                },
            }
        }
    }
    settings, result = _load(workdir, extra=extra)
    assert _query(
        settings, "select order_id, amount, status, ordered_at from orders order by 1"
    ) == [
        ("1001", Decimal("7.00"), "completed", dt.datetime(2024, 2, 1, 10, 0)),
        ("C1002", Decimal("-4.00"), "cancelled", dt.datetime(2024, 2, 2, 9, 0)),
    ]
    f = result.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_filtered) == (5, 3, 1, 1)
    assert _query(
        settings, "select line, line_count, reason_code, column_name from quarantine"
    ) == [(6, 1, "missing_value", "customer_id")]


def test_settings_errors_name_the_key(tmp_path):
    p = write_settings(
        tmp_path, {"metrics": {"active_days": -3, "tierz": {}}, "timezone": "Mars/Olympus"}
    )
    with pytest.raises(SettingsError) as e:
        load_settings(p)
    msg = str(e.value)
    assert "metrics.active_days" in msg and "metrics.tierz: unknown key" in msg
    assert "timezone" in msg and "Mars/Olympus" in msg


def test_run_overrides_change_one_setting_and_are_validated(workdir):
    s = load_settings(workdir / "settings.yaml", "metrics: {active_days: 60}")
    assert s.metrics.active_days == 60 and s.metrics.rfm_window_days == 365
    with pytest.raises(SettingsError, match="metrics.tiers"):
        load_settings(workdir / "settings.yaml", "metrics: {tiers: {A: 10, B: 20}}")


def test_a_nightly_load_does_not_reread_files_it_has_loaded(workdir, monkeypatch):
    import os

    from loyalty.ingest import discovery

    old = _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
    )
    settings, _ = _load(workdir)
    hashed: list[str] = []
    real_sha = discovery._sha256
    monkeypatch.setattr(discovery, "_sha256", lambda p: hashed.append(p.name) or real_sha(p))
    _write(workdir, "orders_2.csv", ORDERS_HEADER + "O2,C1,2024-01-02 10:00:00,5,completed,0,web\n")
    _, result = _load(workdir)
    assert hashed == ["orders_2.csv"]  # only the new file was read
    assert [f.file_name for f in result.files] == ["orders_2.csv"]
    # a file touched without changing its content is read once, found unchanged, and logged
    os.utime(old, (1_700_000_000, 1_700_000_000))
    hashed.clear()
    _, result = _load(workdir)
    assert hashed == ["orders_1.csv"] and [f.status for f in result.files] == ["skipped"]
    hashed.clear()
    _, result = _load(workdir)
    assert hashed == [] and result.files == []
    assert _query(settings, "select count(*), sum(amount) from orders") == [(2, Decimal("15.00"))]
