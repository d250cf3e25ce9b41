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
