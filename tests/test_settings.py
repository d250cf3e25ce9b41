from __future__ import annotations

import pytest

from backendkit import ConfigurationError
from backendkit._settings import Settings
from backendkit.errors import ExceptionRegistry, render_problem


def test_defaults() -> None:
    settings = Settings.from_mapping({})
    assert settings == Settings()
    assert settings.error_handler().debug is False


def test_security_headers_none_turns_them_off_where_other_nones_mean_not_given() -> None:
    assert Settings.from_mapping({}).security_headers is True
    assert Settings.from_mapping({}, security_headers=None).security_headers is None
    assert (
        Settings.from_mapping({"X_SECURITY_HEADERS": True}, prefix="X_", security_headers=None).security_headers is None
    )
    assert Settings.from_mapping({"X_CORS": {"allow_origins": []}}, prefix="X_", cors=None).cors == {
        "allow_origins": []
    }


def test_prefixed_keys_and_overrides() -> None:
    registry = ExceptionRegistry()
    settings = Settings.from_mapping(
        {"BACKENDKIT_ERROR_FORMAT": "problem", "BACKENDKIT_DEBUG_ERRORS": True, "SECRET_KEY": "x"},
        prefix="BACKENDKIT_",
        request_id_header="X-Correlation-ID",
        registry=registry,
        debug_errors=None,  # None means "not given"
    )
    handler = settings.error_handler()
    assert handler.renderer is render_problem
    assert handler.debug is True
    assert handler.registry is registry
    assert settings.request_id_header == "X-Correlation-ID"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"ERROR_FORMT": "problem"}, "unknown backendkit setting 'ERROR_FORMT'"),
        ({"ERROR_FORMAT": "xml"}, "unknown error format 'xml'"),
        ({"ERROR_FORMAT": 3}, "ERROR_FORMAT must be"),
        ({"DEBUG_ERRORS": "yes"}, "DEBUG_ERRORS must be True or False"),
        ({"TRUST_REQUEST_ID": 1}, "TRUST_REQUEST_ID must be True or False"),
        ({"REQUEST_ID_HEADER": "X Bad"}, "REQUEST_ID_HEADER must be a header name"),
        ({"REQUEST_ID_HEADER": ""}, "REQUEST_ID_HEADER must be a header name"),
    ],
)
def test_bad_settings_are_configuration_errors(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_mapping(mapping)


def test_configuration_error_is_a_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)
