"""Comparing a table computed by DuckDB (the reference) with the same model run on Spark: the same
columns in the same order, the same number of rows, and key by key the same values: exact for
integers, strings, dates, timestamps, booleans and decimals (compared as numbers: a scale of 2 or
of 4 is the same amount), relative 1e-9 for doubles (NaN equals NaN). A difference names the first
differing key and column, with both values."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

# The tests' local Spark sessions evaluate expressions interpreted, without compiling generated
# code per query (Janino), and plan without adaptive execution: the same results at a fixed cost
# per query that is 12-22 % lower on the tests' small tables (tests/test_spark_marts.py 56 -> 43 s,
# tests/test_spark_parity.py 86 -> 74 s, each alone; in the whole suite inside the noise). The
# Spark Connect night of tests/test_spark_run.py keeps Spark's defaults (generated code), so the
# product's own mode runs end to end too.
TEST_SPARK_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
}


def _kind(value: Any) -> str:
    """The Python type family a value must keep across the engines (None matches any)."""
    for kind, types in (
        ("bool", (bool,)),
        ("int", (int,)),
        ("float", (float,)),
        ("decimal", (Decimal,)),
        ("str", (str,)),
        ("timestamp", (dt.datetime,)),
        ("date", (dt.date,)),
    ):
        if isinstance(value, types):
            return kind
    return type(value).__name__


def same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or a == b
    return bool(a == b)


def first_difference(
    reference: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], key: Sequence[str]
) -> str | None:
    """None when the rows agree, else a sentence naming the first difference."""
    ref_cols = list(reference[0]) if reference else []
    got_cols = list(other[0]) if other else []
    if reference and other and ref_cols != got_cols:
        return f"columns differ: duckdb {ref_cols}, spark {got_cols}"
    if len(reference) != len(other):
        return f"row counts differ: duckdb {len(reference)}, spark {len(other)}"
    by_key = {tuple(r[k] for k in key): r for r in other}
    if len(by_key) != len(other):
        return f"key {list(key)} is not unique in the spark rows"
    for row in reference:
        k = tuple(row[c] for c in key)
        got = by_key.get(k)
        if got is None:
            return f"key {dict(zip(key, k, strict=True))} missing on spark"
        for col in ref_cols:
            if not same_value(row[col], got[col]):
                return (
                    f"key {dict(zip(key, k, strict=True))}, column {col!r}: "
                    f"duckdb {row[col]!r}, spark {got[col]!r}"
                )
    return None


def assert_same_rows(
    reference: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], key: Sequence[str]
) -> None:
    difference = first_difference(reference, other, key)
    assert difference is None, difference


def same_sequence(reference: Sequence[tuple], other: Sequence[tuple]) -> str | None:
    """Rows compared in order (queries with an ORDER BY): None or the first difference."""
    if len(reference) != len(other):
        return f"row counts differ: duckdb {len(reference)}, spark {len(other)}: {other}"
    for i, (a, b) in enumerate(zip(reference, other, strict=True)):
        if len(a) != len(b) or not all(same_value(x, y) for x, y in zip(a, b, strict=True)):
            return f"row {i}: duckdb {a!r}, spark {b!r}"
    return None
