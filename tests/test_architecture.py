"""docs/architecture.md draws the real imports: this checks the page against the code."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

from tests.support.architecture import FACES, RANK, edges, mermaid, modules, node_of, reduced

PAGE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_every_module_has_its_place_in_the_diagram() -> None:
    # A new folder or top-level module must be given a rank, or the diagram would leave it out.
    assert [m for m in modules() if node_of(m) is None] == []


def test_no_import_points_up_and_none_closes_a_circle() -> None:
    up = sorted((a, b) for a, b in edges() if RANK[a] >= RANK[b])
    assert up == []  # ranks strictly decrease along every arrow, so there is no circle either


def test_the_public_faces_of_a_core_only_re_export_it() -> None:
    graph = grimp.build_graph("backendkit")
    for module, core in FACES.items():
        imported = {node_of(m) for m in graph.find_modules_directly_imported_by(module)}
        assert imported <= {core, None}, module


def test_the_page_shows_exactly_the_diagram_of_the_code() -> None:
    found = re.search(r"```mermaid\n(.*?)\n```", PAGE.read_text(encoding="utf-8"), re.S)
    assert found is not None, "docs/architecture.md has no mermaid diagram"
    assert found.group(1) == mermaid(), "run: python -m tests.support.architecture, and paste it into the page"


def test_the_reduction_keeps_only_real_imports_and_loses_no_path() -> None:
    pairs = edges()
    kept = reduced(pairs)
    assert kept <= pairs

    def closure(arrows: set[tuple[str, str]]) -> set[tuple[str, str]]:
        reach = set(arrows)
        while True:
            more = {(a, d) for a, b in reach for c, d in reach if b == c} - reach
            if not more:
                return reach
            reach |= more

    assert closure(kept) == closure(pairs)
