"""The synthetic export generator: reproducible, contract-shaped, realistically skewed, and the
committed sample in data/sample is exactly what its documented command produces."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from pathlib import Path

import polars as pl
import pytest

from loyalty.contracts import CONTRACTS
from loyalty.generate import generate, main

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
SAMPLE_ARGS = [
    "--customers",
    "3000",
    "--days",
    "728",
    "--seed",
    "7",
    "--end",
    "2026-11-15",
    "--split",
    "drop",
    "--bad-rows",
]
END = dt.date(2026, 11, 15)
SLA_HOURS = {"urgent": 24, "important": 72, "general": 168}


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix in (".csv", ".parquet")
    }


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    """Two years of 4,000 customers, one file per kind, no bad rows."""
    out = tmp_path_factory.mktemp("year")
    generate(out, customers=4000, days=730, seed=11)
    return out


def _ts(col: str) -> pl.Expr:
    return pl.col(col).str.strptime(pl.Datetime, "%Y-%m-%d %H:%M:%S", strict=True)


# --------------------------------------------------------------------------------------------------
# reproducibility and shape


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name, customers=800, days=120, seed=seed, formats=("csv", "parquet"))
    a, b, c = (_digests(tmp_path / n) for n in "abc")
    assert a == b
    assert len(a) == 8
    assert all(a[f] != c[f] for f in a)


def test_columns_are_exactly_the_contracts_in_order(year):
    for kind, contract in CONTRACTS.items():
        with open(year / f"{kind}.csv", encoding="utf-8") as f:
            # every contract column but the optional return link, which generated orders lack
            expected = [n for n in contract.names if n != "original_order_id"]
            assert f.readline().rstrip("\n").split(",") == expected


def test_values_are_formatted_as_the_exports_promise(year):
    orders = _read(year / "orders.csv")
    assert orders["order_id"].str.contains(r"^O\d{7}$").all()
    assert orders["customer_id"].str.contains(r"^C\d{6}$").all()
    assert orders["ordered_at"].str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$").all()
    assert orders["amount"].str.contains(r"^\d+\.\d\d$").all()
    assert orders["order_id"].n_unique() == orders.height
    customers = _read(year / "customers.csv")
    first = customers.row(0, named=True)
    assert first["name"] == "Customer 000001"
    assert first["email"] == "c000001@example.com"
    assert first["phone"] == "+44 7700 900001"
    assert customers["email"].str.ends_with("@example.com").all()


def test_every_event_is_inside_the_range_and_refers_to_a_known_customer(year):
    start = END - dt.timedelta(days=729)
    known = set(_read(year / "customers.csv")["customer_id"])
    for kind, col in (
        ("orders", "ordered_at"),
        ("tickets", "opened_at"),
        ("surveys", "responded_at"),
    ):
        df = _read(year / f"{kind}.csv").with_columns(t=_ts(col))
        assert df["t"].min().date() >= start and df["t"].max().date() <= END, kind
        assert set(df["customer_id"]) <= known, kind
        assert df["t"].is_sorted(), kind


def test_parquet_holds_the_same_rows_with_types(tmp_path):
    generate(tmp_path, customers=500, days=90, seed=5, formats=("csv", "parquet"))
    from_csv = _read(tmp_path / "orders.csv")
    from_parquet = pl.read_parquet(tmp_path / "orders.parquet")
    assert from_parquet.schema["ordered_at"] == pl.Datetime("us")
    assert from_parquet.schema["amount"] == pl.Decimal(18, 2)
    assert from_parquet["order_id"].to_list() == from_csv["order_id"].to_list()
    assert from_parquet["amount"].cast(pl.String).to_list() == from_csv["amount"].to_list()


def test_monthly_split_writes_one_file_per_month_with_every_row(tmp_path):
    counts = generate(tmp_path, customers=600, days=100, seed=2, split="monthly")
    months = sorted(p.name for p in tmp_path.glob("orders_*.csv"))
    assert months[0] == "orders_2026-08.csv" and months[-1] == "orders_2026-11.csv"
    assert len(months) == 4
    whole = generate(tmp_path / "whole", customers=600, days=100, seed=2)
    assert sum(counts[m] for m in months) == whole["orders.csv"]


# --------------------------------------------------------------------------------------------------
# realism, measured on two years of 4,000 customers


def test_orders_per_customer_are_heavy_tailed(year):
    per_customer = (
        _read(year / "orders.csv").group_by("customer_id").len()["len"].sort(descending=True)
    )
    top_decile = per_customer.head(len(per_customer) // 10).sum() / per_customer.sum()
    one_order = (per_customer == 1).mean()
    assert top_decile > 0.30
    assert 0.30 < one_order < 0.65
    assert per_customer.max() >= 20 * per_customer.median()


def test_amounts_are_right_skewed_and_refunds_never_exceed_the_amount(year):
    orders = _read(year / "orders.csv").with_columns(
        amount=pl.col("amount").cast(pl.Float64),
        refund=pl.col("refund_amount").cast(pl.Float64).fill_null(0),
    )
    assert orders["amount"].mean() > 1.15 * orders["amount"].median()
    assert (orders["amount"] > 0).all()
    assert (orders["refund"] <= orders["amount"]).all()
    share = orders["status"].value_counts(normalize=True)
    share = dict(zip(share["status"], share["proportion"], strict=True))
    assert 0.02 < share["cancelled"] < 0.04
    refunded_any = (orders["refund"] > 0).mean()
    assert 0.012 < refunded_any < 0.03
    partial = orders.filter((pl.col("status") == "completed") & (pl.col("refund") > 0))
    assert partial.height > 0 and (partial["refund"] < partial["amount"]).all()
    assert set(orders["channel"]) == {"web", "app", "store"}


def test_december_peak_and_weekend_dip(year):
    orders = _read(year / "orders.csv").with_columns(t=_ts("ordered_at"))
    last_year = orders.filter(
        pl.col("t").dt.date().is_between(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    )
    by_month = last_year.group_by(pl.col("t").dt.month()).len()
    december = by_month.filter(pl.col("t") == 12)["len"].item()
    assert december > 1.15 * by_month["len"].mean()
    by_weekday = orders.group_by(pl.col("t").dt.weekday()).len()  # 1 = Monday
    weekday_mean = by_weekday.filter(pl.col("t") <= 5)["len"].mean()
    assert by_weekday.filter(pl.col("t") == 7)["len"].item() < 0.85 * weekday_mean


def test_customers_arrive_over_the_range_and_some_churn(year):
    orders = _read(year / "orders.csv").with_columns(t=_ts("ordered_at"))
    firsts = orders.group_by("customer_id").agg(first=pl.col("t").min(), last=pl.col("t").max())
    first_days = firsts["first"].dt.date()
    assert (first_days > dt.date(2025, 11, 15)).mean() > 0.25  # many first buy in the second year
    lapsed = (firsts["last"].dt.date() < END - dt.timedelta(days=180)).mean()
    assert 0.25 < lapsed < 0.8


def test_tickets_are_consistent_and_some_breach_their_sla(year):
    t = _read(year / "tickets.csv").with_columns(
        opened=_ts("opened_at"),
        first=_ts("first_response_at"),
        resolved=_ts("resolved_at"),
        sat=pl.col("satisfaction").cast(pl.Int64),
    )
    assert set(t["priority"]) == set(SLA_HOURS)
    assert set(t["category"]) == {"complaint", "delivery", "billing", "product", "other"}
    assert (t["first"].drop_nulls() >= t.filter(pl.col("first").is_not_null())["opened"]).all()
    done = t.filter(pl.col("resolved").is_not_null())
    assert (done["resolved"] >= done["opened"]).all()
    assert (done["resolved"] >= done["first"]).all()
    assert 0.01 < t["resolved"].is_null().mean() < 0.15
    hours = (done["resolved"] - done["opened"]).dt.total_seconds() / 3600
    sla = done["priority"].replace_strict(SLA_HOURS, return_dtype=pl.Float64)
    breached = hours > sla
    assert 0.03 < breached.mean() < 0.30
    sat = done.with_columns(breached=breached).filter(pl.col("sat").is_not_null())
    assert sat["sat"].is_between(1, 5).all()
    assert 0.2 < t["sat"].is_not_null().mean() < 0.7
    assert (
        sat.filter(pl.col("breached"))["sat"].mean()
        < sat.filter(~pl.col("breached"))["sat"].mean() - 0.5
    )
    # complaint bursts: some customers open more than 3 complaints within 30 days
    complaints = t.filter(pl.col("category") == "complaint").sort("opened")
    bursts = complaints.rolling("opened", period="30d", group_by="customer_id").agg(n=pl.len())
    assert bursts.filter(pl.col("n") > 3)["customer_id"].n_unique() >= 3


def test_surveys_are_in_range_correlated_with_churn_and_quote_awkward_comments(year):
    s = _read(year / "surveys.csv")
    for col, lo, hi in (("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)):
        values = s[col].drop_nulls().cast(pl.Int64)
        assert values.is_between(lo, hi).all(), col
        assert 0 < s[col].is_null().sum() < s.height, col
    comments = s["comment"].drop_nulls()
    assert comments.str.contains(",").any() and comments.str.contains('"').any()
    assert comments.str.contains("\n").any() and comments.str.contains("[\u4e00-\u9fff]").any()
    # a few customers answer twice within a month
    twice = s.group_by("customer_id", s["responded_at"].str.slice(0, 7)).len()
    assert twice.filter(pl.col("len") > 1).height > 0
    # detractors stop buying more often than promoters
    last_order = (
        _read(year / "orders.csv").group_by("customer_id").agg(last=pl.col("ordered_at").max())
    )
    j = (
        s.filter(pl.col("nps").is_not_null())
        .join(last_order, on="customer_id")
        .with_columns(
            nps=pl.col("nps").cast(pl.Int64),
            lapsed=pl.col("last") < str(END - dt.timedelta(days=90)),
        )
    )
    detractors = j.filter(pl.col("nps") <= 6)["lapsed"].mean()
    promoters = j.filter(pl.col("nps") >= 9)["lapsed"].mean()
    assert detractors > promoters + 0.05


# --------------------------------------------------------------------------------------------------
# deliberate bad rows


def _find_bad_rows(folder: Path) -> list[tuple[str, int, str]]:
    """(file, CSV record number with the header as 1, reason) of every row that breaks a contract,
    found independently of the generator with Python's csv module."""
    found = []
    date_re = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    for path in sorted(folder.glob("*.csv")):
        kind = path.name.split("_")[0].split(".")[0]
        contract = CONTRACTS[kind]
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header = rows[0]
        last_record = {r[0]: record for record, r in enumerate(rows[1:], start=2)}
        for record, row in enumerate(rows[1:], start=2):

            def bad(reason, record=record, name=path.name):
                found.append((name, record, reason))

            if len(row) != len(header):
                bad("ragged")
                continue
            # an optional column the export does not carry (the return link) reads as empty
            rec = {c.name: "" for c in contract.columns} | dict(zip(header, row, strict=True))
            if any(not rec[c.name] for c in contract.columns if c.required):
                bad("missing key")
            if any(
                rec[c.name]
                and (c.sql_type == "TIMESTAMP")
                and not _is_timestamp(rec[c.name], date_re)
                for c in contract.columns
            ):
                bad("bad date")
            for c in contract.columns:
                if c.allowed and rec[c.name] and rec[c.name] not in c.allowed:
                    bad(f"{c.name} {rec[c.name]}")
                if (
                    c.max_value is not None
                    and rec[c.name]
                    and not (c.min_value <= int(rec[c.name]) <= c.max_value)
                ):
                    bad(f"{c.name} {rec[c.name]}")
            if last_record[rec[header[0]]] > record:  # the same key again later in this file
                bad("duplicate")
    return found


