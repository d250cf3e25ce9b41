"""Flask adapter: an extension for request ids and the error envelope.

Example:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> app = Flask(__name__)
    >>> app.config["BACKENDKIT_ERROR_FORMAT"] = "problem"
    >>> extension = BackendKit(app)  # or BackendKit().init_app(app) in an app factory
"""

from __future__ import annotations

from backendkit._extras import require

require("flask", extra="flask", module="backendkit.flask")

from backendkit.flask._extension import BackendKit, parse_json, translations  # noqa: E402

__all__ = ["BackendKit", "parse_json", "translations"]
