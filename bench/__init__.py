"""Benchmark of the pipeline against bare DuckDB, Polars and pandas (SPEC §9); see docs/benchmark.md."""
