"""The settings file: every key documented, the shipped files valid."""

from __future__ import annotations

from loyalty.settings import Settings, load_settings
from pydantic import BaseModel

from tests.conftest import REPO


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        key = f"{prefix}{name}"
        ann = field.annotation
        inner = [
            a
            for a in getattr(ann, "__args__", ())
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, key + ".")
        elif inner and name != "segment_map":
            is_dict = getattr(ann, "__origin__", None) is dict
            placeholder = {"sources": ".<kind>.", "kpis": ".<kpi>."}.get(name, ".")
            out += _keys(inner[0], key + (placeholder if is_dict else "."))
        else:
            out.append(key)
    return out


def test_every_settings_key_is_documented():
    doc = (REPO / "docs" / "settings.md").read_text()
    undocumented = []
    for key in _keys(Settings):
        last = key.split(".")[-1]
        if f"`{key}" not in doc and f"/ `.{last}`" not in doc and f"/ `.{last}" not in doc:
            undocumented.append(key)
    assert undocumented == []


def test_the_shipped_settings_files_are_valid():
    for path in [REPO / "settings.yaml", *sorted((REPO / "examples").glob("*.yaml"))]:
        s = load_settings(path)
        assert "orders" in s.sources, path
