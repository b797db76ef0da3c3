"""The NPS and CSAT digest of the HTML report: score distribution, response rate, per-tier trends
with intervals, and the week's comments by class with personal data masked and HTML escaped; a
panel without data says so in one line. Screenshots of the new panels in en and zh-CN.

The report database is the pipeline's (tests/test_reports_fixture_db.py); each test adds survey
answers of 2026-W46 to its own copy and recomputes the period marts, as a new surveys file would."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from loyalty import engine
from loyalty.marts.periods import compute_periods
from loyalty.reports.digest import COMMENT_CLASSES, read_digests, scrub_comment
from loyalty.reports.email import build_content
from loyalty.reports.queries import week_data
from loyalty.reports.render import write_week_reports
from loyalty.vocab import ALL, TIER_KEYS
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EMAIL = "lena.marsh@mail-example.org"
PHONE = "+44 7700 900456"
ORDER_NO = "98765432"
SCRIPT = "<script>alert('x')</script>"


# ------------------------------------------------------------------------------------------------
# scrubbing, without a database


@pytest.mark.parametrize(
    ("comment", "name", "expected"),
    [
        (f"Mail me at {EMAIL} please", None, "Mail me at [email] please"),
        (f"call {PHONE} today", None, "call [phone] today"),
        ("tel (11) 98765-4321 ou 11 98765 4321", None, "tel [phone] ou [phone]"),
        (f"order {ORDER_NO} never came", None, "order [number] never came"),
        ("CPF 123.456.789-09", None, "CPF [phone]"),
        ("Lena here, lena MARSH again", "Lena Marsh", "[name] here, [name] [name] again"),
        # short numbers, dates and words containing the name stay
        ("3 days late, 5 stars, on 2026-11-15", "Len", "3 days late, 5 stars, on 2026-11-15"),
        ("客服 13812345678 太慢", None, "客服 [number] 太慢"),
        ("two\nlines   here", None, "two lines here"),
    ],
)
def test_comments_are_scrubbed_of_personal_data(comment, name, expected):
    assert scrub_comment(comment, name) == expected


def test_a_long_comment_is_cut_with_an_ellipsis():
    text = scrub_comment("word " * 200)
    assert len(text) == 400 and text.endswith("…")


# ------------------------------------------------------------------------------------------------
# the digest on the pipeline's database


def _seed(settings, nps_too: bool = True) -> dict:
    """40 answers of customers of the week's start snapshot, nps i % 11 and csat 1 + i % 5, every
    fourth with a comment; the last (newest) holds the respondent's name, an email, a phone, an
    order number and a script tag. Returns what was added."""
    start = fx.WEEK.start - dt.timedelta(days=1)
    with engine.connect(settings) as conn:
        people = conn.execute(
            """select s.customer_id, c.name from customer_snapshot as s
               inner join customers as c on s.customer_id = c.customer_id
               where s.as_of = ? and c.name is not null and s.customer_id not like '=%'
               order by s.customer_id limit 40""",
            [start],
        ).fetchall()
        added = []
        for i, (cid, name) in enumerate(people):
            when = dt.datetime.combine(fx.WEEK.start, dt.time(9)) + dt.timedelta(hours=3 * i)
            comment = None
            if i == len(people) - 1:  # the newest answer: shown whatever the cap
                comment = f"I am {name}: {EMAIL}, {PHONE}, order {ORDER_NO} {SCRIPT}"
            elif i % 4 == 0 and i:
                comment = f"comment number {i}"
            row = [f"RDIG{i:03d}", cid, when, i % 11 if nps_too else None, 1 + i % 5, None, comment]
            conn.execute(
                "insert into surveys (response_id, customer_id, responded_at, nps, csat, ces, "
                "comment, _load_id, _line) values (?, ?, ?, ?, ?, ?, ?, 0, null)",
                row,
            )
            added.append({"name": name, "nps": row[3], "csat": row[4], "comment": comment})
        _rebuild_periods(conn, settings)
    return {"people": added}


def _rebuild_periods(conn, settings) -> None:
    """The period marts from scratch (--rebuild): rows written here carry no new load id."""
    conn.execute("delete from period_build_state")
    compute_periods(conn, settings)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, report_db):  # noqa: F811
    folder = tmp_path_factory.mktemp("digest")
    settings = fx.workspace(
        folder, report_db, locale=["en", "zh-CN"], reports={"segments": ["all"]}
    )
    added = _seed(settings)
    written = write_week_reports(settings, fx.WEEK)
    return settings, added, written


def _section(html: str) -> str:
    start = html.index('<section id="digest">')
    return html[start : html.index("</section>", start)]


def test_score_counts_equal_a_count_of_the_raw_answers(seeded):
    settings, _, _ = seeded
    with engine.connect(settings, read_only=True) as conn:
        raw = conn.execute(
            "select customer_id, responded_at, response_id, nps, csat from surveys "
            "where responded_at::date between ? and ?",
            [fx.WEEK.start, fx.WEEK.end],
        ).fetchall()
        digest = read_digests(conn, settings, fx.WEEK)["all"]
    latest: dict[str, tuple] = {}
    for cid, at, rid, nps, _ in raw:
        if (
            nps is not None
            and 0 <= nps <= 10
            and (cid not in latest or (at, rid) > latest[cid][:2])
        ):
            latest[cid] = (at, rid, nps)
    nps_counts = {s: sum(1 for v in latest.values() if v[2] == s) for s in range(11)}
    csat_counts = {s: sum(1 for r in raw if r[4] == s) for s in range(1, 6)}
    assert dict(digest["scores"]["nps"]) == nps_counts and sum(nps_counts.values()) >= 40
    assert dict(digest["scores"]["csat"]) == csat_counts


def _comment_class(nps_group: str | None, csat: int | None) -> str:
    if nps_group is not None:
        return nps_group
    if csat is None:
        return "unscored"
    return "satisfied" if csat >= 4 else "neutral" if csat == 3 else "dissatisfied"


def test_every_segments_digest_is_its_respondents(seeded):
    """Every segment's scores and comments, read for all segments at once, equal a count of its
    own respondents' answers (a tier: the respondent's tier in the week's start snapshot)."""
    settings, _, _ = seeded
    start = fx.WEEK.start - dt.timedelta(days=1)
    with engine.connect(settings, read_only=True) as conn:
        rel = conn.execute(
            "select r.customer_id, r.response_id, r.responded_at, r.nps, r.csat, r.nps_group, "
            "trim(src.comment) as comment, c.name, s.tier "
            "from stg_surveys as r join surveys as src using (response_id) "
            "left join customers as c on c.customer_id = r.customer_id "
            "left join (select customer_id, tier from customer_snapshot where as_of = ?) as s "
            "on s.customer_id = r.customer_id where r.response_date between ? and ?",
            [start, fx.WEEK.start, fx.WEEK.end],
        )
        cols = [d[0] for d in rel.description]
        answers = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
        digests = read_digests(conn, settings, fx.WEEK)
    per_class = settings.reports.comments_per_class
    tiers_commented = 0
    for seg in TIER_KEYS:
        mine = answers if seg == ALL else [a for a in answers if a["tier"] == seg]
        newest = sorted(mine, key=lambda a: (a["responded_at"], a["response_id"]), reverse=True)
        latest: dict[str, dict] = {}
        for a in reversed(newest):
            if a["nps"] is not None:
                latest[a["customer_id"]] = a
        nps = Counter(a["nps"] for a in latest.values())
        csat = Counter(a["csat"] for a in mine if a["csat"] is not None)
        scores = {}
        if nps:
            scores["nps"] = [(s, nps.get(s, 0)) for s in range(11)]
        if csat:
            scores["csat"] = [(s, csat.get(s, 0)) for s in range(1, 6)]
        by_class: dict[str, list] = {}
        for a in newest:
            shown = by_class.setdefault(_comment_class(a["nps_group"], a["csat"]), [])
            if a["comment"] and len(shown) < per_class:
                shown.append(
                    (a["responded_at"], a["nps"], a["csat"], scrub_comment(a["comment"], a["name"]))
                )
        comments = {cls: rows for cls, rows in by_class.items() if rows}
        digest = digests.get(seg, {"scores": {}, "comments": {}})
        assert digest["scores"] == scores, seg
        got = {
            cls: [(c["responded_at"], c["nps"], c["csat"], c["text"]) for c in rows]
            for cls, rows in digest["comments"].items()
        }
        assert got == comments, seg
        assert list(got) == [c for c in COMMENT_CLASSES if c in got], seg  # in display order
        tiers_commented += seg != ALL and bool(got)
    assert tiers_commented >= 2, "the seeded week has comments in two tiers or more"


