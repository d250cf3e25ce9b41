"""Every public module declares a curated ``__all__``, and it is complete and real."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import pytest

import backendkit


def public_modules() -> list[str]:
    names = ["backendkit"]
    for info in pkgutil.walk_packages(backendkit.__path__, "backendkit."):
        # A Django app's migrations and commands are found by these names; their API is the schema and the command line.
        if not any(part.startswith("_") or part in ("migrations", "management") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _isort_style(name: str) -> tuple[int, str]:
    # CONSTANTS, then Classes, then everything else (the order ruff's RUF022 keeps).
    if name.isupper() and len(name) > 1:
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def test_the_public_modules_are_the_expected_ones() -> None:
    assert public_modules() == [
        "backendkit",
        "backendkit.apikeys",
        "backendkit.apikeys.redis",
        "backendkit.apikeys.sqlalchemy",
        "backendkit.asgi",
        "backendkit.asgi.http",
        "backendkit.asgi.idempotency",
        "backendkit.asgi.ratelimit",
        "backendkit.auth",
        "backendkit.auth.backends",
        "backendkit.auth.backends.jose",
        "backendkit.auth.backends.pyjwt",
        "backendkit.auth.jwks",
        "backendkit.auth.redis",
        "backendkit.auth.sqlalchemy",
        "backendkit.context",
        "backendkit.django",
        "backendkit.django.apps",
        "backendkit.django.auth",
        "backendkit.django.credentials",
        "backendkit.django.credentials.admin",
        "backendkit.django.credentials.apps",
        "backendkit.django.credentials.models",
        "backendkit.django.credentials.stores",
        "backendkit.django.drf",
        "backendkit.django.health",
        "backendkit.django.http",
        "backendkit.django.idempotency",
        "backendkit.django.metrics",
        "backendkit.django.middleware",
        "backendkit.django.pagination",
        "backendkit.django.ratelimit",
        "backendkit.django.security",
        "backendkit.django.views",
        "backendkit.errors",
        "backendkit.fastapi",
        "backendkit.fastapi.auth",
        "backendkit.fastapi.health",
        "backendkit.fastapi.http",
        "backendkit.fastapi.idempotency",
        "backendkit.fastapi.metrics",
        "backendkit.fastapi.pagination",
        "backendkit.fastapi.ratelimit",
        "backendkit.fastapi.security",
        "backendkit.flask",
        "backendkit.flask.auth",
        "backendkit.flask.health",
        "backendkit.flask.http",
        "backendkit.flask.idempotency",
        "backendkit.flask.metrics",
        "backendkit.flask.pagination",
        "backendkit.flask.ratelimit",
        "backendkit.flask.security",
        "backendkit.health",
        "backendkit.health.checks",
        "backendkit.http",
        "backendkit.http.sqlalchemy",
        "backendkit.idempotency",
        "backendkit.idempotency.redis",
        "backendkit.logging",
        "backendkit.observability",
        "backendkit.observability.opentelemetry",
        "backendkit.observability.prometheus",
        "backendkit.pagination",
        "backendkit.pagination.backend",
        "backendkit.pagination.backends",
        "backendkit.pagination.backends.django",
        "backendkit.pagination.backends.sequence",
        "backendkit.pagination.backends.sqlalchemy",
        "backendkit.proxies",
        "backendkit.ratelimit",
        "backendkit.security",
        "backendkit.starlette",
        "backendkit.starlette.auth",
        "backendkit.starlette.health",
        "backendkit.starlette.http",
        "backendkit.starlette.metrics",
        "backendkit.starlette.security",
        "backendkit.stores",
        "backendkit.stores.redis",
        "backendkit.validation",
    ]


@pytest.mark.parametrize("name", public_modules())
def test_all_is_declared_complete_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert exported == sorted(exported, key=_isort_style), "__all__ is not sorted"
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names {symbol!r}, which does not exist"
    for attr, value in vars(module).items():
        if attr.startswith("_") or isinstance(value, types.ModuleType):
            continue
        defined_here = getattr(value, "__module__", name).startswith(name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and defined_here:
            assert attr in exported, f"{name}.{attr} is public but missing from __all__"


def test_the_version_says_what_the_changelog_says() -> None:
    # A release's version has its dated section in the changelog; until then the version is a
    # development one (X.Y.Z.devN) and the changelog's first section is [Unreleased].
    import re
    from pathlib import Path

    changelog = (Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
    first = re.search(r"^## \[([^\]]+)\](.*)$", changelog, re.MULTILINE)
    assert first is not None
    released = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", backendkit.__version__)
    if released:
        assert first.group(1) == backendkit.__version__
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", first.group(2)), "a release's section carries its date"
    else:
        assert re.fullmatch(r"\d+\.\d+\.\d+\.dev\d+", backendkit.__version__)
        assert first.group(1) == "Unreleased"
