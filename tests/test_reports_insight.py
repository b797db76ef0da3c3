"""The insight panels (service -> loyalty impact, say-do gap) in the reports of the pipeline-built
database (tests/test_reports_fixture_db.py): the HTML in English and Chinese, drawn by a real
browser (screenshots of the section), the workbook sheets and the CSV of the customers behind the
say-do cells, each figure against the marts read independently, and the one-line panels when
there are no tickets or no NPS answers."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from loyalty import engine
from loyalty.reports.i18n import LABELS
from loyalty.reports.render import write_week_reports
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EN, ZH = LABELS["en"], LABELS["zh-CN"]


@pytest.fixture(scope="module")
def written(tmp_path_factory, report_db):  # noqa: F811
    settings = fx.workspace(
        tmp_path_factory.mktemp("insight"), report_db, ["en", "zh-CN"], {"segments": ["all", "A"]}
    )
    return settings, write_week_reports(settings, fx.WEEK)


def _rows(settings, query: str, params: list | None = None) -> list[dict]:
    with engine.connect(settings, read_only=True) as conn:
        rel = conn.execute(query, params or [])
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _latest_final_month(settings, table: str) -> dict:
    """The newest complete month whose every window ended by the week's last day, read directly."""
    (row,) = _rows(
        settings,
        f"select max(period_start) as start from {table} where period_type = 'month' "
        "and is_complete and period_end + window_days <= ?",
        [fx.DAY],
    )
    return row


def _section(html_text: str) -> str:
    start = html_text.index('<section id="insight">')
    return html_text[start : html_text.index("</section>", start)]


def test_service_impact_headline_is_the_marts_latest_final_month(written):
    settings, reports = written
    month = _latest_final_month(settings, "service_impact")["start"]
    assert month is not None, "the 400-day fixture has months whose 90-day windows ended"
    (r,) = _rows(
        settings,
        "select * from service_impact where period_type = 'month' and period_start = ? "
        "and priority = 'all'",
        [month],
    )
    section = _section(reports.files["all"]["html"].read_text("utf-8"))
    assert EN["ins_impact"] in section
    n_text = f"n = {r['breached_customers']:,} breached, {r['met_customers']:,} met"
    assert n_text in section
    if r["reorder_rate_diff_adj"] is not None:
        assert f"{100 * r['breached_reorder_rate_adj']:.1f}%" in section
        assert f"{100 * r['met_reorder_rate_adj']:.1f}%" in section
        shown = 100 * r["reorder_rate_diff_adj"]
        assert (f"{shown:+.1f} pp" if round(shown, 1) else "±0.0 pp") in section
    assert EN["ins_section_note"] in section  # association, not proof


def test_say_do_cells_and_customers_equal_the_mart(written):
    settings, reports = written
    month = _latest_final_month(settings, "say_do")["start"]
    assert month is not None
    people = _rows(
        settings,
        "select customer_id, nps_class, behaviour, value_after, value_before from say_do "
        "where period_type = 'month' and period_start = ? and window_elapsed",
        [month],
    )
    lapsed_promoters = [
        p for p in people if (p["nps_class"], p["behaviour"]) == ("promoter", "lapsed")
    ]
    buying_detractors = [
        p for p in people if (p["nps_class"], p["behaviour"]) == ("detractor", "buying")
    ]
    section = _section(reports.files["all"]["html"].read_text("utf-8"))
    value = sum(float(p["value_before"]) for p in lapsed_promoters)
    assert f"{len(lapsed_promoters)} promoter(s) did not order again" in section
    assert f"£{value:,.2f} in the 90 days before" in section
    assert f"{len(buying_detractors)} detractor(s) kept buying" in section

    # the workbook: every cell's count, then the customers behind them (ids only)
    wb = openpyxl.load_workbook(reports.files["all"]["xlsx"], read_only=True)
    ws = wb["Say-do gap"]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(grid) if r[0] == EN["ins_nps_class"])
    cells = {}
    for row in grid[header + 1 : header + 7]:
        cells[(row[0], row[1])] = row[2]
    for cls in ("promoter", "passive", "detractor"):
        for beh in ("buying", "lapsed"):
            expected = sum((p["nps_class"], p["behaviour"]) == (cls, beh) for p in people)
            label = (EN[f"ins_class_{cls}"], EN[f"ins_behaviour_{beh}"])
            assert cells[label] == expected, label
    listed = next(i for i, r in enumerate(grid) if r[0] == EN["customer_id"])
    ids = [r[0] for r in grid[listed + 1 :] if r[0] is not None]
    assert sorted(ids) == sorted(p["customer_id"] for p in people)

    # the CSV beside the workbook: the same customers, no contact field
    path = reports.csvs["all"]["say_do"]
    with path.open(encoding="utf-8", newline="") as f:
        found = list(csv.DictReader(f))
    assert sorted(r["customer_id"] for r in found) == sorted(p["customer_id"] for p in people)
    assert not {"email", "phone", "name", "masked_email"} & set(found[0])
    # a tier's file holds that tier's customers only (tier at the answer's day)
    with reports.csvs["A"]["say_do"].open(encoding="utf-8", newline="") as f:
        assert {r["tier"] for r in csv.DictReader(f)} <= {"A"}


