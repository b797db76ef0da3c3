"""What every settings model shares: strict keys, and the error a bad settings file raises."""

from __future__ import annotations

import zoneinfo

from pydantic import BaseModel, ConfigDict


class SettingsError(Exception):
    """A settings file that cannot be used; the message names the file, the key and the problem."""


class _Strict(BaseModel):
    # An unknown key is almost always a typo; say so instead of ignoring it.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_tz(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/London')"
        ) from e
