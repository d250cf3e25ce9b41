"""The vocabulary table of docs/architecture.md names only what exists: every entry imports."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[2] / "docs" / "architecture.md"
FRAMEWORKS = ["FastAPI", "Starlette", "Flask", "Django", "DRF"]


def _table() -> list[list[str]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## One vocabulary", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0] == "| Act | " + " | ".join(FRAMEWORKS) + " |"
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def _names() -> list[str]:
    return sorted(
        {name for row in _table() for cell in row[1:] for name in re.findall(r"`(backendkit\.[\w.]+)`", cell)}
    )


def test_the_table_has_a_row_per_act_and_a_cell_per_framework() -> None:
    acts = [row[0] for row in _table()]
    for act in ("install", "rate limit every request", "require roles/scopes", "current principal", "health routes"):
        assert act in acts
    for row in _table():
        assert len(row) == 1 + len(FRAMEWORKS), row[0]
        assert all(row[1:]), row[0]  # (— where the framework has nothing)


@pytest.mark.parametrize("name", _names())
def test_every_name_in_the_table_exists(name: str) -> None:
    parts = name.split(".")
    for split in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return
    raise AssertionError(f"{name} does not import")
