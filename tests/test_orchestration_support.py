"""Shared helpers for the orchestration tests (no tests here): a tiny landing folder, a real SMTP
server on loopback, free ports."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import write_settings

CUSTOMERS = ["C1", "C2", "C3", "C4", "C5"]


def tiny_landing(folder: Path, extra: dict | None = None) -> Path:
    """Settings (UTC, partitions from 2024-11-18) and a landing folder with a few hand-made rows of
    every kind; returns the settings file."""
    settings = write_settings(
        folder,
        {
            "schedules": {
                "start_date": "2024-11-18",
                # never due while a test runs
                "nightly_cron": "0 3 1 1 *",
                "weekly_cron": "0 4 1 1 *",
            },
            **(extra or {}),
        },
    )
    landing = folder / "landing"
    orders = ["order_id,customer_id,ordered_at,amount,status,refund_amount,channel"]
    n = 0
    for day in range(18, 31):
        for c in CUSTOMERS[: 1 + day % 5]:
            n += 1
            orders.append(f"O{n},{c},2024-11-{day} 1{day % 10}:00:00,{10 + n}.50,completed,0,web")
    (landing / "orders_2024-11-30.csv").write_text("\n".join(orders) + "\n", encoding="utf-8")
    (landing / "tickets.csv").write_text(
        "ticket_id,customer_id,opened_at,first_response_at,resolved_at,category,priority,channel,satisfaction\n"
        "T1,C1,2024-11-20 09:00:00,2024-11-20 10:00:00,2024-11-20 12:00:00,complaint,urgent,chat,4\n"
        "T2,C2,2024-11-25 09:00:00,,,other,general,email,\n",
        encoding="utf-8",
    )
    (landing / "surveys.csv").write_text(
        "response_id,customer_id,responded_at,nps,csat,ces,comment\n"
        "R1,C1,2024-11-21 09:00:00,9,5,2,fine\n"
        "R2,C2,2024-11-26 09:00:00,5,2,6,\n",
        encoding="utf-8",
    )
    (landing / "customers.csv").write_text(
        "customer_id,signed_up_at,name,email,phone,region,member_level\n"
        + "".join(
            f"{c},2024-01-0{i + 1} 10:00:00,Customer {c},{c.lower()}@example.com,+44 7700 90000{i},"
            f"North,bronze\n"
            for i, c in enumerate(CUSTOMERS)
        ),
        encoding="utf-8",
    )
    return settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[list[str], bytes]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
                with sink._lock:
                    sink.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
                return "250 OK"

        self.port = free_port()
        self._make = lambda: Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller = None

    def start(self) -> None:
        # an aiosmtpd controller cannot be restarted: a new one on the same port
        if self._controller is None:
            self._controller = self._make()
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def parsed(self) -> list[EmailMessage]:
        with self._lock:
            return [message_from_bytes(raw, policy=policy.default) for _, raw in self.messages]

    def env(self) -> dict[str, str]:
        return {
            "LOYALTY_SMTP_HOST": "127.0.0.1",
            "LOYALTY_SMTP_PORT": str(self.port),
            "LOYALTY_SMTP_TLS": "none",
        }


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
