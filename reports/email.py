"""The weekly email: exactly one per (week, recipient), whatever the retries, re-runs or backfills.

Message: multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html,
image/png (cid) ... ] ], the overview workbook ]. The HTML has no JavaScript. No customer-level data
is in the email (counts and rates only; the attached overview workbook holds aggregates only).

Delivery: one SMTP transaction per recipient; each recipient is written to `email_log` right after
the server accepted their message, and recipients already in the log for that week and mode are
skipped. A refused recipient or an unreachable server fails the step naming the recipients not sent;
running it again sends only those. The only window for a duplicate is a crash between the server's
acceptance and the log insert (milliseconds). Dry runs write .eml files and are logged with mode
'dry_run', separately from real sends.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import duckdb

from loyalty import engine
from loyalty.reports import changes, charts, excel, html, smtp
from loyalty.reports import value_view as vv
from loyalty.reports import viewmodel as vm
from loyalty.reports.actions_view import email_restatements
from loyalty.reports.i18n import Translator, primary_locale
from loyalty.reports.model import WeekData
from loyalty.reports.notes import order_warning
from loyalty.reports.queries import week_data
from loyalty.reports.render import translator, week_folder
from loyalty.reports.smtp import SmtpConfig, describe_error, mode_of
from loyalty.reports.value import segment_risk
from loyalty.settings import Settings
from loyalty.vocab import ALL
from loyalty.weeks import Week

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _subject_figure(data: WeekData, t: Translator) -> str | None:
    """The headline figure of the subject line: revenue at risk when the churn model is used, else
    the churn rate of the KPI board (None when the board has no value)."""
    risk = segment_risk(data.value, ALL)
    if data.value.model_used and risk and risk["value_at_risk"] is not None:
        return t("email_subject_risk", value=t.money(risk["value_at_risk"]))
    churn = next((k for k in data.kpis if k["kpi"] == "churn_rate"), None)
    if churn is None or churn["value"] is None:
        return None
    return t("email_subject_churn", value=t.percent(churn["value"]))


class EmailDeliveryError(Exception):
    """Some recipients did not get the weekly email; the message names them (no customer data)."""


@dataclass
class WeeklyContent:
    subject: str
    text: str
    html: str
    images: list[tuple[str, bytes]]  # (content-id without brackets, PNG)
    attachment_name: str
    attachment: bytes


@dataclass
class DeliveryReport:
    week: str
    mode: str
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    disabled: bool = False  # email.enabled is false: nothing was read, built or sent

    @property
    def status(self) -> str:
        if self.disabled:
            return "email disabled (email.enabled: false): nothing sent"
        return "sent" if self.sent else "nothing to send (every recipient already has it)"


def ensure_log(conn: duckdb.DuckDBPyConnection) -> None:
    engine.execute_file(conn, "bookkeeping/email_log.sql")


def already_sent(conn: duckdb.DuckDBPyConnection, week: str, mode: str) -> set[str]:
    ensure_log(conn)
    rows = engine.query_file(conn, "reports/email_sent.sql", {"week": week, "mode": mode})
    return {r["recipient"] for r in rows}


def _recipients(settings: Settings) -> list[str]:
    return list(dict.fromkeys(r.strip() for r in settings.email.recipients if r.strip()))


# ------------------------------------------------------------------------------------------------
# content


def _png(fig, width: int = 720, height: int = 340) -> bytes:
    return fig.to_image(format="png", width=width, height=height, scale=1)


def render_pngs(figures: dict[str, object]) -> dict[str, bytes]:
    """PNG per figure through one Chromium (kaleido's sync server), stopped afterwards."""
    import kaleido

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kaleido.start_sync_server(silence_warnings=True)
        try:
            return {cid: _png(fig) for cid, fig in figures.items()}
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def build_content(
    data: WeekData, settings: Settings, attachment: bytes | None = None
) -> WeeklyContent:
    t = translator(settings)
    week = data.week
    seg = data.segments.get(ALL) or next(iter(data.segments.values()))
    drawn = {
        "kpi-trend": charts.kpi_trend(data, seg, t),
        "nps-trend": charts.nps_trend(seg, t),
        "tier-distribution": charts.tier_distribution(data, seg, t),
    }
    # a chart without data is left out (no image of empty axes)
    figures = {cid: fig for cid, fig in drawn.items() if fig is not None}
    pngs = render_pngs(figures) if figures else {}
    folder = week_folder(settings, week.label)
    model = {
        "lang": t.locale,
        "l": t.labels,
        "head": vm.header(data, t, "overview", dt.datetime.now().replace(microsecond=0)),
        "intro": t("email_intro", week=week.label, start=t.date(week.start), end=t.date(week.end)),
        # revenue at risk and the at-risk customers of the whole base, when the model is used
        "headline": vv.email_headline(data.value, t),
        # the report week has almost no orders (reports/viewmodel.py order_warning)
        "order_warning": order_warning(data, t),
        "kpis": vm.kpi_cards(data, t),
        "changes": changes.top_changes(data, t),
        "segments": _segment_rows(data, t),
        # how many figures of closed periods were restated since the last email ("" if none)
        "restatements": email_restatements(data, t),
        "images": [
            {"cid": cid, "alt": t(key)}
            for cid, key in (
                ("kpi-trend", "kpi_trend"),
                ("nps-trend", "nps_trend"),
                ("tier-distribution", "tier_distribution"),
            )
            if cid in pngs
        ],
        "freshness": vm.quality_view(data, t)["freshness"],
        # the folder's name only: a server path means nothing to a manager's mail client
        "attachment_note": t("email_attachment_note", folder=folder.name),
    }
    subject = f"{settings.email.subject_prefix} {t('email_subject', week=week.label)}".strip()
    figure = _subject_figure(data, t)
    if figure:
        subject = f"{subject} — {figure}"
    if attachment is None:
        attachment = excel.overview_workbook_bytes(data, t)
    return WeeklyContent(
        subject=subject,
        text=_plain_text(model, t),
        html=html.render_email_html(model),
        images=list(pngs.items()),
        attachment_name=html.file_name(
            week.label, "overview", "xlsx", html.locale_suffix(t.locale)
        ),
        attachment=attachment,
    )


def _segment_rows(data: WeekData, t: Translator) -> list[dict[str, str]]:
    rows = []
    for name, seg in data.segments.items():
        c = seg.cards
        rows.append(
            {
                "name": t.segment_name(name),
                "customers": t.number(c["customers"]),
                "active": t.number(c["active_customers"]),
                "at_risk": t.number(c["at_risk_customers"]),
                "kept": t.percent(c["week_kept_rate"]),
                "nps": t.points(c["week_nps"]),
            }
        )
    return rows


def _plain_text(model: dict, t: Translator) -> str:
    lines = [model["head"]["title"], model["intro"]]
    if model["order_warning"]:
        lines += ["", f"! {model['order_warning']}"]
    if model["headline"]:
        lines += ["", model["headline"]]
    lines += ["", f"== {t('kpi_board')} =="]
    for k in model["kpis"]:
        low = f" [{t('low_sample')}]" if k["low_sample"] else ""
        lines.append(
            f"- {k['name']}: {k['value']} ({t('target')} {k['target']}) "
            f"{k['flag_icon']} {k['flag_text']} | {k['arrow']} {k['change']}"
            + (f" ({t(k['significance'])})" if k["significance"] else "")
            + f" | {t('n')}={k['n']}{low}"
            + (f" | {k['interval']}" if k["interval"] else "")
        )
    if model["changes"]:
        lines += ["", f"== {t('email_top_changes')} =="]
        lines += [
            f"- {c['name']}: {c['arrow']} {c['word']} {c['change']} → {c['value']} ({c['significance']})"
            for c in model["changes"]
        ]
    if model["restatements"]:
        lines += ["", model["restatements"]]
    lines += ["", f"== {t('segments_overview')} =="]
    for s in model["segments"]:
        lines.append(
            f"- {s['name']}: {t('customers')} {s['customers']}, {t('active_customers')} {s['active']}, "
            f"{t('at_risk_customers')} {s['at_risk']}, {t('week_kept_rate')} {s['kept']}, "
            f"{t('week_nps')} {s['nps']}"
        )
    f = model["freshness"]
    lines += [
        "",
        f"{t('freshness')}: {t('last_order_day')} {f['last_order_day']} ({f['status']})",
        "",
        model["attachment_note"],
        "",
        t("email_footer"),
    ]
    return "\n".join(lines) + "\n"


def build_message(
    content: WeeklyContent, sender: str, recipient: str, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = content.subject
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id
    msg.set_content(content.text, subtype="plain", charset="utf-8")
    msg.add_alternative(content.html, subtype="html", charset="utf-8")
    _, html_part = msg.iter_parts()  # text/plain, text/html (made multipart/related below)
    for cid, png in content.images:
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            disposition="inline",
            filename=f"{cid}.png",
        )
    msg.add_attachment(
        content.attachment,
        maintype=XLSX_TYPE[0],
        subtype=XLSX_TYPE[1],
        filename=content.attachment_name,
    )
    return msg


# ------------------------------------------------------------------------------------------------
# delivery


def _eml_name(recipient: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", recipient) + ".eml"


def _log(
    conn: duckdb.DuckDBPyConnection, week: str, recipient: str, message_id: str, mode: str
) -> None:
    engine.execute_file(
        conn,
        "reports/email_logged.sql",
        {
            "week": week,
            "recipient": recipient,
            "message_id": message_id,
            "sent_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "mode": mode,
        },
    )


def deliver(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    week: str,
    content: WeeklyContent,
    smtp_config: SmtpConfig | None = None,
) -> DeliveryReport:
    mode = mode_of(settings)
    report = DeliveryReport(week=week, mode=mode)
    done = already_sent(conn, week, mode)
    recipients = _recipients(settings)
    report.already_sent = [r for r in recipients if r in done]
    pending = [r for r in recipients if r not in done]
    if not pending:
        return report
    sender = settings.email.sender
    failures: dict[str, str] = {}
    try:
        with smtp.mailer(settings, week_folder(settings, week) / "email", smtp_config) as mailer:
            for i, rcpt in enumerate(pending):
                mid = smtp.message_id(sender)
                msg = build_message(content, sender, rcpt, mid)
                try:
                    mailer.send(msg, [rcpt], _eml_name(rcpt))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as e:
                    failures[rcpt] = describe_error(e)
                    mailer.reset()
                    continue
                except (OSError, smtplib.SMTPException) as e:
                    if mailer.mode == "dry_run":
                        raise  # the .eml file could not be written: not a delivery problem
                    # the session is gone: this and every later recipient is not sent
                    for r in pending[i:]:
                        failures[r] = describe_error(e)
                    break
                _log(conn, week, rcpt, mid, mode)
                report.sent.append(rcpt)
                if mailer.mode == "dry_run":
                    report.files.append(mailer.folder / _eml_name(rcpt))
    except smtp.SmtpUnreachable as e:
        raise EmailDeliveryError(
            f"weekly email {week}: {e}. "
            f"Nothing sent now; not sent to {len(pending)} recipient(s): {', '.join(pending)}. "
            f"Already sent before: {len(report.already_sent)}. Re-run the step to retry."
        ) from None
    if failures:
        detail = "; ".join(f"{r} ({why})" for r, why in failures.items())
        raise EmailDeliveryError(
            f"weekly email {week}: not sent to {len(failures)} of {len(recipients)} recipient(s): "
            f"{detail}. Sent now: {len(report.sent)}; already sent before: "
            f"{len(report.already_sent)}. Re-run the step to send only to the missing recipients."
        )
    return report


def send_weekly_email(
    settings: Settings, week: Week, smtp_config: SmtpConfig | None = None
) -> DeliveryReport:
    """Read the week, build the email (only if someone still needs it) and deliver it.

    Nothing happens with email.enabled false. The database is closed while the PNG charts render;
    it is reopened to deliver and log.
    """
    mode = mode_of(settings)
    if not settings.email.enabled:
        return DeliveryReport(week=week.label, mode=mode, disabled=True)
    with engine.connect(settings) as conn:
        done = already_sent(conn, week.label, mode)
        pending = [r for r in _recipients(settings) if r not in done]
        if not pending:
            return DeliveryReport(week=week.label, mode=mode, already_sent=_recipients(settings))
        data = week_data(conn, settings, week, detail=False)
    attachment_path = week_folder(settings, week.label) / html.file_name(
        week.label, "overview", "xlsx", html.locale_suffix(primary_locale(settings))
    )
    attachment = attachment_path.read_bytes() if attachment_path.exists() else None
    content = build_content(data, settings, attachment)
    with engine.connect(settings) as conn:
        return deliver(conn, settings, week.label, content, smtp_config)
