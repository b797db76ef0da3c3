"""Reading one export on Spark: its records numbered, each parsed by an explicit schema, none lost.

DuckDB's read_csv (loyalty.ingest.reader.read_csv_call) reads a file with every option explicit and
puts the lines it cannot parse in its rejects table. On Spark the same file is read as lines
(`spark.read.text`: a .gz is decompressed, a large file split across the executors) and:

1. the lines become records numbered as DuckDB numbers them (the header is line 1 + reader.skip; a
   blank line counts one; a record whose quoted value spans lines is one): the position of a line
   within its split (monotonically_increasing_id) plus the lines of the splits before it (one
   aggregate row per split, ordered by input_file_block_start). When a line holds an odd number
   of quotes, a quoted value spans lines: the quotes' parity before each line (prefix sums per
   split, and over the splits before it) tells where a record starts; its lines are joined;
2. the header (and the `skip` lines before it) and blank lines are left out, as DuckDB skips them;
3. a record whose bytes are not valid UTF-8 is rejected as `bad_encoding` (other encodings were
   transcoded to UTF-8 first by loyalty.ingest.textfiles.transcode, which marks a bad byte so);
4. a record whose quoting is broken (a quoted value followed by more text, a quote never closed)
   is rejected as DuckDB's strict reader rejects it ("Value with unterminated quote found.");
5. the rest is parsed by `from_csv` with the explicit schema (the header's names, every column text
   unless reader.types says otherwise) in PERMISSIVE mode with a corrupt-record column: a record
   with too few or too many fields lands there and is rejected with DuckDB's words ("Expected
   Number of Columns: 7 Found: 6").

A rejected record becomes one `quarantine` row (file, line, reason, the raw line as the record);
an accepted one a row of the header's columns and `_line`. A quoted empty value is NULL, as DuckDB
reads it. What still differs from DuckDB's reader: docs/scale-out.md, "Ingest".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot

from loyalty.ingest.reader import read_csv_call
from loyalty.settings import ReaderOptions

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

CORRUPT = "_ingest_corrupt"  # the corrupt-record column of the parse
PARSED = "_ingest_parsed"
# DuckDB's reason codes and words for a line its reader rejects (sql/ingest/quarantine_unparseable.sql)
BAD_ENCODING = ("bad_encoding", "bytes not valid in the file's encoding (reader.encoding)")
UNTERMINATED = "Value with unterminated quote found."
# 2^33: monotonically_increasing_id puts the partition in the bits above
_PARTITION_BITS = 33


@dataclass
class Records:
    """A file's lines, read: `accepted` (`_line` and the header's columns) and `rejected` (`line`,
    `reason_code`, `reason`, `csv_line`). Both come from one checkpointed frame: the file is read
    once."""

    accepted: DataFrame
    rejected: DataFrame
    first_data_line: int
    classified: DataFrame  # every data line, `_code` NULL when accepted

    def counts(self) -> DataFrame:
        """One row: `parsed` (records accepted) and `rejected` (lines rejected)."""
        from pyspark.sql import functions as F

        return self.classified.agg(
            F.count_if(F.col("_code").isNull()).alias("parsed"),
            F.count_if(F.col("_code").isNotNull()).alias("rejected"),
        )


def _java_class_char(c: str) -> str:
    return "\\" + c if not c.isalnum() else c


def quoting_pattern(reader: ReaderOptions) -> str:
    """A Java regex a line matches when its quoting is whole: every field either unquoted (not
    starting with the quote, spaces aside) or one quoted value (quotes inside escaped) with only
    spaces around it. DuckDB's strict reader rejects the other lines."""
    d, q, e = (_java_class_char(c) for c in (reader.delimiter, reader.quote, reader.escape))
    if reader.escape == reader.quote:
        inside = f"(?:[^{q}]++|{q}{q})*+"
    else:
        inside = f"(?:[^{q}{e}]++|{e}[{q}{e}])*+"
    quoted = f" *+{q}{inside}{q} *+"
    unquoted = f"(?! *+{q})[^{d}]*+"
    field = f"(?:{quoted}|{unquoted})"
    return f"^{field}(?:{d}{field})*+$"


