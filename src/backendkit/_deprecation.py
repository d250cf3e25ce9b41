"""Renamed public names, kept working for one release: a module ``__getattr__`` that warns.

A module that renamed ``old`` to ``new`` writes::

    __getattr__ = renamed(__name__, {"old": ("new", new)})

and ``from module import old`` still works, with a :class:`DeprecationWarning` naming
the new spelling. The old name is absent from ``__all__`` and from ``dir()``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any
from warnings import warn  # (a bare name: the library-messages walk reads x.warn(...) as a logger's)

WORDING = "{old} is deprecated and will be removed in the next release; use {new}"


def renamed(module: str, aliases: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving each old name of ``aliases`` (``old -> (new name, object)``)."""

    def __getattr__(name: str) -> Any:  # noqa: N807  (the module hook's own name)
        found = aliases.get(name)
        if found is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new, value = found
        warn(WORDING.format(old=f"{module}.{name}", new=new), DeprecationWarning, stacklevel=2)
        return value

    return __getattr__


def deprecated(old: str, new: str) -> None:
    """Warn that ``old`` (an argument, a value) will be removed, and what to write instead.

    The warning points at the first caller outside backendkit, however many of its own
    frames lie between (a subclass's ``__init__``, a ``Limit`` building its limiters).
    """
    warn(WORDING.format(old=old, new=new), DeprecationWarning, stacklevel=_first_outside())


def _first_outside() -> int:
    # stacklevel 1 is deprecated() itself: count its callers that are backendkit's own.
    frame = sys._getframe(2)
    level = 2
    while frame.f_back is not None and _ours(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    return level


def _ours(module: str) -> bool:
    return module == "backendkit" or module.startswith("backendkit.")


class RenamedAttribute:
    """A class attribute renamed: reading or setting the old name warns and uses the new one.

    Example:
        >>> import warnings
        >>> class Policy:
        ...     on_error = RenamedAttribute("on_error", "on_store_error")
        ...     on_store_error = "closed"
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     Policy().on_error
        'closed'
    """

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        deprecated(self.old, self.new)
        return getattr(instance, self.new)

    def __set__(self, instance: object, value: Any) -> None:
        deprecated(self.old, self.new)
        setattr(instance, self.new, value)
