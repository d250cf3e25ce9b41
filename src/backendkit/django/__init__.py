"""Django adapter: an installable app, one middleware, and JSON error views.

Set-up::

    INSTALLED_APPS = [..., "backendkit.django"]
    MIDDLEWARE = ["backendkit.django.ErrorMiddleware", ...]   # first
    BACKENDKIT = {"ERROR_FORMAT": "problem"}                  # optional

and, in the root URLconf, the error views (a system check reminds you)::

    from backendkit.django.views import handler400, handler403, handler404, handler500
"""

from __future__ import annotations

from backendkit._extras import require

require("django", extra="django", module="backendkit.django")

from backendkit.django._body import parse_json  # noqa: E402
from backendkit.django.middleware import ErrorMiddleware  # noqa: E402

__all__ = ["ErrorMiddleware", "parse_json"]
