"""The layering in docs/architecture.md holds: every module imports only its own layer or a lower
one, nothing below the Dagster layer imports Dagster, nobody imports the source folders by their
folder names, tests and bench reach business logic without `loyalty.assets`, modules stay small.

The check reads the source with `ast` (nothing is imported), so it sees imports inside functions.
"""

from __future__ import annotations

import ast
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.conftest import REPO

# Source folder -> the installed package it becomes (pyproject's [tool.setuptools.package-dir]).
SOURCE_ROOTS = {"pipeline": "loyalty", "assets": "loyalty.assets", "reports": "loyalty.reports"}

# Layer of each `loyalty` module, by exact name or by package prefix (`loyalty.ingest` covers
# `loyalty.ingest.files` too). A module may import its own layer or a lower one. A new module that
# matches no entry fails `test_every_module_has_a_layer`: add it here (and to docs/architecture.md).
ROOT_LAYER = 1  # `loyalty` itself (pipeline/__init__.py) re-exports nothing
LAYERS: dict[str, int] = {
    # 1 core: names, quoting, contracts, settings, connections and SQL files, metric parameters
    "loyalty.sql": 1,  # SQL files as package data
    "loyalty.vocab": 1,
    "loyalty.sqlsafe": 1,
    "loyalty.contracts": 1,
    "loyalty.settings": 1,
    "loyalty.engine": 1,
    "loyalty.metric_params": 1,
    "loyalty.weeks": 1,
    "loyalty.sizes": 1,
    "loyalty.malloc": 1,
    "loyalty.validation": 1,  # while top-level; inside loyalty.ingest it is layer 2 by prefix
    # 2 ingest, marts, generator: plain Python + DuckDB, no Dagster
    "loyalty.ingest": 2,
    "loyalty.marts": 2,
    "loyalty.generate": 2,
    "loyalty.model": 2,
    "loyalty.spark": 1,  # the Spark engine beside loyalty.engine: the same sql/ models, translated
    # ingest on Spark reuses loyalty.ingest's logic (layer 2) on the Spark engine
    "loyalty.spark.ingest": 2,
    "loyalty.spark.ingest_read": 2,
    "loyalty.spark.ingest_rules": 2,
    "loyalty.spark.ingest_tables": 2,
    "loyalty.spark.value": 2,  # the model's fit on Spark's aggregates (loyalty.model, value_model)
    # 3 reports: read -> view model -> HTML/Excel/email, no Dagster
    "loyalty.reports": 3,
    # 4 Dagster: thin assets and checks, resources, partitions, jobs, schedules, sensors
    "loyalty.orchestration": 4,
    "loyalty.assets": 4,
    "loyalty.definitions": 4,
    # 5 entry points
    "loyalty.runner": 5,
    "loyalty.runstate": 5,  # what a run leaves and a re-run compares, without Dagster
    "loyalty.cli": 5,
}
DAGSTER_FREE_BELOW = 4  # layers 1-3 never import dagster or dagster_*

MAX_LINES = 400
# Modules allowed past MAX_LINES, each with its reason. Keep this list short and explicit.
LONG_MODULE_EXCEPTIONS = {
    "reports/i18n.py": "translations table (data, not logic)",
}

# Test files that exercise the Dagster layer itself and so may import `loyalty.assets`.
DAGSTER_TEST_PREFIXES = ("test_orchestration_", "test_metrics_dagster")
FOLDER_NAMES = frozenset(SOURCE_ROOTS)  # never importable: only `loyalty` is installed


@dataclass(frozen=True)
class Module:
    path: Path  # relative to REPO
    name: str  # dotted name once installed ("" for files outside the package)
    is_package: bool


@dataclass(frozen=True)
class Import:
    target: str  # absolute dotted name of the imported module
    line: int


def layer_of(name: str) -> int | None:
    """The layer of a `loyalty` module: the longest matching entry of LAYERS."""
    if name == "loyalty":
        return ROOT_LAYER
    best: tuple[int, int] | None = None  # (length of entry, layer)
    for entry, layer in LAYERS.items():
        if (name == entry or name.startswith(entry + ".")) and (
            best is None or len(entry) > best[0]
        ):
            best = (len(entry), layer)
    return None if best is None else best[1]


def module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    root = SOURCE_ROOTS[parts[0]]
    rest = parts[1:]
    if rest and rest[-1] == "__init__":
        rest = rest[:-1]
    return ".".join([root, *rest])


@cache
def package_modules() -> tuple[Module, ...]:
    found = []
    for folder in SOURCE_ROOTS:
        for path in sorted((REPO / folder).rglob("*.py")):
            relative = path.relative_to(REPO)
            found.append(Module(relative, module_name(relative), path.name == "__init__.py"))
    return tuple(found)


@cache
def known_names() -> frozenset[str]:
    return frozenset(m.name for m in package_modules())


def other_modules(folder: str) -> tuple[Module, ...]:
    return tuple(
        Module(p.relative_to(REPO), "", p.name == "__init__.py")
        for p in sorted((REPO / folder).rglob("*.py"))
    )


def resolve_from(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module named by `from X import ...`, resolving relative imports."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: Module) -> list[Import]:
    return imports_in((REPO / module.path).read_text(encoding="utf-8"), module)


def imports_in(source: str, module: Module) -> list[Import]:
    """Every module imported anywhere in `source`: `import a.b`, `from a import b` (b counts as
    the module a.b when that module exists), and importlib.import_module/__import__ of a literal."""
    tree = ast.parse(source, str(module.path))
    found: dict[Import, None] = {}  # ordered, one entry per (target, line)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((Import(alias.name, node.lineno), None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(module, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found[Import(sub if sub in known_names() else base, node.lineno)] = None
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[Import(arg.value, node.lineno)] = None
    return sorted(found, key=lambda imp: imp.line)


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def top(name: str) -> str:
    return name.split(".", 1)[0]


def is_loyalty(name: str) -> bool:
    return top(name) == "loyalty"


def where(module: Module, imp: Import) -> str:
    return f"{module.path}:{imp.line}"


def fail_with(title: str, problems: list[str]) -> None:
    assert not problems, f"{title} ({len(problems)}):\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------


def test_the_scan_sees_the_package():
    """Guards against a vacuous pass if the folders move: the known corner modules are found."""
    names = known_names()
    for expected in ("loyalty.engine", "loyalty.settings", "loyalty.definitions", "loyalty.cli"):
        assert expected in names, f"{expected} not found under {sorted(SOURCE_ROOTS)}"
    assert any(n.startswith("loyalty.assets.") for n in names)
    assert any(n.startswith("loyalty.reports.") for n in names)


def test_the_checker_reads_every_kind_of_import():
    """The reader itself: relative, nested, from-package and dynamic imports all resolve."""
    source = (
        "import dagster as dg\n"
        "from . import engine\n"
        "from .orchestration.resources import LoyaltyResource\n"
        "from loyalty import definitions, not_a_module\n"
        "def f():\n"
        "    from loyalty.assets import kpis\n"
        "    importlib.import_module('loyalty.cli')\n"
    )
    fake = Module(Path("pipeline/fake.py"), "loyalty.fake", is_package=False)
    targets = [imp.target for imp in imports_in(source, fake)]
    assert targets == [
        "dagster",
        "loyalty.engine",
        "loyalty.orchestration.resources",
        "loyalty.definitions",
        "loyalty",
        "loyalty.assets.kpis",
        "loyalty.cli",
    ]
    assert [layer_of(t) for t in targets[1:]] == [1, 4, 4, 1, 4, 5]
    assert layer_of("loyalty.ingest.files") == 2 and layer_of("loyalty.unknown") is None


def test_module_names_are_unique():
    """x.py beside a folder x/ (a module being split up): one of the two is unimportable."""
    counts = Counter(m.name for m in package_modules())
    clashes = [
        f"{name}: " + ", ".join(str(m.path) for m in package_modules() if m.name == name)
        for name, n in counts.items()
        if n > 1
    ]
    fail_with("files that map to the same module name", clashes)


def test_every_folder_is_a_package_listed_for_the_wheel():
    """Each source folder with Python files has an __init__.py and is in pyproject's package list
    (an editable install imports a missing one anyway; the wheel would leave it out)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    problems = []
    for root in SOURCE_ROOTS:
        for folder in sorted({p.parent for p in (REPO / root).rglob("*.py")}):
            relative = folder.relative_to(REPO)
            name = module_name(relative / "__init__.py")
            if not (folder / "__init__.py").exists():
                problems.append(f"{relative}/ has no __init__.py")
            if name not in listed:
                problems.append(f"{name} ({relative}/) is not in [tool.setuptools] packages")
    fail_with("source folders that are not listed packages", problems)


def test_every_module_has_a_layer():
    problems = []
    for module in package_modules():
        if layer_of(module.name) is None:
            problems.append(f"{module.path} ({module.name})")
        for imp in imports_of(module):
            if is_loyalty(imp.target) and layer_of(imp.target) is None:
                problems.append(f"{where(module, imp)} imports {imp.target}")
    fail_with(
        "loyalty modules with no layer: add them to LAYERS in tests/test_architecture.py "
        "and to docs/architecture.md",
        problems,
    )


def test_imports_go_to_the_same_or_a_lower_layer():
    problems = []
    for module in package_modules():
        own = layer_of(module.name)
        if own is None:
            continue  # reported by test_every_module_has_a_layer
        for imp in imports_of(module):
            other = layer_of(imp.target) if is_loyalty(imp.target) else None
            if other is not None and other > own:
                problems.append(
                    f"{module.name} -> {imp.target} (layer {own} -> {other}) [{where(module, imp)}]"
                )
    fail_with("imports that go up a layer", problems)


def test_no_dagster_below_the_dagster_layer():
    problems = []
    for module in package_modules():
        own = layer_of(module.name)
        if own is None or own >= DAGSTER_FREE_BELOW:
            continue
        for imp in imports_of(module):
            if top(imp.target) == "dagster" or top(imp.target).startswith("dagster_"):
                problems.append(
                    f"{module.name} (layer {own}) imports {imp.target} [{where(module, imp)}]"
                )
    fail_with("Dagster imported below the Dagster layer", problems)


def test_nobody_imports_the_source_folders_by_name():
    problems = []
    modules = package_modules() + other_modules("tests") + other_modules("bench")
    for module in modules:
        for imp in imports_of(module):
            if top(imp.target) in FOLDER_NAMES:
                problems.append(f"{where(module, imp)} imports {imp.target} (use loyalty.*)")
    fail_with("imports of pipeline/assets/reports by folder name", problems)


def test_tests_and_bench_use_business_logic_not_assets():
    problems = []
    for module in other_modules("tests") + other_modules("bench"):
        if module.path.parts[0] == "tests" and module.path.name.startswith(DAGSTER_TEST_PREFIXES):
            continue
        for imp in imports_of(module):
            if imp.target == "loyalty.assets" or imp.target.startswith("loyalty.assets."):
                problems.append(f"{where(module, imp)} imports {imp.target}")
    fail_with(
        "tests/bench importing loyalty.assets (import the layer-2/3 function instead, or name the "
        "test file test_orchestration_*.py if it tests the Dagster layer)",
        problems,
    )


def test_modules_stay_small():
    problems = []
    for module in package_modules():
        key = module.path.as_posix()
        lines = len((REPO / module.path).read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and key not in LONG_MODULE_EXCEPTIONS:
            problems.append(f"{key}: {lines} lines")
    fail_with(
        f"modules over {MAX_LINES} lines (split them, or list a data table in "
        "LONG_MODULE_EXCEPTIONS with its reason)",
        problems,
    )


def test_long_module_exceptions_are_still_needed():
    """An exception that no longer applies is removed, so the list stays honest."""
    stale = [
        key
        for key in LONG_MODULE_EXCEPTIONS
        if not (REPO / key).exists()
        or len((REPO / key).read_text(encoding="utf-8").splitlines()) <= MAX_LINES
    ]
    assert not stale, f"remove from LONG_MODULE_EXCEPTIONS: {stale}"