def _quoted_value_pattern(reader: ReaderOptions) -> str:
    q, e = (_java_class_char(c) for c in (reader.quote, reader.escape))
    if reader.escape == reader.quote:
        return f"{q}(?:[^{q}]++|{q}{q})*+{q}"
    return f"{q}(?:[^{q}{e}]++|{e}[{q}{e}])*+{q}"


def _spark_type(duckdb_type: str) -> str:
    return sqlglot.exp.DataType.build(duckdb_type, dialect="duckdb").sql("spark")


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def parse_schema(reader: ReaderOptions, header: list[str]) -> str:
    """The explicit schema of the parse (DDL): the header's columns, text unless reader.types types
    them (the same check as DuckDB's read_csv_call: a typed column the header lacks is an error),
    and the corrupt-record column."""
    read_csv_call(reader, header, "p", None)  # raises for reader.types the header does not have
    columns = [f"{_ident(h)} {_spark_type(reader.types.get(h, 'VARCHAR'))}" for h in header]
    return ", ".join([*columns, f"{CORRUPT} STRING"])


def csv_options(reader: ReaderOptions) -> dict[str, str]:
    return {
        "sep": reader.delimiter,
        "quote": reader.quote,
        "escape": reader.escape,
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": CORRUPT,
    }


def _quotes_odd(reader: ReaderOptions) -> Column:
    """1 when a line holds an odd number of quote characters (escaped ones aside), else 0: a
    record whose quoted value spans lines goes on while the quotes seen are odd."""
    from pyspark.sql import functions as F

    value = F.col("value")
    if reader.escape != reader.quote:
        value = F.regexp_replace(value, f"{_java_class_char(reader.escape)}.", "")
    quotes = F.length(value) - F.length(F.regexp_replace(value, _java_class_char(reader.quote), ""))
    return (quotes % 2).cast("int")


def _split_bases(splits: list[Any], column: str, from_first: bool = False) -> Column:
    """Per split of the file (rows of (_part, _block, first, `column`), in file order), the sum of
    `column` over the splits before it (`from_first`: plus 1, minus the split's first row id, so
    that adding a line's row id numbers it): a column of each line's split."""
    from pyspark.sql import functions as F

    base: Column = F.lit(None).cast("bigint")
    before = 0
    for s in splits:
        matches = (F.col("_part") == int(s["_part"])) & (F.col("_block") == int(s["_block"]))
        value = before + 1 - int(s["first"]) if from_first else before
        base = F.when(matches, F.lit(value)).otherwise(base)
        before += int(s[column])
    return base


