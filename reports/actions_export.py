"""The action list as CSV, written by DuckDB beside the week's reports: one file per owner
(`loyalty_<week>_actions_<owner>.csv`, every customer routed to that owner, email masked), and, only
when `playbook.unmasked_crm_export` is on, one file for the CRM team with each customer's name, email
and phone unmasked (`crm/loyalty_<week>_actions_crm_UNMASKED.csv`: personal data, written nowhere
else; with the setting off the file is removed if an earlier run wrote it).

Formula-like text is neutralised as in every CSV (reports/lists.py); each file is written to a
temporary name and renamed. No customer row passes through Python.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from loyalty import engine
from loyalty.reports.actions import list_params
from loyalty.reports.lists import neutralised
from loyalty.reports.model import ActionsData
from loyalty.settings import Settings
from loyalty.vocab import ALL
from loyalty.weeks import Week

CRM_FOLDER = "crm"


def crm_file(week_label: str) -> str:
    return f"loyalty_{week_label}_actions_crm_UNMASKED.csv"


def _copy(conn: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    sql, bound = neutralised(conn, engine.sql_text(query), params)
    engine.copy_csv(conn, sql, bound, tmp)
    os.replace(tmp, path)


def write_action_csvs(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    week: Week,
    folder: Path,
    actions: ActionsData,
) -> dict[str, Path]:
    """Write the week's action CSVs; returns {"<owner>": path, ...} plus "crm_unmasked" when on."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    keep = set(actions.owner_files.values())
    for old in folder.glob(f"loyalty_{week.label}_actions_*.csv"):
        if old.name not in keep:
            old.unlink()  # an owner no longer in the playbook
    crm = folder / CRM_FOLDER / crm_file(week.label)
    if actions.day is not None:
        for owner, name in actions.owner_files.items():
            path = folder / name
            _copy(conn, "reports/action_list.sql", list_params(actions.day, ALL, owner, None), path)
            out[owner] = path
        if settings.playbook.unmasked_crm_export:
            crm.parent.mkdir(exist_ok=True)
            _copy(conn, "reports/action_list_crm.sql", {"as_of": actions.day}, crm)
            out["crm_unmasked"] = crm
            return out
    crm.unlink(missing_ok=True)  # the setting is off: no unmasked file stays behind
    if crm.parent.exists() and not any(crm.parent.iterdir()):
        crm.parent.rmdir()
    return out
