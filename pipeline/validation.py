"""The pandera schema of each contract, and the rows of a typed frame that fail it.

Values were cast in SQL; a value that could not be cast is NULL there and its text is named in
`_parse_error`. pandera then checks required values, ranges and allowed values on the collected
frame with `lazy=True` (all failures, not the first), and every failing row is returned with its
reason so the caller can quarantine it: nothing is dropped without a record.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import polars as pl

from loyalty.contracts import Contract

if TYPE_CHECKING:  # pandera (and pandas under it) is imported when a frame is validated: about
    # a second that every process importing the assets would pay otherwise
    import pandera.polars as pa

_DTYPES = {"VARCHAR": pl.Utf8, "TIMESTAMP": pl.Datetime, "INTEGER": pl.Int32}

_TYPE_WORDS = {
    "TIMESTAMP": "a timestamp",
    "DECIMAL": "a decimal amount",
    "INTEGER": "a whole number",
}

# reason codes in the order a row's first failure is reported
_ORDER = ["bad_type", "missing_value", "out_of_range", "not_allowed", "invalid"]


def _import_pandera() -> None:
    import pandera.errors  # noqa: F401
    import pandera.polars  # noqa: F401


def warm_up() -> threading.Thread | None:
    """Import pandera in a thread of its own, now, so that the import (0.4-0.7 s: pandera's
    package imports pandas, and pyspark.pandas where pyspark is installed) runs while DuckDB reads
    and types the file (DuckDB leaves the GIL while it works) rather than before the first
    validation. Nothing when it is imported already. The import happens once per process: a
    nightly run is a process of its own."""
    if "pandera.polars" in sys.modules:
        return None
    thread = threading.Thread(target=_import_pandera, name="pandera-import", daemon=True)
    thread.start()
    return thread


def contract_schema(contract: Contract) -> pa.DataFrameSchema:
    import pandera.polars as pa

    columns: dict[str, pa.Column] = {}
    for c in contract.columns:
        checks = []
        if c.min_value is not None and c.max_value is not None:
            checks.append(pa.Check.in_range(c.min_value, c.max_value))
        elif c.min_value is not None:
            checks.append(pa.Check.ge(c.min_value))
        elif c.max_value is not None:
            checks.append(pa.Check.le(c.max_value))
        if c.allowed:
            checks.append(pa.Check.isin(list(c.allowed)))
        columns[c.name] = pa.Column(_DTYPES.get(c.sql_type), nullable=not c.required, checks=checks)
    columns["_parse_error"] = pa.Column(
        pl.Utf8,
        nullable=True,  # NULL = every value parsed; any text names the columns that did not
        checks=[pa.Check(lambda d: d.lazyframe.select(pl.col(d.key).is_null()), name="bad_type")],
    )
    columns["_row"] = pa.Column(pl.Int64, nullable=False, unique=True)
    return pa.DataFrameSchema(columns, strict=True, name=contract.kind)


def failing_rows(frame: pl.DataFrame, contract: Contract, empty_only: bool = False) -> pl.DataFrame:
    """One row per failing record: _row, reason_code, column_name, reason."""
    empty = pl.DataFrame(
        schema={"_row": pl.Int64, "reason_code": pl.Utf8, "column_name": pl.Utf8, "reason": pl.Utf8}
    )
    if empty_only:
        return empty
    from pandera.errors import SchemaErrors

    try:
        contract_schema(contract).validate(frame, lazy=True)
        return empty
    except SchemaErrors as err:
        fc = err.failure_cases
    if "index" not in fc.columns or fc.filter(pl.col("index").is_null()).height:
        # a schema-level failure (wrong dtype, missing column) is a bug in our SQL, not bad input
        schema_level = fc.filter(pl.col("index").is_null()) if "index" in fc.columns else fc
        raise RuntimeError(
            f"typed {contract.kind} frame does not match its contract: {schema_level}"
        )
    types = {
        c.name: _TYPE_WORDS.get(c.sql_type.split("(")[0], c.sql_type) for c in contract.columns
    }
    rows = frame.select("_row").with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    cases = fc.with_columns(pl.col("index").cast(pl.Int64)).join(rows, on="index", how="left")
    described = cases.with_columns(
        pl.when(pl.col("check") == "not_nullable")
        .then(pl.lit("missing_value"))
        .when(pl.col("check").str.starts_with("bad_type"))
        .then(pl.lit("bad_type"))
        .when(pl.col("check").str.contains(r"^(in_range|greater_than|less_than)"))
        .then(pl.lit("out_of_range"))
        .when(pl.col("check").str.starts_with("isin"))
        .then(pl.lit("not_allowed"))
        .otherwise(pl.lit("invalid"))
        .alias("reason_code"),
    )
    described = described.with_columns(
        pl.when(pl.col("reason_code") == "bad_type")
        .then(pl.col("failure_case").cast(pl.Utf8).str.replace_all("bad_type:", ""))
        .otherwise(pl.col("column"))
        .alias("column_name"),
    ).with_columns(
        pl.when(pl.col("reason_code") == "missing_value")
        .then(pl.format("missing {} (required)", pl.col("column_name")))
        .when(pl.col("reason_code") == "bad_type")
        .then(
            pl.format(
                "cannot read {} as {}",
                pl.col("column_name"),
                pl.col("column_name").replace_strict(types, default="its type"),
            )
        )
        .when(pl.col("reason_code") == "out_of_range")
        .then(
            pl.format(
                "{} out of range: {}", pl.col("column_name"), pl.col("failure_case").cast(pl.Utf8)
            )
        )
        .when(pl.col("reason_code") == "not_allowed")
        .then(
            pl.format(
                "{} not an allowed value: {}",
                pl.col("column_name"),
                pl.col("failure_case").cast(pl.Utf8),
            )
        )
        .otherwise(pl.format("{} failed {}", pl.col("column_name"), pl.col("check")))
        .alias("reason"),
        pl.col("reason_code")
        .replace_strict(_ORDER, list(range(len(_ORDER))), default=99)
        .alias("_o"),
    )
    # a value that could not be read is also NULL; report it once, as unreadable
    unreadable = described.filter(pl.col("reason_code") == "bad_type").select("_row", "column_name")
    described = described.join(
        unreadable.with_columns(pl.lit(True).alias("_unreadable")),
        on=["_row", "column_name"],
        how="left",
    ).filter(~((pl.col("reason_code") == "missing_value") & pl.col("_unreadable").fill_null(False)))
    return (
        described.sort(["_row", "_o"])
        .group_by("_row", maintain_order=True)
        .agg(
            pl.col("reason_code").first(),
            pl.col("column_name").first(),
            pl.col("reason").str.join("; "),
        )
        .select(["_row", "reason_code", "column_name", "reason"])
    )
