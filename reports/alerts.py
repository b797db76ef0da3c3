"""Run-failure alerts to `email.operators` (docs/operations.md): what they say, and sending one (no Dagster).

An alert names the run, the job, the partition and the failed steps, and links to the run in the UI.
It never carries the error text: an error can quote rows of an export (customer ids, emails).
Non-ASCII text is fine: the message is utf-8 (RFC 2047 headers), so an alert never crashes on the
text it is meant to deliver. It goes over the same SMTP settings as the weekly email (reports/smtp.py);
in dry-run mode it is written as an .eml file. Sending each alert once per run (the outbox) is the
Dagster layer's part: loyalty.orchestration.alerting.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from loyalty.reports import smtp
from loyalty.reports.i18n import Translator, primary_locale
from loyalty.reports.smtp import SmtpConfig, describe_error
from loyalty.settings import Settings


class AlertDeliveryError(Exception):
    """The alert could not be delivered; the message says where and why."""


@dataclass(frozen=True)
class Alert:
    run_id: str
    subject: str
    body: str


def compose_alert(
    settings: Settings,
    run_id: str,
    job_name: str,
    failed_steps: Iterable[str],
    tags: dict[str, str] | None = None,
) -> Alert:
    """The alert for a failed run, from the run's id, job, failed steps and tags (partition, retry)."""
    tags = tags or {}
    steps = sorted(set(failed_steps))
    partition = tags.get("dagster/partition") or (
        f"{tags['dagster/asset_partition_range_start']}..{tags['dagster/asset_partition_range_end']}"
        if "dagster/asset_partition_range_start" in tags
        else None
    )
    url = f"{settings.email.ui_base_url.rstrip('/')}/runs/{run_id}"
    lines = [
        "A Dagster run of the loyalty pipeline failed.",
        "",
        f"Run:          {run_id}",
        f"Job:          {job_name}",
    ]
    if partition:
        lines.append(f"Partition:    {partition}")
    if tags.get("dagster/retry_number"):
        lines.append(
            f"Attempt:      retry {tags['dagster/retry_number']} of run {tags.get('dagster/parent_run_id', '?')}"
        )
    lines += [
        "Failed steps: "
        + (
            ", ".join(steps)
            if steps
            else "none (the run itself failed: crash, timeout or a launch error)"
        ),
        f"Open the run: {url}",
        "",
        "The error messages are in the run's log in the Dagster UI. They are not copied here "
        "because they can quote rows of the exports.",
    ]
    subject = f"run failed: {job_name}" + (f" {partition}" if partition else "")
    return Alert(run_id=run_id, subject=subject, body="\n".join(lines))


def build_alert(settings: Settings, subject: str, body_text: str) -> EmailMessage:
    t = Translator(primary_locale(settings))
    msg = EmailMessage()
    msg["Subject"] = f"{settings.email.subject_prefix} {subject}".strip()
    msg["From"] = settings.email.sender
    msg["To"] = ", ".join(settings.email.operators)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = smtp.message_id(settings.email.sender)
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
    name = f"alert_{dt.datetime.now():%Y%m%dT%H%M%S%f}.eml"
    try:
        with smtp.mailer(settings, settings.output_path / "alerts", smtp_config) as mailer:
            try:
                refused = mailer.send(msg, operators, name)
            except (OSError, smtplib.SMTPException) as e:
                if mailer.mode == "dry_run":
                    raise  # the .eml file could not be written
                raise AlertDeliveryError(
                    f"alert not sent via {mailer.where}: {describe_error(e)}"
                ) from None
    except smtp.SmtpUnreachable as e:
        raise AlertDeliveryError(f"alert not sent: {e}") from None
    if mailer.mode == "dry_run":
        return {"status": "dry_run", "path": str(mailer.folder / name), "recipients": operators}
    sent = [r for r in operators if r not in refused]
    return {"status": "sent", "recipients": sent, "refused": refused}
