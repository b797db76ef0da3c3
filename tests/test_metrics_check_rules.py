"""Every rule of the period marts' and the KPI board's blocking checks counts its breaches
(sql/checks/): on the pipeline-built database every check passes; then, on a copy, rows are made to
break one rule at a time, and the check fails with that rule's count equal to the rows broken and
every other rule still at zero."""

from __future__ import annotations

import pytest

from loyalty import engine
from loyalty.marts.checks import VIOLATIONS, run_check
from tests.test_reports_fixture_db import report_db, workspace  # noqa: F401 (fixture)

# check -> (the rule's column, the table, an update that breaks it, the rows it updates)
BREACHES = [
    (
        "kpi_board_complete",
        "rate outside [0,1]",
        "update kpi_daily set value = 1.5, value_high = 2 where kpi = 'churn_rate' and {rows}",
    ),
    (
        "kpi_board_complete",
        "negative money",
        "update kpi_daily set value = -1, value_low = -2 where kpi = 'revenue_at_risk' and {rows}",
    ),
    (
        "kpi_board_complete",
        "nps outside [-100,100]",
        "update kpi_daily set value = 101, value_high = 102 where kpi = 'nps' and {rows}",
    ),
    (
        "kpi_board_complete",
        "value outside its interval",
        "update kpi_daily set value_low = value + 1, value_high = value + 2 "
        "where kpi = 'churn_rate' and value < 0.5 and {rows}",
    ),
    (
        "retention_counts_reconcile",
        "start - lost + new + reactivated <> end",
        "update retention_period set lost_count = lost_count + 1, end_count = end_count "
        "where tier = 'all' and {rows}",
    ),
    (
        "retention_counts_reconcile",
        "kept_rate outside [0,1]",
        "update retention_period set kept_rate = 1.5 where {rows}",
    ),
    (
        "retention_counts_reconcile",
        "churn_rate outside [0,1]",
        "update retention_period set churn_rate = -0.5 where {rows}",
    ),
    (
        "retention_counts_reconcile",
        "activation_rate outside [0,1]",
        "update retention_period set activation_rate = 2 where {rows}",
    ),
    (
        "repurchase_shares_valid",
        "repeat_buyers > buyers",
        "update repurchase_period set repeat_buyers = buyers + 1 where {rows}",
    ),
    (
        "repurchase_shares_valid",
        "lifetime_repeat_rate outside [0,1]",
        "update repurchase_period set lifetime_repeat_rate = 1.5 where {rows}",
    ),
    (
        "nps_within_bounds",
        "groups do not add up to responses",
        "update nps_period set responses = responses + 1 where {rows}",
    ),
    (
        "nps_within_bounds",
        "csat outside [0,1]",
        "update nps_period set csat = 1.5, csat_high = 2 where {rows}",
    ),
    (
        "nps_within_bounds",
        "nps or csat outside its interval",
        "update nps_period set nps_low = nps + 1, nps_high = nps + 2 where nps < 90 and {rows}",
    ),
    (
        "service_rates_valid",
        "met + breached > tickets",
        "update service_period set met = tickets + 1 where priority <> 'all' and {rows}",
    ),
    (
        "service_rates_valid",
        "complaint_sla_rate outside [0,1]",
        "update service_period set complaint_sla_rate = 1.5 where {rows}",
    ),
    (
        "service_rates_valid",
        "sla_rate outside its interval",
        "update service_period set sla_rate_low = sla_rate + 0.1, sla_rate_high = sla_rate + 0.2 "
        "where sla_rate is not null and {rows}",
    ),
    (
        "cohort_shares_valid",
        "share outside [0,1]",
        "update cohort_retention set share = 1.5 where {rows}",
    ),
    (
        "cohort_shares_valid",
        "k = 0 cell not the whole cohort",
        "update cohort_retention set active_count = size - 1 where k = 0 and size > 0 and {rows}",
    ),
]
CHECKS = sorted({c for c, *_ in BREACHES})
BROKEN = 3  # rows broken per rule


def _table(update: str) -> str:
    return update.split()[1]


def test_every_check_passes_on_the_built_database(report_db, tmp_path):  # noqa: F811
    settings = workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        for check in CHECKS:
            outcome = run_check(conn, check)
            assert outcome.passed, (check, outcome.metadata)


@pytest.mark.parametrize(("check", "rule", "update"), BREACHES, ids=[b[1] for b in BREACHES])
def test_a_broken_rule_counts_the_rows_that_break_it(report_db, tmp_path, check, rule, update):  # noqa: F811
    settings = workspace(tmp_path, report_db)
    table = _table(update)
    with engine.connect(settings) as conn:
        # the first BROKEN rows the update reaches, by rowid: their values stay as they were
        # otherwise (a rate of a row with values within bounds, a count of a filled row)
        where = update.split(" where ", 1)[1].replace(" and {rows}", "").replace("{rows}", "true")
        ids = [
            r[0]
            for r in conn.execute(
                f"select rowid from {table} where {where} order by rowid limit ?", [BROKEN]
            ).fetchall()
        ]
        assert len(ids) == BROKEN, (table, where)
        conn.execute(update.format(rows=f"rowid in ({', '.join(map(str, ids))})"))
        outcome = run_check(conn, check)
    assert not outcome.passed
    counts = {
        k.removeprefix(VIOLATIONS): v
        for k, v in outcome.metadata.items()
        if k.startswith(VIOLATIONS)
    }
    assert counts[rule] == BROKEN, counts
    assert outcome.metadata["failed"] == rule
    assert all(n == 0 for name, n in counts.items() if name != rule), counts
