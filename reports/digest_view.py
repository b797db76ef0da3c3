"""The digest section of the HTML report (templates/_digest.html.j2): a summary line (NPS with its
range, CSAT and the response rate with their intervals and n), the score distributions, the
per-tier trends and the comments of the week by class. A panel without data says so in one line;
a week without any survey answer (and no trend) is one line altogether."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loyalty.reports import digest_charts
from loyalty.reports import intervals as iv
from loyalty.reports.digest import COMMENT_CLASSES
from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, WeekData


def _week_row(data: WeekData, seg: SegmentData) -> dict[str, Any]:
    return next(
        (r for r in seg.nps if r["period_start"] == data.week.start and r["tier"] == seg.segment),
        {},
    )


def summary(data: WeekData, seg: SegmentData, t: Translator) -> str:
    """NPS 12.0 (−3.2 – 27.1, n = 40) · CSAT 81.0% (…) · Response rate 3.1% (…); a scale without
    answers in the week is left out (a CSAT-only source shows no NPS), "low sample" when NPS has
    answers but fewer than metrics.nps_low_sample."""
    r = _week_row(data, seg)
    nps = iv.with_interval(
        t, r.get("nps"), r.get("nps_low"), r.get("nps_high"), r.get("responses"), points=True
    )
    csat = iv.with_interval(
        t, r.get("csat"), r.get("csat_low"), r.get("csat_high"), r.get("csat_n")
    )
    rate = iv.with_interval(
        t,
        r.get("response_rate"),
        r.get("response_rate_low"),
        r.get("response_rate_high"),
        r.get("active_customers"),
    )
    parts = [
        f"{t('kpi_nps')} {nps}" if r.get("responses") else "",
        f"{t('csat')} {csat}" if r.get("csat_n") else "",
        f"{t('response_rate')} {rate}",
    ]
    if r.get("responses") and r.get("low_sample"):
        parts.append(t("low_sample"))
    return " · ".join(p for p in parts if p)


def _score_text(t: Translator, c: dict[str, Any]) -> str:
    parts = []
    if c["nps"] is not None:
        parts.append(f"{t('kpi_nps')} {c['nps']}")
    if c["csat"] is not None:
        parts.append(f"CSAT {c['csat']}")
    return " · ".join(parts) or "–"


def comment_groups(seg: SegmentData, t: Translator) -> list[dict[str, Any]]:
    """One group per class that has comments, in COMMENT_CLASSES order (text escaped by Jinja)."""
    comments = seg.digest.get("comments", {})
    return [
        {
            "title": t(f"class_{cls}"),
            "cls": cls,
            "rows": [
                {
                    "date": t.date(c["responded_at"]),
                    "score": _score_text(t, c),
                    "text": c["text"],
                }
                for c in comments[cls]
            ],
        }
        for cls in COMMENT_CLASSES
        if comments.get(cls)
    ]


def digest_section(
    data: WeekData, seg: SegmentData, t: Translator, embed: Callable[[Any], Any]
) -> dict[str, Any]:
    """The view model of the digest; `embed` turns a figure into HTML (plotly.js once per file)."""
    level = f"{100 * data.uncertainty['confidence']:g}"
    min_n = data.uncertainty["min_n"]
    scores = seg.digest.get("scores", {})
    answered = any(n for counts in scores.values() for _, n in counts)
    panels_in = [
        (
            "nps_distribution",
            digest_charts.score_distribution(seg, t, "nps"),
            t("nps_distribution_note"),
            t("no_nps"),
        ),
        (
            "csat_distribution",
            digest_charts.score_distribution(seg, t, "csat"),
            t("csat_distribution_note"),
            t("no_csat"),
        ),
        (
            "tier_nps_trend",
            digest_charts.tier_trend(seg, t, "nps", min_n),
            t("tier_trend_note", level=level, min_n=min_n),
            t("no_nps"),
        ),
        (
            "tier_csat_trend",
            digest_charts.tier_trend(seg, t, "csat", min_n),
            t("tier_trend_note", level=level, min_n=min_n),
            t("no_csat"),
        ),
    ]
    drawn = [p for p in panels_in if p[1] is not None]
    if not answered and not drawn:
        return {"title": t("digest"), "empty": t("no_surveys"), "panels": [], "comments": []}
    title_of = {
        "nps_distribution": f"{t('score_distribution')} · {t('kpi_nps')}",
        "csat_distribution": f"{t('score_distribution')} · {t('csat')}",
        "tier_nps_trend": t("tier_nps_trend"),
        "tier_csat_trend": t("tier_csat_trend"),
    }
    panels = [
        {
            "id": key,
            "title": title_of[key],
            "html": embed(fig),
            "note": note if fig is not None else "",
            "empty": empty,
        }
        for key, fig, note, empty in panels_in
    ]
    return {
        "title": t("digest"),
        "empty": "",
        "summary": summary(data, seg, t) if answered else t("no_surveys"),
        "response_note": t("response_rate_note"),
        "panels": panels,
        "comments": comment_groups(seg, t),
        "comments_note": t("comments_note", n=seg.digest.get("per_class", 0)),
        "no_comments": t("no_comments"),
    }
