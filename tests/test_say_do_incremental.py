"""say_do is built incrementally (loyalty.marts.insight): a build recomputes the periods whose
data changed since in full, and before them only the rows whose answer's window was still open on
the previous build's last stored day, or holds a day whose data or customer_value statuses
changed since (a day written again, added or dropped); every other row is kept. After new nights, a late answer and a Sunday of customer_value written again
with other settings, each incremental build must equal a build from scratch, row for row."""

from __future__ import annotations

import datetime as dt
import math

import yaml

from loyalty import engine
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts.insight import compute_insight_table
from loyalty.marts.periods import compute_period_table
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from loyalty.marts.value import compute_customer_value, value_days
from loyalty.settings import load_settings
from tests.conftest import write_settings
from tests.test_snapshot_scale import END

WINDOW = 14
REACH = dt.timedelta(days=WINDOW + 1)
WIDTH, ONE = dt.timedelta(days=WINDOW), dt.timedelta(days=1)


def _built(since: dt.date, first: dt.date, last: dt.date) -> str:
    """What an incremental build says it did: the periods ending on or after `since` in full, in
    the others the rows whose answer is from `first` to `last`."""
    return f"from {since}, answers {first} to {last} (status from customer_value)"


def _say_do(conn) -> list[tuple]:
    def same(v):
        return "NaN" if isinstance(v, float) and math.isnan(v) else v

    rows = conn.execute("select * from say_do order by all").fetchall()
    return [tuple(same(v) for v in row) for row in rows]


def _say_do_row(conn, week: dt.date, customer: str) -> dict:
    cur = conn.execute(
        "select * from say_do where period_type = 'week' and period_start = ? and customer_id = ?",
        [week, customer],
    )
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def _from_scratch(conn, settings) -> list[tuple]:
    conn.execute("delete from period_build_state where table_name = 'say_do'")
    built = compute_insight_table(conn, settings, "say_do")
    assert built == "full (status from customer_value)"
    return _say_do(conn)


def _late(settings, kind: str, key: str, customer: str, day: dt.date) -> None:
    """A file of one row: an NPS answer of 3 or a completed order of 80.00 on `day` at noon."""
    header = (settings.landing_path / f"{kind}.csv").read_text(encoding="utf-8").split("\n")[0]
    at = f"{day} 12:00:00"
    if kind == "surveys":
        values = {"response_id": key, "customer_id": customer, "responded_at": at, "nps": "3"}
    else:
        values = {"order_id": key, "customer_id": customer, "ordered_at": at, "amount": "80.00"}
        values.update(status="completed", channel="web")
    row = ",".join(values.get(col, "") for col in header.split(","))
    path = settings.landing_path / f"{kind}_{key}.csv"
    path.write_text(header + "\n" + row + "\n", encoding="utf-8")


def _build(conn, settings) -> str:
    compute_period_table(conn, settings, "report_periods")
    return compute_insight_table(conn, settings, "say_do")


