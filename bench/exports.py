"""Synthetic exports for the benchmark: generated once per (size, seed) and reused.

The generator's order count follows from the number of customers; at the benchmark's 730 days of
history it writes about ORDERS_PER_CUSTOMER orders per customer (measured with seed 1:
3.45 at 29 k customers, 3.45 at 290 k, 3.47 at 2.9 M), so `--orders 10M` asks for 10 M / 3.45
customers and prints the count it got.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from bench.measure import run_measured
from loyalty.generate import DEFAULT_END, TS_FORMAT

DAYS = 730
ORDERS_PER_CUSTOMER = 3.45
KINDS = ("orders", "tickets", "surveys", "customers")


def parse_size(text: str) -> int:
    """'20k', '1M', '10M', '2.5M' or a plain number -> an order count."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 20k, 1M, 10M)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * factor)


def customers_for(orders: int) -> int:
    return max(50, round(orders / ORDERS_PER_CUSTOMER))


@dataclass
class Exports:
    folder: Path
    label: str
    seed: int
    customers: int
    days: int
    end: dt.date
    orders: int  # rows of orders written
    rows: dict  # file name -> rows
    generate_seconds: float
    generate_peak_mb: float

    @property
    def csv_dir(self) -> Path:
        return self.folder / "csv"

    @property
    def orders_parquet(self) -> Path:
        return self.folder / "parquet" / "orders.parquet"

    @property
    def next_day(self) -> dt.date:
        return self.end + dt.timedelta(days=1)

    @property
    def next_day_csv(self) -> Path:
        return self.folder / "next_day" / f"orders_{self.next_day.isoformat()}.csv"


def ensure_exports(data_dir: Path, label: str, seed: int, log=print) -> Exports:
    """The exports for (label, seed): CSV for the pipeline, Parquet for the bare queries."""
    target = parse_size(label)
    folder = data_dir / f"exports-{label}-seed{seed}"
    meta = folder / "exports.json"
    if meta.exists():
        e = _load(meta)
        log(f"reusing exports in {folder} ({e.orders:,} orders, {e.customers:,} customers)")
        return e
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted generation
    customers = customers_for(target)
    raw = folder / "raw"
    log(f"generating exports: {customers:,} customers x {DAYS} days, seed {seed} -> {folder}")
    cmd = [
        sys.executable,
        "-m",
        "loyalty.generate",
        "--customers",
        str(customers),
        "--days",
        str(DAYS),
        "--seed",
        str(seed),
        "--end",
        DEFAULT_END.isoformat(),
        "--format",
        "both",
        "--out",
        str(raw),
    ]
    folder.mkdir(parents=True)
    m = run_measured(cmd, folder / "generate.log")
    if m.returncode != 0:
        raise SystemExit(f"the generator failed; see {folder / 'generate.log'}")
    rows = {}
    for line in (folder / "generate.log").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "rows":
            rows[parts[0]] = int(parts[1].replace(",", ""))
    for sub in ("csv", "parquet"):
        (folder / sub).mkdir()
        for p in raw.glob(f"*.{sub}"):
            p.rename(folder / sub / p.name)
    raw.rmdir()
    e = Exports(
        folder,
        label,
        seed,
        customers,
        DAYS,
        DEFAULT_END,
        rows["orders.csv"],
        rows,
        m.wall_seconds,
        m.peak_rss_mb,
    )
    write_next_day(e)
    meta.write_text(
        json.dumps({**asdict(e), "folder": str(folder), "end": e.end.isoformat()}, indent=1)
    )
    return e


def _load(meta: Path) -> Exports:
    d = json.loads(meta.read_text())
    d["folder"] = meta.parent
    d["end"] = dt.date.fromisoformat(d["end"])
    return Exports(**d)


def write_next_day(e: Exports) -> None:
    """The nightly drop: one new day of orders after the history's last day.

    It repeats the orders of the same weekday a week earlier, shifted by seven days, under new
    order ids: a day of the same volume and mix, bought by customers who are already known.
    """
    day = e.next_day - dt.timedelta(days=7)
    lo = dt.datetime.combine(day, dt.time())
    frame = (
        pl.scan_parquet(e.orders_parquet)
        .filter(pl.col("ordered_at").is_between(lo, lo + dt.timedelta(days=1), closed="left"))
        .with_columns(
            ("N" + pl.col("order_id")).alias("order_id"),
            (pl.col("ordered_at") + dt.timedelta(days=7)).alias("ordered_at"),
        )
        .collect()
    )
    e.next_day_csv.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(e.next_day_csv, datetime_format=TS_FORMAT)
    e.rows[e.next_day_csv.name] = frame.height


def link_landing(e: Exports, landing: Path) -> None:
    """Hard links (no copy) of the history CSVs into a run's landing folder."""
    landing.mkdir(parents=True, exist_ok=True)
    for p in sorted(e.csv_dir.glob("*.csv")):
        target = landing / p.name
        try:
            os.link(p, target)
        except OSError:
            shutil.copy2(p, target)
