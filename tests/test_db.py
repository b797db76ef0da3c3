"""Opening the DuckDB file: settings applied, and a second process waits for the lock."""

from __future__ import annotations

import subprocess
import sys
import time

from loyalty import engine
from loyalty.settings import load_settings

from tests.conftest import write_settings


def test_connections_apply_memory_limit_and_business_time_zone(tmp_path):
    settings = load_settings(
        write_settings(tmp_path, {"timezone": "Asia/Shanghai", "duckdb": {"memory_limit": "512MB"}})
    )
    with engine.connect(settings) as conn:
        tz, limit, temp = conn.execute(
            "select current_setting('TimeZone'), current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
    assert tz == "Asia/Shanghai"
    assert limit.replace(" ", "") in ("488.2MiB", "512.0MB", "488.2MB")
    assert temp == str(settings.temp_path)


def test_a_second_process_waits_for_the_write_lock_instead_of_failing(tmp_path):
    settings = load_settings(write_settings(tmp_path))
    holder = f"""
import duckdb, time
c = duckdb.connect({str(settings.database_path)!r})
c.execute('create table t(a int)'); c.execute('insert into t values (1)')
print('held', flush=True); time.sleep(2); c.close()
"""
    settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        started = time.monotonic()
        with engine.connect(settings) as conn:
            assert conn.execute("select count(*) from t").fetchall() == [(1,)]
        assert time.monotonic() - started > 0.5  # it really waited for the other process
    finally:
        p.wait(timeout=30)


def test_memory_lent_lowers_the_limit_for_a_while_and_restores_it(tmp_path):
    settings = load_settings(write_settings(tmp_path, {"duckdb": {"memory_limit": "1GB"}}))
    assert engine.memory_limit_bytes(settings) == 10**9

    def limit(conn) -> str:
        return conn.execute("select current_setting('memory_limit')").fetchall()[0][0]

    with engine.connect(settings) as conn:
        configured = limit(conn)
        with engine.memory_lent(conn, settings, 0.3):
            assert limit(conn).replace(" ", "") == "667.5MiB"  # 0.7 * 10^9 bytes
        assert limit(conn) == configured
        try:
            with engine.memory_lent(conn, settings, 0.5):
                raise RuntimeError("validation failed")
        except RuntimeError:
            pass
        assert limit(conn) == configured
