"""Run-failure alerts: what they say, and sending each one once.

The alert names the run, the job, the partition and the failed steps, and links to the run in the
UI. It never carries the error text: an error can quote rows of an export (customer ids, emails).

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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from loyalty.settings import Settings

_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
