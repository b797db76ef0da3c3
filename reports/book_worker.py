"""Writes segment workbooks in a process of its own (loyalty.reports.render starts it when a week's
workbooks are large): `python -m loyalty.reports.book_worker <payload> <job> [<job> ...]`.

The payload is a pickle of (WeekData, {locale: Translator}) that render wrote for this run, in the
settings' temp folder; each job is `<index>` into the list of (path, segment, locale) the payload
also holds. The jobs are shared: every worker (and render's own process, once its HTML is done)
goes through them in the same order and writes the ones it claims first (a claim file per job in
the payload's folder). A workbook is written to a temporary name and renamed, as render does. Exit
status 0 when every claimed workbook was written; otherwise the error is on stderr (no customer
data in it: the names of the workbook and segment only)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    # the workbook writer alone (not the HTML and its plotly): the process starts in half the time
    from loyalty.reports.excel import book_claims, book_failure, claim, write_segment_book

    payload, jobs = Path(argv[0]), [int(j) for j in argv[1:]]
    with payload.open("rb") as f:
        data, translators, books = pickle.load(f)
    claims = book_claims(payload)
    for j in jobs:
        if not claim(claims, j):
            continue
        path, segment, locale = books[j]
        try:
            write_segment_book(Path(path), data, segment, translators[locale])
        except Exception as e:  # the file, the segment and the kind of error, never a row
            print(book_failure(Path(path), segment, e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
