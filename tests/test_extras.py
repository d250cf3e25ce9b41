"""Importing an integration without its extra fails with a message that names the extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backendkit import MissingExtraError

CASES = [
    ("backendkit.fastapi", "fastapi", "fastapi"),
    ("backendkit.starlette", "starlette", "fastapi"),
    ("backendkit.flask", "flask", "flask"),
    ("backendkit.django", "django", "django"),
    ("backendkit.ratelimit", "limits", "ratelimit"),
    ("backendkit.observability.opentelemetry", "opentelemetry", "opentelemetry"),
    ("backendkit.observability.prometheus", "prometheus_client", "prometheus"),
    ("backendkit.auth.sqlalchemy", "sqlalchemy", "sqlalchemy"),
    ("backendkit.http.sqlalchemy", "sqlalchemy", "sqlalchemy"),
    ("backendkit.auth.redis", "redis", "redis"),
]


@pytest.mark.parametrize(("module", "blocked", "extra"), CASES)
def test_missing_extra(module: str, blocked: str, extra: str) -> None:
    # A fresh interpreter where the dependency cannot be imported (None in sys.modules).
    code = f"""
import sys
sys.modules[{blocked!r}] = None
from backendkit import MissingExtraError
try:
    import {module}
except MissingExtraError as exc:
    assert isinstance(exc, ImportError)
    print(exc.extra, "|", exc)
else:
    raise SystemExit("imported without its extra")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    extra_attr, message = out.strip().split(" | ", 1)
    assert extra_attr == extra
    assert f'pip install "backendkit[{extra}]"' in message
    assert module in message


def test_the_core_imports_without_any_framework() -> None:
    blocked = ["fastapi", "starlette", "flask", "werkzeug", "django", "redis", "pydantic"]
    code = "import sys\n" + "".join(f"sys.modules[{b!r}] = None\n" for b in blocked)
    code += "import backendkit, backendkit.errors, backendkit.context, backendkit.asgi, backendkit.validation\n"
    code += "import backendkit.http, backendkit.asgi.http\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_validation_without_pydantic_names_the_extra() -> None:
    code = """
import sys
sys.modules["pydantic"] = None
from backendkit.validation import validate
from backendkit import MissingExtraError
try:
    validate(object, {})
except MissingExtraError as exc:
    print(exc.extra)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "pydantic"


def test_missing_extra_error_is_an_import_error() -> None:
    err = MissingExtraError(extra="redis", module="backendkit.ratelimit", missing="redis")
    assert isinstance(err, ImportError)
    assert err.name == "redis"


def _closure(extras: tuple[str, ...]) -> set[str]:
    """The distributions ``pip install "backendkit[extras]"`` brings, by normalised name (from the metadata)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    wanted: list[tuple[str, tuple[str, ...]]] = [("backendkit", extras)]
    found: set[str] = set()
    while wanted:
        name, picked = wanted.pop()
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requirements:
            requirement = Requirement(text)
            environments = [{"extra": e} for e in picked] or [{"extra": ""}]
            if requirement.marker is not None and not any(requirement.marker.evaluate(e) for e in environments):
                continue
            key = canonicalize_name(requirement.name)
            if key == "backendkit":  # backendkit[all] names the others
                wanted.append((key, tuple(requirement.extras)))
            elif key not in found:
                found.add(key)
                wanted.append((key, tuple(requirement.extras)))
    return found


_BACKEND = "from backendkit.auth.backends import default_backend"
FEATURES = [
    (("fastapi", "redis"), "import backendkit.fastapi.ratelimit\nfrom backendkit.ratelimit import AsyncRedisStore"),
    (("flask", "redis"), "import backendkit.flask.ratelimit\nfrom backendkit.ratelimit import RedisStore"),
    (("django", "redis"), "import backendkit.django.ratelimit\nfrom backendkit.ratelimit import RedisStore"),
    (("fastapi", "ratelimit"), "import backendkit.fastapi.ratelimit"),
    (("sqlalchemy",), "import backendkit.pagination.backends.sqlalchemy"),
    (("django",), "import backendkit.django.pagination"),
    (("structlog",), "from backendkit.logging import configure_logging"),
    (("fastapi", "jwt"), f"import backendkit.fastapi.auth\n{_BACKEND}\nassert default_backend().name == 'python-jose'"),
    (("flask", "pyjwt"), f"import backendkit.flask.auth\n{_BACKEND}\nassert default_backend().name == 'pyjwt'"),
    (("django", "jwt"), "import backendkit.django.auth"),
    (("jwt", "redis"), "from backendkit.auth.redis import RedisRefreshStore, RedisRevocations"),
    (("jwt", "sqlalchemy"), "from backendkit.auth.sqlalchemy import SQLRefreshStore"),
    (("sqlalchemy",), "from backendkit.http.sqlalchemy import update_if_version"),
    (("flask",), "import backendkit.flask.http"),
    (("fastapi",), "import backendkit.fastapi.http"),
    (("django",), "import backendkit.django.http"),
    (("drf", "jwt"), "import backendkit.django.drf"),
    (("fastapi", "pyjwt"), "import backendkit.starlette.auth"),
]


@pytest.mark.parametrize(("extras", "imports"), FEATURES, ids=[",".join(e) for e, _ in FEATURES])
def test_the_extras_a_user_picks_bring_what_the_feature_imports(extras: tuple[str, ...], imports: str) -> None:
    # A fresh interpreter that cannot import any installed distribution those extras would not
    # have brought: "backendkit[fastapi,redis]" once lacked limits, which every rate limit needs.
    from importlib import metadata

    from packaging.utils import canonicalize_name

    allowed = _closure(extras)
    blocked = sorted(
        module
        for module, dists in metadata.packages_distributions().items()
        if module.isidentifier()
        and not any(canonicalize_name(d) in allowed or canonicalize_name(d) == "backendkit" for d in dists)
    )
    code = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked) + imports + "\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-1500:]
