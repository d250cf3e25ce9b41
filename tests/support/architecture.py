"""The import graph of backendkit, squashed to the parts docs/architecture.md draws.

``python -m tests.support.architecture`` prints the diagram; tests/test_architecture.py checks
that the page shows exactly it, that the parts import one another without a circle and that no
import points up.
"""

from __future__ import annotations

import grimp

FEATURES = ("logging", "ratelimit", "pagination", "auth", "health", "idempotency", "http")
# Top to bottom: every import goes from a part to a part of a lower rank.
RANKS: tuple[tuple[str, ...], ...] = (
    ("fastapi",),
    ("starlette",),
    ("asgi", "flask", "django"),
    ("_runtime", "_wsgi"),
    ("security",),
    ("apikeys",),
    FEATURES,
    ("apikeys._stores", "ratelimit._stores", "idempotency._stores", "auth._stores", "pagination.backends"),
    ("stores.redis",),
    ("stores",),
    ("observability",),
    ("apikeys._core",),
    (*(f"{feature}._core" for feature in FEATURES), "observability._core", "security._core"),
    ("stores._core",),
    ("_settings",),
    ("validation",),
    ("errors", "context", "proxies", "_headers"),
    ("_extras", "_deprecation"),
)
NODES = [node for rank in RANKS for node in rank]
RANK = {node: i for i, rank in enumerate(RANKS) for node in rank}
# Public modules that only re-export a pure core, for backend authors: drawn as the core they show.
FACES = {"backendkit.pagination.backend": "pagination._core"}


def node_of(module: str) -> str | None:
    """The part of the diagram ``module`` belongs to (``None``: the package's root, or not backendkit)."""
    if module in FACES:
        return FACES[module]
    parts = module.split(".")
    if parts[0] != "backendkit" or len(parts) == 1:
        return None
    if len(parts) >= 3 and f"{parts[1]}.{parts[2]}" in RANK:
        return f"{parts[1]}.{parts[2]}"
    return parts[1] if parts[1] in RANK else None


def modules() -> list[str]:
    """Every module of backendkit but its root."""
    return sorted(m for m in grimp.build_graph("backendkit").modules if m != "backendkit")


def edges() -> set[tuple[str, str]]:
    """Every (importer, imported) pair of parts with at least one direct import between them."""
    graph = grimp.build_graph("backendkit")
    found: set[tuple[str, str]] = set()
    for module in graph.modules:
        importer = node_of(module)
        if importer is None:
            continue
        for imported_module in graph.find_modules_directly_imported_by(module):
            imported = node_of(imported_module)
            if imported is not None and imported != importer:
                found.add((importer, imported))
    return found


def reduced(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The pairs not implied by a longer path of others (each one still a real import)."""
    after: dict[str, set[str]] = {}
    for a, b in pairs:
        after.setdefault(a, set()).add(b)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        todo = [b for b in after.get(start, ()) if (start, b) != skip]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(after.get(node, ()))
        return seen

    return {(a, b) for a, b in pairs if b not in reachable(a, (a, b))}


def mermaid() -> str:
    """The diagram in Mermaid: a box per part, an arrow per import that no path of other arrows implies."""
    ids = {node: node.replace(".", "_").strip("_") for node in NODES}
    lines = ["flowchart TB"]
    lines += [f'    {ids[node]}["{node}"]' for node in NODES]
    for a, b in sorted(reduced(edges()), key=lambda e: (RANK[e[0]], e[0], RANK[e[1]], e[1])):
        lines.append(f"    {ids[a]} --> {ids[b]}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