def test_a_formula_like_id_in_the_say_do_csv_is_text(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db, reports={"segments": ["all"]})
    month = _latest_final_month(settings, "say_do")["start"]
    with engine.connect(settings) as conn:
        conn.execute(
            "update say_do set customer_id = ? where customer_id = (select min(customer_id) "
            "from say_do where period_type = 'month' and period_start = ? and window_elapsed)",
            [fx.FORMULA_ID, month],
        )
    written = write_week_reports(settings, fx.WEEK)
    text = written.csvs["all"]["say_do"].read_text("utf-8")
    assert "'" + fx.FORMULA_ID.replace('"', '""') in text


def test_panels_without_tickets_or_nps_say_so_in_one_line(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db, ["en", "zh-CN"], {"segments": ["all"]})
    with engine.connect(settings) as conn:
        conn.execute("delete from tickets")
        conn.execute("update surveys set nps = null")  # CSAT only
    written = write_week_reports(settings, fx.WEEK)
    for key, labels in (("html", EN), ("html:zh-CN", ZH)):
        section = _section(written.files["overview"][key].read_text("utf-8"))
        assert section.count('class="note ins-empty"') == 2
        assert labels["ins_no_tickets"] in section
        assert labels["ins_no_nps"] in section
        assert "<table" not in section
    assert "say_do" not in written.csvs["all"] or written.csvs["all"]["say_do"].exists()


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_insight_panels_render_in_headless_chromium(written, tmp_path, locale):
    from PIL import Image

    settings, reports = written
    page = reports.files["all"]["html" if locale == "en" else f"html:{locale}"]
    text = page.read_text("utf-8")
    # the report with everything but the insight section hidden (its scripts still run: the
    # plotly.js bundle comes with the page's first chart), so the screenshot is the panels
    hide = "<style>header.top, main > *:not(#insight), footer { display: none !important; }</style>"
    panel = tmp_path / f"insight_{locale}.html"
    panel.write_text(text.replace("</head>", hide + "</head>", 1), "utf-8")

    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / f"insight_{fx.WEEK_LABEL}_all_{locale}.png"
    shot.unlink(missing_ok=True)
    done = _chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,1500",
        "--virtual-time-budget=3000",
        panel.as_uri(),
    )
    assert shot.exists(), done.stderr.decode()[-2000:]
    image = Image.open(shot).convert("RGB")
    # drawn, not blank: the panels' text and the two marked say-do cells (#fdf3e1) are there
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50
    assert any(rgb == (0xFD, 0xF3, 0xE1) for _, rgb in colours)

    dom = _chromium(
        tmp_path / "profile2", "--dump-dom", "--virtual-time-budget=3000", page.as_uri()
    ).stdout.decode("utf-8")
    labels = EN if locale == "en" else ZH
    for key in ("ins_impact", "ins_say_do", "ins_section_note"):
        assert labels[key] in dom, key
    assert 'id="insight-service-impact"' in dom and 'id="insight-say-do"' in dom
    # the service-impact chart is drawn (one Plotly SVG root per figure)
    chart = dom[dom.index('id="chart-service-impact"') :]
    assert chart[: chart.index("</section>")].count('class="main-svg"') >= 1
    if locale == "zh-CN":
        assert re.search(r"\d{4}年\d{1,2}月", _section(dom))
