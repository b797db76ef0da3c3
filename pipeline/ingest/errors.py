"""The one error ingest raises for an export it cannot load."""

from __future__ import annotations


class IngestError(Exception):
    """An export that cannot be loaded as mapped; the message names the file and the column."""
