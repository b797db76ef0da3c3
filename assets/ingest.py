"""Ingest assets: one per kind of export, writing the contract table of the same name, plus the
`ingest_log` and `quarantine` tables (README "Inputs")."""

from collections.abc import Iterator

import dagster as dg

from loyalty import ingest
from loyalty.assets.metric_results import loaded_since_metadata
from loyalty.contracts import CONTRACTS
from loyalty.ingest import checks
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.sqlsafe import quote_ident


def _markdown_table(rows: list[tuple], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join("" if v is None else str(v) for v in r) + " |")
    return "\n".join(lines)


def _ingest_asset(kind: str) -> dg.AssetsDefinition:
    """The export's asset and its checks in one step (one connection; Dagster's step costs about
    50-80 ms whatever it does, and a night's ingest had eight of them). A check still runs alone
    from the UI: the step then loads nothing and runs the checks selected (`can_subset`)."""
    contract = CONTRACTS[kind]

    @dg.multi_asset(
        name=kind,
        specs=[
            dg.AssetSpec(
                kind,
                group_name="ingest",
                kinds={"duckdb"},
                description=(
                    f"{kind.capitalize()} exports loaded into the `{kind}` table: one row per "
                    f"{contract.key} (latest version wins). Rejected rows go to `quarantine`, "
                    "every file to `ingest_log`."
                ),
            )
        ],
        check_specs=_check_specs(kind),
        can_subset=True,
        pool="duckdb",
    )
    def _asset(
        context: dg.AssetExecutionContext, loyalty: LoyaltyResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        load = dg.AssetKey(kind) in context.selected_asset_keys
        selected = {k.name for k in context.selected_asset_check_keys}
        with loyalty.session() as (settings, conn):
            if load:
                try:
                    result = ingest.ingest_source(conn, settings, kind, run_id=context.run_id)
                except ingest.IngestError as e:
                    # a clear message for the UI; the data stays as it was (the load rolled back)
                    raise dg.Failure(description=str(e), allow_retries=False) from None
                # aggregates per column only: no row of an export reaches Dagster's storage; of
                # the rows this run loaded, not of the whole table
                loaded = loaded_since_metadata(context, conn, quote_ident(kind))
                quarantined_by_reason = checks.quarantined_by_reason(conn, kind)
            # the checks' bookkeeping (key_check_state): the load does not declare it on Spark
            ingest.ensure_tables(conn)
            verdicts = []
            if f"{kind}_keys_unique_not_null" in selected:
                verdicts.append(_keys_unique(conn, kind))
            if f"{kind}_quarantine_share" in selected:
                verdicts.append(_quarantine_share(conn, settings, kind))
            if f"{kind}_freshness" in selected:
                verdicts.append(_freshness(conn, settings, kind))
        if load:
            yield _materialization(context, kind, result, loaded, quarantined_by_reason)
        yield from verdicts

    return _asset


def _materialization(
    context: dg.AssetExecutionContext,
    kind: str,
    result: ingest.SourceResult,
    loaded: dict,
    quarantined_by_reason: list[tuple],
) -> dg.MaterializeResult:
    for f in result.files:
        context.log.info(
            f"{kind}: {f.file_name}: {f.status}; read {f.rows_read}, loaded {f.rows_loaded}, "
            f"quarantined {f.rows_quarantined}, filtered {f.rows_filtered}"
            + (f" ({f.note})" if f.note else "")
        )
    return dg.MaterializeResult(
        asset_key=kind,
        metadata={
            **loaded,
            "files_loaded": len([f for f in result.files if f.status == "loaded"]),
            "files_skipped": len([f for f in result.files if f.status == "skipped"]),
            "rows_loaded": sum(f.rows_loaded for f in result.files),
            "rows_quarantined": sum(f.rows_quarantined for f in result.files),
            "files": dg.MetadataValue.md(
                _markdown_table(
                    [
                        (
                            f.file_name,
                            f.status,
                            f.rows_read,
                            f.rows_loaded,
                            f.rows_quarantined,
                            f.rows_filtered,
                            f.note,
                        )
                        for f in result.files
                    ],
                    ["file", "status", "read", "loaded", "quarantined", "filtered", "note"],
                )
                if result.files
                else "no new files"
            ),
            "quarantine_by_reason": dg.MetadataValue.md(
                _markdown_table(quarantined_by_reason, ["reason", "rows"])
                if quarantined_by_reason
                else "nothing quarantined"
            ),
        },
    )


def _keys_unique(conn, kind: str) -> dg.AssetCheckResult:
    key = CONTRACTS[kind].key
    result = checks.check_keys(conn, kind)
    nulls, dups, new_rows = result.null_keys, result.duplicate_keys, result.rows_checked
    verified = result.verified_before
    scope = (
        f"{new_rows} row(s) loaded after load {verified}" if verified else f"all {new_rows} row(s)"
    )
    return dg.AssetCheckResult(
        asset_key=kind,
        check_name=f"{kind}_keys_unique_not_null",
        passed=result.passed,
        metadata={"null_keys": nulls, "duplicate_keys": dups, "rows_checked": new_rows},
        description=f"{nulls} rows without {key}, {dups} duplicated {key} values ({scope})",
    )


def _quarantine_share(conn, settings, kind: str) -> dg.AssetCheckResult:
    threshold = settings.ingest.quarantine_threshold
    files = checks.file_quarantine_shares(conn, kind)
    over = [f for f in files if f["share"] is not None and f["share"] > threshold]
    worst = files[0]["share"] if files else None
    return dg.AssetCheckResult(
        asset_key=kind,
        check_name=f"{kind}_quarantine_share",
        passed=not over,
        metadata={
            "threshold": threshold,
            "files_over_threshold": len(over),
            "worst_file_share": float(worst) if worst is not None else 0.0,
            "files": dg.MetadataValue.md(
                _markdown_table(
                    [
                        (
                            f["file_name"],
                            f["rows_read"],
                            f["rows_quarantined"],
                            f"{float(f['share'] or 0):.2%}",
                        )
                        for f in files[:20]
                    ],
                    ["file", "read", "quarantined", "share"],
                )
                if files
                else "no files loaded"
            ),
        },
        description=(
            f"{len(over)} file(s) above the {threshold:.0%} quarantine threshold: "
            + ", ".join(f"{f['file_name']} ({float(f['share']):.1%})" for f in over[:5])
            if over
            else f"every file under {threshold:.0%} quarantined"
        ),
    )


def _freshness(conn, settings, kind: str) -> dg.AssetCheckResult:
    days = settings.ingest.freshness_days
    latest, age = checks.latest_event(conn, kind)
    return dg.AssetCheckResult(
        asset_key=kind,
        check_name=f"{kind}_freshness",
        passed=age is not None and age <= days,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"latest_day": str(latest), "age_days": -1 if age is None else int(age)},
        description=(
            f"latest {CONTRACTS[kind].event_column} day {latest}, {age} day(s) old (limit {days})"
        ),
    )


def _check_specs(kind: str) -> list[dg.AssetCheckSpec]:
    """The checks of one export, run in its asset's step (`_ingest_asset`)."""
    contract = CONTRACTS[kind]
    key = contract.key
    specs = [
        dg.AssetCheckSpec(
            name=f"{kind}_keys_unique_not_null",
            asset=kind,
            blocking=True,
            description=f"Every {kind} row has a {key}, and no {key} appears twice.",
        ),
        dg.AssetCheckSpec(
            name=f"{kind}_quarantine_share",
            asset=kind,
            blocking=True,
            description=(
                "No file (latest load of each file name) has more of its rows in quarantine than "
                "`ingest.quarantine_threshold` (default 5 %). Blocks the reports when it fails."
            ),
        ),
    ]
    if contract.event_column:
        specs.append(
            dg.AssetCheckSpec(
                name=f"{kind}_freshness",
                asset=kind,
                description=(
                    f"The latest {contract.event_column} is at most `ingest.freshness_days` days "
                    "before today (business time zone). Warns; does not block."
                ),
            )
        )
    return specs


orders = _ingest_asset("orders")
tickets = _ingest_asset("tickets")
surveys = _ingest_asset("surveys")
customers = _ingest_asset("customers")
