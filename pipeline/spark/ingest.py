"""Ingest on Spark (issue 14): the landing files into the warehouse, as loyalty.ingest does in DuckDB.

    ingest_source(spark, settings, kind, warehouse)  ->  SourceResult (as loyalty.ingest's)

For each new file of a kind (loyalty.ingest.discovery: the same globs, hashes and known files), the
same steps as the DuckDB loader, reusing its logic: the header read and checked by Python before
anything is typed (loyalty.ingest.reader), other encodings transcoded to UTF-8
(loyalty.ingest.textfiles), the lines read with an explicit schema, PERMISSIVE with a corrupt-record
column (loyalty.spark.ingest_read), mapped, typed, validated and marked (loyalty.spark.ingest_rules),
then:
- `quarantine`: the failing rows with their reasons and their mapped record as JSON, and the lines
  the reader rejected, with the raw line: file, line, reason, never lost;
- the contract table: the good rows replace earlier versions of their keys (a re-ingest of the same
  file is skipped by its hash; a changed row replaces its key's row), returns linked as
  loyalty.ingest.links links them;
- `ingest_log`: one row per file, whose counts balance: rows_read = rows_loaded + rows_quarantined +
  rows_filtered (a file that does not is an IngestError, as in DuckDB).

The tables are Parquet folders of the warehouse with the columns of sql/ingest/tables.sql
(loyalty.spark.ingest_tables), registered as temp views under their names. Only counts and
aggregates come to the driver (and the few `ingest_log` rows that name a file).

Not as in DuckDB (docs/scale-out.md, "Ingest"): no transaction (a failure between a file's writes
can leave its quarantine rows without its log row: the file is loaded again by the next run, its
rows replacing themselves); query-mode sources (`sources.<kind>.tables`) are DuckDB's only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from loyalty.contracts import CONTRACTS, Contract
from loyalty.ingest.discovery import Unit, discover
from loyalty.ingest.errors import IngestError
from loyalty.ingest.links import LINK, unlinked_note
from loyalty.ingest.reader import check_header, name_blank_columns, read_header
from loyalty.ingest.results import FileResult, SourceResult
from loyalty.ingest.textfiles import NOTE_LINES, transcode
from loyalty.settings import Settings, SourceMapping
from loyalty.spark import ingest_rules as rules
from loyalty.spark import ingest_tables as tables
from loyalty.spark.engine import DEFAULT_WAREHOUSE
from loyalty.spark.ingest_read import Records, read_records
from loyalty.sqlsafe import checked_tz
from loyalty.vocab import RETURN_STATUS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TIME_ZONE = "spark.sql.session.timeZone"


def ensure_tables(spark: SparkSession, warehouse: Path | str = DEFAULT_WAREHOUSE) -> None:
    """`ingest_log`, `quarantine` and the contract tables registered (empty when not written yet)."""
    for table in (tables.LOG, tables.QUARANTINE, *CONTRACTS):
        tables.register(spark, table, warehouse)


def ingest_source(
    spark: SparkSession,
    settings: Settings,
    kind: str,
    warehouse: Path | str = DEFAULT_WAREHOUSE,
    run_id: str | None = None,
) -> SourceResult:
    """Load every new file of one kind into the warehouse (loyalty.ingest.ingest_source on Spark).
    Naive timestamps of the source are read in its zone: the session's while the files load."""
    contract = CONTRACTS[kind]
    mapping = settings.sources.get(kind)
    result = SourceResult(kind)
    ensure_tables(spark, warehouse)
    if mapping is not None and mapping.enabled:
        if not mapping.files:
            raise IngestError(
                f"sources.{kind}: a query over several files (tables + query) is loaded by the "
                "DuckDB ingest only; the Spark ingest reads file globs (sources.<kind>.files)"
            )
        book = tables.Bookkeeping(spark, warehouse)
        units = discover(settings, mapping, book.known_files(kind))
        zone = spark.conf.get(TIME_ZONE)
        spark.conf.set(TIME_ZONE, checked_tz(mapping.reader.timezone or settings.timezone))
        try:
            for unit in units:
                one = _Unit(spark, settings, contract, mapping, unit, warehouse, book, run_id)
                result.files.append(one.load())
        finally:
            spark.conf.set(TIME_ZONE, zone or "UTC")
            book.write()  # the log rows of the files loaded, also when a later one failed
    result.table_rows = spark.table(kind).count()
    return result


