"""The NPS and CSAT digest of one week and segment (docs/metrics.md, "NPS and CSAT digest"): the
score distribution, the response rate, the per-tier trend (from nps_period, read by
reports/queries.py) and the verbatim comments of the week by class, PII scrubbed.

Comments are free text a customer typed: before they reach a report, emails, phone numbers, long
digit runs (order, card, tax or account numbers) and the respondent's own name are masked
(`scrub_comment`); the HTML template escapes what is left. Comments appear in the HTML reports only,
never in the email or the workbooks."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from loyalty import engine
from loyalty.settings import Settings
from loyalty.vocab import ALL, TIERS
from loyalty.weeks import Week

# comment classes in display order: the NPS groups (worst first), then the CSAT classes of answers
# without an NPS score, then comments without any score
COMMENT_CLASSES: tuple[str, ...] = (
    "detractor",
    "passive",
    "promoter",
    "dissatisfied",
    "neutral",
    "satisfied",
    "unscored",
)
MAX_COMMENT_CHARS = 400  # a longer comment is cut there, with an ellipsis

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# a run of 6 or more digits, possibly split by spaces, dots, dashes, slashes or brackets, with an
# optional leading +: a phone number when it has a separator or a +, else a long number
DIGITS = re.compile(r"\+?\(?\d(?:[\s().\-/]{0,2}\d){5,}")
# a calendar date is not personal: 2026-11-15, 15/11/2026, 15.11.26
DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
EMAIL_MASK, PHONE_MASK, NUMBER_MASK, NAME_MASK = "[email]", "[phone]", "[number]", "[name]"


def _digits(match: re.Match[str]) -> str:
    text = match.group(0)
    if DATE.fullmatch(text):
        return text
    if text.startswith("+") or re.search(r"[\s().\-/]", text):
        return PHONE_MASK
    return NUMBER_MASK


def scrub_comment(text: str, name: str | None = None) -> str:
    """The comment with emails, phone numbers, runs of 6+ digits and the respondent's own name
    (each word of `name` of 2+ letters, whole words, any case) masked; cut to MAX_COMMENT_CHARS."""
    out = EMAIL.sub(EMAIL_MASK, text)
    out = DIGITS.sub(_digits, out)
    for word in sorted(set(re.findall(r"\w{2,}", name or "")), key=len, reverse=True):
        if word.isdigit():
            continue  # digits are masked above
        out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", NAME_MASK, out, flags=re.IGNORECASE)
    out = " ".join(out.split())  # line breaks and runs of spaces as one space
    if len(out) > MAX_COMMENT_CHARS:
        out = out[: MAX_COMMENT_CHARS - 1].rstrip() + "…"
    return out


def read_digests(
    conn: duckdb.DuckDBPyConnection, settings: Settings, week: Week
) -> dict[str, dict[str, Any]]:
    """Every report segment's digest of the week (`all` and each tier: its respondents' tier in the
    week's start snapshot): score counts per scale ({"nps": [(score, answers), ...], "csat": [...]})
    and the scrubbed comments by class. One query each for every segment; a segment without
    answers has empty scores and comments (`digest_of`)."""
    params = {
        "period_start": week.start,
        "period_end": week.end,
        "start_as_of": week.start.fromordinal(week.start.toordinal() - 1),
        "tiers": list(TIERS),
        "all_key": ALL,
    }
    digests: dict[str, dict[str, Any]] = {}
    for r in engine.query_file(conn, "reports/score_distribution.sql", params):
        seg = digest_of(digests, r["report_segment"], settings)
        seg["scores"].setdefault(r["scale"], []).append((r["score"], r["answers"]))
    rows = engine.query_file(
        conn,
        "reports/week_comments.sql",
        {
            **params,
            "per_class": settings.reports.comments_per_class,
            "classes": list(COMMENT_CLASSES),
        },
    )
    for r in rows:
        seg = digest_of(digests, r["report_segment"], settings)
        seg["comments"].setdefault(r["comment_class"], []).append(
            {
                "responded_at": r["responded_at"],
                "nps": r["nps"],
                "csat": r["csat"],
                "text": scrub_comment(r["comment"], r["respondent_name"]),
            }
        )
    return digests


def digest_of(
    digests: dict[str, dict[str, Any]], segment: str, settings: Settings
) -> dict[str, Any]:
    """A segment's digest in `digests`, empty when it has none yet."""
    return digests.setdefault(
        segment,
        {"scores": {}, "comments": {}, "per_class": settings.reports.comments_per_class},
    )
