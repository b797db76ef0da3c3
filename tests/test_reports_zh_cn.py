"""Both locales in one run (`locale: [en, zh-CN]`): English files under their usual names, Chinese
files beside them with `_zh-CN`, and not one English UI string left in the Chinese reports (their
visible text and every chart's texts checked against the English label set of reports/i18n.py)."""

from __future__ import annotations

import html.parser
import json
import re

import openpyxl
import pytest

from loyalty import engine
from loyalty.reports.i18n import LABELS, locales, primary_locale
from loyalty.reports.render import write_week_reports
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

SEGMENTS = ["all", "A", "B", "C", "D", "overview"]
# technical names kept as they are in both locales (they are in the Chinese labels too)
KEPT_WORDS = {"NPS", "CSAT", "CES", "RFM", "AUC", "CLV", "BG", "NBD", "Gamma", "FM"}
KEPT_WORDS |= {"loyalty-pipeline", "model", "enabled", "false", "docs", "md", "Plotly", "js"}


@pytest.fixture(scope="module")
def both(tmp_path_factory, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path_factory.mktemp("both_locales"), report_db, ["en", "zh-CN"])
    written = write_week_reports(settings, fx.WEEK)
    return settings, written, settings.output_path / fx.WEEK_LABEL


class _Text(html.parser.HTMLParser):
    """The visible text nodes of a page (no script or style content)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.scripts: list[str] = []
        self._skip: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip = tag

    def handle_endtag(self, tag):
        if tag == self._skip:
            self._skip = None

    def handle_data(self, data):
        if self._skip == "script":
            self.scripts.append(data)
        elif self._skip is None and data.strip():
            self.nodes.append(data.strip())


# the keys of a Plotly figure whose strings are shown (legend names, bar and cell texts, category
# labels, titles); fonts, formats, colours and templates are not text
TEXT_KEYS = {"name", "text", "x", "y", "customdata", "ticktext"}


def _all_strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list | dict):
        for v in value.values() if isinstance(value, dict) else value:
            _all_strings(v, out)


def _strings(value, out: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("font", "template", "hovertemplate", "texttemplate"):
                continue
            if k in TEXT_KEYS:
                _all_strings(v, out)
            else:
                _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _chart_texts(scripts: list[str]) -> list[str]:
    """Every string of every chart's data and layout (titles, axis titles, legend names, bar texts,
    category labels), decoded from the Plotly.newPlot calls."""
    decoder = json.JSONDecoder()
    out: list[str] = []
    for script in scripts:
        for m in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", script):
            data, end = decoder.raw_decode(script, m.end())
            layout, _ = decoder.raw_decode(script, script.index("{", end))
            _strings(data, out)
            _strings(layout, out)
    return out


def _visible(path) -> list[str]:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.nodes + _chart_texts(parser.scripts)


def _data_values(settings) -> set[str]:
    """Values shown as stored in every locale: customer ids, ticket categories (the complaint
    category threshold names one), the week label."""
    with engine.connect(settings, read_only=True) as conn:
        ids = {
            r[0]
            for r in conn.execute("select distinct customer_id::varchar from customers").fetchall()
        }
        categories = {
            r[0] for r in conn.execute("select distinct category from tickets").fetchall()
        }
    return ids | categories | {fx.WEEK_LABEL}


def test_both_locales_in_one_run_side_by_side(both):
    settings, written, folder = both
    assert locales(settings) == ["en", "zh-CN"] and primary_locale(settings) == "en"
    for seg in SEGMENTS:
        en = folder / f"loyalty_{fx.WEEK_LABEL}_{seg}.html"
        zh = folder / f"loyalty_{fx.WEEK_LABEL}_{seg}_zh-CN.html"
        assert 'lang="en"' in en.read_text(encoding="utf-8")
        assert 'lang="zh-CN"' in zh.read_text(encoding="utf-8")
        assert written.files[seg]["html"] == en and written.files[seg]["html:zh-CN"] == zh
        assert (folder / f"loyalty_{fx.WEEK_LABEL}_{seg}_zh-CN.xlsx").exists()
    # the Chinese pages link to the Chinese pages
    zh_all = (folder / f"loyalty_{fx.WEEK_LABEL}_all_zh-CN.html").read_text(encoding="utf-8")
    assert f'href="loyalty_{fx.WEEK_LABEL}_A_zh-CN.html"' in zh_all
    assert f'href="loyalty_{fx.WEEK_LABEL}_A.html"' not in zh_all
    wb = openpyxl.load_workbook(folder / f"loyalty_{fx.WEEK_LABEL}_overview_zh-CN.xlsx")
    assert wb.sheetnames[0] == LABELS["zh-CN"]["sheet_summary"]


def test_a_single_locale_is_still_a_string_setting(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db, "zh-CN")
    assert locales(settings) == ["zh-CN"] and primary_locale(settings) == "zh-CN"


def test_no_english_ui_string_in_the_chinese_reports(both):
    settings, _, folder = both
    en, zh = LABELS["en"], LABELS["zh-CN"]
    # English label texts that differ from their Chinese text (identical ones, such as "NPS" or
    # "R", are the same in both)
    whole = {v for k, v in en.items() if v != zh[k] and "{" not in v}
    whole -= set(zh.values()) | KEPT_WORDS  # technical names that Chinese labels use too
    # the fixed words of labels with placeholders ("Showing the top ... of ...")
    fragments = {
        part.strip()
        for k, v in en.items()
        if "{" in v and v != zh[k]
        for part in re.split(r"{\w+}", v)
        if len(part.strip()) >= 12
    }
    allowed = _data_values(settings)
    for seg in SEGMENTS:
        texts = _visible(folder / f"loyalty_{fx.WEEK_LABEL}_{seg}_zh-CN.html")
        assert len(texts) > 100, seg
        for text in texts:
            pieces = {text, *(p.strip() for p in re.split(r"[·:：,，()（）]", text))}
            assert not (pieces & whole), (seg, text, pieces & whole)
            assert not [f for f in fragments if f in text], (seg, text)
            words = set(re.findall(r"[A-Za-z][A-Za-z'_-]+", text))
            if text in allowed or "@" in text or text.startswith(("=", "http")):
                continue  # a customer id or a masked email
            left = words - KEPT_WORDS - {w for a in allowed for w in re.findall(r"\w+", a)}
            assert not left, (seg, text, left)


def test_chinese_report_translates_the_data_values(both):
    settings, _, folder = both
    zh = LABELS["zh-CN"]
    with engine.connect(settings, read_only=True) as conn:
        segments = {
            r[0]
            for r in conn.execute(
                "select distinct segment from customer_snapshot where as_of = ?", [fx.DAY]
            ).fetchall()
        }
        reasons = {
            r[0] for r in conn.execute("select distinct reason_code from quarantine").fetchall()
        }
    text = (folder / f"loyalty_{fx.WEEK_LABEL}_all_zh-CN.html").read_text(encoding="utf-8")
    for name in segments:
        assert zh[f"rfmseg:{name}"] in text, name
    for code in reasons:
        assert zh[f"qreason:{code}"] in text, code
    # thresholds as formatted rows, never JSON text
    section = text[text.index('id="thresholds"') :]
    assert zh["th:churn.inactive_days"] in section and "{" not in section
    wb = openpyxl.load_workbook(folder / f"loyalty_{fx.WEEK_LABEL}_all_zh-CN.xlsx")
    sheet = wb[zh["sheet_customers"]]
    header = [c.value for c in sheet[1]]
    seg_col = header.index(zh["segment_name"])
    shown = {row[seg_col] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert shown and shown <= {zh[f"rfmseg:{s}"] for s in segments}


def test_chinese_workbooks_hold_no_english_labels(both):
    """Every text cell of the Chinese workbooks: no English label (data values such as customer
    ids, masked emails, the CSV file names and the ticket category excepted)."""
    settings, _, folder = both
    en, zh = LABELS["en"], LABELS["zh-CN"]
    whole = {v for k, v in en.items() if v != zh[k] and "{" not in v}
    whole -= set(zh.values()) | KEPT_WORDS
    allowed = _data_values(settings)
    for seg in SEGMENTS:
        wb = openpyxl.load_workbook(folder / f"loyalty_{fx.WEEK_LABEL}_{seg}_zh-CN.xlsx")
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    if not isinstance(v, str) or v in allowed or "@" in v or v.startswith("="):
                        continue
                    pieces = {v, *(p.strip() for p in re.split(r"[·:：,，()（）、；]", v))}
                    assert not (pieces & whole), (seg, ws.title, v)
                    text = re.sub(r"loyalty_[\w-]+\.csv", "", v)
                    left = set(re.findall(r"[A-Za-z][A-Za-z'_-]+", text)) - KEPT_WORDS
                    assert not left, (seg, ws.title, v, left)
