"""A unit's rows on Spark from read to judged: mapped, typed, validated, marked — DuckDB's rules.

Each step reuses the DuckDB ingest's own logic, not a copy of it:
- mapped: the mapped select of loyalty.ingest.mapping (`mapped_select_glob`: the mapping's
  expressions, its filter, its aggregate) translated by loyalty.spark.translate;
- typed: the casts of loyalty.ingest.casts (`create_typed_sql`) translated, DuckDB's `timezone(tz,
  timestamptz)` (naive text read in the source's zone, stored as wall-clock time in the business
  zone) becoming `convert_timezone(source zone, business zone, ...)`, a strptime format Spark's;
- optional scores out of range set to NULL, with loyalty.ingest.fields' note;
- validated: loyalty.validation.failing_rows, the pandera schema of the contract and its reason
  texts, run on the executors batch by batch (`mapInArrow`), as DuckDB's loader runs it batch by
  batch (pandera on polars frames; pandera's pyspark backend reports failures per column, not per
  row, so it cannot name the rows to quarantine);
- too long: loyalty.ingest.fields' select and reason, translated;
- duplicates within the file: the last line of a key wins (loyalty.ingest.load's reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.time import format_time

from loyalty.contracts import Contract
from loyalty.ingest.casts import create_typed_sql
from loyalty.ingest.errors import IngestError
from loyalty.ingest.fields import TOO_LONG_REASON, out_of_range_note, too_long_select
from loyalty.ingest.load import DUPLICATE_REASON
from loyalty.ingest.mapping import first_line, mapped_select_glob
from loyalty.ingest.textfiles import NOTE_LINES
from loyalty.ingest.worktables import MAPPED, TYPED
from loyalty.settings import Settings, SourceMapping
from loyalty.spark import catalog
from loyalty.spark.translate import to_spark

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

SOURCE = "ingest_source_rows"  # the accepted records of the file, with _line
TOO_LONG = "ingest_too_long"
# rows per pandera batch on the executors (DuckDB's loader: 250 000; a Spark task holds less)
VALIDATION_BATCH_ROWS = 50_000
BAD_SCHEMA = "_row BIGINT, reason_code STRING, column_name STRING, reason STRING"


def _duck_type(spark_type: str) -> str:
    """A mapped column's type as create_typed_sql reads it: text is parsed, NULL is no column."""
    return {"string": "VARCHAR", "void": "NULL", "timestamp_ntz": "TIMESTAMP"}.get(
        spark_type, spark_type.upper()
    )


def schema_of(frame: DataFrame) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in frame.schema.fields}


def _sql_schema(frame: DataFrame) -> dict[str, str]:
    """The frame's column types for the translation (a NULL column's void type as text)."""
    return {k: "string" if v == "void" else v for k, v in schema_of(frame).items()}


def mapped(
    spark: SparkSession,
    source: DataFrame,
    contract: Contract,
    mapping: SourceMapping,
    header: list[str],
    file_name: str,
) -> DataFrame:
    """The contract columns as the mapping computes them, with `_line` and `_line_count`."""
    catalog.view(source, SOURCE)
    sql = mapped_select_glob(contract, mapping, header, SOURCE, file_name)
    try:
        frame = spark.sql(to_spark(sql, {SOURCE: _sql_schema(source)}, {}))
    except Exception as e:  # a mapping that does not fit the file (a column it lacks, a type)
        raise IngestError(
            f"{file_name}: the {contract.kind} mapping cannot be applied on Spark: {first_line(e)}"
        ) from None
    catalog.view(frame, MAPPED)
    return frame