def test_say_do_built_incrementally_equals_a_build_from_scratch(tmp_path):
    write_settings(tmp_path, {"impact": {"say_do_days": WINDOW}})
    generate(tmp_path / "landing", customers=1200, days=240, seed=7, end=END)
    settings = load_settings(tmp_path / "settings.yaml")
    first, middle = END - dt.timedelta(days=120), dt.date(2026, 3, 17)  # a Tuesday
    with engine.connect(settings) as conn:
        for kind in ("orders", "tickets", "surveys"):
            ingest_source(conn, settings, kind)
        for name in ("stg_orders", "stg_tickets", "stg_surveys"):
            build_staging(conn, settings, name)
        compute_snapshot(conn, settings, first, middle)
        # an answer on the first day of the first period the next build recomputes, by a customer
        # with no other answer, and their order on the first day of the answer's window before
        compute_period_table(conn, settings, "report_periods")
        start = conn.execute(
            "select min(period_start) from report_periods where end_as_of >= ?",
            [middle - REACH],
        ).fetchall()[0][0]
        # whose stored state changes the day after it (the bounded read of customer_state must
        # keep the row that ends on that day)
        customer = conn.execute(
            "select min(customer_id) from customer_state where valid_to = ? and customer_id "
            "not in (select customer_id from stg_surveys)",
            [start],
        ).fetchall()[0][0]
        _late(settings, "surveys", "EDGE-R", customer, start)
        _late(settings, "orders", "EDGE-O", customer, start - dt.timedelta(days=WINDOW - 1))
        for kind in ("orders", "surveys"):
            ingest_source(conn, settings, kind)
            build_staging(conn, settings, f"stg_{kind}")
        for day in value_days(first, middle):
            compute_customer_value(conn, settings, day)
        assert _build(conn, settings) == "full (status from customer_value)"
        # two more weeks of nights but one: the model's Sundays and END - 1; the Tuesday's
        # customer_value is dropped (only the latest day and Sundays are kept)
        compute_snapshot(conn, settings, middle + ONE, END - ONE)
        for day in value_days(middle + ONE, END - ONE):
            compute_customer_value(conn, settings, day)
        # the days after `middle` are new: their periods in full; before them the answers whose
        # window holds a new day's orders or snapshot, the dropped Tuesday or elapsed since
        assert _build(conn, settings) == _built(middle + ONE, middle - WIDTH, END - ONE - WIDTH)
        incremental = _say_do(conn)
        assert incremental == _from_scratch(conn, settings)
        # one night (END; the model of END - 1, a Monday, dropped): in the periods before END's,
        # the answers whose window ended on END - 1 (status) or elapsed on END (their window's end)
        compute_snapshot(conn, settings, END, END)
        compute_customer_value(conn, settings, END)
        assert _build(conn, settings) == _built(END, END - ONE - WIDTH, END - WIDTH)
        incremental = _say_do(conn)
        assert incremental == _from_scratch(conn, settings)
        weeks = {r[1] for r in incremental if r[0] == "week"}
        assert min(weeks) < middle - REACH  # earlier periods were kept, not recomputed
        edge = [r for r in incremental if r[4] == "EDGE-R" and r[1] == start]
        # its tier on the answer's day, orders_before, value_before
        assert edge and {(r[3] is not None, r[14], r[15]) for r in edge} == {(True, 1, 80)}

    # a Sunday long settled written again with other status settings: the answers whose window
    # ends in its week read other statuses
    with engine.connect(settings, read_only=True) as conn:
        before = _say_do(conn)
    # (the Sunday before the settled ones read most: windows ending in its week; not the last
    # Sunday before `middle`, whose windows the build recomputes anyway)
    sunday = max(
        (d for d in value_days(first, middle) if d.isoweekday() == 7 and d < middle - REACH),
        key=lambda d: sum(1 for r in before if r[10] and d <= r[9] < d + dt.timedelta(days=7)),
    )
    other = yaml.safe_load((tmp_path / "settings.yaml").read_text(encoding="utf-8"))
    other["model"] = {  # the model trusted with fewer repeat buyers, a stricter active band
        "min_repeat_customers": 1,
        "status_bands": {"active": 0.99, "at_risk": 0.98, "lapsed": 0.97},
    }
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other), encoding="utf-8")
    with engine.connect(settings) as conn:
        compute_customer_value(conn, load_settings(tmp_path / "other.yaml"), sunday)
        # no data changed: no period in full, the answers whose window holds that Sunday
        assert _build(conn, settings) == _built(END + ONE, sunday - WIDTH, END - WIDTH)
        incremental = _say_do(conn)
        assert incremental != before  # the statuses of that week's windows moved
        assert incremental == _from_scratch(conn, settings)

    # a late NPS answer on a day long settled, the last of its month, by a customer whose answer
    # of that month was more than a window earlier: the month's row is now the late answer's; and
    # a late order by a customer on the last day of their answer's window (the last such day up to
    # `late`; the answer's week ends before it)
    late = dt.date(2026, 2, 28)
    assert late < middle - REACH
    with engine.connect(settings, read_only=True) as conn:
        customer = conn.execute(
            "select min(customer_id) from say_do where period_type = 'month' "
            "and period_start = ? and window_end - window_days < ?",
            [late.replace(day=1), late - WIDTH],
        ).fetchall()[0][0]
        buyer, week, bought = conn.execute(
            "select customer_id, period_start, window_end from say_do where period_type = 'week' "
            "and window_end <= ? order by window_end desc, customer_id limit 1",
            [late],
        ).fetchall()[0]
        orders_after = _say_do_row(conn, week, buyer)["orders_after"]
    _late(settings, "surveys", "LATE-R", customer, late)
    _late(settings, "orders", "LATE-O", buyer, bought)
    with engine.connect(settings) as conn:
        for kind in ("orders", "surveys"):
            ingest_source(conn, settings, kind)
            build_staging(conn, settings, f"stg_{kind}")
        # the periods ending on or after it in full, before them the answers whose window holds it
        changed = min(late, bought)
        assert _build(conn, settings) == _built(changed, changed - WIDTH, END - WIDTH)
        incremental = _say_do(conn)
        month = [r for r in incremental if r[:3] == ("month", late.replace(day=1), customer)]
        assert [r[4] for r in month] == ["LATE-R"]
        assert _say_do_row(conn, week, buyer)["orders_after"] == orders_after + 1
        assert incremental == _from_scratch(conn, settings)
