"""The exception-mapper registry: your exception types to API errors, once for every framework."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, overload

from backendkit.errors._exceptions import APIError

E = TypeVar("E", bound=BaseException)

Mapper = Callable[[Any], "APIError | None"]
"""``(exception) -> APIError | None``; ``None`` declines, and the search goes on up the MRO."""


class ExceptionRegistry:
    """Maps exception types to :class:`APIError` s, resolved along the MRO.

    The most specific registered class wins, so mapping ``LookupError`` and
    ``KeyError`` differently works as expected.

    Example:
        >>> from backendkit.errors import Conflict
        >>> registry = ExceptionRegistry()
        >>> class UserExists(Exception): ...
        >>> registry.register(UserExists, lambda exc: Conflict("That user already exists."))
        >>> registry.resolve(UserExists()).status
        409
    """

    def __init__(self) -> None:
        self._mappers: dict[type[BaseException], Mapper] = {}
        self._lazy: list[tuple[str, str, Mapper]] = []

    @overload
    def register(self, exc_type: type[E], mapper: Callable[[E], APIError | None]) -> None: ...

    @overload
    def register(
        self, exc_type: type[E], mapper: None = None
    ) -> Callable[[Callable[[E], APIError | None]], Callable[[E], APIError | None]]: ...

    def register(self, exc_type: type[E], mapper: Callable[[E], APIError | None] | None = None) -> Any:
        """Map ``exc_type`` (and its subclasses) with ``mapper``; usable as a decorator."""
        if mapper is not None:
            self._mappers[exc_type] = mapper
            return None

        def decorator(func: Callable[[E], APIError | None]) -> Callable[[E], APIError | None]:
            self._mappers[exc_type] = func
            return func

        return decorator

    def register_lazy(self, module: str, name: str, mapper: Mapper) -> None:
        """Map ``module.name`` once ``module`` has been imported by someone else.

        This keeps optional packages (pydantic, say) out of the import graph
        until the application itself uses them.
        """
        self._lazy.append((module, name, mapper))

    def unregister(self, exc_type: type[BaseException]) -> None:
        """Forget the mapper of exactly ``exc_type`` (subclass mappers stay)."""
        self._materialize()
        self._mappers.pop(exc_type, None)

    def resolve(self, exc: BaseException, *fallbacks: ExceptionRegistry) -> APIError | None:
        """The API error for ``exc``, or ``None`` when nothing maps it.

        At each class of the MRO this registry is asked first, then each of
        ``fallbacks`` (the framework adapters' translations) in turn.
        """
        registries = (self, *fallbacks)
        for registry in registries:
            registry._materialize()
        for cls in type(exc).__mro__:
            for registry in registries:
                mapper = registry._mappers.get(cls)
                if mapper is None:
                    continue
                result = mapper(exc)
                if result is not None:
                    return result
        return None

    def _materialize(self) -> None:
        if not self._lazy:
            return
        pending = []
        for module_name, name, mapper in self._lazy:
            module = sys.modules.get(module_name)
            exc_type = getattr(module, name, None) if module is not None else None
            if isinstance(exc_type, type) and issubclass(exc_type, BaseException):
                self._mappers.setdefault(exc_type, mapper)
            else:
                pending.append((module_name, name, mapper))
        self._lazy = pending
