"""The package type-checks with mypy ([tool.mypy] in pyproject.toml), run through
scripts/typecheck.py because mypy cannot follow the editable install's folder mapping."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_mypy_finds_nothing():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed: pip install -e '.[test]' brings it")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "typecheck.py")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
