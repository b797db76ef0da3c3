"""Sizes with a unit, as settings write them ('2GB', '1.5GiB'), parsed once (core layer)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


class ByteSize(str):
    """A size with a unit as written in the settings ('2GB', '1.5GiB', '512MB'), parsed once.

    The text (stripped) is what DuckDB is given, so DuckDB reads the setting exactly as written;
    `.bytes` is the same size in bytes, read as DuckDB reads it (GB = 10^9, GiB = 2^30)."""

    bytes: int

    def __new__(cls, text: str) -> ByteSize:
        m = _SIZE.fullmatch(text)
        if not m or m.group(2).lower() not in _SIZE_UNITS:
            raise ValueError("must be a size with a unit, e.g. '2GB' or '512MiB'")
        size = super().__new__(cls, text.strip())
        size.bytes = int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
        return size

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )
