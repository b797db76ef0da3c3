"""The per-customer sums the churn model's summary is made of, kept from night to night on
DuckDB (docs/model.md, "Tables, status and backtest").

`value_customers.sql` sums every counted order and return up to day D (and up to the backtest's
calibration end C = D - H) per customer: at 10 M orders two hash aggregations of 9.6 M orders,
3-3.5 s a night. Every column is a count, a sum, a first or a last over the customer's days, so
the table `value_customer_state`, kept at the last computed day S, moves to a later day D by the
days in (S, D] and those in (C_S, C] alone (state/value_customer_delta.sql,
state/value_customer_apply.sql): a night reads its own orders and the day that reaches the
calibration. It is built again from every order when that would not give the same rows:

- nothing is stored yet, or it was kept with other definitions (the SQL of the counted orders and
  of these sums, the business time zone, H);
- D is before S (a backfill of an earlier day);
- an order key was replaced since (the old row's customer and day are unknown), or an order dated
  on or before S was loaded since (a late order or return; a cancelled one changes nothing).

`day_build_state` holds the state's day and what it was built with. The Spark engine computes
value_customers from every order each time (loyalty.spark keeps no table from run to run)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import duckdb

from loyalty import engine
from loyalty.engine import sql_text
from loyalty.settings import Settings

STATE = "value_customer_state"
CUSTOMERS = "marts/customer_value/value_customers"
DELTA = "marts/customer_value/state/value_customer_delta"
APPLY = "marts/customer_value/state/value_customer_apply.sql"
# what the sums are made from: a change to any of these files builds the table again
DEFINITIONS = (
    "staging/stg_orders.sql",
    f"{CUSTOMERS}.sql",
    f"{DELTA}.sql",
    APPLY,
)


def fingerprint(settings: Settings) -> str:
    texts = [sql_text(name) for name in DEFINITIONS]
    text = "\n".join([*texts, settings.timezone, str(settings.model.horizon_days)])
    return hashlib.sha256(text.encode()).hexdigest()


def bring_to(
    conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date, calibration_end: dt.date
) -> str:
    """Make value_customer_state hold value_customers at `day` (one transaction) and return how:
    "kept from <S>" or "built from every order (<why>)"."""
    stamp = fingerprint(settings)
    with engine.transaction(conn):
        loads = engine.scalar(conn, "select coalesce(max(load_id), 0) from ingest_log")
        stored, why = _stored(conn, stamp, day)
        params: dict[str, Any] = {"as_of": day, "calibration_end": calibration_end}
        if stored is None:
            engine.create_table(conn, CUSTOMERS, params, name=STATE)
            how = f"built from every order ({why})"
        else:
            state_day, state_cal = stored
            delta = {**params, "state_as_of": state_day, "state_calibration_end": state_cal}
            with engine.intermediate(conn) as steps:
                steps.create(DELTA, delta)
                engine.execute_file(conn, APPLY)
            how = f"kept from {state_day}"
        engine.execute_file(conn, "bookkeeping/day_build_state.sql")
        conn.execute("delete from day_build_state where table_name = ?", [STATE])
        built = {"fingerprint": stamp, "calibration_end": str(calibration_end), "loads_seen": loads}
        conn.execute(
            "insert into day_build_state values (?, ?, current_timestamp::timestamp, ?)",
            [STATE, day, json.dumps(built, sort_keys=True)],
        )
    return how


def _stored(
    conn: duckdb.DuckDBPyConnection, stamp: str, day: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, str]:
    """(S, C_S) of the stored table when `day` can be reached from it, else None and why not."""
    if not (engine.table_exists(conn, STATE) and engine.table_exists(conn, "day_build_state")):
        return None, "none stored"
    rows = conn.execute(
        "select as_of, params_json from day_build_state where table_name = ?", [STATE]
    ).fetchall()
    if not rows:
        return None, "none stored"
    state_day, built = rows[0][0], json.loads(rows[0][1])
    if built.get("fingerprint") != stamp:
        return None, "other definitions or settings"
    if state_day > day:
        return None, f"an earlier day than the stored {state_day}"
    seen = built["loads_seen"]
    replaced = engine.scalar(
        conn,
        "select count(*) from ingest_log where load_id > ? and source = 'orders' "
        "and keys_replaced > 0",
        [seen],
    )
    if replaced:
        return None, "order keys replaced since"
    late = engine.scalar(
        conn,
        "select count(*) from stg_orders where _load_id > ? and order_date <= ? "
        "and (is_counted or status = 'returned')",
        [seen, state_day],
    )
    if late:
        return None, f"orders dated on or before {state_day} loaded since"
    return (state_day, dt.date.fromisoformat(built["calibration_end"])), ""
