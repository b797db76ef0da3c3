"""The weekly email against a real SMTP server on loopback (aiosmtpd), sent by `send_weekly_email`
(what the `weekly_email` asset runs) from a database the real pipeline built
(tests/test_reports_fixture_db.py)."""

from __future__ import annotations

import email
import email.policy
import io
import os
import socket
import zipfile

import openpyxl
import pytest
from aiosmtpd.controller import Controller

from loyalty import engine
from loyalty.reports.alerts import send_alert
from loyalty.reports.email import EmailDeliveryError, send_weekly_email
from loyalty.reports.render import write_week_reports
from loyalty.settings import load_settings
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

RECIPIENTS = ["manager@example.com", "cx-lead@example.com", "ops-lead@example.com"]
PII = (fx.PII_NAME, fx.PII_EMAIL, fx.PII_PHONE, "pii-example.org")


class Handler:
    """Accepts everything except the addresses in `refuse` (550 at RCPT)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LOYALTY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LOYALTY_SMTP_PORT", str(port))
    monkeypatch.setenv("LOYALTY_SMTP_TLS", "none")
    monkeypatch.delenv("LOYALTY_SMTP_USER", raising=False)
    monkeypatch.delenv("LOYALTY_SMTP_PASSWORD", raising=False)
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def email_settings(tmp_path, report_db):  # noqa: F811
    """email_settings(locale=..., dry_run=..., enabled=..., recipients=...): settings over a copy
    of the pipeline-built database."""

    def make(locale="en", dry_run=False, enabled=True, recipients=RECIPIENTS):
        email = {
            "enabled": enabled,
            "dry_run": dry_run,
            "recipients": list(recipients),
            "operators": ["ops@example.com"],
        }
        return fx.workspace(tmp_path, report_db, locale, email=email)

    return make


def _send(settings):
    return send_weekly_email(settings, fx.WEEK)


def _failure(settings) -> str:
    with pytest.raises(EmailDeliveryError) as failed:
        _send(settings)
    return str(failed.value)


def _log(settings):
    with engine.connect(settings, read_only=True) as conn:
        return conn.execute(
            "select recipient, mode, message_id from email_log where week = ? order by recipient",
            [fx.WEEK_LABEL],
        ).fetchall()


def _parts(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg, list(msg.walk())


def _decoded_text(raw: bytes) -> str:
    """Every part decoded (base64/quoted-printable undone), workbook XML included."""
    _, parts = _parts(raw)
    out = [raw.decode("utf-8", "replace")]
    for p in parts:
        if p.is_multipart():
            continue
        payload = p.get_payload(decode=True) or b""
        if p.get_content_type().endswith("spreadsheetml.sheet"):
            with zipfile.ZipFile(io.BytesIO(payload)) as z:
                payload = b"".join(z.read(n) for n in z.namelist())
        out.append(payload.decode("utf-8", "replace"))
    for k, v in _parts(raw)[0].items():
        out.append(f"{k}: {v}")
    return "\n".join(out)


def test_one_message_per_recipient_then_a_rerun_sends_nothing(email_settings, smtp_server):
    settings = email_settings()
    write_week_reports(settings, fx.WEEK)
    _send(settings)
    assert sorted(r for rcpts, _ in smtp_server.messages for r in rcpts) == sorted(RECIPIENTS)
    assert all(len(rcpts) == 1 for rcpts, _ in smtp_server.messages)  # one transaction each

    msg, parts = _parts(smtp_server.messages[0][1])
    types = [p.get_content_type() for p in parts]
    assert types[0] == "multipart/mixed"
    assert "multipart/alternative" in types and "multipart/related" in types
    assert "text/plain" in types and "text/html" in types
    pngs = [p for p in parts if p.get_content_type() == "image/png"]
    assert len(pngs) == 3 and all(p["Content-ID"] for p in pngs)
    assert all(p.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    html = next(p for p in parts if p.get_content_type() == "text/html").get_content()
    for p in pngs:
        assert f"cid:{p['Content-ID'].strip('<>')}" in html
    assert "<script" not in html.lower()
    assert "↑" in html or "↓" in html or "→" in html  # trend arrows
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_content()
    assert "KPI board" in text and "Churn rate" in text
    xlsx = [p for p in parts if p.get_filename() == f"loyalty_{fx.WEEK_LABEL}_overview.xlsx"]
    assert len(xlsx) == 1
    wb = openpyxl.load_workbook(io.BytesIO(xlsx[0].get_payload(decode=True)))
    assert "Summary" in wb.sheetnames
    # the subject carries a headline figure: revenue at risk when the model is used, else churn
    with engine.connect(settings, read_only=True) as conn:
        used = conn.execute(
            "select coalesce(any_value(model_used), false) from model_quality where as_of = ?",
            [fx.DAY],
        ).fetchall()[0][0]
        churn = conn.execute(
            "select value from kpi_daily where as_of = ? and kpi = 'churn_rate'", [fx.DAY]
        ).fetchall()[0][0]
    head = f"[Loyalty] Loyalty report {fx.WEEK_LABEL} — "
    if used:
        assert msg["Subject"].startswith(head + "revenue at risk ")
    else:
        assert msg["Subject"] == head + f"churn {100 * churn:,.1f}%"
    # the plain text names the report folder, not a path on the server
    assert str(settings.output_path) not in text

    log = _log(settings)
    assert sorted(r for r, _, _ in log) == sorted(RECIPIENTS) and {m for _, m, _ in log} == {"smtp"}
    sent_ids = {m["Message-ID"] for m in (_parts(raw)[0] for _, raw in smtp_server.messages)}
    assert sent_ids == {mid for _, _, mid in log}

    # a re-run (or a backfill over the same week) sends nothing
    report = _send(settings)
    assert len(smtp_server.messages) == len(RECIPIENTS)
    assert report.sent == [] and sorted(report.already_sent) == sorted(RECIPIENTS)
    assert report.status == "nothing to send (every recipient already has it)"


def test_no_customer_pii_in_any_message(email_settings, smtp_server):
    _send(email_settings())
    assert smtp_server.messages
    for _, raw in smtp_server.messages:
        body = _decoded_text(raw)
        for pii in PII:
            assert pii not in body
        assert fx.FORMULA_ID not in body  # no customer-level rows at all


def test_refused_recipient_gets_exactly_the_missing_one_on_retry(email_settings, smtp_server):
    settings = email_settings()
    smtp_server.refuse = {"cx-lead@example.com"}
    message = _failure(settings)
    assert "cx-lead@example.com" in message and "550" in message
    assert "not sent to 1 of 3" in message and "Re-run" in message
    for pii in PII:
        assert pii not in message
    assert sorted(r for rcpts, _ in smtp_server.messages for r in rcpts) == [
        "manager@example.com",
        "ops-lead@example.com",
    ]
    assert [r for r, _, _ in _log(settings)] == ["manager@example.com", "ops-lead@example.com"]

    smtp_server.refuse = set()
    _send(settings)
    delivered = [r for rcpts, _ in smtp_server.messages for r in rcpts]
    assert sorted(delivered) == sorted(RECIPIENTS)  # each exactly once
    assert delivered[-1] == "cx-lead@example.com"
    assert len(_log(settings)) == 3


def test_server_down_fails_clearly_and_a_retry_sends(email_settings, smtp_server, monkeypatch):
    settings = email_settings(recipients=RECIPIENTS[:2])
    real_port = os.environ["LOYALTY_SMTP_PORT"]
    monkeypatch.setenv("LOYALTY_SMTP_PORT", str(free_port()))  # nothing listens there
    message = _failure(settings)
    assert "cannot reach the SMTP server 127.0.0.1" in message
    assert "manager@example.com" in message and "cx-lead@example.com" in message
    assert _log(settings) == []

    monkeypatch.setenv("LOYALTY_SMTP_PORT", real_port)
    _send(settings)
    assert sorted(r for rcpts, _ in smtp_server.messages for r in rcpts) == sorted(RECIPIENTS[:2])


def test_dry_run_writes_eml_files_and_sends_nothing(email_settings, smtp_server):
    settings = email_settings(dry_run=True, recipients=RECIPIENTS[:2])
    report = _send(settings)
    assert smtp_server.messages == []
    folder = settings.output_path / fx.WEEK_LABEL / "email"
    files = sorted(p.name for p in folder.glob("*.eml"))
    assert files == ["cx-lead@example.com.eml", "manager@example.com.eml"]
    msg, parts = _parts((folder / files[0]).read_bytes())
    assert msg["To"] == "cx-lead@example.com"
    assert any(p.get_content_type() == "image/png" for p in parts)
    assert {m for _, m, _ in _log(settings)} == {"dry_run"}
    assert report.mode == "dry_run" and report.status == "sent"
    assert sorted(p.name for p in report.files) == files
    # switching dry_run off later still sends the real emails (logged separately)
    _send(load_settings(settings.database_path.parent / "settings.yaml", "email: {dry_run: false}"))
    assert len(smtp_server.messages) == 2
    assert sorted(m for _, m, _ in _log(settings)) == ["dry_run", "dry_run", "smtp", "smtp"]


def test_disabled_email_does_nothing_but_say_so(email_settings, smtp_server):
    report = _send(email_settings(enabled=False))
    assert report.disabled and "disabled" in report.status
    assert smtp_server.messages == []


def test_zh_cn_email_has_chinese_labels(email_settings, smtp_server):
    _send(email_settings(locale="zh-CN", recipients=RECIPIENTS[:1]))
    msg, parts = _parts(smtp_server.messages[0][1])
    assert "客户忠诚度周报" in msg["Subject"]
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_content()
    html = next(p for p in parts if p.get_content_type() == "text/html").get_content()
    assert "关键指标看板" in text and "流失率" in text
    assert "关键指标看板" in html and 'lang="zh-CN"' in html
    xlsx = next(p for p in parts if (p.get_filename() or "").endswith(".xlsx"))
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.get_payload(decode=True)))
    assert wb.sheetnames[0] == "摘要"


def test_alert_to_operators_survives_non_ascii(email_settings, smtp_server):
    settings = email_settings()
    out = send_alert(
        settings, "运行失败 run failed ✖", "step weekly_reports failed: Größe ✖ 数据库锁定"
    )
    assert out["status"] == "sent" and out["recipients"] == ["ops@example.com"]
    ((rcpts, raw),) = smtp_server.messages
    assert rcpts == ["ops@example.com"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert "运行失败" in msg["Subject"]
    assert "数据库锁定" in msg.get_content()
