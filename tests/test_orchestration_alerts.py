"""Run-failure alerts: one email per failed run, to the operators, with the run id and a link, and
never a customer's data."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from loyalty.orchestration.alerting import AlertOutbox
from loyalty.orchestration.jobs import build_jobs
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.orchestration.sensors import run_failure_alert
from loyalty.reports.alerts import AlertDeliveryError, compose_alert, send_alert
from loyalty.settings import load_settings
from tests.conftest import REPO
from tests.test_orchestration_support import smtp_sink, tiny_landing  # noqa: F401 (fixture)

SECRET_ID = "CUST-SECRET-77"
SECRET_EMAIL = "secret.person@example.com"
EMAIL = {
    "dry_run": False,
    "operators": ["ops@example.com", "oncall@example.com"],
    "subject_prefix": "[忠诚度 Lоyalty]",  # non-ASCII, Cyrillic o included
    "ui_base_url": "http://127.0.0.1:3999/",
}


def _failed_ingest_run(folder: Path, instance: dg.DagsterInstance, settings_file: Path):
    """The `ingest` job over a landing folder holding an orders file with a renamed column."""
    (folder / "landing" / "orders_bad.csv").write_text(
        "order_id,customer_ref,ordered_at,amount,status,refund_amount,channel\n"
        f"O900,{SECRET_ID},2024-11-20 10:00:00,12.00,completed,0,{SECRET_EMAIL}\n",
        encoding="utf-8",
    )
    from loyalty import definitions

    jobs = build_jobs(definitions.all_assets)
    defs = dg.Definitions(
        assets=definitions.all_assets,
        asset_checks=definitions.all_checks,
        jobs=jobs,
        resources={"loyalty": LoyaltyResource(settings_file=str(settings_file))},
    )
    result = defs.resolve_job_def("ingest").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not result.success
    return result


def _evaluate(result, instance, settings_file: Path) -> None:
    # entered, as the daemon enters it: the resource has a run's set-up and tear-down
    with dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={"loyalty": LoyaltyResource(settings_file=str(settings_file))},
    ) as context:
        run_failure_alert(context.for_run_failure())


@pytest.fixture
def failed_run(tmp_path, monkeypatch, smtp_sink):  # noqa: F811
    for k, v in smtp_sink.env().items():
        monkeypatch.setenv(k, v)
    settings_file = tiny_landing(tmp_path, {"email": EMAIL, "locale": "zh-CN"})
    (tmp_path / "dagster_home").mkdir()
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster_home" / "dagster.yaml")
    # the home of the instance, as the daemon has it (dagster.yaml's event log lives under it)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    result = _failed_ingest_run(tmp_path, instance, settings_file)
    yield result, instance, settings_file, smtp_sink
    instance.dispose()


def test_a_failed_run_sends_exactly_one_alert_without_customer_data(failed_run):
    result, instance, settings_file, smtp = failed_run
    run_id = result.run_id
    _evaluate(result, instance, settings_file)
    _evaluate(result, instance, settings_file)  # the sensor evaluated again for the same run
    assert len(smtp.messages) == 1
    rcpts, raw = smtp.messages[0]
    assert sorted(rcpts) == ["oncall@example.com", "ops@example.com"]
    msg = smtp.parsed()[0]
    body = msg.get_body(("plain",)).get_content()
    assert msg["Subject"].startswith("[忠诚度 Lоyalty] run failed: ingest")
    assert run_id in body
    assert f"http://127.0.0.1:3999/runs/{run_id}" in body
    assert "Failed steps: orders" in body
    for secret in (SECRET_ID, SECRET_EMAIL, "customer_ref", "c1@example.com", "Customer C1"):
        assert secret not in body and secret.encode() not in raw


def test_an_alert_that_could_not_be_sent_goes_out_once_when_smtp_is_back(failed_run):
    result, instance, settings_file, smtp = failed_run
    smtp.stop()
    with pytest.raises(AlertDeliveryError):
        _evaluate(result, instance, settings_file)
    assert smtp.messages == []
    smtp.start()
    _evaluate(result, instance, settings_file)
    _evaluate(result, instance, settings_file)
    assert len(smtp.messages) == 1
    assert result.run_id in smtp.parsed()[0].get_body(("plain",)).get_content()


def test_non_ascii_job_names_and_settings_do_not_break_an_alert(tmp_path, monkeypatch, smtp_sink):  # noqa: F811
    for k, v in smtp_sink.env().items():
        monkeypatch.setenv(k, v)
    settings = load_settings(tiny_landing(tmp_path, {"email": EMAIL, "locale": "zh-CN"}))
    alert = compose_alert(
        settings, "run-1", "夜间作业_nächtlich", ["步骤_ä"], {"dagster/partition": "2026-11-15"}
    )
    outbox = AlertOutbox(tmp_path / "outbox")
    assert outbox.add(alert)
    assert not outbox.add(alert)
    assert outbox.flush(lambda a: send_alert(settings, a.subject, a.body)) == ["run-1"]
    assert outbox.flush(lambda a: send_alert(settings, a.subject, a.body)) == []
    msg = smtp_sink.parsed()[0]
    assert "夜间作业_nächtlich 2026-11-15" in msg["Subject"]
    assert "步骤_ä" in msg.get_body(("plain",)).get_content()
    assert len(smtp_sink.messages) == 1


def test_in_dry_run_the_alert_is_an_eml_file_written_once(tmp_path):
    settings = load_settings(tiny_landing(tmp_path, {"email": {**EMAIL, "dry_run": True}}))
    outbox = AlertOutbox(tmp_path / "outbox")
    outbox.add(compose_alert(settings, "run-2", "nightly", []))
    outbox.add(compose_alert(settings, "run-2", "nightly", []))
    outbox.flush(lambda a: send_alert(settings, a.subject, a.body))
    outbox.flush(lambda a: send_alert(settings, a.subject, a.body))
    emls = list((settings.output_path / "alerts").glob("*.eml"))
    assert len(emls) == 1
    assert b"run-2" in emls[0].read_bytes()
