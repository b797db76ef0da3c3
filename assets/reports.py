"""Weekly reports (HTML + Excel per segment and an overview) and the weekly email, per ISO week."""

import dagster as dg
from loyalty import engine
from loyalty.orchestration.partitions import weekly_partitions
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.reports.email import EmailDeliveryError, send_weekly_email
from loyalty.reports.export import write_segment_csvs
from loyalty.reports.queries import Week, snapshot_exists, week_data
from loyalty.reports.render import render_week, week_folder
from loyalty.reports.smtp import SmtpConfigError

MART_DEPS = [
    "customer_snapshot",
    "kpi_daily",
    "retention_period",
    "repurchase_period",
    "nps_period",
    "service_period",
    "cohort_retention",
]


@dg.asset(
    partitions_def=weekly_partitions,
    pool="duckdb",
    group_name="reports",
    deps=[dg.AssetKey(k) for k in MART_DEPS],
    kinds={"html", "excel"},
    description="One self-contained HTML report and one Excel workbook per segment (all, A-D) plus "
    "an overview, for ISO week W as of its last day, under <output>/<week>/; beside each segment "
    "workbook, CSVs of every customer and every at-risk customer of the segment.",
)
def weekly_reports(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
    settings = loyalty.get_settings()
    week = Week.from_partition_key(context.partition_key)
    with loyalty.connect(read_only=False) as conn:
        if not engine.table_exists(conn, "customer_snapshot") or not snapshot_exists(conn, week.end):
            raise dg.Failure(
                description=f"no customer_snapshot for {week.end} (last day of {week.label}): "
                "materialise customer_snapshot and the marts for that day first"
            )
        data = week_data(conn, settings, week)
        # every customer of each segment, streamed by DuckDB to CSV beside the workbooks
        csvs = write_segment_csvs(conn, week, list(data.segments), week_folder(settings, week.label))
    # the database is closed while rendering: other steps may use it meanwhile
    paths = render_week(data, settings)
    files = {
        f"{seg}_{kind}": dg.MetadataValue.path(str(p))
        for seg, by_kind in paths.items()
        for kind, p in by_kind.items()
    }
    files.update(
        {
            f"{seg}_{kind}_csv": dg.MetadataValue.path(str(p))
            for seg, by_kind in csvs.items()
            for kind, p in by_kind.items()
        }
    )
    rows = "\n".join(
        f"| {seg} | {s.cards['customers']:,} | {s.cards['active_customers']:,} | "
        f"{s.cards['at_risk_customers']:,} |"
        for seg, s in data.segments.items()
    )
    return dg.MaterializeResult(
        metadata={
            "week": week.label,
            "as_of": week.end.isoformat(),
            "folder": dg.MetadataValue.path(str(paths["overview"]["html"].parent)),
            "overview": dg.MetadataValue.path(str(paths["overview"]["html"])),
            "segments": dg.MetadataValue.md(
                "| segment | customers | active | at risk |\n|---|---:|---:|---:|\n" + rows
            ),
            "file_count": sum(len(v) for v in paths.values()),  # HTML + Excel
            "csv_count": sum(len(v) for v in csvs.values()),
            **files,
        }
    )


@dg.asset(
    partitions_def=weekly_partitions,
    pool="duckdb",
    group_name="reports",
    deps=[weekly_reports],
    kinds={"email"},
    description="The weekly email (KPI board, trends, charts, overview workbook) to "
    "email.recipients, exactly once per (week, recipient): see email_log. Dry-run writes .eml files.",
)
def weekly_email(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
    settings = loyalty.get_settings()
    if not settings.email.enabled:
        return dg.MaterializeResult(
            metadata={"status": "email disabled (email.enabled: false): nothing sent"}
        )
    week = Week.from_partition_key(context.partition_key)
    try:
        report = send_weekly_email(settings, week, lambda: loyalty.connect(read_only=False))
    except (EmailDeliveryError, SmtpConfigError) as e:
        raise dg.Failure(description=str(e), allow_retries=True) from None
    context.log.info(
        f"weekly email {week.label} ({report.mode}): sent to {len(report.sent)}, "
        f"already sent before to {len(report.already_sent)}"
    )
    return dg.MaterializeResult(
        metadata={
            "week": week.label,
            "mode": report.mode,
            "status": "sent" if report.sent else "nothing to send (every recipient already has it)",
            "sent_now": dg.MetadataValue.json(report.sent),
            "already_sent": dg.MetadataValue.json(report.already_sent),
            "eml_files": dg.MetadataValue.json([str(p) for p in report.files]),
        }
    )
