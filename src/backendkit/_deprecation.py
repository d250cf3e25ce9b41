"""Renamed public names, kept working for one release: a module ``__getattr__`` that warns.

A module that renamed ``old`` to ``new`` writes::

    __getattr__ = renamed(__name__, {"old": ("new", new)})

and ``from module import old`` still works, with a :class:`DeprecationWarning` naming
the new spelling. The old name is absent from ``__all__`` and from ``dir()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from warnings import warn  # (a bare name: the library-messages walk reads x.warn(...) as a logger's)


def renamed(module: str, aliases: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving each old name of ``aliases`` (``old -> (new name, object)``)."""

    def __getattr__(name: str) -> Any:  # noqa: N807  (the module hook's own name)
        found = aliases.get(name)
        if found is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new, value = found
        warn(
            f"{module}.{name} is deprecated and will be removed in the next release; use {new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
