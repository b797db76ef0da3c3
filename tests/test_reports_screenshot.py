"""A real browser opens one HTML report from disk, offline, and Plotly draws its charts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from loyalty.reports.render import write_week_reports
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
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
def test_report_renders_in_headless_chromium(tmp_path, report_db):  # noqa: F811
    written = write_week_reports(fx.workspace(tmp_path, report_db), fx.WEEK)
    report = written.files["A"]["html"]

    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / f"report_{fx.WEEK_LABEL}_A.png"
    shot.unlink(missing_ok=True)
    done = _chromium(
        tmp_path / "profile1",
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        "--virtual-time-budget=5000",
        report.as_uri(),
    )
    assert shot.exists() and shot.stat().st_size > 50_000, done.stderr.decode()[-2000:]

    dom = _chromium(
        tmp_path / "profile2", "--dump-dom", "--virtual-time-budget=5000", report.as_uri()
    ).stdout.decode("utf-8")
    # every chart drawn: one Plotly SVG root per chart, cohort included
    assert dom.count('class="main-svg"') >= 7 * 2, dom[:500]
    assert "Customer loyalty report" in dom
    # the churn-and-value section is drawn: its note, and each panel a chart or its one line
    model = dom[dom.index('id="model"') :]
    assert "Churn and value forecast" in model
    for panel in ("backtest", "p_alive_distribution", "risk_by_segment", "risk_trend"):
        assert f'id="chart-{panel}"' in model, panel