class _Unit:
    """One file's load: its rows in the contract table and `quarantine`, its `ingest_log` row."""

    def __init__(
        self,
        spark: SparkSession,
        settings: Settings,
        contract: Contract,
        mapping: SourceMapping,
        unit: Unit,
        warehouse: Path | str,
        book: tables.Bookkeeping,
        run_id: str | None,
    ):
        self.spark, self.settings, self.contract, self.mapping = spark, settings, contract, mapping
        self.unit, self.warehouse, self.book, self.run_id = unit, warehouse, book, run_id
        self.kind = contract.kind
        self.load_id = book.next_load_id()
        self.now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def load(self) -> FileResult:
        unit, reader = self.unit, self.mapping.reader
        seen, original = self.book.already_loaded(self.kind, unit)
        if unit.problem:
            return self.log(FileResult(unit.name, "skipped", note=unit.problem))
        if seen:
            note = f"same content as {original or unit.name}, already loaded"
            return self.log(FileResult(unit.name, "skipped", note=note))
        path = unit.paths["_"][0]
        header = read_header(path, reader, unit.name)
        if header is None:
            return self.log(FileResult(unit.name, "empty", note="empty file"))
        header, notes = name_blank_columns(header)
        check_header(unit.name, header)
        temp = self.settings.temp_path
        readable = transcode(
            path, unit.name, reader.encoding, reader.on_bad_encoding, temp, str(self.load_id)
        )
        try:
            if readable.bad_lines and reader.on_bad_encoding == "replace":
                notes.append(readable.replaced_note(reader.encoding))
            records = read_records(self.spark, readable.path, reader, header)  # read once
        finally:
            readable.remove()
        fr = self.judge_and_write(records, header, notes)
        if fr.rows_read != fr.rows_loaded + fr.rows_quarantined + fr.rows_filtered:
            raise IngestError(
                f"{unit.name}: row accounting does not balance (read {fr.rows_read}, loaded "
                f"{fr.rows_loaded}, quarantined {fr.rows_quarantined}, filtered {fr.rows_filtered})"
            )
        return self.log(fr)

    def judge_and_write(self, records: Records, header: list[str], notes: list[str]) -> FileResult:
        """Map, type, validate; the quarantine rows appended, the good rows upserted."""
        from pyspark.sql import functions as F

        spark, contract, name = self.spark, self.contract, self.unit.name
        mapped = rules.mapped(spark, records.accepted, contract, self.mapping, header, name)
        typed = rules.typed(spark, mapped, contract, self.mapping, self.settings)
        typed, score_notes = rules.null_optional_scores(typed, contract)
        notes.extend(score_notes)
        # computed once each (the counts, the quarantine and the upsert read them; at scale a
        # recomputation would repeat the mapping's aggregate and the windows' shuffles)
        typed = typed.localCheckpoint(eager=True)
        max_chars = self.settings.ingest.max_field_chars
        bad = rules.validated(typed, contract)  # checkpointed: pandera runs once
        bad = rules.too_long(spark, typed, bad, contract, max_chars)
        bad = rules.duplicates(typed, bad, contract).localCheckpoint(eager=True)
        # the failing rows are few beside a file's rows (a row id each): broadcast, not shuffled
        good = typed.join(F.broadcast(bad.select("_row")), "_row", "left_anti")
        current = spark.table(contract.kind)
        # the unit's counts, in one job: records read and rejected; records mapped, quarantined,
        # loaded; keys loaded; keys of the table the good rows replace
        is_bad, lines = F.col("_bad").isNotNull(), F.col("_line_count")
        judged = (
            typed.select("_row", "_line_count")
            .join(F.broadcast(bad.select("_row", F.lit(True).alias("_bad"))), "_row", "left")
            .agg(
                F.sum(lines).alias("mapped"),
                F.sum(F.when(is_bad, lines)).alias("bad"),
                F.sum(F.when(~is_bad, lines)).alias("loaded"),
                F.count_if(~is_bad).alias("keys"),
            )
        )
        replaced = current.join(good.select(contract.key), contract.key, "left_semi").agg(
            F.count("*").alias("replaced")
        )
        row = records.counts().crossJoin(judged).crossJoin(replaced).first()
        c = {k: int(v or 0) for k, v in row.asDict().items()} if row else {}
        quarantine = _quarantine_rows(
            typed, mapped, bad, records.rejected, contract, max_chars, self
        )
        tables.append(spark, quarantine, tables.QUARANTINE, self.warehouse)
        link = rules.schema_of(mapped).get(LINK, "void") != "void"
        notes.extend(_upsert(spark, good, current, contract, link, self.load_id, self.warehouse))
        return FileResult(
            name,
            "loaded",
            rows_read=c["parsed"] + c["rejected"],
            rows_loaded=c["loaded"],
            rows_quarantined=c["bad"] + c["rejected"],
            rows_filtered=c["parsed"] - c["mapped"],
            keys_loaded=c["keys"],
            keys_replaced=c["replaced"],
            note="; ".join(notes),
        )

    def log(self, fr: FileResult) -> FileResult:
        """The unit's `ingest_log` row (written with the source's others)."""
        u = self.unit
        self.book.log(
            (
                self.load_id,
                self.kind,
                u.name,
                u.content_hash,
                u.size_bytes,
                fr.status,
                fr.note or None,
                fr.rows_read,
                fr.rows_loaded,
                fr.rows_quarantined,
                fr.rows_filtered,
                fr.keys_loaded,
                fr.keys_replaced,
                self.now,
                self.run_id,
                u.modified_at,
            )
        )
        return fr


