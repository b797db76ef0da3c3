"""What the assets tell Dagster about the tables they wrote stays out of the customers' data: Dagster
keeps asset metadata in its run and event storage (SQLite files under DAGSTER_HOME), so a preview
holds aggregates per column, never a customer id, an email, a name, a phone or a survey comment.

The exports carry markers in those fields; the ingest, staging and snapshot assets are materialised
in a persistent Dagster instance, and its storage files are searched byte for byte."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from loyalty import definitions
from loyalty.orchestration.resources import LoyaltyResource

CUSTOMER = "CUSTZZMARK1"
NAME = "Zelda Markerfield"
EMAIL = "zz.marker@pii-example.org"
PHONE = "+44 7700 900999"
COMMENT = "ZZCOMMENTMARK the courier was rude"
MARKERS = [CUSTOMER, NAME, EMAIL, PHONE, COMMENT, "C2MARKZZ"]
DAY = "2026-11-14"


def _landing(folder: Path) -> None:
    orders = ["order_id,customer_id,ordered_at,amount,status,refund_amount,channel"]
    for i in range(1, 13):
        who = CUSTOMER if i % 2 else "C2MARKZZ"
        orders.append(f"O{i},{who},2026-11-{i:02d} 10:00:00,{10 + i}.50,completed,,web")
    (folder / "orders_1.csv").write_text("\n".join(orders) + "\n", encoding="utf-8")
    (folder / "customers.csv").write_text(
        "customer_id,signed_up_at,name,email,phone,region,member_level\n"
        f"{CUSTOMER},2025-01-02 10:00:00,{NAME},{EMAIL},{PHONE},North,gold\n"
        "C2MARKZZ,2025-02-03 10:00:00,Other Person,other@pii-example.org,+44 7700 900998,South,\n",
        encoding="utf-8",
    )
    (folder / "surveys.csv").write_text(
        "response_id,customer_id,responded_at,nps,csat,ces,comment\n"
        f'R1,{CUSTOMER},2026-11-05 09:00:00,2,1,6,"{COMMENT}"\n',
        encoding="utf-8",
    )
    (folder / "tickets.csv").write_text(
        "ticket_id,customer_id,opened_at,first_response_at,resolved_at,category,priority,"
        "channel,satisfaction\n"
        f"T1,{CUSTOMER},2026-11-03 08:00:00,2026-11-03 09:00:00,,complaint,important,chat,\n",
        encoding="utf-8",
    )


def _stored_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def test_asset_metadata_in_dagster_storage_holds_no_customer_data(workdir):
    _landing(workdir / "landing")
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    everything = [*definitions.all_assets, *definitions.all_checks]
    first = [
        dg.AssetKey(k)
        for k in ("orders", "customers", "surveys", "tickets", "stg_orders", "stg_tickets")
    ]
    first.append(dg.AssetKey("stg_surveys"))
    home = workdir / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        ingest = dg.materialize(
            everything,
            selection=dg.AssetSelection.assets(*first),
            resources={"loyalty": resource},
            instance=instance,
        )
        snapshot = dg.materialize(
            everything,
            selection=dg.AssetSelection.assets("customer_snapshot"),
            resources={"loyalty": resource},
            instance=instance,
            partition_key=DAY,
        )
        assert ingest.success and snapshot.success
        materialised = [
            ev.step_materialization_data.materialization
            for result in (ingest, snapshot)
            for ev in result.get_asset_materialization_events()
        ]
        previews = [m.metadata["preview"].value for m in materialised if "preview" in m.metadata]
        orders_preview = next(
            m.metadata["preview"].value
            for m in materialised
            if m.asset_key == dg.AssetKey("orders")
        )
    # every asset that wrote a table told Dagster about it ...
    assert len(previews) == len(first) + 1
    assert all("| customer_id | VARCHAR |" in p for p in previews)
    # the profile's figures are the table's: amounts' range and counts, as the database has them
    con = duckdb.connect(str(workdir / "loyalty.duckdb"), read_only=True)
    try:
        lo, hi, n, ids = con.execute(
            "select min(amount)::varchar, max(amount)::varchar, count(*), "
            "count(distinct customer_id) from orders"
        ).fetchone()
    finally:
        con.close()
    amount_line = next(x for x in orders_preview.splitlines() if x.startswith("| amount |"))
    assert amount_line.endswith(f"| {lo} | {hi} |"), amount_line
    id_line = next(x for x in orders_preview.splitlines() if x.startswith("| customer_id |"))
    assert id_line == f"| customer_id | VARCHAR | {n} | {ids} |  |  |"
    # ... and no marker reached the run or event storage
    stored = _stored_bytes(home)
    assert b"customer_id" in stored  # the storage is the one written (column names are there)
    for marker in MARKERS:
        assert marker.encode() not in stored, marker


def test_a_mart_error_quoting_a_value_is_stored_without_it(workdir):
    """DuckDB's conversion error quotes the value it could not convert; the step fails naming the
    mart and the kind of error, and neither Dagster's storage nor the failure holds the value."""
    _landing(workdir / "landing")
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    everything = [*definitions.all_assets, *definitions.all_checks]
    staged = ["orders", "customers", "surveys", "tickets", "stg_orders", "stg_tickets"]
    home = workdir / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        assert dg.materialize(
            everything,
            selection=dg.AssetSelection.assets(*staged),
            resources={"loyalty": resource},
            instance=instance,
        ).success
        # a staging view whose every row makes DuckDB convert an email to a number
        con = duckdb.connect(str(workdir / "loyalty.duckdb"))
        try:
            con.execute("create table bad_value as select ? as v", [EMAIL])
            con.execute("create table stg_orders_copy as select * from stg_orders")
            con.execute("drop view stg_orders")
            con.execute(
                "create view stg_orders as select * replace "
                "(value + (select v from bad_value)::integer as value) from stg_orders_copy"
            )
        finally:
            con.close()
        failed = dg.materialize(
            everything,
            selection=dg.AssetSelection.assets("customer_snapshot"),
            resources={"loyalty": resource},
            instance=instance,
            partition_key=DAY,
            raise_on_error=False,
        )
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("customer_snapshot: ConversionException on a value")
    assert EMAIL not in str(failure.step_failure_data.error)
    assert EMAIL.encode() not in _stored_bytes(home)
