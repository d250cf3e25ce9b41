"""HTTP semantics: conditional requests (RFC 9110 §13), optimistic locking, deprecation and API versions.

The pure parts are here, the same for every framework: entity tags and HTTP dates,
the precondition rules and their answers (304, 412 ``PRECONDITION_FAILED``, 428
``PRECONDITION_REQUIRED``), :class:`Deprecation` (RFC 9745 ``Deprecation``, RFC 8594
``Sunset``) and :class:`Versioning`. Each framework's adapter reads the request's
headers and calls them; ``backendkit.http.sqlalchemy`` and the Django adapter update
a row only if its version is still the one the client read.

Example:
    >>> from backendkit.http import Conditions, ETag, Verdict, evaluate
    >>> asked = Conditions.parse({"If-Match": '"v3"'}.get)
    >>> evaluate("PUT", asked, etag=ETag.for_version(4))
    <Verdict.FAILED: 'failed'>
"""

from __future__ import annotations

from backendkit.http._core.answers import (
    LARGEST_VERSION,
    MALFORMED_CODE,
    VERSION_CODE,
    Check,
    NotModified,
    Preconditions,
    check,
    conditions_of,
    failed,
    gone,
    not_updated,
    version_error,
    version_number,
)
from backendkit.http._core.dates import epoch_seconds, format_http_date, parse_http_date
from backendkit.http._core.deprecation import Deprecation, merge_link
from backendkit.http._core.etags import ANY, ETag, Tags, format_tags, parse_tags, version_of
from backendkit.http._core.preconditions import (
    HEADERS,
    NONE,
    NOT_MODIFIED_DROPS,
    SAFE_READS,
    Conditions,
    MalformedPrecondition,
    Verdict,
    evaluate,
    not_modified_headers,
)
from backendkit.http._core.revalidate import ConditionalRequests, Revalidation, revalidate
from backendkit.http._core.setting import conditional_setting, versioning_setting
from backendkit.http._core.versions import Source, UnknownVersion, Versioning
from backendkit.http._exchange import (
    Finished,
    HttpExchange,
    HttpSemantics,
    api_version_var,
    carried_headers,
    get_api_version,
    request_preconditions,
)

__all__ = [
    "ANY",
    "HEADERS",
    "LARGEST_VERSION",
    "MALFORMED_CODE",
    "NONE",
    "NOT_MODIFIED_DROPS",
    "SAFE_READS",
    "VERSION_CODE",
    "Check",
    "ConditionalRequests",
    "Conditions",
    "Deprecation",
    "ETag",
    "Finished",
    "HttpExchange",
    "HttpSemantics",
    "MalformedPrecondition",
    "NotModified",
    "Preconditions",
    "Revalidation",
    "Source",
    "Tags",
    "UnknownVersion",
    "Verdict",
    "Versioning",
    "api_version_var",
    "carried_headers",
    "check",
    "conditional_setting",
    "conditions_of",
    "epoch_seconds",
    "evaluate",
    "failed",
    "format_http_date",
    "format_tags",
    "get_api_version",
    "gone",
    "merge_link",
    "not_modified_headers",
    "not_updated",
    "parse_http_date",
    "parse_tags",
    "request_preconditions",
    "revalidate",
    "version_error",
    "version_number",
    "version_of",
    "versioning_setting",
]