def numbered_records(spark: SparkSession, path: str, reader: ReaderOptions) -> DataFrame:
    """The file's records in order, each with its line number `_line`: records are counted from
    the first line (the header and the `skip` lines before it are one each, a blank line is one),
    so it is the physical line unless a quoted value spanned lines before (DuckDB numbers so).
    A record whose quoted value spans lines is its lines joined by a newline; a quote never closed
    makes the rest of the file one record, as DuckDB's reader reads it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    header_lines = reader.skip + (1 if reader.header else 0)
    lines = spark.read.text(path).select(
        F.monotonically_increasing_id().alias("_id"),
        F.input_file_block_start().alias("_block"),
        "value",
    )
    part = F.shiftright("_id", _PARTITION_BITS)
    in_header = (F.col("_block") == 0) & (
        (F.col("_id") - F.shiftleft(part, _PARTITION_BITS)) < header_lines
    )
    lines = lines.select(
        "*",
        part.alias("_part"),
        F.when(in_header, F.lit(0)).otherwise(_quotes_odd(reader)).alias("_odd"),
    )
    # (not checkpointed: reading the text again is cheaper than keeping it)
    split = Window.partitionBy("_part", "_block").orderBy("_id")
    before = split.rowsBetween(Window.unboundedPreceding, -1)
    # per split (one aggregate row each, never a line): its first row, lines, odd quote lines
    splits = (
        lines.groupBy("_part", "_block")
        .agg(F.min("_id").alias("first"), F.count("*").alias("n"), F.sum("_odd").alias("odd"))
        .orderBy("_block")
        .collect()
    )
    if not any(s["odd"] for s in splits):
        # no quoted value spans lines (no line holds an odd number of quotes): a line is a record
        return lines.select(
            (F.col("_id") + _split_bases(splits, "n", True)).alias("_line"), "value"
        )
    open_before = (
        _split_bases(splits, "odd") + F.coalesce(F.sum("_odd").over(before), F.lit(0))
    ) % 2
    lines = lines.select(
        "_part",
        "_block",
        "_id",
        "value",
        (open_before == 0).alias("_starts"),
        ((open_before + F.col("_odd")) % 2 == 0).alias("_closes"),
    ).localCheckpoint(eager=True)
    starts = (
        lines.groupBy("_part", "_block")
        .agg(F.min("_id").alias("first"), F.count_if("_starts").alias("starts"))
        .orderBy("_block")
        .collect()
    )
    numbered = lines.select(
        "_id",
        "value",
        "_starts",
        "_closes",
        (
            _split_bases(starts, "starts")
            + F.count_if("_starts").over(split.rowsBetween(Window.unboundedPreceding, 0))
        ).alias("_line"),
    )
    whole = numbered.where(F.col("_starts") & F.col("_closes")).select("_line", "value")
    spanning = (
        numbered.where(~(F.col("_starts") & F.col("_closes")))
        .groupBy("_line")
        .agg(F.array_sort(F.collect_list(F.struct("_id", "value"))).alias("_parts"))
        .select("_line", F.array_join(F.col("_parts.value"), "\n").alias("value"))
    )
    return whole.unionByName(spanning)


def _field(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(PARSED).getField(name)


def read_records(
    spark: SparkSession, path: Path | str, reader: ReaderOptions, header: list[str]
) -> Records:
    """The file's data lines, parsed by the explicit schema, or rejected with DuckDB's reason."""
    from pyspark.sql import functions as F

    header_line = reader.skip + (1 if reader.header else 0)
    lines = numbered_records(spark, str(path), reader).where(
        (F.col("_line") > header_line) & (F.col("value") != "")
    )
    n = len(header)
    fields = F.size(
        F.split(
            F.regexp_replace("value", _quoted_value_pattern(reader), ""),
            re.escape(reader.delimiter),
            -1,
        )
    )
    parsed = F.from_csv("value", parse_schema(reader, header), csv_options(reader))
    valid = F.is_valid_utf8("value")
    whole = F.col("value").rlike(quoting_pattern(reader))
    corrupt = _field(CORRUPT).isNotNull()
    code = (
        F.when(~valid, F.lit(BAD_ENCODING[0]))
        .when(~whole | corrupt, F.lit("unparseable_line"))
        .otherwise(F.lit(None))
    )
    reason = (
        F.when(~valid, F.lit(BAD_ENCODING[1]))
        .when(~whole, F.lit(f"unparseable line: {UNTERMINATED}"))
        .when(
            corrupt & (fields != n),
            F.format_string(f"unparseable line: Expected Number of Columns: {n} Found: %d", fields),
        )
        .when(corrupt, F.lit("unparseable line: a value does not convert to its reader.types type"))
    )
    classified = (
        lines.withColumn(PARSED, F.when(valid & whole, parsed))
        .withColumn("_code", code)
        .withColumn("_reason", reason)
        .localCheckpoint(eager=True)
    )
    accepted = classified.where(F.col("_code").isNull()).select(
        "_line",
        *[
            # a quoted empty value is NULL, as DuckDB reads it (Spark: the empty string)
            F.when(_field(h) != "", _field(h)).alias(h)
            if reader.types.get(h, "VARCHAR").upper() in ("VARCHAR", "TEXT", "STRING")
            else _field(h).alias(h)
            for h in header
        ],
    )
    rejected = classified.where(F.col("_code").isNotNull()).select(
        F.col("_line").alias("line"),
        F.col("_code").alias("reason_code"),
        F.col("_reason").alias("reason"),
        F.make_valid_utf8("value").alias("csv_line"),
    )
    return Records(accepted, rejected, header_line + 1, classified)
