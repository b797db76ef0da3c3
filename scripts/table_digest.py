"""Digest of every table and view of a loyalty database, row for row, for before/after comparisons.

    python scripts/table_digest.py out/loyalty.duckdb            # prints one line per table
    python scripts/table_digest.py out/loyalty.duckdb --json F   # also writes the digests to F
    python scripts/table_digest.py A.duckdb --compare B.duckdb   # exit 1 when any table differs

A digest is the row count and a SHA-256 over the rows sorted on every column, each value written
in a canonical text form. Columns that hold wall-clock times of the run or the run's id (when a
row was written, not what it says) are left out; they are listed in VOLATILE. File names are
reduced to their base name, so two checkouts in different folders compare equal. Floating-point
values are written with 12 significant digits: a parallel sum may add the same numbers in another
order and differ in the last bits, which is not a change of behaviour.

The tables of the fitted model (MODEL_TABLES) hold what an optimiser found from floating-point
math whose last bits depend on the processor (numpy, scipy and libm pick kernels per CPU: the same
code gives other last digits on a machine with AVX-512 than on one without, and the optimiser
carries them into every later digit it does not round away). Their columns of numbers are compared
as sums within a relative 1e-6 (sum and sum of absolute values per column), their other columns
exactly: a change of behaviour moves a sum far more than that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import duckdb

# (table, column): written from the clock or the run, not from the data
VOLATILE = {
    ("ingest_log", "loaded_at"),
    ("ingest_log", "run_id"),
    ("ingest_log", "modified_at"),
    ("quarantine", "quarantined_at"),
    ("snapshot_params", "computed_at"),
    ("snapshot_params", "run_id"),
    ("key_check_state", "verified_at"),
    ("period_build_state", "built_at"),
    ("period_build_state", "inputs_json"),  # holds when its customer_value days were written
    ("day_build_state", "built_at"),
    ("day_build_state", "params_json"),  # holds the inputs' timestamps
    ("email_log", "sent_at"),
    ("email_log", "message_id"),
    ("model_fit", "fit_seconds"),
    ("customer_state", "written_at"),
    ("customer_state_closed", "written_at"),  # customer_state's two tables on DuckDB
    ("customer_state_current", "written_at"),
    ("restatement_state", "recorded_at"),
    # numbers the customers in the order the kept sums met them: a night's new ones after the
    # others, by id when built from every order (loyalty.marts.value_state)
    ("value_customer_state", "k"),
    ("restatements", "run_id"),
    ("restatements", "restated_at"),
}

# fitted by an optimiser (see the module docstring): numbers compared as sums within RELATIVE
MODEL_TABLES = {"customer_value", "model_backtest", "model_fit", "model_quality", "revenue_at_risk"}
RELATIVE = 1e-6


def digests(path: Path) -> dict[str, dict]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' order by table_name"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            types = dict(
                conn.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'main' and table_name = ? order by ordinal_position",
                    [t],
                ).fetchall()
            )
            kept = [c for c in types if (t, c) not in VOLATILE]
            sums: dict[str, list[float]] = {}
            exact = kept
            if t in MODEL_TABLES:
                numeric = [c for c in kept if _numeric(types[c])]
                exact = [c for c in kept if c not in numeric]
                for c in numeric:
                    total, size = conn.execute(
                        f"select sum({_q(c)}::double), sum(abs({_q(c)}::double)) from {_q(t)}"
                    ).fetchone()
                    sums[c] = [total or 0.0, size or 0.0]
            exprs = [_canonical(c, types[c]) for c in exact] or ["1"]
            rows = conn.execute(
                f"select {', '.join(exprs)} from {_q(t)} order by all nulls first"
            ).fetchall()
            h = hashlib.sha256()
            for row in rows:
                h.update(json.dumps(row, ensure_ascii=False).encode())
                h.update(b"\n")
            out[t] = {"rows": len(rows), "columns": kept, "sha256": h.hexdigest()}
            if sums:
                out[t]["sums"] = sums
        return out
    finally:
        conn.close()


def _canonical(column: str, data_type: str) -> str:
    """The column as canonical text (see the module docstring)."""
    if column in ("file_name", "path"):
        return f"regexp_replace(cast({_q(column)} as varchar), '^.*/', '')"
    if data_type in ("DOUBLE", "FLOAT", "REAL"):
        return f"format('{{:.12g}}', {_q(column)})"
    return f"cast({_q(column)} as varchar)"


def _numeric(data_type: str) -> bool:
    return data_type in ("DOUBLE", "FLOAT", "REAL") or data_type.startswith("DECIMAL")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RELATIVE * max(abs(a), abs(b), 1e-9)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare(a: dict[str, dict], b: dict[str, dict]) -> list[str]:
    diffs = []
    for t in sorted(set(a) | set(b)):
        if t not in a or t not in b:
            diffs.append(f"{t}: only in {'first' if t in a else 'second'}")
            continue
        if a[t]["columns"] != b[t]["columns"]:
            diffs.append(f"{t}: columns differ: {a[t]['columns']} vs {b[t]['columns']}")
        elif a[t]["sha256"] != b[t]["sha256"]:
            diffs.append(f"{t}: rows differ ({a[t]['rows']} vs {b[t]['rows']} rows)")
        elif a[t].get("sums", {}).keys() != b[t].get("sums", {}).keys():
            diffs.append(f"{t}: summed columns differ")
        else:
            for c, (x, y) in (
                (c, (a[t]["sums"][c], b[t]["sums"][c])) for c in a[t].get("sums", {})
            ):
                if not all(_close(u, v) for u, v in zip(x, y, strict=True)):
                    diffs.append(f"{t}.{c}: sums differ ({x} vs {y})")
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("database", type=Path)
    ap.add_argument("--json", type=Path, help="write the digests to this file")
    ap.add_argument("--compare", help="another database, or a digest JSON file written by --json")
    args = ap.parse_args(argv)
    mine = digests(args.database)
    for t, d in mine.items():
        print(f"{t:28} {d['rows']:>9} rows  {d['sha256'][:16]}")
    if args.json:
        args.json.write_text(json.dumps(mine, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.compare:
        other_path = Path(args.compare)
        other = (
            json.loads(other_path.read_text(encoding="utf-8"))
            if other_path.suffix == ".json"
            else digests(other_path)
        )
        diffs = compare(mine, other)
        for line in diffs:
            print("DIFFERS:", line)
        print("identical" if not diffs else f"{len(diffs)} table(s) differ")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
