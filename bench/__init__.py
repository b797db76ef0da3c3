"""Benchmark of the pipeline against bare DuckDB, Polars and pandas (docs/benchmark.md); see docs/benchmark.md."""
