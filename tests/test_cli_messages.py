"""What `loyalty run` prints about an error it did not word itself: the class and the message,
without the values the message quotes and without email addresses (DuckDB's conversion errors quote
the row's value, which can be a customer's email)."""

from __future__ import annotations

from loyalty.runner import redact


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
