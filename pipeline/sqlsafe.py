"""Guards for the few names that must be written into SQL text (core layer).

Values are always bound as parameters; only identifiers (column names from a user's header, table
names) and the session time zone are spliced into SQL, and only through these two functions.
"""

from __future__ import annotations

import re

_TZ = re.compile(r"[A-Za-z0-9_+\-/]+")


def quote_ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def checked_tz(name: str) -> str:
    """An IANA zone name safe to splice into `set TimeZone = '...'` (validated against the IANA
    database when the settings loaded; this guards the quoting)."""
    if not _TZ.fullmatch(name):
        raise ValueError(f"unusable time zone name {name!r}")
    return name
