"""The rewrites of loyalty.spark.translate that need the types of the expressions (the query
qualified with the schema of the tables it reads and annotated by sqlglot's optimizer): where DuckDB
and Spark give the same operator on the same types another meaning. Without types,
date_difference, integer_cast_rounds and decimal_average leave the tree as it is; float_division
rewrites every division (it only needs the types to leave an interval's alone)."""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

_INTEGER_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.INT128,
}
_INFINITY = "CAST('Infinity' AS DOUBLE)"


def _is(node: exp.Expr, *types: Any) -> bool:
    return node.type is not None and node.type.this in types


def date_difference(tree: exp.Expr) -> exp.Expr:
    """`date - date` is an integer (days) in DuckDB and an interval in Spark (typed tree only) ->
    `DATEDIFF(a, b)`."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        date = exp.DataType.Type.DATE
        if isinstance(node, exp.Sub) and _is(node.left, date) and _is(node.right, date):
            return exp.Anonymous(this="DATEDIFF", expressions=[node.left, node.right])
        return node

    return tree.transform(rewrite, copy=False)


def integer_cast_rounds(tree: exp.Expr) -> exp.Expr:
    """A cast to an integer type rounds in DuckDB (a decimal half away from zero, a double half to
    even) and truncates in Spark (typed tree only) -> `CAST(ROUND(x) ...)` for a decimal,
    `CAST(BROUND(x) ...)` for a double."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Cast) or node.to.this not in _INTEGER_TYPES:
            return node
        inner = node.this
        if _is(inner, exp.DataType.Type.DECIMAL):
            node.set("this", exp.Anonymous(this="ROUND", expressions=[inner]))
        elif _is(inner, exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            node.set("this", exp.Anonymous(this="BROUND", expressions=[inner]))
        return node

    return tree.transform(rewrite, copy=False)


_WIDTH = [
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
]


def integer_division_type(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `a // b` of integers has the wider operand's type (an INTEGER for two INTEGERs);
    Spark's `a DIV b` is always a BIGINT, which changes the type of a struct built from it (and
    so its hash) (typed tree only) -> `CAST(a DIV b AS <the wider type>)`."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.IntDiv):
            return node
        types = [x.type.this for x in (node.this, node.expression) if x.type is not None]
        if len(types) != 2 or not all(t in _WIDTH for t in types):
            return node
        wider = max(types, key=_WIDTH.index)
        if wider == exp.DataType.Type.BIGINT:
            return node
        return exp.cast(exp.Paren(this=node.copy()), wider)

    return tree.transform(rewrite, copy=False)


def decimal_average(tree: exp.Expr) -> exp.Expr:
    """`avg(x)` of a decimal is a double in DuckDB and a decimal rounded to 4 more places in Spark
    (typed tree only) -> `AVG(CAST(x AS DOUBLE))` (equal to DuckDB's to about 1e-15 relative: the
    sum is taken in doubles instead of exactly)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Avg) and _is(node.this, exp.DataType.Type.DECIMAL):
            node.set("this", exp.cast(node.this, exp.DataType.Type.DOUBLE))
        return node

    return tree.transform(rewrite, copy=False)


def float_division(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `/` divides as doubles, whatever the operand types (decimal / decimal too), and x / 0
    is +-Infinity (NaN for 0 / 0); Spark divides decimals as decimals (other rounding) and x / 0 is
    an error (ANSI) or NULL. -> `CASE WHEN b = 0 THEN a * Infinity ELSE a / b END` over
    `CAST(... AS DOUBLE)` operands: IEEE's quotient, NULL stays NULL, and the division never sees
    a zero. (A divisor of -0.0 gives +Infinity here, -Infinity in DuckDB. The form
    `COALESCE(a / NULLIF(b, 0), ...)` would do too, but Spark 4.3's optimizer fails on it inside a
    lateral generator.)"""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Div) or _is(node.left, exp.DataType.Type.INTERVAL):
            return node
        a = exp.cast(node.left, exp.DataType.Type.DOUBLE)
        b = exp.cast(node.right, exp.DataType.Type.DOUBLE)
        return exp.Paren(
            this=exp.Case(
                ifs=[
                    exp.If(
                        this=exp.EQ(this=b.copy(), expression=exp.Literal.number(0)),
                        true=exp.Mul(this=a.copy(), expression=sqlglot.parse_one(_INFINITY)),
                    )
                ],
                default=exp.Div(this=a, expression=b),
            )
        )

    return tree.transform(rewrite, copy=False)


def list_length(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `len(x)` / `length(x)` is a list's number of elements when x is a list; sqlglot
    writes `LENGTH(x)`, which Spark allows on strings only (typed tree only) -> `SIZE(x)` for an
    array (NULL for a NULL list, as in DuckDB, under Spark's ANSI mode)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Length) and _is(node.this, exp.DataType.Type.ARRAY):
            return exp.ArraySize(this=node.this)
        return node

    return tree.transform(rewrite, copy=False)