def _is_timestamp(text: str, pattern: re.Pattern) -> bool:
    if not pattern.match(text):
        return False
    try:
        dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


def test_bad_rows_flag_adds_exactly_the_listed_bad_rows(tmp_path):
    log: list[dict] = []
    clean = generate(tmp_path / "clean", customers=700, days=60, seed=9)
    dirty = generate(
        tmp_path / "dirty", customers=700, days=60, seed=9, bad_rows=True, bad_row_log=log
    )
    assert _find_bad_rows(tmp_path / "clean") == []
    found = _find_bad_rows(tmp_path / "dirty")
    assert sorted(r for _f, _l, r in found) == sorted(
        ["ragged", "missing key", "duplicate", "bad date", "priority critical", "nps 11"]
    )
    assert sorted((f, line) for f, line, _r in found) == sorted(
        (b["file"], b["record"]) for b in log
    )
    assert dirty["orders.csv"] == clean["orders.csv"] + 3
    assert dirty["tickets.csv"] == clean["tickets.csv"] + 2
    assert dirty["surveys.csv"] == clean["surveys.csv"] + 1
    for name, rows in dirty.items():
        assert rows - clean[name] < 0.05 * rows


# --------------------------------------------------------------------------------------------------
# the committed sample


def test_committed_sample_is_what_the_documented_command_produces(tmp_path, capsys):
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    command = "python -m loyalty.generate " + " ".join(SAMPLE_ARGS) + " --out data/sample"
    assert command in readme
    assert main([*SAMPLE_ARGS, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert _digests(tmp_path) == _digests(SAMPLE)
    assert sum(p.stat().st_size for p in SAMPLE.glob("*.csv")) < 4_000_000


def test_sample_readme_lists_every_bad_row_with_its_line(tmp_path):
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8").split("## Deliberate bad rows")[1]
    listed = {
        (m[1], int(m[2])) for m in re.finditer(r"^\| `([\w.-]+\.csv)` \| (\d+) \|", readme, re.M)
    }
    found = {(f, line) for f, line, _r in _find_bad_rows(SAMPLE)}
    assert listed == found
    assert len(found) == 6


def test_sample_daily_drop_overlaps_the_history_with_a_few_later_versions():
    history = _read(SAMPLE / "orders_2026-11-10_history.csv")
    drop = _read(SAMPLE / "orders_2026-11-15.csv").filter(pl.col("ordered_at").is_not_null())
    assert history["ordered_at"].max() < "2026-11-11"
    assert drop["ordered_at"].min() >= "2026-11-09"
    both = history.join(drop.unique("order_id", keep="last"), on="order_id", suffix="_drop")
    assert both["ordered_at"].str.slice(0, 10).unique().sort().to_list() == [
        "2026-11-09",
        "2026-11-10",
    ]
    changed = both.filter(pl.col("status") != pl.col("status_drop"))
    assert 1 <= changed.height <= 10
    assert (changed["status_drop"] == "refunded").all()
    assert (changed["refund_amount_drop"] == changed["amount"]).all()
    # loading in name order applies the drop last
    assert sorted(p.name for p in SAMPLE.glob("orders*.csv"))[-1] == "orders_2026-11-15.csv"


def test_tiny_inputs_still_get_each_bad_row_once(tmp_path):
    log: list[dict] = []
    generate(tmp_path, customers=1, days=1, seed=1, bad_rows=True, bad_row_log=log)
    assert len(log) == 6
    assert len(_find_bad_rows(tmp_path)) == 6
