"""The actions panel, sheets and CSVs (the playbook's action list) and the restatements panel, sheet
and email line, on the pipeline's own database (tests/test_reports_fixture_db.py)."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest

from loyalty import engine
from loyalty.marts.playbook import compute_action_list
from loyalty.marts.restatements import compute_restatements
from loyalty.reports.actions_view import email_restatements
from loyalty.reports.email import build_content
from loyalty.reports.i18n import LABELS, Translator
from loyalty.reports.queries import week_data
from loyalty.reports.render import write_week_reports
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

EN, ZH = LABELS["en"], LABELS["zh-CN"]


def _workspace(tmp_path, db, locale="en"):
    """The fixture database's copy with the action list computed again from its snapshot (the
    fixture renames a customer to a formula-like id after the pipeline ran)."""
    settings = fx.workspace(tmp_path, db, locale)
    with engine.connect(settings) as conn:
        compute_action_list(conn, settings, fx.DAY, fx.DAY)
    return settings


def _read(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _restate(settings) -> None:
    """Two restatement runs with a figure of a closed week changed in between (as a recomputation
    would): the second run records it."""
    with engine.connect(settings) as conn:
        compute_restatements(conn, settings, "run-a")
        conn.execute(
            "update repurchase_period set repurchase_rate = repurchase_rate + 0.25 "
            "where period_type = 'week' and period_start = ? and tier = 'all'",
            [fx.WEEK.back(2).start],
        )
        compute_restatements(conn, settings, "run-b")


def test_each_owner_gets_a_csv_of_exactly_their_customers(report_db, tmp_path):  # noqa: F811
    settings = _workspace(tmp_path, report_db)
    written = write_week_reports(settings, fx.WEEK)
    with engine.connect(settings, read_only=True) as conn:
        listed = dict(
            conn.execute(
                "select customer_id, owner from action_list where as_of = ?", [fx.DAY]
            ).fetchall()
        )
        population = engine.scalar(
            conn, "select count(*) from customer_snapshot where as_of = ?", [fx.DAY]
        )
    assert len(listed) == population
    files = written.action_csvs
    assert set(files) == set(listed.values())  # one file per owner, no CRM file (setting off)
    seen: dict[str, str] = {}
    for owner, path in files.items():
        rows = _read(path)
        assert rows and {r["owner"] for r in rows} == {owner}
        for r in rows:
            seen[r["customer_id"]] = owner
            assert r["masked_email"] == "" or "***@" in r["masked_email"]
        values = [float(r["value_at_risk"]) for r in rows]
        assert values == sorted(values, reverse=True)
    # every customer exactly once, the formula-like id neutralised
    assert {c.removeprefix("'") for c in seen} == set(listed)
    assert "'" + fx.FORMULA_ID in seen and fx.FORMULA_ID not in seen
    assert not (settings.output_path / fx.WEEK_LABEL / "crm").exists()


def test_the_panels_and_sheets_show_the_actions_and_the_restatements(report_db, tmp_path):  # noqa: F811
    settings = _workspace(tmp_path, report_db, ["en", "zh-CN"])
    _restate(settings)
    written = write_week_reports(settings, fx.WEEK)
    with engine.connect(settings, read_only=True) as conn:
        per_action = dict(
            conn.execute(
                "select action, count(*) from action_list where as_of = ? and tier = 'A' "
                "group by action",
                [fx.DAY],
            ).fetchall()
        )
    page = written.files["A"]["html"].read_text(encoding="utf-8")
    section = page[page.index('id="actions"') : page.index('id="service"')]
    for action, n in per_action.items():
        assert action in section and f'<td class="num">{n}</td>' in section
    assert EN["restatements_panel"] in section and EN["repurchase_rate"] in section
    assert "+25.0 pp" in section and EN["cause_recomputed"] in section
    zh = written.files["A"]["html:zh-CN"].read_text(encoding="utf-8")
    assert ZH["actions_panel"] in zh and ZH["restatements_panel"] in zh
    # the segment workbook lists the segment's customers with their action, emails masked
    wb = openpyxl.load_workbook(written.files["A"]["xlsx"], read_only=True)
    rows = list(wb[EN["sheet_actions"]].iter_rows(values_only=True))
    header, body = rows[0], [r for r in rows[1:] if r[0] is not None]
    assert header[: header.index(EN["pb_valued_by"]) + 1] == tuple(
        EN[k]
        for k in (
            "customer_id",
            "masked_email",
            "tier",
            "segment_name",
            "lifecycle_stage",
            "status",
            "reasons",
            "action_reason",
            "pb_action",
            "owner",
            "value_at_risk",
            "pb_valued_by",
        )
    )
    assert len(body) == sum(per_action.values()) and {r[2] for r in body} == {"A"}
    assert not any(fx.PII_EMAIL in str(c) for r in body for c in r)
    restated = list(wb[EN["sheet_restatements"]].iter_rows(values_only=True))
    assert len([r for r in restated[1:] if r[0] is not None]) == 1
    # the overview (the email attachment) holds counts only, no customer: per rule, by tier
    overview = openpyxl.load_workbook(written.files["overview"]["xlsx"], read_only=True)
    sheet = list(overview[EN["sheet_actions"]].iter_rows(values_only=True))
    tier_a = sheet[0].index(EN["segment_tier"].format(tier="A"))
    assert {r[1]: r[tier_a] for r in sheet[1:] if r[1] and r[tier_a]} == per_action
    assert not {c for r in sheet for c in r} & {fx.FORMULA_ID}


def test_the_email_counts_the_restatements_since_the_last_email(report_db, tmp_path):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db)
    _restate(settings)
    with engine.connect(settings) as conn:
        engine.execute_file(conn, "bookkeeping/email_log.sql")
        data = week_data(conn, settings, fx.WEEK, detail=False)
        assert data.actions.restated_total == 1 and data.actions.since is None
        # an email of the week before went out after the restatement: nothing new since then
        conn.execute(
            "insert into email_log values (?, 'x@example.com', 'm1', ?, 'dry_run')",
            [fx.WEEK.back(1).label, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        )
        after = week_data(conn, settings, fx.WEEK, detail=False)
    assert after.actions.restated_total == 0 and after.actions.since is not None
    content = build_content(data, settings, attachment=b"")
    line = EN["email_restatements"].format(
        n=1, panel=EN["restatements_panel"], sheet=EN["sheet_restatements"]
    )
    assert line in content.text and "restatements" in content.html
    assert email_restatements(after, Translator("en")) == ""  # no line when nothing is new


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_without_an_action_list_the_panel_says_so_in_one_line(report_db, tmp_path, locale):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db, locale)
    with engine.connect(settings) as conn:
        conn.execute("drop table action_list")
        conn.execute("drop table restatements")
    written = write_week_reports(settings, fx.WEEK)
    labels = LABELS[locale]
    page = written.files["all"]["html"].read_text(encoding="utf-8")
    section = page[page.index('id="actions"') : page.index('id="service"')]
    assert section.count('class="note"') == 2 and "<table" not in section
    assert labels["no_restatement_log"] in section
    assert labels["no_actions"].format(day=Translator(locale).date(fx.DAY)) in section
    assert written.action_csvs == {}
