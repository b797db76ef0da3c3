"""What a Spark session's catalog holds, asked once: which tables and views exist and their columns.

Every query the Spark engine runs is translated with the schema of the tables it reads
(loyalty.spark.engine.catalog_schema), and the writes look up the table they write. Asking the
session each time is a round trip per name (`catalog.tableExists`) and another per schema (an
analysis of `spark.table(name)`): on a Spark Connect client each is a call to the server, about
2,500 of them in a night of the tests' small run, a tenth of its time. The answers are kept here,
per session, and forgotten when the engine changes what a name holds.

That only works if every change of the session's temporary views goes through this module, so the
rest of loyalty.spark never calls `createOrReplaceTempView`, `dropTempView` or `create ... view`
itself (tests/test_architecture.py holds it to that):

    view(frame, name)            the frame as the temporary view `name`
    sql_view(spark, name, text)  the view defined by Spark SQL text
    drop_view(spark, name)       the temporary view dropped (if there)
    exists / schema / columns / types   the kept answers (asked once after each change)

A change forgets the name it changes, and only that name: a view defined by SQL keeps the columns
it had when it was defined (Spark stores them; when a table it reads changes, Spark casts to them,
or refuses the query), so a change of the tables it reads does not change its answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


# each session's answers, name (lower case, as Spark's catalog compares) -> its columns, None for
# no table or view of that name; weakly by session: a session that is gone takes its answers with
# it (a new session could be given the old one's id)
_KNOWN: weakref.WeakKeyDictionary[Any, dict[str, StructType | None]] = weakref.WeakKeyDictionary()


def _known(spark: SparkSession) -> dict[str, StructType | None]:
    known = _KNOWN.get(spark)
    if known is None:
        known = _KNOWN[spark] = {}
    return known


# each session's views defined by SQL: name -> (the text, the columns of the tables it reads)
_DEFINED: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, Hashable]]] = (
    weakref.WeakKeyDictionary()
)


def _defined(spark: SparkSession) -> dict[str, tuple[str, Hashable]]:
    defined = _DEFINED.get(spark)
    if defined is None:
        defined = _DEFINED[spark] = {}
    return defined


def schema(spark: SparkSession, name: str) -> StructType | None:
    """The columns of the table or view `name` (None when the session has none of that name)."""
    known = _known(spark)
    key = name.lower()
    if key not in known:
        known[key] = spark.table(name).schema if spark.catalog.tableExists(name) else None
    return known[key]


def exists(spark: SparkSession, name: str) -> bool:
    return schema(spark, name) is not None


def columns(spark: SparkSession, name: str) -> list[str]:
    """Its column names ([] when there is no such table or view)."""
    found = schema(spark, name)
    return [] if found is None else [f.name for f in found.fields]


def types(spark: SparkSession, name: str) -> dict[str, str] | None:
    """Column -> Spark's name of its type (`simpleString`), None when there is no such name."""
    found = schema(spark, name)
    return None if found is None else {f.name: f.dataType.simpleString() for f in found.fields}


def view(frame: DataFrame, name: str) -> None:
    """`frame` as the session's temporary view `name` (replacing one of that name)."""
    frame.createOrReplaceTempView(name)
    _known(frame.sparkSession).pop(name.lower(), None)
    _defined(frame.sparkSession).pop(name.lower(), None)


def sql_view(spark: SparkSession, name: str, text: str, reads: Hashable = None) -> None:
    """The temporary view `name` defined by the Spark SQL query `text`, which reads tables with
    the columns `reads` (their schemas): nothing to do when the session's view of that name was
    defined by the same text over the same columns, and still is. (Spark reads the tables of a
    view defined by SQL by name when it is queried, so it sees them as they are then; its own
    columns are fixed when it is defined, hence the tables' columns in what makes it the same.)"""
    key = name.lower()
    defined = _defined(spark)
    if reads is not None and defined.get(key) == (text, reads) and exists(spark, name):
        return
    spark.sql(f"create or replace temporary view `{name}` as {text}")
    _known(spark).pop(key, None)
    defined[key] = (text, reads)


def drop_view(spark: SparkSession, name: str) -> None:
    """The temporary view `name` dropped (nothing when there is none)."""
    spark.catalog.dropTempView(name)
    _known(spark).pop(name.lower(), None)
    _defined(spark).pop(name.lower(), None)
