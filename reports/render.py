"""Writes one week's reports: HTML and Excel per segment plus the overview, under <output>/<week>/.

Files are written to a temporary name and renamed, so a reader never sees a half-written report and a
re-run replaces the week's files.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from loyalty.reports import excel, html
from loyalty.reports.i18n import Translator
from loyalty.reports.queries import WeekData
from loyalty.settings import Settings


def week_folder(settings: Settings, week_label: str) -> Path:
    return settings.output_path / week_label


def translator(settings: Settings) -> Translator:
    return Translator(settings.locale, settings.reports.currency)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_book(path: Path, writer, *args) -> None:
    tmp = path.with_name(path.name + ".tmp")
    writer(str(tmp), *args)
    os.replace(tmp, path)


def render_week(
    data: WeekData, settings: Settings, generated: dt.datetime | None = None
) -> dict[str, dict[str, Path]]:
    """Render every segment of `data` plus the overview; returns {segment: {"html": p, "xlsx": p}}."""
    t = translator(settings)
    generated = generated or dt.datetime.now().replace(microsecond=0)
    folder = week_folder(settings, data.week.label)
    folder.mkdir(parents=True, exist_ok=True)
    low_n = settings.metrics.nps_low_sample
    out: dict[str, dict[str, Path]] = {}
    for seg in data.segments:
        paths = {
            "html": folder / html.file_name(data.week.label, seg, "html"),
            "xlsx": folder / html.file_name(data.week.label, seg, "xlsx"),
        }
        _write_text(
            paths["html"],
            html.render_segment(data, seg, t, generated, low_n, settings.reports.at_risk_top_n),
        )
        _write_book(paths["xlsx"], excel.write_segment_workbook, data, seg, t)
        out[seg] = paths
    paths = {
        "html": folder / html.file_name(data.week.label, "overview", "html"),
        "xlsx": folder / html.file_name(data.week.label, "overview", "xlsx"),
    }
    _write_text(paths["html"], html.render_overview(data, t, generated, low_n))
    _write_book(paths["xlsx"], excel.write_overview_workbook, data, t)
    out["overview"] = paths
    return out
