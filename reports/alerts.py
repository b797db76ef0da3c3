"""Run-failure alerts to `email.operators` (SPEC §6), over the same SMTP settings as the weekly email.

The caller passes a subject and a body without customer data (run id, step, error class, a link to
the Dagster UI). Non-ASCII text is fine: the message is utf-8 (RFC 2047 headers), so an alert never
crashes on the text it is meant to deliver. In dry-run mode the alert is written as an .eml file.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from loyalty.reports.i18n import Translator
from loyalty.reports.smtp import SmtpConfig, describe_error, open_session, smtp_config_from_env
from loyalty.settings import Settings


class AlertDeliveryError(Exception):
    """The alert could not be delivered; the message says where and why."""


def build_alert(settings: Settings, subject: str, body_text: str) -> EmailMessage:
    t = Translator(settings.locale)
    msg = EmailMessage()
    msg["Subject"] = f"{settings.email.subject_prefix} {subject}".strip()
    msg["From"] = settings.email.sender
    msg["To"] = ", ".join(settings.email.operators)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.email.sender.rsplit("@", 1)[-1] or "localhost")
    msg.set_content(f"{body_text.rstrip()}\n\n-- \n{t('alert_footer')}\n", charset="utf-8")
    return msg


def send_alert(
    settings: Settings, subject: str, body_text: str, smtp_config: SmtpConfig | None = None
) -> dict[str, object]:
    """Send (or, with email.dry_run, write) one alert to the operators; returns what was done."""
    operators = list(dict.fromkeys(settings.email.operators))
    if not operators:
        return {"status": "no operators configured (email.operators); alert not sent"}
    msg = build_alert(settings, subject, body_text)
    if settings.email.dry_run:
        folder = settings.output_path / "alerts"
        folder.mkdir(parents=True, exist_ok=True)
        path: Path = folder / f"alert_{dt.datetime.now():%Y%m%dT%H%M%S%f}.eml"
        path.write_bytes(bytes(msg))
        return {"status": "dry_run", "path": str(path), "recipients": operators}
    cfg = smtp_config or smtp_config_from_env()
    try:
        session = open_session(cfg)
    except (OSError, smtplib.SMTPException) as e:
        raise AlertDeliveryError(
            f"alert not sent: cannot reach the SMTP server {cfg.where}: {describe_error(e)}"
        ) from None
    try:
        refused = session.send_message(msg, from_addr=settings.email.sender, to_addrs=operators)
    except (OSError, smtplib.SMTPException) as e:
        raise AlertDeliveryError(f"alert not sent via {cfg.where}: {describe_error(e)}") from None
    finally:
        try:
            session.quit()
        except (OSError, smtplib.SMTPException):
            session.close()
    sent = [r for r in operators if r not in refused]
    return {"status": "sent", "recipients": sent, "refused": sorted(refused)}
