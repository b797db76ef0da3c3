"""The churn-and-value model in the weekly reports (issue 11): the at-risk list, the new panels, the
Model sheet, the email headline and the fallback to the rules.

The database is the report tests' one, built by the real pipeline (tests/test_reports_fixture_db.py).
Its 300 generated customers hold fewer repeat buyers than `model.min_repeat_customers` (200), so the
pipeline keeps the rules in charge there; `model_db` recomputes the model's days of the trend on a
copy with the real mart code (loyalty.marts.value) and a lower minimum, so the model is used. Every
expected value is read from the database in the test, never written down.
"""

from __future__ import annotations

import csv
import email
import email.policy
import html as htmllib
import re
from pathlib import Path

import openpyxl
import pytest

from loyalty import engine
from loyalty.reports.email import send_weekly_email
from loyalty.reports.i18n import LABELS, Translator
from loyalty.reports.render import write_week_reports
from loyalty.settings import Settings
from loyalty.vocab import TIERS
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

DAY = fx.DAY
TOP_N = fx.REPORTS["at_risk_top_n"]
MIN_REPEAT = 50  # the generated data's 145 repeat buyers on D clear it
_NAMES = (
    ("purpose", "score"),
    ("purpose", "backtest"),
    ("model", "bg_nbd"),
    ("model", "gamma_gamma"),
)
MODEL_TABLES = ("customer_value", "model_quality", "model_fit", "model_backtest", "revenue_at_risk")


def _with_model(settings: Settings) -> None:
    """Recompute the model's days of the report's trend (and D) in the settings' database with the
    real mart code, with a minimum of repeat buyers the generated data clears."""
    try:
        from loyalty.marts.value import compute_customer_value, compute_revenue_at_risk
    except ImportError as missing:  # the marts of issue 11 are not in the tree yet
        pytest.skip(f"waits for loyalty.marts.value (tables {', '.join(MODEL_TABLES)}): {missing}")
    lowered = settings.model.model_copy(update={"min_repeat_customers": MIN_REPEAT})
    model_settings = settings.model_copy(update={"model": lowered})
    days = [fx.WEEK.back(i).end for i in range(fx.REPORTS["trend_weeks"] - 1, -1, -1)]
    with engine.connect(model_settings) as conn:
        for day in days:
            compute_customer_value(conn, model_settings, day)
        compute_revenue_at_risk(conn, days[0], days[-1])


@pytest.fixture(scope="module")
def model_db(tmp_path_factory, report_db) -> Path:  # noqa: F811
    """A copy of the pipeline's database in which the model's scores are used on D."""
    settings = fx.workspace(tmp_path_factory.mktemp("model_db"), report_db)
    _with_model(settings)
    with engine.connect(settings, read_only=True) as conn:
        used = engine.scalar(conn, "select model_used from model_quality where as_of = ?", [DAY])
    assert used, "the model should be used on the generated data with the lowered minimum"
    return settings.database_path


def _render(folder: Path, database: Path, locale: str = "en", sql: str | None = None):
    settings = fx.workspace(folder, database, locale)
    if sql:
        with engine.connect(settings) as conn:
            engine.execute_sql(conn, sql)
    written = write_week_reports(settings, fx.WEEK)
    return settings, written


@pytest.fixture(scope="module")
def model_reports(tmp_path_factory, model_db):
    return _render(tmp_path_factory.mktemp("model_reports"), model_db)


