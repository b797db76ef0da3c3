"""A list read once and cut into several CSV files (`loyalty.engine.copy_csv_parts`): each file
holds exactly what `copy_csv` writes for the list read with that part's filter, byte for byte, in
the list's order. The segments' CSVs (reports/export.py) are written this way: each segment's file
equals the file of a read of that segment alone, on the pipeline's own database."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from loyalty import engine
from loyalty.reports import export, lists, value
from loyalty.vocab import ALL, TIERS
from tests.test_reports_fixture_db import DAY, WEEK, built_database, workspace

ORDERED = """
select customer_id, tier, amount
from (values
    ('c1', 'A', 5.0), ('c2', 'B', 9.5), ('c3', 'A', 9.5), ('c4', '=B', 3.0),
    ('c5', 'C', null), ('c6', 'B', 2.25), ('c7', 'A', 7.0)
) as t (customer_id, tier, amount)
where amount is null or amount >= $least
order by amount desc nulls last, customer_id
"""


def test_each_part_is_the_list_read_with_its_filter(tmp_path: Path) -> None:
    parts = {
        "A": ["A"],
        "AB": ["A", "B"],
        "formula": ["=B"],
        "none": ["D"],
        "every": ["A", "B", "=B", "C"],
    }
    conn = duckdb.connect()
    try:
        files = [(tmp_path / f"{name}.csv", values) for name, values in parts.items()]
        engine.copy_csv_parts(conn, ORDERED, {"least": 2.0, "unused": 1}, "tier", files)
        for path, values in files:
            reference = tmp_path / f"{path.stem}.reference.csv"
            engine.copy_csv(
                conn,
                f"select * from ({ORDERED}) where list_contains($values, tier)",
                {"least": 2.0, "values": values},
                reference,
            )
            assert path.read_bytes() == reference.read_bytes(), path.name
        # the order is the list's, the empty part a header alone, the work table gone
        assert (tmp_path / "AB.csv").read_text().splitlines() == [
            '"customer_id",tier,amount',
            '"c2",B,9.50',
            '"c3",A,9.50',
            '"c7",A,7.00',
            '"c1",A,5.00',
            '"c6",B,2.25',
        ]
        assert (tmp_path / "none.csv").read_text() == '"customer_id",tier,amount\n'
        assert '"c4",=B,' in (tmp_path / "formula.csv").read_text()
        assert engine.table_kind(conn, "_csv_parts") is None
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pipeline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_database(tmp_path_factory)


def test_every_segments_csv_equals_a_read_of_that_segment_alone(pipeline_db, tmp_path):
    settings = workspace(tmp_path, pipeline_db)
    segments = [ALL, *TIERS]
    with engine.connect(settings, read_only=True) as conn:
        model = value.value_data(conn, settings, WEEK)
        written = export.write_segment_csvs(conn, WEEK, segments, tmp_path / "csv", model)
        for seg in segments:
            for kind in lists.KINDS:
                name, params = lists.list_source(kind, DAY, seg, None, model)
                query, bound = lists.neutralised(conn, engine.sql_text(name), params)
                reference = tmp_path / f"{seg}_{kind}.reference.csv"
                engine.copy_csv(conn, query, bound, reference)
                got = written[seg][kind].read_bytes()
                assert got == reference.read_bytes(), (seg, kind)
                assert got.count(b"\n") > 1 or seg != ALL, (seg, kind)  # the base has rows
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(
        export.csv_name(WEEK.label, seg, kind) for seg in segments for kind in lists.KINDS
    )
