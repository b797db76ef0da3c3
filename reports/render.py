"""Writes one week's reports: HTML and Excel per segment plus the overview, under <output>/<week>/,
and beside each segment's workbook the CSVs of every customer and every at-risk customer.

Files are written to a temporary name and renamed, so a reader never sees a half-written report and a
re-run replaces the week's files.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


_write_book = excel.write_book_file


# segment workbooks are written by worker processes when their customer rows reach this many: a
# table's rows go straight to the sheet's XML (loyalty.reports.xlsx_rows, about 1.5 us a cell), so a
# small company's five books (23.6 k customers) take about 1.9 s in one process, 2.5 s of report
# step against 3.4 s with the workers. Below it (the sample, most tests) the cost of starting the
# workers (about half a second each) is not worth it.
PARALLEL_FROM_ROWS = 20_000


def workbook_workers(data: WeekData) -> int:
    """How many processes write the segment workbooks: 1 for small weeks or one core, else 2."""
    rows = sum(len(s.customers) for s in data.segments.values())
    return 2 if rows >= PARALLEL_FROM_ROWS and (os.cpu_count() or 1) > 1 else 1


write_segment_book = excel.write_segment_book
book_claims, claim = excel.book_claims, excel.claim


def render_week(
    data: WeekData,
    settings: Settings,
    generated: dt.datetime | None = None,
    workers: int | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> dict[str, dict[str, Path]]:
    """Render every segment of `data` plus the overview in every locale of the settings; returns
    {segment: {"html": p, "xlsx": p, "html:<locale>": p, ...}} (unsuffixed keys: primary locale).
    The segment workbooks are written by `workers` processes (default `workbook_workers`) while
    this one runs `meanwhile` (the week's CSV files) and renders the HTML and the overview; the
    files are the same either way."""
    generated = generated or dt.datetime.now().replace(microsecond=0)
    folder = week_folder(settings, data.week.label)
    folder.mkdir(parents=True, exist_ok=True)
    low_n = settings.metrics.nps_low_sample
    primary = primary_locale(settings)
    translators = {locale: translator(settings, locale) for locale in locales(settings)}
    books: list[tuple[Path, str, str]] = []  # (path, segment, locale)
    out: dict[str, dict[str, Path]] = {}
    for locale in translators:
        suffix = html.locale_suffix(locale)
        key = "" if locale == primary else f":{locale}"
        label = data.week.label
        for seg in data.segments:
            paths = {
                "html": folder / html.file_name(label, seg, "html", suffix),
                "xlsx": folder / html.file_name(label, seg, "xlsx", suffix),
            }
            books.append((paths["xlsx"], seg, locale))
            out.setdefault(seg, {}).update({f"{k}{key}": p for k, p in paths.items()})
        paths = {
            "html": folder / html.file_name(label, "overview", "html", suffix),
            "xlsx": folder / html.file_name(label, "overview", "xlsx", suffix),
        }
        out.setdefault("overview", {}).update({f"{k}{key}": p for k, p in paths.items()})
    workers = workbook_workers(data) if workers is None else workers
    with _book_writer(workers, data, translators, books, settings.temp_path) as wait:
        if meanwhile is not None:
            meanwhile()
        for locale, t in translators.items():
            suffix = html.locale_suffix(locale)
            key = "" if locale == primary else f":{locale}"
            for seg in data.segments:
                _write_text(
                    out[seg][f"html{key}"],
                    html.render_segment(
                        data, seg, t, generated, low_n, settings.reports.at_risk_top_n, suffix
                    ),
                )
            _write_text(
                out["overview"][f"html{key}"],
                html.render_overview(data, t, generated, low_n, suffix),
            )
            _write_book(out["overview"][f"xlsx{key}"], excel.write_overview_workbook, data, t)
        wait()  # the workers' workbooks; raises if one failed
    return out


@contextmanager
def _book_writer(
    workers: int,
    data: WeekData,
    translators: dict[str, Translator],
    books: list[tuple[Path, str, str]],
    temp: Path,
) -> Iterator[Callable[[], None]]:
    """Write `books` (path, segment, locale): here, before the body runs (1 worker); or by
    `workers` processes of `python -m loyalty.reports.book_worker` while the body runs and by this
    one once the body is done, each taking the largest book no one has taken yet (a claim file per
    book), so they end together. Yields the function the body ends with: it writes what is left,
    waits for the workers and raises if one failed."""
    if workers <= 1 or len(books) < 2:
        for path, seg, locale in books:
            write_segment_book(path, data, seg, translators[locale])
        yield lambda: None
        return
    temp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=temp, prefix="books-") as folder:
        payload = Path(folder) / "week.pickle"
        with payload.open("wb") as f:
            pickle.dump((data, translators, books), f, protocol=pickle.HIGHEST_PROTOCOL)
        claims = book_claims(payload)
        claims.mkdir()
        # the largest first: the whole base's book, then the tiers by size
        order = sorted(range(len(books)), key=lambda i: -len(data.segments[books[i][1]].customers))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "loyalty.reports.book_worker", str(payload)]
                + [str(i) for i in order],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        failures: list[str] = []

        def wait() -> None:
            for i in order:
                if not failures and claim(claims, i):
                    path, seg, locale = books[i]
                    try:
                        write_segment_book(path, data, seg, translators[locale])
                    except Exception as e:  # as a worker says it, never a row
                        failures.append(excel.book_failure(path, seg, e))
            for p in procs:
                _, err = p.communicate()
                if p.returncode:
                    failures.append(err.strip().splitlines()[-1] if err.strip() else "no message")
            if failures:
                raise RuntimeError("writing the segment workbooks failed: " + "; ".join(failures))

        try:
            yield wait
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


def write_week_reports(
    settings: Settings, week: Week, generated: dt.datetime | None = None
) -> WeekReports:
    """Read week W as of its last day; then, while the segment workbooks' processes start, stream
    each segment's full customer lists to CSV (a connection of its own); then render the HTML and
    Excel files (the database closed, so other steps may use it meanwhile)."""
    with engine.connect(settings) as conn:
        if not engine.table_exists(conn, "customer_snapshot") or not snapshot_exists(
            conn, week.end
        ):
            raise NoSnapshot(
                f"no customer_snapshot for {week.end} (last day of {week.label}): "
                "materialise customer_snapshot and the marts for that day first"
            )
        data = week_data(conn, settings, week)
    folder = week_folder(settings, week.label)
    csvs: dict[str, dict[str, Path]] = {}
    action_csvs: dict[str, Path] = {}

    def write_csvs() -> None:
        with engine.connect(settings) as conn:
            csvs.update(write_segment_csvs(conn, week, list(data.segments), folder, data.value))
            # the customers behind the say-do cells (reports/insight_export.py)
            for seg, path in write_say_do_csvs(
                conn, data.insight, week, list(csvs), folder
            ).items():
                csvs[seg][SAY_DO_CSV] = path
            # the action list per owner (and the CRM team's unmasked file when the setting is on)
            action_csvs.update(write_action_csvs(conn, settings, week, folder, data.actions))

    files = render_week(data, settings, generated, meanwhile=write_csvs)
    return WeekReports(data=data, files=files, csvs=csvs, action_csvs=action_csvs)