def _rows(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with engine.connect(settings, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def _section(text: str, section: str) -> str:
    start = text.index(f'<section id="{section}">')
    return text[start : text.index("</section>", start)]


def _html_rows(part: str) -> list[list[str]]:
    """The body rows of the first table in an HTML fragment, cell text unescaped."""
    body = part[part.index("<tbody>") : part.index("</tbody>")]
    return [
        [
            htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _html(written, segment: str) -> str:
    return written.files[segment]["html"].read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# the model is used


def test_at_risk_list_is_the_models_at_risk_customers_by_value_at_risk(model_reports):
    settings, written = model_reports
    expected = _rows(
        settings,
        """select v.customer_id, v.value_at_risk::double, v.p_alive, s.tier
           from customer_value as v
           inner join customer_snapshot as s on v.as_of = s.as_of and v.customer_id = s.customer_id
           where v.as_of = ? and v.status = 'at_risk'
           order by v.value_at_risk desc, v.customer_id""",
        [DAY],
    )
    lost = {
        r[0]
        for r in _rows(
            settings,
            "select customer_id from customer_value where as_of = ? and status = 'lost'",
            [DAY],
        )
    }
    assert expected and lost  # the sample has both
    t = Translator("en", settings.reports.currency)
    shown = _html_rows(_section(_html(written, "all"), "at-risk"))
    assert [r[0] for r in shown] == [e[0] for e in expected[:TOP_N]]
    assert [r[6] for r in shown] == [t.money(e[1]) for e in expected[:TOP_N]]
    assert [r[5] for r in shown] == [t.percent(e[2], 0) for e in expected[:TOP_N]]
    assert {r[4] for r in shown} == {"at risk"} and not lost & {r[0] for r in shown}
    # a tier report lists only that tier's at-risk customers, in the same order
    tier_a = _html_rows(_section(_html(written, "A"), "at-risk"))
    assert [r[0] for r in tier_a] == [e[0] for e in expected if e[3] == "A"][:TOP_N]
    # the CSV holds the same list in full, from the same source
    rows = _csv(written.csvs["all"]["churn_warnings"])
    # formula-like text is written with a leading quote in the CSVs (docs/reports.md)
    assert [r["customer_id"] for r in rows] == [
        "'" + e[0] if e[0].startswith(("=", "+", "-", "@", "\t", "\r")) else e[0] for e in expected
    ]
    assert {r["status"] for r in rows} == {"at_risk"}
    values = [float(r["value_at_risk"]) for r in rows]
    assert values == sorted(values, reverse=True) == [e[1] for e in expected]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_at_risk_count_and_value_cards_are_revenue_at_risk(model_reports):
    settings, written = model_reports
    t = Translator("en", settings.reports.currency)
    for segment, dimension, key in (("all", "all", "all"), ("B", "tier", "B")):
        ((at_risk, value, clv),) = _rows(
            settings,
            """select at_risk_customers, value_at_risk::double, clv::double from revenue_at_risk
               where as_of = ? and dimension = ? and key = ?""",
            [DAY, dimension, key],
        )
        cards = _section(_html(written, segment), "segment")
        assert t.money(value) in cards and t.money(clv) in cards
        assert f"{t.number(at_risk)} customers" in cards
        assert written.data.segments[segment].cards["at_risk_customers"] == at_risk
        assert written.data.segments[segment].churn_warnings_total == at_risk


def test_model_note_and_backtest_caption_show_the_quality_row(model_reports):
    settings, written = model_reports
    ((calibration_end, mae, bias, auc_model, auc_baseline),) = _rows(
        settings,
        """select calibration_end, mae_orders, bias_orders, auc_model, auc_baseline
           from model_quality where as_of = ?""",
        [DAY],
    )
    t = Translator("en")
    text = htmllib.unescape(_section(_html(written, "all"), "model"))
    assert "The model's scores are in use" in text
    assert f"AUC of {auc_model:.2f}" in text and f"{auc_baseline:.2f}" in text
    assert t.date(calibration_end) in text
    assert f"Mean absolute error {mae:.2f} orders" in text and f"bias {bias:+.2f}" in text
    for panel in ("backtest", "p_alive_distribution", "risk_by_segment", "risk_trend"):
        chart = text[text.index(f'id="chart-{panel}"') :]
        assert chart.index('class="plotly-graph-div') < chart.index("</div>\n"), panel


def test_panels_draw_the_database_rows(model_reports):
    """The figures' data are the marts' rows (the data the HTML embeds)."""
    settings, written = model_reports
    data = written.data
    backtest = _rows(
        settings,
        "select decile, predicted_orders, actual_orders from model_backtest where as_of = ? order by decile",
        [DAY],
    )
    assert [
        (b["decile"], b["predicted_orders"], b["actual_orders"]) for b in data.value.backtest
    ] == backtest
    bins = _rows(
        settings,
        """select least(floor(p_alive * 10)::integer, 9) as bin, status, count(*)
           from customer_value where as_of = ? group by all order by all""",
        [DAY],
    )
    got = sorted((b["bin"], b["status"], b["customers"]) for b in data.segments["all"].p_alive_bins)
    assert got == bins
    for tier in TIERS:  # each tier's own customers (read with every segment's in one query)
        bins = _rows(
            settings,
            """select least(floor(v.p_alive * 10)::integer, 9) as bin, v.status, count(*)
               from customer_value as v join customer_snapshot as s using (as_of, customer_id)
               where v.as_of = ? and s.tier = ? group by all order by all""",
            [DAY, tier],
        )
        shown = data.segments[tier].p_alive_bins
        assert bins and [(b["bin"], b["status"], b["customers"]) for b in shown] == bins, tier
    trend = _rows(
        settings,
        """select as_of, value_at_risk::double from revenue_at_risk
           where dimension = 'all' and as_of in (select unnest(?::date[])) order by as_of""",
        [data.value.trend_days],
    )
    assert [
        (r["as_of"], r["value_at_risk"]) for r in data.value.risk_trend if r["dimension"] == "all"
    ] == trend
    assert len(trend) == fx.REPORTS["trend_weeks"]


def _sheet_rows(ws, title: str) -> list[tuple]:
    """The rows of a table on the Model sheet below its section title, header first."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == title) + 1
    out = []
    for r in rows[start:]:
        if r[0] is None:
            break
        out.append(r)
    return out


def test_model_sheet_in_every_workbook_holds_the_fits_backtest_and_quality(model_reports):
    settings, written = model_reports
    fits = _rows(
        settings,
        """select purpose, model, parameter, value, n_customers, n_repeat, log_likelihood,
                  converged, fit_seconds
           from model_fit where as_of = ? order by all""",
        [DAY],
    )
    backtest = _rows(
        settings,
        """select decile, customers, predicted_orders, actual_orders, predicted_value,
           actual_value::double from model_backtest where as_of = ? order by decile""",
        [DAY],
    )
    ((auc_model, used, reason),) = _rows(
        settings, "select auc_model, model_used, reason from model_quality where as_of = ?", [DAY]
    )
    en = LABELS["en"]
    names = {en[f"{kind}_{v}"]: v for kind, v in _NAMES}
    assert len(fits) == 14 and len(backtest) == 10
    for segment in ("overview", "all", "C"):
        wb = openpyxl.load_workbook(written.files[segment]["xlsx"], read_only=True)
        ws = wb["Model"]
        got_fits = sorted(
            (names[r[0]], names[r[1]], *r[2:]) for r in _sheet_rows(ws, "Fitted parameters")[1:]
        )
        assert got_fits == [
            (*f[:3], pytest.approx(f[3]), *f[4:6], pytest.approx(f[6]), f[7], pytest.approx(f[8]))
            for f in fits
        ]
        assert all(isinstance(r[7], bool) for r in got_fits)  # converged: a typed boolean cell
        got_backtest = _sheet_rows(ws, "Backtest by decile")[1:]
        assert [tuple(r[:6]) for r in got_backtest] == [
            (d, c, pytest.approx(p), a, pytest.approx(pv), pytest.approx(av))
            for d, c, p, a, pv, av in backtest
        ]
        quality = {r[0]: r[1] for r in _sheet_rows(ws, "Backtest quality")}
        assert quality["AUC, model"] == pytest.approx(auc_model)
        assert quality["Model used"] is used is True and quality["Why not used"] is reason is None
        wb.close()


def test_churn_sheet_has_status_p_alive_and_value_at_risk(model_reports):
    settings, written = model_reports
    expected = _rows(
        settings,
        """select customer_id, p_alive, value_at_risk::double from customer_value
           where as_of = ? and status = 'at_risk' order by value_at_risk desc, customer_id""",
        [DAY],
    )
    wb = openpyxl.load_workbook(written.files["all"]["xlsx"], read_only=True)
    rows = list(wb["Churn warnings"].iter_rows(values_only=True))
    header = rows[0]
    body = [dict(zip(header, r, strict=False)) for r in rows[1:] if r[0] is not None]
    assert [(r["Customer"], r["Status"]) for r in body] == [(e[0], "at risk") for e in expected]
    assert [r["P(alive)"] for r in body] == [pytest.approx(e[1]) for e in expected]
    assert [r["Value at risk"] for r in body] == [pytest.approx(e[2]) for e in expected]
    wb.close()


def test_zh_cn_report_translates_the_new_labels(tmp_path, model_db):
    _, written = _render(tmp_path, model_db, "zh-CN")
    zh, en = LABELS["zh-CN"], LABELS["en"]
    # chart titles sit in Plotly's JSON, where non-ASCII text is written as \\uXXXX escapes
    text = re.sub(
        r"\\u([0-9a-fA-F]{4})",
        lambda m: chr(int(m.group(1), 16)),
        htmllib.unescape(_html(written, "all")),
    )
    for key in (
        "model_section",
        "backtest",
        "p_alive_distribution",
        "risk_by_segment",
        "risk_trend",
        "status_at_risk",
        "value_at_risk",
    ):
        assert zh[key] in text, key
    for key in ("model_section", "backtest", "p_alive_distribution", "status_at_risk"):
        assert en[key] not in text, key
    assert "已采用模型评分" in text
    wb = openpyxl.load_workbook(written.files["overview"]["xlsx"], read_only=True)
    assert zh["sheet_model"] in wb.sheetnames
    wb.close()


# ------------------------------------------------------------------------------------------------
# the rules stay in charge


NOT_BETTER = (
    "update model_quality set model_used = false, model_beats_baseline = false, "
    "reason = 'the model did not beat the rule in the backtest' where as_of = DATE;\n"
    "update customer_value set status_source = 'rules' where as_of = DATE;\n"
)


def test_fallback_sentence_and_rules_list_when_the_model_is_not_used(tmp_path, model_db):
    settings, written = _render(
        tmp_path, model_db, sql=NOT_BETTER.replace("DATE", f"date '{DAY.isoformat()}'")
    )
    ((auc_model, auc_baseline),) = _rows(
        settings, "select auc_model, auc_baseline from model_quality where as_of = ?", [DAY]
    )
    text = htmllib.unescape(_html(written, "all"))
    model = _section(text, "model")
    assert (
        "The model is not used this week: in the backtest it did not rank who orders again better "
        f"than the rule (AUC {auc_model:.2f} vs {auc_baseline:.2f}), so the at-risk list uses the "
        "rules (churn flags)."
    ) in model
    assert model.count("No model scores this week") == 3  # P(alive), by segment, trend
    assert "The model's scores are in use" not in text
    # today's rules list: churn_risk customers by value, and the CSV from the same source
    rules = _rows(
        settings,
        """select customer_id from customer_snapshot where as_of = ? and churn_risk
           order by monetary desc, customer_id""",
        [DAY],
    )
    shown = _html_rows(_section(text, "at-risk"))
    assert [r[0] for r in shown] == [r[0] for r in rules[:TOP_N]]
    csv = written.csvs["all"]["churn_warnings"].read_text(encoding="utf-8").splitlines()
    assert len(csv) - 1 == len(rules) == written.data.segments["all"].cards["at_risk_customers"]
    assert "Revenue at risk over" not in text  # no headline (the board still lists the KPI)


def test_too_few_repeat_buyers_is_said_with_the_pipelines_numbers(tmp_path, report_db):  # noqa: F811
    """The pipeline's own database: 145 repeat buyers, below the default 200."""
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings, read_only=True) as conn:
        if not engine.table_exists(conn, "model_quality"):
            pytest.skip("waits for the table model_quality in the pipeline's database")
    ((repeat, used, reason),) = _rows(
        settings,
        "select repeat_customers, model_used, reason from model_quality where as_of = ?",
        [DAY],
    )
    assert not used and repeat < settings.model.min_repeat_customers
    written = write_week_reports(settings, fx.WEEK)
    model = htmllib.unescape(_section(_html(written, "all"), "model"))
    count = int(re.match(r"\s*(\d+)", reason).group(1))
    assert (
        f"The model is not used this week: {count} repeat buyers"
    ) in model and f"fewer than the {settings.model.min_repeat_customers} it needs" in model


def test_without_model_tables_the_report_says_so(tmp_path, report_db):  # noqa: F811
    drop = "".join(f"drop table if exists {t};\n" for t in MODEL_TABLES)
    _, written = _render(tmp_path, report_db, sql=drop)
    model = htmllib.unescape(_section(_html(written, "all"), "model"))
    assert "No model results are stored for this day, so the at-risk list uses the rules" in model
    assert model.count("No model data for this day.") == 4
    assert 'class="plotly-graph-div' not in model


# ------------------------------------------------------------------------------------------------
# the email


def _email_parts(settings: Settings) -> dict[str, str]:
    """Send the week's email in dry-run; its text and HTML parts, decoded."""
    send_weekly_email(settings, fx.WEEK)
    raw = (settings.output_path / fx.WEEK_LABEL / "email" / "manager@example.com.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return {
        p.get_content_type(): p.get_content()
        for p in msg.walk()
        if p.get_content_type() in ("text/plain", "text/html")
    }


def test_email_headline_carries_revenue_at_risk_and_no_customer(tmp_path, model_db):
    settings = fx.workspace(
        tmp_path,
        model_db,
        email={"dry_run": True, "recipients": ["manager@example.com"]},
    )
    parts = _email_parts(settings)
    ((at_risk, value),) = _rows(
        settings,
        """select at_risk_customers, value_at_risk::double from revenue_at_risk
           where as_of = ? and dimension = 'all'""",
        [DAY],
    )
    t = Translator("en", settings.reports.currency)
    headline = (
        f"Revenue at risk over the next {settings.model.horizon_days} days: {t.money(value)} "
        f"from {t.number(at_risk)} at-risk customers."
    )
    assert headline in parts["text/plain"]
    assert htmllib.escape(headline, quote=False) in parts["text/html"]
    ids = [
        r[0]
        for r in _rows(settings, "select customer_id from customer_value where as_of = ?", [DAY])
    ]
    for part in ("text/plain", "text/html"):
        assert not any(i in parts[part] for i in ids if len(i) > 3)


def test_email_without_the_model_has_todays_headline(tmp_path, model_db):
    settings = fx.workspace(
        tmp_path, model_db, email={"dry_run": True, "recipients": ["manager@example.com"]}
    )
    with engine.connect(settings) as conn:
        engine.execute_sql(conn, NOT_BETTER.replace("DATE", f"date '{DAY.isoformat()}'"))
    parts = _email_parts(settings)
    assert "Weekly loyalty report" in parts["text/plain"]
    assert "Revenue at risk over" not in parts["text/plain"] + parts["text/html"]
