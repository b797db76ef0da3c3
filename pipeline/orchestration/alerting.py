"""Run-failure alerts sent once per run: the outbox the failure sensor (sensors.py) puts each alert
in. What an alert says and how it is sent (no Dagster) is loyalty.reports.alerts.

Sending goes through a small outbox on disk (by default under $DAGSTER_HOME) so that an alert is
sent at most once per run whatever the sensor retries, and one that could not be delivered (SMTP
down) is retried the next time the failure sensor runs:

    pending/<run_id>.json  --claim (atomic rename)-->  sending/<run_id>.json  --sent-->  sent/<run_id>.json

A crash between delivering and moving the file to sent/ leaves it in sending/, which is never
retried: a lost alert is preferred to a duplicate.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from loyalty.reports.alerts import Alert

_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class AlertOutbox:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        for state in ("pending", "sending", "sent"):
            (self.folder / state).mkdir(parents=True, exist_ok=True)

    def _path(self, state: str, run_id: str) -> Path:
        if not _RUN_ID.fullmatch(run_id):
            raise ValueError(f"unexpected run id {run_id!r}")
        return self.folder / state / f"{run_id}.json"

    def known(self, run_id: str) -> bool:
        return any(self._path(s, run_id).exists() for s in ("pending", "sending", "sent"))

    def add(self, alert: Alert) -> bool:
        """Queue an alert unless this run already has one; True when queued now."""
        if self.known(alert.run_id):
            return False
        target = self._path("pending", alert.run_id)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(asdict(alert), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
        return True

    def sent(self) -> list[str]:
        return sorted(p.stem for p in (self.folder / "sent").glob("*.json"))

    def flush(self, send: Callable[[Alert], object]) -> list[str]:
        """Send every pending alert; returns the run ids sent. The first delivery error is raised
        after the alert is put back in pending/ for the next attempt."""
        done = []
        for pending in sorted((self.folder / "pending").glob("*.json")):
            sending = self.folder / "sending" / pending.name
            try:
                os.rename(pending, sending)  # claim: exactly one evaluator wins
            except FileNotFoundError:
                continue
            alert = Alert(**json.loads(sending.read_text(encoding="utf-8")))
            try:
                send(alert)
            except BaseException:
                os.rename(sending, pending)
                raise
            os.replace(sending, self.folder / "sent" / pending.name)
            done.append(alert.run_id)
        return done
