"""SMTP connection details from the environment, and opening a session.

LOYALTY_SMTP_HOST, LOYALTY_SMTP_PORT, LOYALTY_SMTP_TLS (none | starttls | ssl), LOYALTY_SMTP_USER,
LOYALTY_SMTP_PASSWORD. Read at send time, never at import, and never written to logs or metadata
(the password is not even part of the repr).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
TIMEOUT_SECONDS = 30


class SmtpConfigError(Exception):
    """The SMTP environment variables are missing or invalid."""


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


def smtp_config_from_env(env: dict[str, str] | None = None) -> SmtpConfig:
    env = os.environ if env is None else env
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
