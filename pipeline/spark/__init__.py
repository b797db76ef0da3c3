"""The Spark engine (issue 14): the sql/ models, written for DuckDB, run on Apache Spark."""
