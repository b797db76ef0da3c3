"""Large weeks have their segment workbooks written by worker processes (loyalty.reports.render,
`python -m loyalty.reports.book_worker`) while the HTML is rendered: the files must be the ones the
single process writes, and a worker's failure must fail the reports, naming the workbook."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from loyalty import engine
from loyalty.reports import render
from loyalty.reports.queries import week_data
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

GENERATED = dt.datetime(2026, 11, 16, 7, 0)


def _content(path) -> dict[str, bytes]:
    """A workbook's parts, without docProps/core.xml (its creation time)."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_workers_write_the_same_workbooks(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path / "ws", report_db, ["en", "zh-CN"])
    with engine.connect(settings, read_only=True) as conn:
        data = week_data(conn, settings, fx.WEEK)
    assert render.workbook_workers(data) == 1  # the sample is small: one process by default
    folder = settings.output_path / fx.WEEK_LABEL
    one = render.render_week(data, settings, GENERATED, workers=1)
    first = {p.name: _content(p) for p in folder.glob("*.xlsx")}
    html = sorted(p.name for p in folder.glob("*.html"))
    for p in folder.iterdir():
        p.unlink()
    two = render.render_week(data, settings, GENERATED, workers=2)
    assert two == one
    second = {p.name: _content(p) for p in folder.glob("*.xlsx")}
    assert len(second) == 2 * (len(data.segments) + 1)  # every segment and the overview, 2 locales
    assert second == first
    assert sorted(p.name for p in folder.glob("*.html")) == html  # (chart ids differ per render)
    assert not list(folder.glob("*.tmp")) and not list(settings.temp_path.glob("books-*"))


def test_a_failing_worker_fails_the_reports(tmp_path, report_db, monkeypatch):  # noqa: F811
    settings = fx.workspace(tmp_path / "ws", report_db)
    with engine.connect(settings, read_only=True) as conn:
        data = week_data(conn, settings, fx.WEEK)
    # the workers cannot write: the week folder's workbooks are directories
    folder = settings.output_path / fx.WEEK_LABEL
    folder.mkdir(parents=True)
    for seg in data.segments:
        (folder / f"loyalty_{fx.WEEK_LABEL}_{seg}.xlsx.tmp").mkdir()
    with pytest.raises(RuntimeError, match=r"writing the segment workbooks failed: workbook"):
        render.render_week(data, settings, GENERATED, workers=2)
    assert not list(settings.temp_path.glob("books-*"))
