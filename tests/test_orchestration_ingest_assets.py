"""The ingest assets under Dagster: a blocking check stops the run, an ingest error is a clean step
failure, and each step reads the settings file once."""

from __future__ import annotations

import dagster as dg

from loyalty.assets import ingest as ingest_assets
from loyalty.orchestration import resources
from loyalty.orchestration.resources import LoyaltyResource
from tests.test_ingest import ORDERS_HEADER, _write


def test_ingest_assets_materialise_and_the_quarantine_check_blocks(workdir):
    _write(
        workdir,
        "orders_1.csv",
        ORDERS_HEADER
        + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
        + "O2,,2024-01-01 10:00:00,10,completed,0,web\n",
    )  # 50 % quarantined
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    result = dg.materialize(
        [ingest_assets.orders],
        resources={"loyalty": resource},
        raise_on_error=False,
    )
    assert result.success is False  # the blocking check failed the run
    evals = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evals["orders_keys_unique_not_null"] is True
    assert evals["orders_quarantine_share"] is False
    mat = result.asset_materializations_for_node("orders")[0]
    assert mat.metadata["dagster/row_count"].value == 1
    assert mat.metadata["rows_quarantined"].value == 1


def test_one_check_runs_alone_from_the_step_of_the_exports_checks(workdir):
    """The checks of an export run in its asset's step, and a check selected alone (as from the
    UI) is the only one that runs: nothing is loaded."""
    _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
    )
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    defs = [ingest_assets.orders]
    with dg.DagsterInstance.ephemeral() as instance:
        everything = dg.materialize(defs, resources={"loyalty": resource}, instance=instance)
        names = {e.check_name for e in everything.get_asset_check_evaluations()}
        assert names == {
            "orders_keys_unique_not_null",
            "orders_quarantine_share",
            "orders_freshness",
        }
        steps = [e for e in everything.all_events if e.event_type_value == "STEP_START"]
        assert len(steps) == 1  # the asset and its three checks in one step
        alone = dg.materialize(
            defs,
            resources={"loyalty": resource},
            instance=instance,
            selection=dg.AssetSelection.checks(
                dg.AssetCheckKey(dg.AssetKey("orders"), "orders_quarantine_share")
            ),
        )
    assert [e.check_name for e in alone.get_asset_check_evaluations()] == [
        "orders_quarantine_share"
    ]
    assert alone.asset_materializations_for_node("orders") == []
    loaded = [e for e in alone.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert loaded == []


def test_an_ingest_error_is_a_clean_dagster_failure(workdir):
    _write(workdir, "orders_1.csv", "order_id,amount\nO1,1\n")
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    result = dg.materialize(
        [ingest_assets.orders], resources={"loyalty": resource}, raise_on_error=False
    )
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "orders_1.csv" in failure.step_failure_data.error.message
    assert "customer_id" in failure.step_failure_data.error.message


def test_a_run_reads_the_settings_file_once(workdir, monkeypatch):
    """Once per run, whatever its steps (each run anew: an edited file applies to the next)."""
    from loyalty.assets import staging as staging_assets

    _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
    )
    parsed: list[str] = []
    real_load = resources.load_settings
    monkeypatch.setattr(
        resources, "load_settings", lambda *a, **k: parsed.append("once") or real_load(*a, **k)
    )
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    assets = [ingest_assets.orders, staging_assets.stg_orders]
    for run in (1, 2):
        result = dg.materialize(assets, resources={"loyalty": resource})
        steps = [e for e in result.all_events if e.event_type_value == "STEP_START"]
        assert len(steps) == 2 and parsed == ["once"] * run


def _profiled(result, asset: str) -> tuple[dict, dict[str, str]]:
    """(metadata, profile line per column) of `asset`'s materialisation."""
    meta = result.asset_materializations_for_node(asset)[0].metadata
    lines = {line.split("|")[1].strip(): line for line in meta["preview"].value.splitlines()[2:]}
    return meta, lines


def test_a_night_profiles_the_rows_it_loaded_not_the_whole_table(workdir):
    """The ingest asset and its staging view describe the rows loaded since their previous
    materialisation (the whole table the first time); the row count stays the table's."""
    from loyalty.assets import staging as staging_assets

    _write(
        workdir,
        "orders_1.csv",
        ORDERS_HEADER
        + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
        + "O2,C2,2024-01-02 10:00:00,30,completed,0,web\n",
    )
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    assets = [ingest_assets.orders, staging_assets.stg_orders]
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.materialize(assets, resources={"loyalty": resource}, instance=instance)
        _write(
            workdir,
            "orders_2.csv",
            ORDERS_HEADER + "O3,C3,2024-01-03 10:00:00,70,completed,0,web\n",
        )
        second = dg.materialize(assets, resources={"loyalty": resource}, instance=instance)
        third = dg.materialize(assets, resources={"loyalty": resource}, instance=instance)
    for asset in ("orders", "stg_orders"):
        meta, lines = _profiled(first, asset)
        assert meta["dagster/row_count"].value == 2
        assert lines["amount"].endswith("| 10.00 | 30.00 |"), lines["amount"]
        assert meta["preview_of"].value.startswith("the 2 rows loaded")
        loads = meta["loads_through"].value
        meta, lines = _profiled(second, asset)
        assert meta["dagster/row_count"].value == 3  # the table ...
        assert lines["amount"].endswith("| 70.00 | 70.00 |"), lines["amount"]  # ... its new row
        assert meta["preview_of"].value == (
            f"the 1 row loaded since the previous build (loads {loads + 1} to {loads + 1})"
        )
        meta, _ = _profiled(third, asset)
        assert meta["preview_of"].value == "no rows loaded since the previous build"
        assert meta["dagster/row_count"].value == 3


def test_a_run_opens_the_database_once_and_closes_it_at_its_end(workdir, monkeypatch):
    """Every step of a Dagster run gets a connection to the database the run's first step opened;
    when the run ends the file is closed (another process opens it read-write at once, and no
    write-ahead log is left). Outside a run, a session opens and closes the file itself."""
    import subprocess
    import sys

    from loyalty import engine
    from loyalty.assets import staging as staging_assets

    _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
    )
    opened: list[str] = []
    real_open = engine.core._open
    monkeypatch.setattr(
        engine.core, "_open", lambda *a, **k: opened.append("file") or real_open(*a, **k)
    )
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    assets = [ingest_assets.orders, staging_assets.stg_orders]
    result = dg.materialize(assets, resources={"loyalty": resource})
    steps = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    assert len(steps) == 2 and opened == ["file"]
    database = resource.get_settings().database_path
    assert not database.with_name(database.name + ".wal").exists()
    # another process opens the file read-write at once (DuckDB's lock is gone)
    other = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(database)!r}).close()"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 0, other.stderr
    with resource.session() as (_settings, conn):
        assert conn.execute("select count(*) from stg_orders").fetchone() == (1,)
    with resource.session(read_only=True) as (_settings, conn):
        assert conn.execute("select count(*) from orders").fetchone() == (1,)
    assert opened == ["file"] * 3  # outside a run: each session opened the file itself
