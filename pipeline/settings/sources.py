"""Source mappings: how a real export maps onto an input contract (docs/settings.md, "sources")."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from loyalty.settings.base import _check_tz, _Strict


class ReaderOptions(_Strict):
    """CSV reader options. Every one is passed explicitly to DuckDB: nothing is sniffed."""

    delimiter: str = ","
    header: bool = True
    quote: str = '"'
    escape: str = '"'
    encoding: Literal["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "cp850"] = "utf-8"
    # a line whose bytes are not valid in `encoding`: quarantined (reason bad_encoding) or loaded
    # with U+FFFD in place of the bad bytes (counted in ingest_log.note)
    on_bad_encoding: Literal["quarantine", "replace"] = "quarantine"
    skip: int = Field(default=0, ge=0)
    # strptime formats for text timestamps/dates; None means ISO 8601 (with or without offset)
    timestamp_format: str | None = None
    date_format: str | None = None
    # source columns typed by the reader; all others are read as text
    types: dict[str, str] = Field(default_factory=dict)
    # time zone of naive timestamps in this source (default: the business time zone)
    timezone: str | None = None

    @field_validator("delimiter", "quote", "escape")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1:
            raise ValueError("must be exactly one character")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            _check_tz(v)
        return v


class SourceMapping(_Strict):
    """How one kind of export maps onto its contract (README "Inputs").

    Either `files` (one glob) with `columns` expressions over that file's columns, or `tables`
    (alias -> glob) with a `query` joining them, in which `{alias}` stands for that table.
    """

    files: str | None = None
    tables: dict[str, str] | None = None
    query: str | None = None
    reader: ReaderOptions = ReaderOptions()
    columns: dict[str, str] = Field(default_factory=dict)
    # line-level sources: group the lines by this source expression, one row per group;
    # then every column expression must be an aggregate (e.g. "sum(Quantity * UnitPrice)")
    aggregate_by: str | None = None
    filter: str | None = None
    enabled: bool = True

    @field_validator("files")
    @classmethod
    def _files_inside_landing(cls, v: str | None) -> str | None:
        if v is not None:
            _check_glob(v)
        return v

    @field_validator("tables")
    @classmethod
    def _tables_inside_landing(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for pattern in (v or {}).values():
            _check_glob(pattern)
        return v

    @model_validator(mode="after")
    def _one_mode(self) -> SourceMapping:
        if bool(self.files) == bool(self.tables):
            raise ValueError("give either 'files' (a glob) or 'tables' with a 'query', not both")
        if self.tables and not self.query:
            raise ValueError("'tables' needs a 'query' that selects the contract columns")
        if self.query and not self.tables:
            raise ValueError("'query' needs 'tables' (alias: glob) to read from")
        return self


def _check_glob(pattern: str) -> None:
    """A glob is relative to the landing folder and stays inside it."""
    if PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).is_absolute():
        raise ValueError(
            f"glob {pattern!r} is an absolute path; give it relative to paths.landing "
            "(files are only read from the landing folder)"
        )
    if ".." in re.split(r"[/\\]", pattern):
        raise ValueError(
            f"glob {pattern!r} climbs out of the landing folder with '..'; give it relative to "
            "paths.landing, or move paths.landing"
        )
