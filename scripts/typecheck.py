"""Type-check the installed package `loyalty` with mypy.

mypy cannot follow the editable install's folder mapping (pipeline/ -> loyalty, assets/ ->
loyalty.assets, ...: pyproject's [tool.setuptools.package-dir]), so this script mirrors that mapping
as a tree of symlinks in the temp folder, runs `mypy` there with the repo's [tool.mypy] settings,
and prints the errors with the repo's own paths (loyalty/assets/kpis.py -> assets/kpis.py).

    .venv/bin/python scripts/typecheck.py          # exit status is mypy's
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Used only while pyproject.toml has no [tool.mypy] section; the same text goes there.
FALLBACK_CONFIG = """
[tool.mypy]
python_version = "3.11"
packages = ["loyalty"]
plugins = ["pydantic.mypy"]
warn_unused_configs = true
warn_redundant_casts = true
warn_unused_ignores = true
check_untyped_defs = false

[[tool.mypy.overrides]]
module = ["yaml.*", "pyarrow.*", "plotly.*", "xlsxwriter.*", "kaleido.*"]
ignore_missing_imports = true
"""


def package_dirs() -> dict[str, Path]:
    """Installed package name -> source folder, from pyproject (only the Python folders)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = pyproject["tool"]["setuptools"]["package-dir"]
    return {name: REPO / folder for name, folder in mapping.items() if (REPO / folder).is_dir()}


def sync_link(link: Path, target: Path) -> None:
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    with contextlib.suppress(FileExistsError):  # another run made the same link meanwhile
        link.symlink_to(target, target_is_directory=target.is_dir())


def build_tree(root: Path, mapping: dict[str, Path]) -> None:
    """root/loyalty/... mirrors the installed layout. Kept between runs (mypy's cache stays valid);
    links are added and stale ones removed, so new modules appear without a rebuild."""
    for name, folder in sorted(mapping.items(), key=lambda item: item[0].count(".")):
        target = root.joinpath(*name.split("."))
        nested = {
            other.rsplit(".", 1)[1]
            for other in mapping
            if other.startswith(name + ".") and other.count(".") == name.count(".") + 1
        }
        if not nested:
            sync_link(target, folder)
            continue
        target.mkdir(parents=True, exist_ok=True)
        wanted = {
            c.name: c for c in folder.iterdir() if c.name != "__pycache__" and c.name not in nested
        }
        for existing in target.iterdir():
            if (
                existing.is_symlink()
                and existing.name not in wanted
                and existing.name not in nested
            ):
                existing.unlink()
        for child_name, child in wanted.items():
            sync_link(target / child_name, child)


def config_file(root: Path) -> Path:
    pyproject = REPO / "pyproject.toml"
    if "mypy" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
        return pyproject
    fallback = root / "mypy_fallback.toml"
    fallback.write_text(FALLBACK_CONFIG.lstrip(), encoding="utf-8")
    return fallback


def to_repo_path(line: str, mapping: dict[str, Path]) -> str:
    """loyalty/assets/kpis.py:7: error ... -> assets/kpis.py:7: error ..."""
    for name in sorted(mapping, key=len, reverse=True):
        prefix = name.replace(".", "/") + "/"
        if line.startswith(prefix):
            return mapping[name].relative_to(REPO).as_posix() + "/" + line[len(prefix) :]
    return line


def main(argv: list[str]) -> int:
    mapping = package_dirs()
    tag = hashlib.sha1(str(REPO).encode()).hexdigest()[:10]
    root = Path(tempfile.gettempdir()) / f"loyalty-mypy-{tag}"
    root.mkdir(exist_ok=True)
    build_tree(root, mapping)
    command = [
        sys.executable, "-m", "mypy",
        "--config-file", str(config_file(root)),
        "--cache-dir", str(root / ".mypy_cache"),
        *argv,
    ]  # fmt: skip
    env = {**os.environ, "MYPYPATH": ""}
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
    for line in result.stdout.splitlines():
        print(to_repo_path(line, mapping))
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
