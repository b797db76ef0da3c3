"""What `loyalty run` prints about an error it did not word itself: the class and the message,
without the values the message quotes and without email addresses (DuckDB's conversion errors quote
the row's value, which can be a customer's email)."""

from __future__ import annotations

import pytest

from loyalty.runner import RunFailed, redact, run_all
from tests.test_ingest import ORDERS_HEADER, _write


def test_quoted_values_and_emails_are_removed_and_the_rest_kept():
    message = (
        "Conversion Error: Could not convert string 'zebediah@pii-example.org' to INT32\n"
        'LINE 1: select cast("email" as integer) from read_csv(...) -- near bob.smith@mail.example'
    )
    printed = redact(message)
    assert "zebediah" not in printed and "bob.smith" not in printed and "@" not in printed
    assert printed == (
        "Conversion Error: Could not convert string <value> to INT32\n"
        'LINE 1: select cast("email" as integer) from read_csv(...) -- near <email>'
    )


def test_a_message_without_data_is_unchanged():
    text = "orders_x.csv: required column customer_id is missing (columns: order_id, amount)"
    assert redact(text) == text


def test_a_failed_blocking_check_is_one_line_in_words(workdir):
    """A blocking check fails the step of its asset (the check runs there): `loyalty run` prints
    the check's verdict once, not the step's failure with Dagster's class name as well."""
    _write(
        workdir,
        "orders_1.csv",
        ORDERS_HEADER
        + "O1,C1,2024-01-01 10:00:00,10,completed,0,web\n"
        + "O2,,2024-01-01 10:00:00,10,completed,0,web\n",
    )  # 50 % quarantined
    with pytest.raises(RunFailed) as failed:
        run_all(workdir / "settings.yaml", log=lambda _: None)
    assert str(failed.value).splitlines() == [
        "check orders_quarantine_share failed: 1 file(s) above the 5% quarantine threshold: "
        "orders_1.csv (50.0%)"
    ]