def test_response_rate_is_active_respondents_over_active_customers(seeded):
    settings, _, written = seeded
    with engine.connect(settings, read_only=True) as conn:
        active = {
            r[0]
            for r in conn.execute(
                "select customer_id from customer_snapshot where as_of = ? and is_active",
                [fx.DAY],
            ).fetchall()
        }
        answered = {
            r[0]
            for r in conn.execute(
                "select customer_id from surveys where responded_at::date between ? and ?",
                [fx.WEEK.start, fx.WEEK.end],
            ).fetchall()
        }
        stored = conn.execute(
            "select response_rate, active_customers from nps_period "
            "where period_type = 'week' and period_start = ? and tier = 'all'",
            [fx.WEEK.start],
        ).fetchone()
    expected = len(active & answered) / len(active)
    assert stored == (pytest.approx(expected), len(active))
    html = written.files["all"]["html"].read_text(encoding="utf-8")
    assert f"Response rate {100 * expected:.1f}%" in _section(html)


def test_comments_are_shown_by_class_masked_and_escaped(seeded):
    settings, added, written = seeded
    html = written.files["all"]["html"].read_text(encoding="utf-8")
    section = _section(html)
    first = added["people"][-1]
    # the respondent's own name, the email, the phone and the order number never appear
    for secret in (EMAIL, PHONE, ORDER_NO, "900456", first["name"], *first["name"].split()):
        assert secret not in section, secret
    assert "[email]" in section and "[phone]" in section and "[number]" in section
    assert "[name]" in section
    # the script tag is text, not markup
    assert SCRIPT not in html and "&lt;script&gt;alert(" in section
    # the class headings of the comments seeded: i % 11 for i = 4, 8, ... 36 and 39
    classes = {
        ("promoter" if n >= 9 else "passive" if n >= 7 else "detractor")
        for n in (i % 11 for i in [*range(4, 40, 4), 39])
    }
    for cls in classes:
        assert f'class="comment-class {cls}"' in section, cls
    # at most reports.comments_per_class per class
    per_class = settings.reports.comments_per_class
    assert all(n <= per_class for n in _rows_per_class(section).values())
    # the Chinese report labels them in Chinese
    zh = _section(written.files["all"]["html:zh-CN"].read_text(encoding="utf-8"))
    assert "本周评论" in zh and "贬损者（0–6）" in zh and EMAIL not in zh


