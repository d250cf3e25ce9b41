from __future__ import annotations

import sys
import types

import pytest

from backendkit.errors import APIError, BadRequest, Conflict, ExceptionRegistry, NotFound


class DomainError(Exception):
    pass


class UserExists(DomainError):
    pass


class AdminExists(UserExists):
    pass


def test_resolution_follows_the_mro() -> None:
    registry = ExceptionRegistry()
    registry.register(DomainError, lambda exc: BadRequest())
    registry.register(UserExists, lambda exc: Conflict())
    assert isinstance(registry.resolve(AdminExists()), Conflict)
    assert isinstance(registry.resolve(UserExists()), Conflict)
    assert isinstance(registry.resolve(DomainError()), BadRequest)
    assert registry.resolve(ValueError()) is None


def test_decorator_form() -> None:
    registry = ExceptionRegistry()

    @registry.register(KeyError)
    def missing(exc: KeyError) -> APIError:
        return NotFound(f"No {exc.args[0]}.")

    assert missing(KeyError("x")).message == "No x."
    resolved = registry.resolve(KeyError("user"))
    assert resolved is not None
    assert resolved.message == "No user."


def test_a_mapper_may_decline() -> None:
    registry = ExceptionRegistry()
    registry.register(UserExists, lambda exc: None)
    registry.register(DomainError, lambda exc: BadRequest())
    assert isinstance(registry.resolve(UserExists()), BadRequest)


def test_fallbacks_are_asked_per_class_after_the_registry() -> None:
    app = ExceptionRegistry()
    framework = ExceptionRegistry()
    app.register(Exception, lambda exc: BadRequest())
    framework.register(LookupError, lambda exc: NotFound())
    framework.register(Exception, lambda exc: Conflict())
    # The framework's more specific mapping wins over the app's catch-all...
    assert isinstance(app.resolve(KeyError(), framework), NotFound)
    # ...and at the same class the app wins.
    assert isinstance(app.resolve(RuntimeError(), framework), BadRequest)


def test_unregister() -> None:
    registry = ExceptionRegistry()
    registry.register(UserExists, lambda exc: Conflict())
    registry.unregister(UserExists)
    assert registry.resolve(UserExists()) is None


def test_lazy_registration_waits_for_the_module() -> None:
    registry = ExceptionRegistry()
    name = "backendkit_test_lazy_module"
    registry.register_lazy(name, "LazyError", lambda exc: Conflict())
    assert registry.resolve(RuntimeError()) is None  # module not imported: nothing to map yet

    module = types.ModuleType(name)

    class LazyError(Exception):
        pass

    module.LazyError = LazyError  # type: ignore[attr-defined]
    sys.modules[name] = module
    try:
        assert isinstance(registry.resolve(LazyError()), Conflict)
    finally:
        del sys.modules[name]


def test_pydantic_is_not_imported_by_the_core() -> None:
    import subprocess

    code = "import sys, backendkit.errors, backendkit.context; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("exc", [Conflict(), NotFound("x")])
def test_default_registry_passes_api_errors_through(exc: APIError) -> None:
    from backendkit.errors import default_registry

    assert default_registry.resolve(exc) is exc
