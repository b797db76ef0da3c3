"""Ingest assets: one per kind of export, writing the contract table of the same name, plus the
`ingest_log` and `quarantine` tables (SPEC §3)."""

import dagster as dg
from loyalty import engine, ingest
from loyalty.contracts import CONTRACTS
from loyalty.orchestration.resources import LoyaltyResource


def _markdown_table(rows: list[tuple], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join("" if v is None else str(v) for v in r) + " |")
    return "\n".join(lines)


def _ingest_asset(kind: str) -> dg.AssetsDefinition:
    contract = CONTRACTS[kind]

    @dg.asset(
        name=kind,
        group_name="ingest",
        pool="duckdb",
        kinds={"duckdb"},
        description=(
            f"{kind.capitalize()} exports loaded into the `{kind}` table: one row per "
            f"{contract.key} (latest version wins). Rejected rows go to `quarantine`, every file "
            f"to `ingest_log`."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
        settings = loyalty.get_settings()
        with loyalty.connect() as conn:
            try:
                result = ingest.ingest_source(conn, settings, kind, run_id=context.run_id)
            except ingest.IngestError as e:
                # a clear message for the UI; the data stays as it was (the load rolled back)
                raise dg.Failure(description=str(e), allow_retries=False) from None
            preview = conn.execute(
                f"select * exclude (_load_id, _line) from {kind} order by {contract.key} limit 5"
            ).fetchall()
            preview_cols = [d[0] for d in conn.description]
            quarantined_by_reason = conn.execute(
                "select reason_code, sum(line_count) from quarantine where source = ? "
                "group by 1 order by 2 desc",
                [kind],
            ).fetchall()
        for f in result.files:
            context.log.info(
                f"{kind}: {f.file_name}: {f.status}; read {f.rows_read}, loaded {f.rows_loaded}, "
                f"quarantined {f.rows_quarantined}, filtered {f.rows_filtered}"
                + (f" ({f.note})" if f.note else "")
            )
        # previews of contract tables never show PII columns
        pii = {c.name for c in contract.columns if c.pii}
        keep = [i for i, c in enumerate(preview_cols) if c not in pii]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.table_rows,
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
                "preview": dg.MetadataValue.md(
                    _markdown_table(
                        [tuple(r[i] for i in keep) for r in preview],
                        [preview_cols[i] for i in keep],
                    )
                ),
            }
        )

    return _asset


def _checks(kind: str) -> list[dg.AssetChecksDefinition]:
    contract = CONTRACTS[kind]
    key = contract.key

    @dg.asset_check(
        asset=kind,
        name=f"{kind}_keys_unique_not_null",
        pool="duckdb",
        blocking=True,
        description=f"Every {kind} row has a {key}, and no {key} appears twice.",
    )
    def keys_unique(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
        # Rows up to `verified` passed this check before; only rows loaded after it can add a null
        # or a duplicate (a replaced key's old row is deleted in the same load), so those rows' keys
        # are checked against the whole table. The first check covers every row.
        with loyalty.connect() as conn:
            ingest.ensure_tables(conn)
            verified = engine.scalar(
                conn,
                "select coalesce(max(verified_through), 0) from key_check_state where source = ?",
                [kind],
            )
            newest, new_rows = conn.execute(
                f"select max(_load_id), count(*) from {kind} where _load_id > ?", [verified]
            ).fetchall()[0]
            if not verified:
                nulls, dups = conn.execute(
                    f"select count(*) filter (where {key} is null), "
                    f"count(*) - count(distinct {key}) from {kind}"
                ).fetchall()[0]
            else:
                nulls, dups = conn.execute(
                    f"""
                select
                    (select count(*) from {kind} where _load_id > $v and {key} is null),
                    (select count(*) from (
                        select {key} from {kind}
                        where {key} in (select {key} from {kind} where _load_id > $v)
                        group by {key} having count(*) > 1
                    ))
                """,
                    {"v": verified},
                ).fetchall()[0]
            passed = nulls == 0 and dups == 0
            if passed and newest is not None:
                conn.execute(
                    "insert or replace into key_check_state values (?, ?, current_timestamp)",
                    [kind, newest],
                )
        scope = (
            f"{new_rows} row(s) loaded after load {verified}"
            if verified
            else f"all {new_rows} row(s)"
        )
        return dg.AssetCheckResult(
            passed=passed,
            metadata={"null_keys": nulls, "duplicate_keys": dups, "rows_checked": new_rows},
            description=f"{nulls} rows without {key}, {dups} duplicated {key} values ({scope})",
        )

    @dg.asset_check(
        asset=kind,
        name=f"{kind}_quarantine_share",
        pool="duckdb",
        blocking=True,
        description=(
            "No file (latest load of each file name) has more of its rows in quarantine than "
            "`ingest.quarantine_threshold` (default 5 %). Blocks the reports when it fails."
        ),
    )
    def quarantine_share(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
        threshold = loyalty.get_settings().ingest.quarantine_threshold
        with loyalty.connect() as conn:
            ingest.ensure_tables(conn)
            rows = conn.execute(
                """
                select file_name, rows_read, rows_quarantined,
                       rows_quarantined / nullif(rows_read, 0) as share
                from ingest_log
                where source = ? and status = 'loaded'
                qualify row_number() over (partition by file_name order by load_id desc) = 1
                order by share desc nulls last
                """,
                [kind],
            ).fetchall()
        over = [r for r in rows if r[3] is not None and r[3] > threshold]
        return dg.AssetCheckResult(
            passed=not over,
            metadata={
                "threshold": threshold,
                "files_over_threshold": len(over),
                "worst_file_share": float(rows[0][3]) if rows and rows[0][3] is not None else 0.0,
                "files": dg.MetadataValue.md(
                    _markdown_table(
                        [(r[0], r[1], r[2], f"{float(r[3] or 0):.2%}") for r in rows[:20]],
                        ["file", "read", "quarantined", "share"],
                    )
                    if rows
                    else "no files loaded"
                ),
            },
            description=(
                f"{len(over)} file(s) above the {threshold:.0%} quarantine threshold: "
                + ", ".join(f"{r[0]} ({float(r[3]):.1%})" for r in over[:5])
                if over
                else f"every file under {threshold:.0%} quarantined"
            ),
        )

    checks = [keys_unique, quarantine_share]
    if contract.event_column:
        ev = contract.event_column

        @dg.asset_check(
            asset=kind,
            name=f"{kind}_freshness",
            pool="duckdb",
            description=(
                f"The latest {ev} is at most `ingest.freshness_days` days before today "
                "(business time zone). Warns; does not block."
            ),
        )
        def freshness(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
            days = loyalty.get_settings().ingest.freshness_days
            with loyalty.connect() as conn:
                ingest.ensure_tables(conn)
                latest, age = conn.execute(
                    f"select max({ev})::date, current_date - max({ev})::date from {kind}"
                ).fetchall()[0]
            return dg.AssetCheckResult(
                passed=age is not None and age <= days,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"latest_day": str(latest), "age_days": -1 if age is None else int(age)},
                description=f"latest {ev} day {latest}, {age} day(s) old (limit {days})",
            )

        checks.append(freshness)
    return checks


orders = _ingest_asset("orders")
tickets = _ingest_asset("tickets")
surveys = _ingest_asset("surveys")
customers = _ingest_asset("customers")

orders_checks = _checks("orders")
tickets_checks = _checks("tickets")
surveys_checks = _checks("surveys")
customers_checks = _checks("customers")
