"""Real exports in legacy encodings load, and a file mixing encodings loads with every line
accounted for (issue 13, "Bad input")."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.settings import load_settings
from tests.conftest import write_settings

NAME = "Renée Müller"
HEADER = "customer_id,name,region\n"


def _ingest(folder: Path, reader: dict, files: str = "customers*.csv"):
    extra = {
        "sources": {
            "orders": {"files": "orders*.csv"},
            "customers": {"files": files, "reader": reader},
        }
    }
    settings = load_settings(write_settings(folder, extra))
    with connect(settings) as conn:
        return settings, ingest_source(conn, settings, "customers")


def _rows(settings, sql: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(sql).fetchall()


def _write(folder: Path, name: str, data: bytes) -> None:
    (folder / "landing").mkdir(parents=True, exist_ok=True)
    (folder / "landing" / name).write_bytes(data)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "cp850"])
def test_a_customers_export_in_a_legacy_encoding_keeps_its_accented_names(tmp_path, encoding):
    text = HEADER + f"C1,{NAME},Nord\nC2,Zoë Ångström,Süd\n"
    _write(tmp_path, "customers_1.csv", text.encode("utf-16" if encoding == "utf-16" else encoding))
    settings, result = _ingest(tmp_path, {"encoding": encoding})
    assert _rows(settings, "select customer_id, name, region from customers order by 1") == [
        ("C1", NAME, "Nord"),
        ("C2", "Zoë Ångström", "Süd"),
    ]
    assert result.files[0].rows_loaded == 2
    assert not list((tmp_path / "tmp").glob("ingest_*"))  # the transcoded copy is removed


def test_a_gzipped_cp1252_export_with_the_euro_sign_loads(tmp_path):
    _write(
        tmp_path,
        "customers_1.csv.gz",
        gzip.compress((HEADER + "C1,Café € Bar,Ost\n").encode("cp1252")),
    )
    settings, _ = _ingest(tmp_path, {"encoding": "cp1252"}, files="customers*.csv.gz")
    assert _rows(settings, "select name from customers") == [("Café € Bar",)]


def _mixed_survey_export() -> tuple[bytes, dict[int, str]]:
    """A survey written by R on two machines: Latin-1 (é = 0xE9) and DOS code page 850 (é = 0x82)
    lines, between plain ASCII ones; returns the bytes and, per line number, the encoding used."""
    lines = [
        ("ascii", "C1,Ann Lee,North"),
        ("latin-1", "C2,José Ruiz,Sur"),
        ("ascii", "C3,Bo Chen,East"),
        ("cp850", "C4,Renée Dupré,Ouest"),
        ("ascii", "C5,Kim Park,West"),
    ]
    data = HEADER.encode()
    used = {}
    for i, (enc, line) in enumerate(lines, start=2):
        data += line.encode("ascii" if enc == "ascii" else enc) + b"\n"
        used[i] = enc
    return data, used


def test_a_file_mixing_latin1_and_cp850_lines_quarantines_the_undecodable_lines(tmp_path):
    data, used = _mixed_survey_export()
    _write(tmp_path, "customers_r.csv", data)
    settings, result = _ingest(tmp_path, {"encoding": "utf-8", "on_bad_encoding": "quarantine"})
    f = result.files[0]
    not_utf8 = sorted(line for line, enc in used.items() if enc != "ascii")
    assert _rows(settings, "select line, reason_code from quarantine order by 1") == [
        (line, "bad_encoding") for line in not_utf8
    ]
    assert f.rows_read == len(used) == f.rows_loaded + f.rows_quarantined + f.rows_filtered
    assert f.rows_quarantined == len(not_utf8)
    assert _rows(settings, "select customer_id from customers order by 1") == [
        ("C1",),
        ("C3",),
        ("C5",),
    ]


def test_a_file_mixing_encodings_loads_every_line_with_replacement_characters_counted(tmp_path):
    data, used = _mixed_survey_export()
    _write(tmp_path, "customers_r.csv", data)
    settings, result = _ingest(tmp_path, {"encoding": "utf-8", "on_bad_encoding": "replace"})
    f = result.files[0]
    not_utf8 = sorted(line for line, enc in used.items() if enc != "ascii")
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (len(used), len(used), 0)
    assert f"{len(not_utf8)} line(s) not valid utf-8" in f.note
    assert f"line {', '.join(map(str, not_utf8))}" in f.note
    names = dict(_rows(settings, "select customer_id, name from customers"))
    assert names["C2"] == "Jos\ufffd Ruiz" and names["C4"] == "Ren\ufffde Dupr\ufffd"
    assert _rows(settings, "select note from ingest_log") == [(f.note,)]


def test_the_same_mixed_file_read_as_latin1_loads_every_line(tmp_path):
    data, used = _mixed_survey_export()
    _write(tmp_path, "customers_r.csv", data)
    settings, result = _ingest(tmp_path, {"encoding": "latin-1"})
    f = result.files[0]
    assert (f.rows_read, f.rows_loaded) == (len(used), len(used))
    assert dict(_rows(settings, "select customer_id, name from customers"))["C2"] == "José Ruiz"


def test_a_cp1252_line_with_an_undefined_byte_is_quarantined_as_bad_encoding(tmp_path):
    _write(
        tmp_path, "customers_1.csv", HEADER.encode() + b"C1,Caf\xe9,Ost\nC2,Bad \x81 byte,West\n"
    )
    settings, result = _ingest(tmp_path, {"encoding": "cp1252"})
    assert _rows(settings, "select customer_id, name from customers") == [("C1", "Café")]
    assert _rows(settings, "select line, reason_code from quarantine") == [(3, "bad_encoding")]
    f = result.files[0]
    assert f.rows_read == f.rows_loaded + f.rows_quarantined == 2