def _quarantine_rows(
    typed: DataFrame,
    mapped: DataFrame,
    bad: DataFrame,
    rejected: DataFrame,
    contract: Contract,
    max_chars: int,
    log: _Unit,
) -> DataFrame:
    """The quarantine rows of a unit: every BAD row with its mapped record as JSON (a too_long
    record with every value cut to the limit), and every line the reader rejected."""
    from pyspark.sql import functions as F

    names = contract.names
    as_text = {
        n: F.col(n).cast("string") if t == "void" else F.col(n)
        for n, t in rules.schema_of(mapped).items()
    }
    json = {"ignoreNullFields": "false"}
    record = F.to_json(F.struct(*[as_text[n].alias(n) for n in names]), json)
    cut = F.to_json(
        F.struct(*[F.left(as_text[n].cast("string"), F.lit(max_chars)).alias(n) for n in names]),
        json,
    )
    common = {
        "load_id": F.lit(log.load_id).cast("bigint"),
        "source": F.lit(log.kind),
        "file_name": F.lit(log.unit.name),
    }
    # the failing rows are few beside the file's: broadcast to the typed and the mapped rows
    failing = typed.select("_row", "_line", "_line_count").join(F.broadcast(bad), "_row")
    rows = (
        mapped.select(F.col("_line").alias("_row"), *[as_text[n].alias(n) for n in names])
        .join(F.broadcast(failing), "_row")
        .select(
            *[v.alias(k) for k, v in common.items()],
            F.col("_line").alias("line"),
            F.col("_line_count").alias("line_count"),
            "reason_code",
            "column_name",
            "reason",
            F.when(F.col("reason_code") == "too_long", cut).otherwise(record).alias("record"),
            tables.ntz(log.now).alias("quarantined_at"),
        )
    )
    lines = rejected.select(
        *[v.alias(k) for k, v in common.items()],
        "line",
        F.lit(1).cast("bigint").alias("line_count"),
        "reason_code",
        F.lit(None).cast("string").alias("column_name"),
        "reason",
        F.to_json(F.struct(F.left("csv_line", F.lit(max_chars)).alias("line"))).alias("record"),
        tables.ntz(log.now).alias("quarantined_at"),
    )
    return rows.unionByName(lines)


def _upsert(
    spark: SparkSession,
    good: DataFrame,
    current: DataFrame,
    contract: Contract,
    link: bool,
    load_id: int,
    warehouse: Path | str,
) -> list[str]:
    """GOOD rows replace earlier versions of their keys in the contract table (written anew and
    swapped); a source that gives the return link (`link`) has it checked; returns the notes."""
    from pyspark.sql import functions as F

    key = contract.key
    fresh = good.select(*contract.names, F.lit(load_id).alias("_load_id"), "_line")
    rows = current.join(good.select(key), key, "left_anti").unionByName(
        tables.aligned(fresh, contract.kind)
    )
    notes: list[str] = []
    if link and LINK in contract.names:
        rows, notes = _link_returns(rows, load_id)
    tables.replace(spark, rows, contract.kind, warehouse)
    return notes


def _link_returns(rows: DataFrame, load_id: int) -> tuple[DataFrame, list[str]]:
    """loyalty.ingest.links on the table's new rows: a link kept only on a return of this load that
    names a known order (not a return); the returns without one counted in a note."""
    from pyspark.sql import functions as F

    is_return = F.lower("status") == F.lit(RETURN_STATUS)
    known = rows.where(~is_return).select(F.col("order_id").alias("_known")).distinct()
    flagged = rows.join(known, rows[LINK] == known["_known"], "left").withColumn(
        "_linked", F.col("_known").isNotNull()
    )
    this_load = F.col("_load_id") == load_id
    unlinked = flagged.where(this_load & is_return & ~F.col("_linked"))
    n = unlinked.count()
    notes = []
    if n:
        first = unlinked.select("_line").orderBy("_line").limit(NOTE_LINES).collect()
        notes.append(unlinked_note(n, [int(r[0]) for r in first]))
    drop = this_load & F.col(LINK).isNotNull() & (~is_return | ~F.col("_linked"))
    linked = flagged.withColumn(LINK, F.when(drop, F.lit(None)).otherwise(F.col(LINK)))
    return linked.drop("_known", "_linked"), notes
