"""Sending mail, once for the weekly email and the alerts: SMTP, or in dry run .eml files.

`mailer(settings, folder)` yields a `Mailer`: with `email.dry_run` it writes each message to `folder`
as an .eml file and sends nothing; otherwise it holds one SMTP session, opened with the connection
details from the environment and closed at the end.

LOYALTY_SMTP_HOST, LOYALTY_SMTP_PORT, LOYALTY_SMTP_TLS (none | starttls | ssl), LOYALTY_SMTP_USER,
LOYALTY_SMTP_PASSWORD. Read at send time, never at import, and never written to logs or metadata
(the password is not even part of the repr).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from loyalty.settings import Settings

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
TIMEOUT_SECONDS = 30


class SmtpConfigError(Exception):
    """The SMTP environment variables are missing or invalid."""


class SmtpUnreachable(Exception):
    """The SMTP server could not be reached, or refused the session (connect, TLS or login)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str
    user: str | None
    password: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} (tls={self.tls})"


def smtp_config_from_env(environ: Mapping[str, str] | None = None) -> SmtpConfig:
    env: Mapping[str, str] = os.environ if environ is None else environ
    host = env.get("LOYALTY_SMTP_HOST", "").strip()
    if not host:
        raise SmtpConfigError(
            "LOYALTY_SMTP_HOST is not set: set it (and LOYALTY_SMTP_PORT, LOYALTY_SMTP_TLS, "
            "LOYALTY_SMTP_USER, LOYALTY_SMTP_PASSWORD as needed), or use email.dry_run: true"
        )
    tls = env.get("LOYALTY_SMTP_TLS", "none").strip().lower() or "none"
    if tls not in DEFAULT_PORTS:
        raise SmtpConfigError(f"LOYALTY_SMTP_TLS must be none, starttls or ssl, not {tls!r}")
    port_text = env.get("LOYALTY_SMTP_PORT", "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORTS[tls]
    except ValueError:
        raise SmtpConfigError(f"LOYALTY_SMTP_PORT must be a number, not {port_text!r}") from None
    return SmtpConfig(
        host=host,
        port=port,
        tls=tls,
        user=env.get("LOYALTY_SMTP_USER") or None,
        password=env.get("LOYALTY_SMTP_PASSWORD") or None,
    )


def open_session(cfg: SmtpConfig) -> smtplib.SMTP:
    """A logged-in SMTP session; OSError / SMTPException when the server is down or refuses."""
    context = ssl.create_default_context()
    if cfg.tls == "ssl":
        session: smtplib.SMTP = smtplib.SMTP_SSL(
            cfg.host, cfg.port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        session = smtplib.SMTP(cfg.host, cfg.port, timeout=TIMEOUT_SECONDS)
    try:
        session.ehlo()
        if cfg.tls == "starttls":
            session.starttls(context=context)
            session.ehlo()
        if cfg.user:
            session.login(cfg.user, cfg.password or "")
    except BaseException:
        session.close()
        raise
    return session


def describe_error(e: BaseException) -> str:
    """A short reason for a failure: the SMTP code and text, or the OS error; never the message."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = [f"{code} {_text(msg)}" for code, msg in e.recipients.values()]
        return "; ".join(codes) or "refused"
    if isinstance(e, smtplib.SMTPResponseException):
        return f"{e.smtp_code} {_text(e.smtp_error)}"
    if isinstance(e, OSError) and e.strerror:
        return f"{type(e).__name__}: {e.strerror}"
    return f"{type(e).__name__}: {e}"


def _text(b: bytes | str) -> str:
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    return " ".join(s.split())[:200]


# ------------------------------------------------------------------------------------------------
# sending, or writing .eml files in dry run


def message_id(sender: str) -> str:
    """A new Message-ID in the sender's domain."""
    return make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or "localhost")


class Mailer:
    """Sends messages from `sender` over one open SMTP session, or (no session: dry run) writes
    each one to `folder` as an .eml file."""

    def __init__(self, sender: str, folder: Path, session: smtplib.SMTP | None, where: str):
        self.sender = sender
        self.folder = folder
        self.session = session
        self.where = where  # host:port (tls) of the session, or the folder of the .eml files

    @property
    def mode(self) -> str:
        return "smtp" if self.session is not None else "dry_run"

    def send(self, msg: EmailMessage, recipients: list[str], eml_name: str) -> list[str]:
        """Deliver `msg` to `recipients` (dry run: write `folder/eml_name`); returns the recipients
        the server refused while accepting others. A refusal of all, or a broken session, raises
        the smtplib/OS error: the caller decides what it means."""
        if self.session is None:
            (self.folder / eml_name).write_bytes(bytes(msg))
            return []
        refused = self.session.send_message(msg, from_addr=self.sender, to_addrs=recipients)
        return sorted(refused)

    def reset(self) -> None:
        """After a refused message: make the session ready for the next one (best effort)."""
        if self.session is not None:
            with suppress(OSError, smtplib.SMTPException):
                self.session.rset()


def mode_of(settings: Settings) -> str:
    return "dry_run" if settings.email.dry_run else "smtp"


@contextmanager
def mailer(
    settings: Settings, folder: Path, smtp_config: SmtpConfig | None = None
) -> Iterator[Mailer]:
    """A Mailer for the settings' mode. SMTP: the config from the environment unless given
    (SmtpConfigError), the session opened now (SmtpUnreachable) and quit at the end."""
    sender = settings.email.sender
    if settings.email.dry_run:
        folder.mkdir(parents=True, exist_ok=True)
        yield Mailer(sender, folder, None, str(folder))
        return
    cfg = smtp_config or smtp_config_from_env()
    try:
        session = open_session(cfg)
    except (OSError, smtplib.SMTPException) as e:
        raise SmtpUnreachable(
            f"cannot reach the SMTP server {cfg.where}: {describe_error(e)}"
        ) from None
    try:
        yield Mailer(sender, folder, session, cfg.where)
    finally:
        try:
            session.quit()
        except (OSError, smtplib.SMTPException):
            session.close()
