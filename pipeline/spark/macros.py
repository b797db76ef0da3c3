"""The macros of `sql/macros.sql`, expanded inline for Spark.

DuckDB expands a macro at bind time: its parameters are replaced by the argument expressions. The
same is done here on the sqlglot tree (each parameter becomes its argument in parentheses), so a
model calling `wilson_low(k, n, z)` computes on Spark exactly the expression DuckDB computes. (Spark
4's `CREATE TEMPORARY FUNCTION ... RETURN` would also do, but it types its parameters and returns,
which DuckDB's macros do not, and it must be created on every session; inline expansion needs
neither.) The definitions are parsed once, from the one copy in `sql/macros.sql`.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

_MACRO = re.compile(
    r"create\s+or\s+replace\s+temp\s+macro\s+(\w+)\s*\(([^)]*)\)\s+as\s+(.*?);\s*(?:\n|$)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...]
    body: exp.Expr

    def expand(self, args: list[exp.Expr]) -> exp.Expr:
        if len(args) != len(self.params):
            raise ValueError(
                f"macro {self.name} takes {len(self.params)} arguments, not {len(args)}"
            )
        given = {p: a for p, a in zip(self.params, args, strict=True)}

        def substitute(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column) and not node.table and node.name in given:
                return exp.Paren(this=given[node.name].copy())
            return node

        return exp.Paren(this=self.body.copy().transform(substitute, copy=False))


def parse_macros(text: str) -> dict[str, Macro]:
    """The macros defined in `text` (the `create or replace temp macro` statements of macros.sql)."""
    body_text = "\n".join(ln.split("--", 1)[0] for ln in text.splitlines())
    found: dict[str, Macro] = {}
    for m in _MACRO.finditer(body_text):
        name, params, body = m.group(1).lower(), m.group(2), m.group(3)
        names = tuple(p.strip().lower() for p in params.split(",") if p.strip())
        found[name] = Macro(name, names, sqlglot.parse_one(body, read="duckdb"))
    return found


@functools.cache
def shipped_macros() -> dict[str, Macro]:
    """The macros of the shipped `sql/macros.sql`."""
    path = Path(str(importlib.resources.files("loyalty.sql"))) / "macros.sql"
    return parse_macros(path.read_text(encoding="utf-8"))


def expand_macros(tree: exp.Expr, macros: dict[str, Macro] | None = None) -> exp.Expr:
    """Every call of a macro replaced by its body (innermost first, so arguments may call macros)."""
    known = shipped_macros() if macros is None else macros

    def expand(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in known:
            return known[str(node.this).lower()].expand(list(node.expressions))
        return node

    # a replaced node is not visited again: repeat until no call is left (a macro in an argument)
    for _ in range(10):
        calls = [n for n in tree.find_all(exp.Anonymous) if str(n.this).lower() in known]
        if not calls:
            return tree
        tree = tree.transform(expand, copy=False)
    raise ValueError("macros nested more than 10 deep")