def _timezone_to_convert(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `timezone(tz, <timestamptz>)`, the wall-clock time in `tz` of an instant: Spark
    reads the instant in the session zone (the source's, during ingest) -> `convert_timezone(
    :source_tz, tz, CAST(<timestamp> AS TIMESTAMP_NTZ))`; DuckDB's `try_strptime(text, format)`
    -> `try_to_timestamp(text, format)` (the format bound in Spark's pattern words)."""

    def strptime(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and node.name.upper() == "TRY_STRPTIME":
            return exp.Anonymous(this="TRY_TO_TIMESTAMP", expressions=node.expressions)
        return node

    def timezone(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and node.name.upper() == "TIMEZONE":
            zone, value = node.expressions
            return exp.Anonymous(
                this="CONVERT_TIMEZONE",
                expressions=[
                    exp.Placeholder(this="source_tz"),
                    zone,
                    exp.cast(value, exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")),
                ],
            )
        return node

    # two passes: a replaced node's children are not visited again
    return tree.transform(strptime).transform(timezone)


def java_format(strptime_format: str) -> str:
    """A strptime format (reader.timestamp_format, as DuckDB reads it) in Spark's pattern words."""
    converted = format_time(strptime_format, Spark.INVERSE_TIME_MAPPING, Spark.INVERSE_TIME_TRIE)
    return converted or strptime_format


def typed(
    spark: SparkSession,
    frame: DataFrame,
    contract: Contract,
    mapping: SourceMapping,
    settings: Settings,
) -> DataFrame:
    """The mapped values cast to the contract types; `_parse_error` names the columns whose value
    did not cast (create_typed_sql's statement, translated)."""
    mapped_types = {k: _duck_type(v) for k, v in schema_of(frame).items()}
    reader = mapping.reader
    sql, params = create_typed_sql(
        contract, mapped_types, reader.timestamp_format, settings.timezone
    )
    select = sql[sql.index("select") :]
    text = to_spark(select, {MAPPED: _sql_schema(frame)}, params)
    tree = _timezone_to_convert(sqlglot.parse_one(text, read="spark"))
    args = {**params, "source_tz": reader.timezone or settings.timezone}
    if "ts_format" in args:
        args["ts_format"] = java_format(args["ts_format"])
    used = {k: v for k, v in args.items() if f":{k}" in tree.sql("spark")}
    result = spark.sql(tree.sql("spark"), args=used)
    catalog.view(result, TYPED)
    return result


def null_optional_scores(frame: DataFrame, contract: Contract) -> tuple[DataFrame, list[str]]:
    """Optional scores out of their range set to NULL (the row kept); the notes, one per column."""
    from pyspark.sql import functions as F

    scores = [c for c in contract.columns if c.out_of_range_to_null]
    if not scores:
        return frame, []
    outside = {
        c.name: F.col(c.name).isNotNull()
        & ((F.col(c.name) < F.lit(c.min_value)) | (F.col(c.name) > F.lit(c.max_value)))
        for c in scores
    }
    counts = frame.agg(*[F.count_if(o).alias(n) for n, o in outside.items()]).first()
    notes = []
    for c in scores:
        n = int(counts[c.name]) if counts else 0
        if not n:
            continue
        where = frame.where(outside[c.name]).select("_line").orderBy("_line")
        first = [int(r[0]) for r in where.limit(NOTE_LINES).collect()]
        notes.append(out_of_range_note(c, n, first))
    for c in scores:
        frame = frame.withColumn(
            c.name, F.when(outside[c.name], F.lit(None)).otherwise(F.col(c.name))
        )
    return frame, notes


def _failing_batches(kind: str) -> Any:
    """The function each executor runs over Arrow batches of the typed rows: the rows that fail
    the contract's pandera schema, with their reasons (loyalty.validation.failing_rows)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import polars as pl

        from loyalty.contracts import CONTRACTS
        from loyalty.validation import failing_rows

        contract = CONTRACTS[kind]
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            bad = failing_rows(frame, contract)
            if bad.height:
                yield from bad.to_arrow().to_batches()

    return run


def validated(frame: DataFrame, contract: Contract) -> DataFrame:
    """BAD: `_row`, `reason_code`, `column_name`, `reason` of every typed row that fails the
    contract (computed on the executors; nothing comes to the driver)."""
    from pyspark.sql import functions as F

    columns = ["_row", *contract.names, "_parse_error"]
    # a NULL-typed column (no source value) is cast to the contract's type for pandera
    cast = frame.select(
        F.col("_row").cast("bigint"),
        *[F.col(c) for c in contract.names],
        F.col("_parse_error").cast("string"),
    ).select(*columns)
    batches = cast.sparkSession.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    cast.sparkSession.conf.set(
        "spark.sql.execution.arrow.maxRecordsPerBatch", str(VALIDATION_BATCH_ROWS)
    )
    try:
        bad = cast.mapInArrow(_failing_batches(contract.kind), BAD_SCHEMA).localCheckpoint(
            eager=True
        )
    finally:
        cast.sparkSession.conf.set(
            "spark.sql.execution.arrow.maxRecordsPerBatch", batches or "10000"
        )
    return bad


def too_long(
    spark: SparkSession, typed_rows: DataFrame, bad: DataFrame, contract: Contract, max_chars: int
) -> DataFrame:
    """BAD with the rows holding a text value over the limit as `too_long` (replacing any other
    reason for them), loyalty.ingest.fields' select and reason translated."""
    select = too_long_select(contract)
    if select is None:
        return bad
    catalog.view(typed_rows, TYPED)
    long_rows = spark.sql(
        to_spark(select, {TYPED: _sql_schema(typed_rows)}, {"max": max_chars}),
        args={"max": max_chars},
    )
    catalog.view(long_rows, TOO_LONG)
    reason_sql = f"select _row, 'too_long' as reason_code, column_name, {TOO_LONG_REASON} as reason from {TOO_LONG}"
    schema = {TOO_LONG: {"_row": "bigint", "column_name": "string", "chars": "int"}}
    reasons = spark.sql(to_spark(reason_sql, schema, {"max": max_chars}), args={"max": max_chars})
    kept = bad.join(long_rows.select("_row"), "_row", "left_anti")
    return kept.unionByName(reasons.select(*kept.columns))


def duplicates(typed_rows: DataFrame, bad: DataFrame, contract: Contract) -> DataFrame:
    """BAD with the earlier valid lines of a key that a later line of the file has."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    key = contract.key
    valid = typed_rows.join(F.broadcast(bad.select("_row")), "_row", "left_anti")
    order = Window.partitionBy(key).orderBy(F.col("_row").desc())
    earlier = (
        valid.select("_row", F.row_number().over(order).alias("_k"))
        .where(F.col("_k") > 1)
        .select(
            "_row",
            F.lit("duplicate_key").alias("reason_code"),
            F.lit(key).alias("column_name"),
            F.lit(DUPLICATE_REASON.format(key=key)).alias("reason"),
        )
    )
    return bad.unionByName(earlier)
