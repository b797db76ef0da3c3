"""Writes one week's reports: HTML and Excel per segment plus the overview, under <output>/<week>/,
and beside each segment's workbook the CSVs of every customer and every at-risk customer.

Files are written to a temporary name and renamed, so a reader never sees a half-written report and a
re-run replaces the week's files.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from loyalty import engine
from loyalty.reports import excel, html
from loyalty.reports.actions_export import write_action_csvs
from loyalty.reports.export import write_segment_csvs
from loyalty.reports.i18n import Translator, locales, primary_locale
from loyalty.reports.insight_export import write_say_do_csvs
from loyalty.reports.insight_view import SAY_DO_CSV
from loyalty.reports.model import WeekData
from loyalty.reports.queries import snapshot_exists, week_data
from loyalty.settings import Settings
from loyalty.weeks import Week


class NoSnapshot(Exception):
    """The week's last day has no customer snapshot: the marts of that day are not computed yet."""


@dataclass
class WeekReports:
    data: WeekData
    # {segment or "overview": {"html": path, "xlsx": path}} in the primary (first) locale; a further
    # locale's files under "html:<locale>" and "xlsx:<locale>"
    files: dict[str, dict[str, Path]]
    csvs: dict[str, dict[str, Path]]  # {segment: {kind: path}}
    # the action list per owner ({owner: path}; "crm_unmasked": the CRM team's file when on)
    action_csvs: dict[str, Path] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.files["overview"]["html"].parent


def week_folder(settings: Settings, week_label: str) -> Path:
    return settings.output_path / week_label


def translator(settings: Settings, locale: str | None = None) -> Translator:
    """The Translator of `locale`, by default the primary (first) locale of the settings."""
    return Translator(locale or primary_locale(settings), settings.reports.currency)


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
    """Render every segment of `data` plus the overview in every locale of the settings; returns
    {segment: {"html": p, "xlsx": p, "html:<locale>": p, ...}} (unsuffixed keys: primary locale)."""
    generated = generated or dt.datetime.now().replace(microsecond=0)
    folder = week_folder(settings, data.week.label)
    folder.mkdir(parents=True, exist_ok=True)
    low_n = settings.metrics.nps_low_sample
    primary = primary_locale(settings)
    out: dict[str, dict[str, Path]] = {}
    for locale in locales(settings):
        t = translator(settings, locale)
        suffix = html.locale_suffix(locale)
        key = "" if locale == primary else f":{locale}"
        label = data.week.label
        for seg in data.segments:
            paths = {
                "html": folder / html.file_name(label, seg, "html", suffix),
                "xlsx": folder / html.file_name(label, seg, "xlsx", suffix),
            }
            _write_text(
                paths["html"],
                html.render_segment(
                    data, seg, t, generated, low_n, settings.reports.at_risk_top_n, suffix
                ),
            )
            _write_book(paths["xlsx"], excel.write_segment_workbook, data, seg, t)
            out.setdefault(seg, {}).update({f"{k}{key}": p for k, p in paths.items()})
        paths = {
            "html": folder / html.file_name(label, "overview", "html", suffix),
            "xlsx": folder / html.file_name(label, "overview", "xlsx", suffix),
        }
        _write_text(paths["html"], html.render_overview(data, t, generated, low_n, suffix))
        _write_book(paths["xlsx"], excel.write_overview_workbook, data, t)
        out.setdefault("overview", {}).update({f"{k}{key}": p for k, p in paths.items()})
    return out


def write_week_reports(
    settings: Settings, week: Week, generated: dt.datetime | None = None
) -> WeekReports:
    """Read week W as of its last day, stream each segment's full customer lists to CSV, then (the
    database closed, so other steps may use it meanwhile) render the HTML and Excel files."""
    with engine.connect(settings) as conn:
        if not engine.table_exists(conn, "customer_snapshot") or not snapshot_exists(
            conn, week.end
        ):
            raise NoSnapshot(
                f"no customer_snapshot for {week.end} (last day of {week.label}): "
                "materialise customer_snapshot and the marts for that day first"
            )
        data = week_data(conn, settings, week)
        csvs = write_segment_csvs(
            conn, week, list(data.segments), week_folder(settings, week.label), data.value
        )
        # the customers behind the say-do cells (reports/insight_export.py)
        folder = week_folder(settings, week.label)
        for seg, path in write_say_do_csvs(conn, data.insight, week, list(csvs), folder).items():
            csvs[seg][SAY_DO_CSV] = path
        # the action list per owner (and the CRM team's unmasked file when the setting is on)
        action_csvs = write_action_csvs(
            conn, settings, week, week_folder(settings, week.label), data.actions
        )
    files = render_week(data, settings, generated)
    return WeekReports(data=data, files=files, csvs=csvs, action_csvs=action_csvs)
