"""Writing one table as CSV and/or Parquet, a slice at a time."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

WRITE_SLICE = 500_000  # rows formatted at a time
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


class Writer:
    """Writes one table as CSV and/or Parquet, a slice at a time, inserting bad rows (CSV only)."""

    def __init__(self, out_dir: Path, stem: str, formats: tuple[str, ...], columns: list[str]):
        self.columns = columns
        self.csv_path = out_dir / f"{stem}.csv" if "csv" in formats else None
        self.parquet_path = out_dir / f"{stem}.parquet" if "parquet" in formats else None
        self.csv = None
        if self.csv_path is not None:
            self.csv = open(self.csv_path, "wb")  # noqa: SIM115 - closed in close()
            self.csv.write((",".join(columns) + "\n").encode())
        self.parquet: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self.rows = 0  # data rows, including inserted bad rows
        self.lines = 1  # physical lines written to the CSV so far (the header)
        self.bad: list[tuple[int, int, str]] = []  # (record, physical line, text) of bad rows

    def write(self, frame: pl.DataFrame, inserts: dict[int, list[str]]) -> None:
        """Write `frame`; inserts maps a position 0..height to raw CSV lines written before it."""
        assert frame.columns == self.columns
        if self.csv is not None:
            pos = 0
            for cut in sorted({*inserts, frame.height}):
                if cut > pos:
                    buf = io.BytesIO()
                    frame.slice(pos, cut - pos).write_csv(
                        buf, include_header=False, datetime_format=TS_FORMAT
                    )
                    data = buf.getvalue()
                    self.csv.write(data)
                    self.lines += data.count(b"\n")
                    self.rows += cut - pos
                    pos = cut
                for text in inserts.get(cut, []):
                    self.csv.write((text + "\n").encode())
                    self.lines += 1
                    self.bad.append((self.rows + 2, self.lines, text))  # header is record 1
                    self.rows += 1
        else:
            self.rows += frame.height
        if self.parquet_path is not None:
            self._pending.append(frame.to_arrow())
            if sum(t.num_rows for t in self._pending) >= WRITE_SLICE:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending = []
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.parquet_path, table.schema, compression="zstd")
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.csv is not None:
            self.csv.close()
        if self.parquet_path is not None:
            self._flush()
            if self.parquet is not None:
                self.parquet.close()

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.csv_path, self.parquet_path) if p is not None]


def slices(rows: np.ndarray) -> Iterator[np.ndarray]:
    for i in range(0, len(rows), WRITE_SLICE):
        yield rows[i : i + WRITE_SLICE]
