"""Roles to permissions, with inheritance as a DAG, and ``resource:action`` permissions with ``*``.

Pure. A role inherits every permission of the roles it names, at any depth (no
cap: a chain of a thousand roles resolves, unlike a depth-limited role manager);
a cycle or a role that is not defined is a ``ConfigurationError`` when the
policy is built, never a surprise at request time. Unknown roles in a token grant
nothing: deny by default.

Example:
    >>> roles = Roles({
    ...     "viewer": Role(grants=["tasks:read"]),
    ...     "editor": Role(inherits=["viewer"], grants=["tasks:write"]),
    ... })
    >>> sorted(roles.permissions_of(["editor", "intern"]))
    ['tasks:read', 'tasks:write']
    >>> permits(["tasks:*"], "tasks:delete")
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backendkit.errors import ConfigurationError


@dataclass(frozen=True)
class Role:
    """What one role grants, and the roles whose grants it inherits."""

    grants: Iterable[str] = ()
    inherits: Iterable[str] = ()


def check_permission(permission: str) -> str:
    """``permission`` if it is ``resource:action`` with no empty part; a ``ConfigurationError`` otherwise."""
    if not isinstance(permission, str) or not permission or any(not part for part in permission.split(":")):
        raise ConfigurationError(f"a permission is 'resource:action' with no empty part, not {permission!r}")
    return permission


class Roles:
    """A role policy: each role's effective permissions, computed once.

    Args:
        roles: Role name to :class:`Role` (or a mapping with ``grants`` and ``inherits``).
    """

    def __init__(self, roles: Mapping[str, Role | Mapping[str, Any]]) -> None:
        declared: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
        for name, spec in roles.items():
            role = spec if isinstance(spec, Role) else Role(**spec)
            grants = frozenset(check_permission(p) for p in _listed(role.grants, f"{name}.grants"))
            declared[name] = (grants, tuple(_listed(role.inherits, f"{name}.inherits")))
        for name, (_, parents) in declared.items():
            for parent in parents:
                if parent not in declared:
                    raise ConfigurationError(f"role {name!r} inherits {parent!r}, which is not defined")
        self._effective = _closure(declared)

    @property
    def names(self) -> frozenset[str]:
        """Every defined role."""
        return frozenset(self._effective)

    def permissions_of(self, roles: Iterable[str]) -> frozenset[str]:
        """The permissions ``roles`` grant, inherited ones included; undefined roles grant nothing."""
        granted: set[str] = set()
        for role in roles:
            granted |= self._effective.get(role, frozenset())
        return frozenset(granted)


def _listed(values: Iterable[str], where: str) -> list[str]:
    if isinstance(values, str):
        raise ConfigurationError(f"{where} is a list of names, not the string {values!r}")
    return list(values)


def _closure(declared: Mapping[str, tuple[frozenset[str], tuple[str, ...]]]) -> dict[str, frozenset[str]]:
    # Depth-first with an explicit stack: no recursion, so no depth limit, and a back edge is a cycle.
    effective: dict[str, frozenset[str]] = {}
    on_path: set[str] = set()
    for root in declared:
        if root in effective:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        on_path.add(root)
        while stack:
            name, index = stack[-1]
            parents = declared[name][1]
            if index < len(parents):
                stack[-1] = (name, index + 1)
                parent = parents[index]
                if parent in on_path:
                    cycle = [n for n, _ in stack[[n for n, _ in stack].index(parent) :]] + [parent]
                    raise ConfigurationError("roles inherit in a cycle: " + " -> ".join(cycle))
                if parent not in effective:
                    on_path.add(parent)
                    stack.append((parent, 0))
                continue
            stack.pop()
            on_path.discard(name)
            grants = set(declared[name][0])
            for parent in parents:
                grants |= effective[parent]
            effective[name] = frozenset(grants)
    return effective


def permits(granted: Iterable[str], needed: str) -> bool:
    """Whether any of ``granted`` covers ``needed``.

    Parts are split on ``:``; a ``*`` part matches any one part, and a trailing
    ``*`` matches the rest too (``tasks:*`` covers ``tasks:delete:any``). ``*``
    alone covers everything.
    """
    wanted = needed.split(":")
    for permission in granted:
        if permission == needed:
            return True
        if "*" in permission and _matches(permission.split(":"), wanted):
            return True
    return False


def _matches(pattern: list[str], wanted: list[str]) -> bool:
    if len(pattern) > len(wanted) or (len(pattern) < len(wanted) and pattern[-1] != "*"):
        return False
    return all(p in ("*", w) for p, w in zip(pattern, wanted, strict=False))


__all__ = ["Role", "Roles", "check_permission", "permits"]
