"""loyalty.spark.catalog keeps what a session's catalog answered (which names exist, their columns)
and forgets it when the engine changes a name: the answers are asked once, and a replaced,
dropped or dependent view is seen as it now is. Every change of the session's views goes through
it, or a kept answer would be stale: no other module of the engine changes a view itself."""

from __future__ import annotations

import ast
import re

import pytest

from loyalty.spark import catalog
from tests.conftest import REPO

# the session calls that change or ask the catalog, which only loyalty.spark.catalog makes
CATALOG_CALLS = {"createOrReplaceTempView", "createTempView", "dropTempView", "tableExists"}
CREATE_VIEW = re.compile(r"\bcreate\s+(or\s+replace\s+)?(global\s+)?temp(orary)?\s+view\b", re.I)
# where a view of the session may be changed: the engine, the tests and the benchmark share it
SCANNED = ("pipeline", "assets", "reports", "tests", "bench")
# the module itself, and this test, which asks the session directly to check its answers
EXEMPT = {"pipeline/spark/catalog.py", "tests/test_spark_catalog.py"}


def _sources():
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if relative not in EXEMPT:
                yield relative, ast.parse(path.read_text(encoding="utf-8"))


def test_only_the_catalog_module_changes_the_sessions_views():
    problems = []
    for relative, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in CATALOG_CALLS:
                problems.append(f"{relative}:{node.lineno} calls {node.attr}")
            # Spark SQL that makes a view; DuckDB's statements elsewhere reach Spark through
            # loyalty.spark.statements, which uses the catalog module
            text = node.value if isinstance(node, ast.Constant) else None
            spark_sql = relative.startswith("pipeline/spark/")
            if spark_sql and isinstance(text, str) and CREATE_VIEW.search(text):
                problems.append(f"{relative}:{node.lineno} creates a view in SQL text")
    assert not problems, "use loyalty.spark.catalog instead:\n" + "\n".join(problems)


def test_the_scan_finds_what_it_looks_for():
    """Guards the test above against passing because it reads nothing: the catalog module itself
    makes the calls it looks for, and the scan reads the engine's modules and the Spark tests."""
    tree = ast.parse((REPO / "pipeline" / "spark" / "catalog.py").read_text(encoding="utf-8"))
    found = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert {"createOrReplaceTempView", "dropTempView", "tableExists"} <= found
    texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert any(isinstance(t, str) and CREATE_VIEW.search(t) for t in texts)
    scanned = {relative for relative, _ in _sources()}
    assert {"pipeline/spark/engine.py", "tests/test_spark_parity.py", "bench/spark.py"} <= scanned


def _session_says(spark, names):
    """What the session itself answers now for each name (the catalog module's kept answers must
    equal it): its column types, None for no such table or view."""
    return {
        n: {f.name: f.dataType.simpleString() for f in spark.table(n).schema.fields}
        if spark.catalog.tableExists(n)
        else None
        for n in names
    }


@pytest.mark.spark
def test_answers_are_kept_and_follow_each_change(spark, monkeypatch):
    names = ("cat_t", "cat_v", "cat_missing")
    catalog.view(spark.createDataFrame([(1, "a")], "id int, name string"), "cat_t")
    catalog.sql_view(spark, "cat_v", "select * from cat_t")
    kept = {n: catalog.types(spark, n) for n in names}
    assert kept == _session_says(spark, names)
    assert kept["cat_t"] == {"id": "int", "name": "string"} and kept["cat_missing"] is None
    assert catalog.columns(spark, "cat_v") == ["id", "name"]

    # asked once: answered again without the session
    real_exists, real_table = spark.catalog.tableExists, spark.table

    def refused(*args, **kwargs):
        raise AssertionError("asked the session again")

    monkeypatch.setattr(spark.catalog, "tableExists", refused)
    monkeypatch.setattr(spark, "table", refused)
    assert {n: catalog.types(spark, n) for n in names} == kept
    assert catalog.exists(spark, "CAT_T")  # Spark's catalog ignores case
    monkeypatch.setattr(spark.catalog, "tableExists", real_exists)
    monkeypatch.setattr(spark, "table", real_table)

    # the table replaced with another column: its answer anew; the view defined by SQL over it
    # keeps the columns it was defined with (Spark stores them), as the session says
    wider = spark.createDataFrame([(1, "a", 2.5)], "id int, name string, x double")
    catalog.view(wider, "cat_t")
    kept = {n: catalog.types(spark, n) for n in names}
    assert kept["cat_t"] == {"id": "int", "name": "string", "x": "double"}
    assert kept == _session_says(spark, names)

    # a view defined again, a name used again, names dropped
    catalog.sql_view(spark, "cat_v", "select x from cat_t")
    catalog.view(spark.createDataFrame([("z",)], "code string"), "cat_missing")
    kept = {n: catalog.types(spark, n) for n in names}
    assert kept["cat_v"] == {"x": "double"} and kept["cat_missing"] == {"code": "string"}
    assert kept == _session_says(spark, names)
    for name in ("cat_v", "cat_missing", "cat_t"):
        catalog.drop_view(spark, name)
    assert not any(catalog.exists(spark, n) for n in names)
    assert _session_says(spark, names) == dict.fromkeys(names)


@pytest.mark.spark
def test_a_view_defined_again_the_same_way_is_left_as_it_is(spark, monkeypatch):
    """Every step opens the warehouse and defines its stored views: only a view whose text or
    whose tables' columns differ from the session's definition is defined again."""
    catalog.view(spark.createDataFrame([(1,)], "id int"), "same_t")
    reads = (("same_t", (("id", "int"),)),)
    catalog.sql_view(spark, "same_v", "select id from same_t", reads)
    real_sql = spark.sql
    calls = []

    def counted(text, *args, **kwargs):
        calls.append(text)
        return real_sql(text, *args, **kwargs)

    monkeypatch.setattr(spark, "sql", counted)
    catalog.sql_view(spark, "same_v", "select id from same_t", reads)
    assert calls == []
    catalog.sql_view(spark, "same_v", "select id from same_t", (("same_t", (("id", "bigint"),)),))
    catalog.sql_view(spark, "same_v", "select id + 1 as id from same_t", reads)
    assert len(calls) == 2
    catalog.drop_view(spark, "same_v")  # dropped: defined again even the same way
    catalog.sql_view(spark, "same_v", "select id + 1 as id from same_t", reads)
    assert len(calls) == 3
    monkeypatch.setattr(spark, "sql", real_sql)
    assert [tuple(r) for r in spark.table("same_v").collect()] == [(2,)]
    for name in ("same_v", "same_t"):
        catalog.drop_view(spark, name)
