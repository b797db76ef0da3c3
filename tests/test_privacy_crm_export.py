"""The CRM team's unmasked action list: a customer's name, email and phone appear in the week's
output only when `playbook.unmasked_crm_export` is on, and then only in the one CSV under crm/;
switched off again, a re-run removes that file. Every other file of the week (HTML, workbooks read
as their XML, CSVs) never holds them. The database is the pipeline's own
(tests/test_reports_fixture_db.py), with one at-risk customer's name, email and phone seeded."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

from loyalty import engine
from loyalty.marts.playbook import compute_action_list
from loyalty.reports.actions_export import CRM_FOLDER, crm_file
from loyalty.reports.render import write_week_reports
from loyalty.settings import load_settings
from tests import test_reports_fixture_db as fx
from tests.conftest import write_settings
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

PII = (fx.PII_NAME, fx.PII_EMAIL, fx.PII_PHONE)


def _settings(folder: Path, db: Path, unmasked: bool):
    fx.workspace(folder, db)  # the database's copy
    settings = load_settings(
        write_settings(
            folder,
            {"locale": ["en", "zh-CN"], "playbook": {"unmasked_crm_export": unmasked}},
        )
    )
    with engine.connect(settings) as conn:
        compute_action_list(conn, settings, fx.DAY, fx.DAY)
    return settings


def _bytes(path: Path) -> bytes:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return b"".join(z.read(n) for n in z.namelist())
    return path.read_bytes()


def _holding_pii(folder: Path) -> set[Path]:
    found = set()
    for path in folder.rglob("*"):
        if path.is_file():
            content = _bytes(path)
            if any(marker.encode() in content for marker in PII):
                found.add(path)
    return found


def test_without_the_setting_no_file_holds_a_name_email_or_phone(report_db, tmp_path):  # noqa: F811
    settings = _settings(tmp_path, report_db, unmasked=False)
    written = write_week_reports(settings, fx.WEEK)
    assert "crm_unmasked" not in written.action_csvs
    assert not (written.folder / CRM_FOLDER).exists()
    assert written.action_csvs and _holding_pii(written.folder) == set()


def test_with_the_setting_only_the_crm_file_holds_them(report_db, tmp_path):  # noqa: F811
    settings = _settings(tmp_path, report_db, unmasked=True)
    written = write_week_reports(settings, fx.WEEK)
    crm = written.folder / CRM_FOLDER / crm_file(fx.WEEK_LABEL)
    assert written.action_csvs["crm_unmasked"] == crm
    assert _holding_pii(written.folder) == {crm}
    with open(crm, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    seeded = [r for r in rows if r["email"] == fx.PII_EMAIL]
    assert len(seeded) == 1
    # a phone number starting with + is formula-like text: neutralised as in every CSV
    assert (seeded[0]["name"], seeded[0]["phone"]) == (fx.PII_NAME, "'" + fx.PII_PHONE)
    with engine.connect(settings, read_only=True) as conn:
        listed = engine.scalar(conn, "select count(*) from action_list where as_of = ?", [fx.DAY])
    assert len(rows) == listed == len({r["customer_id"] for r in rows})

    # switched off again: the next run leaves no unmasked file behind
    settings = load_settings(write_settings(tmp_path, {"locale": ["en", "zh-CN"], "playbook": {}}))
    written = write_week_reports(settings, fx.WEEK)
    assert not crm.exists() and _holding_pii(written.folder) == set()
