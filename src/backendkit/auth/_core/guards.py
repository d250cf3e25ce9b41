"""Guards: what a route requires of its principal, composed with ``&``, ``|`` and ``~``.

Pure. A guard either lets a request through or names the error to raise:
:class:`InsufficientScope` for missing scopes (403 with a challenge naming them),
:class:`PermissionDenied` for anything else (403 ``FORBIDDEN``). Predicates may be
sync or async; a guard holding an async one is only checked from async code.

Example:
    >>> from backendkit.auth import Principal
    >>> owner = predicate(lambda ctx: ctx.params.get("owner") == ctx.principal.subject)
    >>> guard = require(permissions=["tasks:delete:any"]) | owner
    >>> guard.check(GuardContext(Principal("u1"), {"owner": "u1"})) is None
    True
    >>> type(guard.check(GuardContext(Principal("u1"), {"owner": "u2"}))).__name__
    'PermissionDenied'
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backendkit.auth._core.errors import DEFAULT_REALM, InsufficientScope, PermissionDenied
from backendkit.auth._core.principal import Principal
from backendkit.auth._core.rbac import check_permission
from backendkit.errors import APIError, ConfigurationError

AUTHENTICATES = "_backendkit_authenticates"
"""Set on the views the adapters' ``require`` decorators return: a decorator that must run after
authentication (``idempotent``) refuses to be put above one."""


@dataclass(frozen=True)
class GuardContext:
    """What a guard sees: the principal, the route's path parameters, and the framework's own request."""

    principal: Principal
    params: Mapping[str, Any] = field(default_factory=dict)
    request: Any = None
    realm: str = DEFAULT_REALM


Denial = APIError | None


class Guard:
    """A requirement on the principal. Combine with ``&`` (both), ``|`` (either) and ``~`` (not)."""

    is_async = False

    def check(self, ctx: GuardContext) -> Denial:
        """``None`` to let the request through, else the error to raise. Sync guards only."""
        raise NotImplementedError

    async def acheck(self, ctx: GuardContext) -> Denial:
        """:meth:`check` for async code: sync and async predicates alike."""
        return self.check(ctx)

    def __and__(self, other: Guard) -> Guard:
        return _All(self, other)

    def __or__(self, other: Guard) -> Guard:
        return _Any(self, other)

    def __invert__(self) -> Guard:
        return _Not(self)


class _Requirement(Guard):
    def __init__(self, permissions: Iterable[str], scopes: Iterable[str], roles: Iterable[str]) -> None:
        self.permissions = tuple(check_permission(p) for p in _names(permissions, "permissions"))
        self.scopes = _names(scopes, "scopes")
        self.roles = _names(roles, "roles")

    def check(self, ctx: GuardContext) -> Denial:
        principal = ctx.principal
        missing = [scope for scope in self.scopes if scope not in principal.scopes]
        if missing:
            return InsufficientScope(missing, ctx.realm)
        if any(role not in principal.roles for role in self.roles):
            return PermissionDenied()
        if any(not principal.has_permission(permission) for permission in self.permissions):
            return PermissionDenied()
        return None

    def __repr__(self) -> str:
        return f"require(permissions={list(self.permissions)}, scopes={list(self.scopes)}, roles={list(self.roles)})"


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigurationError(f"{what} is a list of names, not the string {values!r}")
    names = tuple(values)
    if not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(f"{what} are non-empty strings")
    return names


def require(
    guard: Guard | None = None,
    *,
    permissions: Iterable[str] = (),
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> Guard:
    """A guard that needs every listed scope, role and permission (scopes are checked first), and ``guard``.

    ``require()`` with nothing listed needs only an authenticated principal. Every
    adapter's ``require`` takes these same arguments and passes them here.
    """
    listed = _Requirement(permissions, scopes, roles)
    return listed if guard is None else guard & listed


class _Predicate(Guard):
    def __init__(self, test: Callable[[GuardContext], bool | Awaitable[bool]], name: str) -> None:
        self.test = test
        self.name = name
        self.is_async = inspect.iscoroutinefunction(test) or inspect.iscoroutinefunction(
            getattr(test, "__call__", None)  # noqa: B004 (a callable object's async __call__)
        )

    def check(self, ctx: GuardContext) -> Denial:
        if self.is_async:
            raise ConfigurationError(f"the predicate {self.name} is async: check it from an async view")
        return None if self.test(ctx) is True else PermissionDenied()

    async def acheck(self, ctx: GuardContext) -> Denial:
        result = self.test(ctx)
        if inspect.isawaitable(result):
            result = await result
        return None if result is True else PermissionDenied()

    def __repr__(self) -> str:
        return f"predicate({self.name})"


def predicate(test: Callable[[GuardContext], bool | Awaitable[bool]]) -> Guard:
    """A guard from ``test(ctx) -> bool`` (sync or async); only ``True`` lets the request through."""
    if not callable(test):
        raise ConfigurationError("a predicate is a callable taking a GuardContext")
    return _Predicate(test, getattr(test, "__name__", repr(test)))


class _All(Guard):
    def __init__(self, first: Guard, second: Guard) -> None:
        self.parts = (first, second)
        self.is_async = first.is_async or second.is_async

    def check(self, ctx: GuardContext) -> Denial:
        for part in self.parts:
            denial = part.check(ctx)
            if denial is not None:
                return denial
        return None

    async def acheck(self, ctx: GuardContext) -> Denial:
        for part in self.parts:
            denial = await part.acheck(ctx)
            if denial is not None:
                return denial
        return None


class _Any(Guard):
    # When both sides refuse, the left one's error is raised: write the requirement whose
    # answer the client should see (a scope to ask for, say) on the left.
    def __init__(self, first: Guard, second: Guard) -> None:
        self.parts = (first, second)
        self.is_async = first.is_async or second.is_async

    def check(self, ctx: GuardContext) -> Denial:
        first = self.parts[0].check(ctx)
        if first is None or self.parts[1].check(ctx) is None:
            return None
        return first

    async def acheck(self, ctx: GuardContext) -> Denial:
        first = await self.parts[0].acheck(ctx)
        if first is None or await self.parts[1].acheck(ctx) is None:
            return None
        return first


class _Not(Guard):
    def __init__(self, inner: Guard) -> None:
        self.inner = inner
        self.is_async = inner.is_async

    def check(self, ctx: GuardContext) -> Denial:
        return PermissionDenied() if self.inner.check(ctx) is None else None

    async def acheck(self, ctx: GuardContext) -> Denial:
        return PermissionDenied() if await self.inner.acheck(ctx) is None else None


__all__ = ["Denial", "Guard", "GuardContext", "predicate", "require"]