def _rows_per_class(section: str) -> dict[str, int]:
    parts = re.split(r'<div class="comment-class (\w+)">', section)
    return {parts[i]: parts[i + 1].count("<tr><td>") for i in range(1, len(parts), 2)}


def test_comments_never_reach_the_email(seeded):
    settings, _, _ = seeded
    with engine.connect(settings, read_only=True) as conn:
        data = week_data(conn, settings, fx.WEEK, detail=False)
    content = build_content(data, settings, attachment=b"")
    for text in (content.text, content.html):
        assert "comment number" not in text and "[email]" not in text


def test_panels_without_data_say_so_in_one_line(tmp_path, report_db):  # noqa: F811
    csat_only = fx.workspace(tmp_path / "csat", report_db, reports={"segments": ["all"]})
    (tmp_path / "csat").mkdir(exist_ok=True)
    with engine.connect(csat_only) as conn:
        conn.execute("update surveys set nps = null")
    _seed(csat_only, nps_too=False)
    html = write_week_reports(csat_only, fx.WEEK).files["all"]["html"].read_text(encoding="utf-8")
    section = _section(html)
    no_nps = "No NPS answers in this week (the source may carry CSAT only)."
    # the two NPS panels are one line each; the CSAT panels are drawn
    assert section.count(no_nps) == 2 and section.count('class="plotly-graph-div"') == 2
    assert 'class="comment-class satisfied"' in section  # CSAT classes without NPS

    (tmp_path / "none").mkdir()
    no_surveys = fx.workspace(tmp_path / "none", report_db, reports={"segments": ["all"]})
    with engine.connect(no_surveys) as conn:
        conn.execute("delete from surveys")
        _rebuild_periods(conn, no_surveys)
    html = write_week_reports(no_surveys, fx.WEEK).files["all"]["html"].read_text(encoding="utf-8")
    section = _section(html)
    assert section.count("No survey answers in this week.") == 1
    assert "plotly-graph-div" not in section and "<table" not in section


# ------------------------------------------------------------------------------------------------
# screenshots


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_digest_panels_render_in_headless_chromium(seeded, tmp_path, locale):
    _, _, written = seeded
    report = written.files["all"]["html" if locale == "en" else f"html:{locale}"]
    # the same page with everything but the digest hidden (its scripts still run)
    page = tmp_path / "digest.html"
    hide = "<style>header.top, main > *:not(#digest) { display: none !important; }</style>"
    page.write_text(report.read_text(encoding="utf-8").replace("</head>", hide + "</head>", 1))
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / f"digest_{fx.WEEK_LABEL}_all_{locale}.png"
    shot.unlink(missing_ok=True)
    done = _chromium(
        tmp_path / "p1",
        f"--screenshot={shot}",
        "--window-size=1280,1300",
        "--virtual-time-budget=5000",
        page.as_uri(),
    )
    assert shot.exists() and shot.stat().st_size > 60_000, done.stderr.decode()[-2000:]
    dom = _chromium(
        tmp_path / "p2", "--dump-dom", "--virtual-time-budget=5000", page.as_uri()
    ).stdout.decode("utf-8")
    digest = dom[dom.index('id="digest"') :]
    # four panels drawn: distribution of NPS and CSAT, NPS and CSAT by tier
    for panel in ("nps_distribution", "csat_distribution", "tier_nps_trend", "tier_csat_trend"):
        chart = digest[digest.index(f'id="chart-{panel}"') :]
        assert 'class="main-svg"' in chart[:20_000], panel
    assert ("Comments of the week" if locale == "en" else "本周评论") in digest
