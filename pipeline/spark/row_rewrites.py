"""The rewrites of loyalty.spark.translate about rows and their columns: DuckDB's ASOF join, its
`rowid` pseudo column, `struct_pack(*columns(...))`, `hash()`, list positions, a cast of an unnest,
columns chosen by a bound list and their UNPIVOT."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

# the pseudo column DuckDB gives every table; the Spark engine stores it as a real column of a
# step's temp view, so a star must not show it
ROWID = "rowid"


_INEQUALITIES = (exp.GTE, exp.GT, exp.LTE, exp.LT)


def _of(node: exp.Expr, table: str) -> bool:
    """Whether every column of `node` (at least one) is of `table`."""
    cols = list(node.find_all(exp.Column))
    return bool(cols) and all(c.table == table for c in cols)


def asof_join(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `a asof [left] join b on <equalities> and a.x >= b.y` (each row of a with the row of
    b whose b.y is the nearest on the inequality's side; sqlglot leaves ASOF in, which Spark does
    not parse) -> `[LEFT] JOIN LATERAL (SELECT * FROM b WHERE <the same condition> ORDER BY b.y
    DESC LIMIT 1) AS b [ON TRUE]` (ASC for `a.x <= b.y`). Among rows of b tied on b.y either
    engine takes any one."""
    for join in list(tree.find_all(exp.Join)):
        if str(join.args.get("method") or "").upper() != "ASOF":
            continue
        right = join.this
        alias = right.alias_or_name
        on = join.args["on"]

        ineq = next(
            c for c in on.find_all(*_INEQUALITIES) if _of(c.this, alias) != _of(c.expression, alias)
        )
        right_first = _of(ineq.this, alias)
        right_expr = ineq.this if right_first else ineq.expression
        # a.x >= b.y or b.y <= a.x: the greatest b.y; otherwise the least
        desc = isinstance(ineq, exp.GTE | exp.GT) != right_first
        order = "DESC" if desc else "ASC"
        inner = (
            f"SELECT * FROM {right.sql('spark')} WHERE {on.sql('spark')} "
            f"ORDER BY {right_expr.sql('spark')} {order} LIMIT 1"
        )
        left = str(join.args.get("side") or "").upper() == "LEFT"
        how = "LEFT JOIN" if left else "JOIN"
        lateral = sqlglot.parse_one(
            f"SELECT * FROM _left {how} LATERAL ({inner}) AS {exp.to_identifier(alias).sql('spark')}"
            + (" ON TRUE" if left else ""),
            read="spark",
        )
        join.replace(lateral.args["joins"][0])
    return tree


def columns_in_struct(tree: exp.Expr, schema: MappingSchema | None = None) -> exp.Expr:
    """DuckDB `struct_pack(*columns(* exclude (a, b)))`: a struct of the row's other columns (sqlglot
    writes `STRUCT(*COLUMNS(...))`, which Spark does not know). With the schema (a qualified
    tree) -> `STRUCT(t.c1, t.c2, ...)`, the columns listed, DuckDB's `rowid` never among them;
    without -> `STRUCT(* EXCEPT (a, b))`, which Spark 4 expands the same way."""
    if schema is not None:
        for scope in traverse_scope(tree):
            for node in list(scope.expression.find_all(exp.Columns)):
                if node.find_ancestor(exp.Select) is not scope.expression:
                    continue
                listed = _struct_columns(node, scope, schema)
                if listed is not None:
                    node.replace(listed)

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Columns) and node.args.get("unpack"):
            return node.this
        return node

    return tree.transform(rewrite, copy=False)


def _struct_columns(node: exp.Columns, scope: Scope, schema: MappingSchema) -> exp.Expr | None:
    """The columns a `*columns(<star>)` stands for, as a list to splice into STRUCT(...)."""
    star = node.this
    qualifier = star.table if isinstance(star, exp.Column) else ""
    star = star.this if isinstance(star, exp.Column) else star
    if not isinstance(star, exp.Star):
        return None
    names = [qualifier] if qualifier else list(scope.sources)
    excluded = {c.name.lower() for c in star.args.get("except_") or []} | {ROWID}
    columns: list[exp.Expr] = []
    for name in names:
        source = scope.sources.get(name)
        if isinstance(source, exp.Table):
            found = schema.column_names(source)
        elif isinstance(source, Scope):
            found = source.expression.named_selects  # type: ignore[attr-defined]
        else:
            return None
        columns += [exp.column(c, table=name) for c in found if c.lower() not in excluded]
    struct = node.parent
    if not isinstance(struct, exp.Struct):
        return None
    rest = [e for e in struct.expressions if e is not node]
    struct.set("expressions", [*columns, *rest])
    return None


