"""The landing-files sensor asks for an ingest run when an export arrives or changes, waits for a
file still being copied, and never touches the database."""

from __future__ import annotations

import os
import time

import dagster as dg

from loyalty.orchestration.resources import LoyaltyResource
from loyalty.orchestration.sensors import build_landing_files_sensor
from loyalty.settings import load_settings
from tests.test_orchestration_support import tiny_landing


def _age(path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def _sensor():
    from loyalty.definitions import ingest_job

    return build_landing_files_sensor(ingest_job)


def _evaluate(settings_file, cursor):
    # entered, as the daemon enters it: the resource has a run's set-up and tear-down
    with dg.build_sensor_context(
        cursor=cursor, resources={"loyalty": LoyaltyResource(settings_file=str(settings_file))}
    ) as context:
        result = _sensor().evaluate_tick(context)
    return result, context.cursor if result.cursor is None else result.cursor


def test_new_and_changed_exports_request_one_ingest_run_each_time(tmp_path):
    settings_file = tiny_landing(tmp_path)
    landing = tmp_path / "landing"
    for p in landing.iterdir():
        _age(p, 600)
    first, cursor = _evaluate(settings_file, None)
    assert len(first.run_requests) == 1 and first.run_requests[0].run_key.startswith("landing-")

    again, cursor = _evaluate(settings_file, cursor)
    assert again.run_requests == [] and "no new or changed files" in again.skip_message

    new = landing / "orders_2024-12-01.csv"
    new.write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n", encoding="utf-8"
    )
    _age(new, 600)
    (landing / "notes.txt").write_text("not an export", encoding="utf-8")  # matches no source glob
    third, cursor = _evaluate(settings_file, cursor)
    assert len(third.run_requests) == 1
    assert third.run_requests[0].run_key != first.run_requests[0].run_key
    assert third.run_requests[0].tags["loyalty/new_files"] == "1"

    # the same file re-delivered with new content (size and mtime change)
    new.write_text(
        new.read_text() + "O999,C1,2024-12-01 10:00:00,5.00,completed,0,web\n", encoding="utf-8"
    )
    _age(new, 300)
    fourth, _ = _evaluate(settings_file, cursor)
    assert len(fourth.run_requests) == 1


def test_a_file_still_being_written_is_waited_for(tmp_path):
    settings_file = tiny_landing(tmp_path)
    for p in (tmp_path / "landing").iterdir():
        _age(p, 600)
    _, cursor = _evaluate(settings_file, None)
    fresh = tmp_path / "landing" / "tickets_2.csv"
    fresh.write_text("ticket_id,customer_id\n", encoding="utf-8")  # mtime: now
    waiting, cursor_after = _evaluate(settings_file, cursor)
    assert waiting.run_requests == [] and "still being written" in waiting.skip_message
    assert cursor_after == cursor  # looked at again next tick
    _age(fresh, 120)
    done, _ = _evaluate(settings_file, cursor_after)
    assert len(done.run_requests) == 1


def test_the_sensor_lists_files_without_opening_the_database(tmp_path):
    settings_file = tiny_landing(tmp_path)
    settings = load_settings(settings_file)
    for p in (tmp_path / "landing").iterdir():
        _age(p, 600)
    _evaluate(settings_file, None)
    assert not settings.database_path.exists()
