"""The marts layer: the staging views and the metric tables, built from the models under `sql/`
through `loyalty.engine` (which decides how each is stored). Plain Python and DuckDB, no Dagster:
the assets in `loyalty.assets` call these functions, and so do tests, the benchmark and scripts.

    staging    stg_orders, stg_tickets, stg_surveys (views)
    snapshot   customer_snapshot and snapshot_params, a day range per run (three ways)
    kpis       kpi_daily, a day range per run
    periods    report_periods, the period marts (incremental) and cohort_retention
    checks     the asset checks' queries (sql/checks) and their verdicts
    summary    small markdown summaries of a table, for run metadata
"""
