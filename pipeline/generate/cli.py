"""`loyalty generate` / `python -m loyalty.generate`: the generator from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from loyalty.generate.calendar import DEFAULT_END
from loyalty.generate.exports import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loyalty generate",
        description="Write seeded synthetic orders/tickets/surveys/customers exports.",
    )
    parser.add_argument("--customers", type=int, required=True, help="number of customers")
    parser.add_argument("--days", type=int, required=True, help="days of history ending at --end")
    parser.add_argument(
        "--seed", type=int, required=True, help="random seed (same seed, same bytes)"
    )
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=DEFAULT_END,
        help=f"last day of the range, YYYY-MM-DD (default {DEFAULT_END})",
    )
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="csv")
    parser.add_argument(
        "--split",
        choices=("monthly", "drop"),
        default=None,
        help="monthly files, or a history file plus an overlapping daily drop",
    )
    parser.add_argument(
        "--bad-rows",
        action="store_true",
        help="insert a few deliberately bad CSV rows to exercise quarantine",
    )
    parser.add_argument(
        "--returns",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of completed orders returned later, as return rows linked to their order "
        "(default 0: none)",
    )
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["generate"]:
        args_in = args_in[1:]
    args = parser.parse_args(args_in)
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    started = time.perf_counter()
    log: list[dict] = []
    counts = generate(
        args.out,
        args.customers,
        args.days,
        args.seed,
        end=args.end,
        formats=formats,
        split=args.split,
        bad_rows=args.bad_rows,
        bad_row_log=log,
        returns=args.returns,
    )
    elapsed = time.perf_counter() - started
    for name, rows in sorted(counts.items()):
        print(f"{name:32s} {rows:>12,d} rows")
    for b in log:
        print(
            f"bad row: {b['file']} record {b['record']} (physical line {b['line']}): {b['reason']}"
        )
    print(f"wrote {len(counts)} files to {args.out} in {elapsed:.1f} s")
    return 0