def hash_function(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `hash(x)` is an unsigned 64-bit hash; sqlglot keeps `HASH(x)`, Spark's signed 32-bit
    Murmur3, so `hash(id) % n = k` silently misses every negative hash. ->
    `(XXHASH64(x) & 9223372036854775807)`: non-negative, 64 bits. Another function than DuckDB's:
    a hash is only compared with hashes of the same engine."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == "HASH":
            hashed = exp.Anonymous(
                this="XXHASH64", expressions=[a.copy() for a in node.expressions]
            )
            mask = exp.Literal.number(2**63 - 1)
            return exp.Paren(this=exp.BitwiseAnd(this=hashed, expression=mask))
        return node

    return tree.transform(rewrite, copy=False)


def rowid_not_in_stars(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `rowid` is a pseudo column: `t.rowid` reads it, `t.*` does not show it. The Spark
    engine stores it as a real column of a step's view, so after star expansion (schema given)
    every projection `<x>.rowid AS rowid` is dropped; one renamed (`s.rowid as segment_id`) stays."""
    for select in tree.find_all(exp.Select):
        keep = [
            p
            for p in select.expressions
            if not (
                p.alias_or_name == ROWID
                and isinstance(p.unalias(), exp.Column)
                and p.unalias().name == ROWID
            )
        ]
        if len(keep) != len(select.expressions):
            select.set("expressions", keep)
    return tree


def struct_list_unnest(tree: exp.Expr) -> exp.Expr:
    """DuckDB `select unnest([{'k': 1, 'v': x}, ...], recursive := true)`: a list of structs
    unnested into rows whose columns are the struct's fields; sqlglot writes an EXPLODE with a
    `recursive := TRUE` Spark does not know -> `INLINE(ARRAY(STRUCT(...), ...))`, and
    `, lateral (select unnest(...))` -> `, LATERAL INLINE(...)`. Without `recursive := true` DuckDB
    keeps each struct whole, one column (`unnest([...]) as figure`, read as `figure.metric`): the
    EXPLODE sqlglot writes does the same, so it is left alone."""
    for node in list(tree.find_all(exp.Explode)):
        array = node.this
        if not (
            _recursive(node)
            and isinstance(array, exp.Array)
            and array.expressions
            and all(isinstance(e, exp.Struct) for e in array.expressions)
        ):
            continue
        inline = exp.Anonymous(this="INLINE", expressions=[array.copy()])
        target = node.parent if isinstance(node.parent, exp.Alias) else node
        select = target.parent
        lateral = select.parent.parent if select and select.parent else None
        if (
            isinstance(select, exp.Select)
            and len(select.expressions) == 1
            and not select.args.get("from_")
            and isinstance(select.parent, exp.Subquery)
            and isinstance(lateral, exp.Lateral)
        ):
            # `, lateral (select unnest(...))` -> `, LATERAL INLINE(...)`: Spark refuses columns of
            # the outer row in a generator inside a subquery, not in a lateral generator
            select.parent.replace(inline)
        else:
            target.replace(inline)
    return tree


def _recursive(node: exp.Explode) -> bool:
    """Whether an unnest has DuckDB's `recursive := true` (sqlglot keeps it among its arguments)."""
    return any(
        isinstance(a, exp.PropertyEQ)
        and a.this.name.lower() == "recursive"
        and isinstance(a.expression, exp.Boolean)
        and a.expression.this
        for a in node.expressions
    )


def list_position(tree: exp.Expr) -> exp.Expr:
    """DuckDB `list_position(list, x)` (`list_indexof`): x's 1-based position in the list, NULL when
    it is not there; sqlglot keeps the name, which Spark does not know. -> `NULLIF(ARRAY_POSITION(
    list, x), 0)`: Spark's ARRAY_POSITION is 1-based too and says 0 for "not there". (A NULL x
    finds nothing in Spark; DuckDB finds a NULL element.)"""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in (
            "list_position",
            "list_indexof",
        ):
            found = exp.Anonymous(
                this="ARRAY_POSITION", expressions=[a.copy() for a in node.expressions]
            )
            return exp.Nullif(this=found, expression=exp.Literal.number(0))
        return node

    return tree.transform(rewrite, copy=False)


def cast_of_unnest(tree: exp.Expr) -> exp.Expr:
    """DuckDB `unnest(list)::t`: each element cast; Spark refuses a generator inside an expression
    (UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS) -> `EXPLODE(TRANSFORM(list, e -> CAST(e AS t)))`:
    the list's elements cast before it is exploded, the same rows."""
    for cast in list(tree.find_all(exp.Cast)):
        inner = cast.this
        if not isinstance(inner, exp.Explode) or inner.expressions:
            continue
        to = cast.to.sql("spark")
        values = inner.this.sql("spark")
        cast.replace(
            sqlglot.parse_one(f"EXPLODE(TRANSFORM({values}, _e -> CAST(_e AS {to})))", read="spark")
        )
    return tree


def dynamic_columns(
    tree: exp.Expr, schema: Mapping[str, Mapping[str, str]], params: Mapping[str, Any]
) -> exp.Expr:
    """DuckDB's columns chosen by a bound list, and its UNPIVOT of them, which Spark has not:
    - `f(columns(lambda c: list_contains($names, c)))` over one table -> `f(t.a) AS a, f(t.b) AS
      b, ...`: the table's columns named in $names, in the table's order, each named after its
      column as DuckDB names them (the value of $names decides, as in DuckDB);
    - `(unpivot x on columns(* exclude (k)) into name n value v)` over a CTE -> `(SELECT * FROM x
      UNPIVOT (v FOR n IN (...)))`, the CTE's other columns listed.
    Runs before the qualification (which cannot read a COLUMNS lambda)."""
    outputs: dict[str, list[str]] = {}
    for select in list(tree.find_all(exp.Select)):
        source = select.args.get("from_")
        table = source.this if source else None
        if not isinstance(table, exp.Table) or table.name.lower() not in schema:
            continue
        names = list(schema[table.name.lower()])
        projections: list[exp.Expr] = []
        for projection in select.expressions:
            found = projection.find(exp.Columns)
            chosen = _chosen(found, names, params) if found is not None else None
            if found is None or chosen is None:
                projections.append(projection)
                continue
            for name in chosen:
                copy = projection.copy()
                copy.find(exp.Columns).replace(exp.column(name))
                projections.append(exp.alias_(copy.unalias(), name))
        select.set("expressions", projections)
        cte = select.parent
        if isinstance(cte, exp.CTE):
            outputs[cte.alias_or_name.lower()] = [p.alias_or_name for p in projections]
    for pivot in list(tree.find_all(exp.Pivot)):
        if not pivot.args.get("unpivot") or not isinstance(pivot.this, exp.Table):
            continue
        star = pivot.expressions[0].this if pivot.expressions else None
        into = pivot.args.get("into")
        columns = outputs.get(pivot.this.name.lower())
        if not isinstance(star, exp.Star) or into is None or columns is None:
            continue
        excluded = {c.name.lower() for c in star.args.get("except_") or []}
        listed = ", ".join(f"`{c}`" for c in columns if c.lower() not in excluded)
        name, value = into.this.name, into.expressions[0].name
        pivot.replace(
            sqlglot.parse_one(
                f"SELECT * FROM `{pivot.this.name}` UNPIVOT (`{value}` FOR `{name}` IN ({listed}))",
                read="spark",
            )
        )
    return tree


def _chosen(node: exp.Columns, names: list[str], params: Mapping[str, Any]) -> list[str] | None:
    """The columns `columns(lambda c: list_contains($p, c))` picks, or None for another form."""
    fn = node.this
    if not isinstance(fn, exp.Lambda) or len(fn.expressions) != 1:
        return None
    var = fn.expressions[0].name
    body = fn.this
    args = [body.this, body.expression] if isinstance(body, exp.ArrayContains) else []
    marker = next((a for a in args if isinstance(a, exp.Placeholder)), None)
    if marker is None or marker.name not in params or not any(a.name == var for a in args):
        return None
    wanted = set(params[marker.name])
    return [n for n in names if n in wanted]
