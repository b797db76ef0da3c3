"""The insight marts wired through Dagster: service_impact and say_do are unpartitioned assets of
the marts group (so `loyalty run` builds them in its period-marts step and the nightly job with the
period marts), downstream of report_periods, and materialising them writes the same rows as
`loyalty.marts.insight` does."""

from __future__ import annotations

import dagster as dg

from loyalty.assets import insight
from loyalty.orchestration.jobs import select_keys
from loyalty.orchestration.resources import LoyaltyResource
from tests.fixtures_metrics import rows
from tests.test_metrics_insight import impact  # noqa: F401 (fixture)


def test_insight_assets_are_period_marts_after_report_periods():
    from loyalty import definitions

    period_keys = select_keys(definitions.all_assets, {"marts"}, (type(None),))
    assert {dg.AssetKey("service_impact"), dg.AssetKey("say_do")} <= set(period_keys)
    graph = {a.key: a for a in definitions.all_assets if isinstance(a, dg.AssetsDefinition)}
    for name in ("service_impact", "say_do"):
        deps = {k.to_user_string() for k in graph[dg.AssetKey(name)].dependency_keys}
        assert {"report_periods", "customer_snapshot", "stg_orders"} <= deps, name


def test_materialising_the_assets_rebuilds_the_tables(impact):  # noqa: F811
    before = {
        t: rows(impact, f"select * from {t} order by all") for t in ("service_impact", "say_do")
    }
    settings_file = impact.base_dir / "settings.yaml"
    result = dg.materialize(
        [insight.service_impact, insight.say_do],
        resources={"loyalty": LoyaltyResource(settings_file=str(settings_file))},
    )
    assert result.success
    for name in ("service_impact", "say_do"):
        (mat,) = result.asset_materializations_for_node(name)
        assert mat.metadata["dagster/row_count"].value == len(before[name])
        assert "full" in mat.metadata["built"].value
        assert rows(impact, f"select * from {name} order by all") == before[name]
