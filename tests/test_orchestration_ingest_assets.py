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
        [ingest_assets.orders, *ingest_assets.orders_checks],
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


def test_each_ingest_step_reads_the_settings_file_once(workdir, monkeypatch):
    _write(
        workdir, "orders_1.csv", ORDERS_HEADER + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
    )
    parsed: list[str] = []
    real_load = resources.load_settings
    monkeypatch.setattr(
        resources, "load_settings", lambda *a, **k: parsed.append("once") or real_load(*a, **k)
    )
    resource = LoyaltyResource(settings_file=str(workdir / "settings.yaml"))
    result = dg.materialize(
        [ingest_assets.orders, *ingest_assets.orders_checks], resources={"loyalty": resource}
    )
    steps = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    assert len(steps) >= 2 and len(parsed) == len(steps)
