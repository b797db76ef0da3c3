"""What `pip install .` installs: ONE import package, `loyalty`, with its SQL files and report
templates, and nothing named `pipeline`, `assets` or `reports` at the top of site-packages.

The wheel is built from the checkout (no dependencies fetched) and its file list read; a full
install in a fresh venv, `import loyalty` and `loyalty run` outside the checkout were run by hand
for issue 10 (CHANGELOG)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def _wheel_files(tmp_path: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("loyalty_pipeline-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_the_wheel_installs_one_package_named_loyalty(tmp_path):
    files = _wheel_files(tmp_path)
    top = {f.split("/")[0] for f in files if not f.split("/")[0].endswith(".dist-info")}
    assert top == {"loyalty"}
    # every SQL file and template of the checkout is in the package, where the code looks for it
    sql = {
        f"loyalty/sql/{p.relative_to(REPO / 'sql').as_posix()}"
        for p in (REPO / "sql").rglob("*.sql")
    }
    assert sql and sql <= set(files)
    templates = {
        f"loyalty/reports/templates/{p.name}" for p in (REPO / "reports/templates").iterdir()
    }
    assert templates <= set(files)
    # every Python module of the mapped folders is installed under its loyalty.* name
    for folder, prefix in (
        ("pipeline", "loyalty"),
        ("assets", "loyalty/assets"),
        ("reports", "loyalty/reports"),
    ):
        for p in (REPO / folder).rglob("*.py"):
            assert f"{prefix}/{p.relative_to(REPO / folder).as_posix()}" in files, p
    entry = [f for f in files if f.endswith("entry_points.txt")]
    assert entry
