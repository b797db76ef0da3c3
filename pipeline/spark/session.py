"""The SparkSession the Spark engine runs on.

- `LOYALTY_SPARK_REMOTE` set (a Spark Connect URL, `sc://host:15002`): a Spark Connect session to
  that server (production: the cluster's resources, nothing of Spark in this process but a client);
- otherwise a local session, `local[N]` (development, tests), with settings for a small machine:
  few shuffle partitions, no UI, a small driver, the session time zone UTC (the pipeline's days are
  dates and its instants naive timestamps, as in DuckDB: nothing may shift them);
- or a session the caller already has, passed to the engine functions as it is.

pyspark is an optional extra (`pip install loyalty-pipeline[spark]`): it is imported here, inside
the functions, so importing `loyalty.spark` never needs it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REMOTE_ENV = "LOYALTY_SPARK_REMOTE"

# a local session on a small machine: every setting here is one a user may override with `conf`
LOCAL_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "true",
    # a daily table is a folder per day: above 32 folders Spark lists them with a job of its own
    # on every read (0.5 s on a laptop's disk for 120 days); the driver lists a local disk faster
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
    # a day range of a daily table is replaced by overwriting its as_of partitions only
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # DuckDB writes naive timestamps; read them back as naive (TIMESTAMP_NTZ), never shifted
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
# settings every session needs, local or remote (set at runtime: a remote session may refuse
# static ones)
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}


def get_session(
    cores: int = 2, conf: dict[str, str] | None = None, app_name: str = "loyalty"
) -> SparkSession:
    """The session: Spark Connect when `LOYALTY_SPARK_REMOTE` is set, else `local[cores]` (an
    existing local session is reused, as `getOrCreate` does)."""
    from pyspark.sql import SparkSession

    remote = os.environ.get(REMOTE_ENV)
    if remote:
        session = SparkSession.builder.remote(remote).appName(app_name).getOrCreate()
    else:
        builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
        # the Python the executors run (customer_value's scores) is this interpreter, where
        # `loyalty` is installed, unless PYSPARK_PYTHON says otherwise (pyspark reads only that)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in {**LOCAL_CONF, **(conf or {})}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    prepare(session)
    return session


def prepare(session: SparkSession) -> None:
    """The runtime settings the engine relies on, on any session (one of the caller's too)."""
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)


def stop_session(session: SparkSession | None = None) -> None:
    """Stop `session` (or the active one, if any): a local session ends its JVM's work."""
    from pyspark.sql import SparkSession

    target = session or SparkSession.getActiveSession()
    if target is not None:
        target.stop()
