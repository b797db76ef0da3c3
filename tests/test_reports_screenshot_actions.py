"""Headless Chromium draws the actions panel and the restatements panel, in English and in Chinese,
from the report's own template partial and CSS (as the report embeds them), on the pipeline's
database with one restated figure: the screenshots are saved under test-artifacts/ and checked to
hold drawn text (far larger than a blank page), and the page's DOM holds every panel's title, the actions of
the list and the restated figure."""

from __future__ import annotations

import pytest

from loyalty import engine
from loyalty.marts.playbook import compute_action_list
from loyalty.marts.restatements import compute_restatements
from loyalty.reports import html
from loyalty.reports.actions_view import actions_panel, restatements_panel
from loyalty.reports.i18n import LABELS, Translator
from loyalty.reports.queries import week_data
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)
from tests.test_reports_screenshot import CHROMIUM, REPO, _chromium


def _page(data, locale: str) -> str:
    t = Translator(locale)
    partial = html._env.get_template("_actions.j2").render(
        l=t.labels,
        actions=actions_panel(data, "all", t),
        restatements=restatements_panel(data, t),
    )
    css = (html.TEMPLATES / "report.css").read_text(encoding="utf-8")
    return (
        f'<!DOCTYPE html><html lang="{locale}"><head><meta charset="utf-8">'
        f"<style>{css}</style></head><body><main>{partial}</main></body></html>"
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_new_panels_render_in_chromium(tmp_path, report_db, locale):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        compute_action_list(conn, settings, fx.DAY, fx.DAY)
        compute_restatements(conn, settings, "run-a")
        conn.execute(
            "update repurchase_period set repurchase_rate = repurchase_rate + 0.1 "
            "where period_type = 'week' and period_start = ? and tier = 'all'",
            [fx.WEEK.back(1).start],
        )
        compute_restatements(conn, settings, "run-b")
        data = week_data(conn, settings, fx.WEEK, detail=False)
    page = tmp_path / f"panels_{locale}.html"
    page.write_text(_page(data, locale), encoding="utf-8")

    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / f"panels_actions_restatements_{locale}.png"
    shot.unlink(missing_ok=True)
    done = _chromium(
        tmp_path / "profile1",
        f"--screenshot={shot}",
        "--window-size=1280,1100",
        "--virtual-time-budget=2000",
        page.as_uri(),
    )
    # a blank page of this size compresses to a few kB; drawn tables and text take far more
    assert shot.exists() and shot.stat().st_size > 40_000, done.stderr.decode()[-2000:]

    dom = _chromium(
        tmp_path / "profile2", "--dump-dom", "--virtual-time-budget=2000", page.as_uri()
    ).stdout.decode("utf-8")
    labels = LABELS[locale]
    t = Translator(locale)
    assert labels["actions_panel"] in dom and labels["restatements_panel"] in dom
    for row in data.actions.summary:
        assert t.value("action", row["action"]) in dom
    assert labels["repurchase_rate"] in dom and "+10.0" in dom
