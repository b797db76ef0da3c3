"""Weekly reports (HTML + Excel per segment and an overview) and the weekly email, per ISO week.

Thin Dagster wrappers: the work is loyalty.reports.render.write_week_reports and
loyalty.reports.email.send_weekly_email; these turn their results into metadata and their errors
into step failures.
"""

import dagster as dg

from loyalty.assets.metric_results import data_errors_hidden
from loyalty.orchestration.partitions import weekly_partitions
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.reports.email import EmailDeliveryError, send_weekly_email
from loyalty.reports.render import NoSnapshot, write_week_reports
from loyalty.reports.smtp import SmtpConfigError
from loyalty.weeks import Week

MART_DEPS = [
    "customer_snapshot",
    "kpi_daily",
    "retention_period",
    "repurchase_period",
    "nps_period",
    "service_period",
    "cohort_retention",
    "customer_value",
    "revenue_at_risk",
    "action_list",
    "restatements",
    "service_impact",
    "say_do",
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
def weekly_reports(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    week = Week.from_partition_key(context.partition_key)
    try:
        with data_errors_hidden("weekly_reports"):
            written = write_week_reports(loyalty.get_settings(), week)
    except NoSnapshot as e:
        raise dg.Failure(description=str(e)) from None
    files = {
        f"{seg}_{kind}": dg.MetadataValue.path(str(p))
        for seg, by_kind in written.files.items()
        for kind, p in by_kind.items()
    }
    files.update(
        {
            f"{seg}_{kind}_csv": dg.MetadataValue.path(str(p))
            for seg, by_kind in written.csvs.items()
            for kind, p in by_kind.items()
        }
    )
    files.update(
        {
            f"actions_{owner}_csv": dg.MetadataValue.path(str(p))
            for owner, p in written.action_csvs.items()
        }
    )
    rows = "\n".join(
        f"| {seg} | {s.cards['customers']:,} | {s.cards['active_customers']:,} | "
        f"{s.cards['at_risk_customers']:,} |"
        for seg, s in written.data.segments.items()
    )
    return dg.MaterializeResult(
        metadata={
            "week": week.label,
            "as_of": week.end.isoformat(),
            "folder": dg.MetadataValue.path(str(written.folder)),
            "overview": dg.MetadataValue.path(str(written.files["overview"]["html"])),
            "segments": dg.MetadataValue.md(
                "| segment | customers | active | at risk |\n|---|---:|---:|---:|\n" + rows
            ),
            "file_count": sum(len(v) for v in written.files.values()),  # HTML + Excel
            "csv_count": sum(len(v) for v in written.csvs.values()),
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
def weekly_email(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    week = Week.from_partition_key(context.partition_key)
    try:
        report = send_weekly_email(loyalty.get_settings(), week)
    except (EmailDeliveryError, SmtpConfigError) as e:
        raise dg.Failure(description=str(e), allow_retries=True) from None
    if report.disabled:
        return dg.MaterializeResult(metadata={"status": report.status})
    context.log.info(
        f"weekly email {week.label} ({report.mode}): sent to {len(report.sent)}, "
        f"already sent before to {len(report.already_sent)}"
    )
    return dg.MaterializeResult(
        metadata={
            "week": week.label,
            "mode": report.mode,
            "status": report.status,
            # counts only: recipients' addresses stay out of Dagster's storage (and the .eml
            # files are named after them, so only their folder is recorded)
            "sent_now": dg.MetadataValue.int(len(report.sent)),
            "already_sent": dg.MetadataValue.int(len(report.already_sent)),
            "eml_files": dg.MetadataValue.int(len(report.files)),
            "eml_folder": dg.MetadataValue.text(
                str(report.files[0].parent) if report.files else ""
            ),
        }
    )
