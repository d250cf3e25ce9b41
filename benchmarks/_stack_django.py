"""stack_bench.py's Django apps: backendkit's stack, and the peers' (django-ratelimit on a Redis cache,
djangorestframework-simplejwt, django-structlog, DRF's CursorPagination), both sync WSGI under gunicorn.

``GET /me`` (HS256) and ``GET /tasks?limit=20`` (a keyset page of a 1,000-row SQLite table), the rate
limit on both. No ``POST /tasks``: none of the peers a Django team picks keeps idempotency keys, so
neither variant has it.

- backendkit: ``ErrorMiddleware`` (request ids, JSON errors, the JSON access line, its default security
  headers) and ``RateLimitMiddleware`` (``RedisStore``), ``@require()`` with a ``JWTVerifier``, and
  ``paginate`` over the QuerySet (cursor mode), the items written as dicts.
- peers: django-structlog's ``RequestMiddleware`` (its two lines per request, JSON through
  ``structlog.stdlib.ProcessorFormatter``), ``@ratelimit(key="ip", block=True)`` on each view with
  Django's own ``django.core.cache.backends.redis.RedisCache`` (django-ratelimit's check only names
  django-redis's, a warning no server runs), DRF views with ``JWTStatelessUserAuthentication`` (no
  user row is read), ``CursorPagination`` ordered by ``id`` and a ``ModelSerializer``; JSON renderer only.

Each server process makes its own SQLite file (persistent connections, one per gunicorn thread).
Django is configured in the process that serves (``settings.configure``): one app per process.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import types
from typing import Any

from benchmarks._stack_common import (
    AUDIENCE,
    CREATED_AT,
    CURSOR_SECRET,
    ISSUER,
    LIMIT_PER_MINUTE,
    SECRET,
    TASKS,
    redis_url,
    sink,
)

APP_LABEL = "stack_tasks"


def _database() -> dict[str, Any]:
    handle, path = tempfile.mkstemp(prefix="stack-bench-", suffix=".sqlite3")
    os.close(handle)
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "CONN_MAX_AGE": None}}


def _setup(urls: types.ModuleType, **options: Any) -> Any:
    """Configure Django with ``options``, make and fill the tasks table; the model."""
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="stack-bench-only",
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=urls,
        DATABASES=_database(),
        USE_TZ=True,
        TIME_ZONE="UTC",
        **options,
    )
    django.setup()
    from django.db import connection, models

    class StackTask(models.Model):
        title = models.CharField(max_length=200)
        priority = models.IntegerField()
        created_at = models.DateTimeField()

        class Meta:
            app_label = APP_LABEL

    with connection.schema_editor() as editor:
        editor.create_model(StackTask)
    rows = [StackTask(id=t.id, title=t.title, priority=t.priority, created_at=CREATED_AT) for t in TASKS]
    StackTask.objects.bulk_create(rows)
    connection.close()  # each serving thread opens its own
    return StackTask


def backendkit_app() -> Any:
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.urls import path
    from django.views.decorators.http import require_GET

    from backendkit.auth import HMACKey, JWTVerifier
    from backendkit.logging import configure_logging
    from backendkit.pagination import Pagination, SortSpec
    from backendkit.ratelimit import Limit, RedisStore, SlidingWindow, by_ip

    urls = types.ModuleType("stack_urls")  # a URLconf (hashable: Django caches resolvers by it)
    model = _setup(
        urls,
        INSTALLED_APPS=["backendkit.django"],
        MIDDLEWARE=["backendkit.django.ErrorMiddleware", "backendkit.django.ratelimit.RateLimitMiddleware"],
        BACKENDKIT={
            "RATE_LIMITS": Limit(
                SlidingWindow(f"{LIMIT_PER_MINUTE}/minute"), key=by_ip(), store=RedisStore(redis_url())
            ),
            "AUTH": JWTVerifier([HMACKey(SECRET)], issuer=ISSUER, audience=AUDIENCE),
        },
    )
    configure_logging(stream=sink())
    from backendkit.django.auth import current_principal, require
    from backendkit.django.pagination import page_request, page_response, paginate
    from backendkit.django.views import handler400, handler403, handler404, handler500

    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[CURSOR_SECRET], modes=["cursor"])
    compact = {"separators": (",", ":")}

    @require_GET
    @require()
    def me(request: HttpRequest) -> JsonResponse:
        principal = current_principal(request)
        assert principal is not None
        return JsonResponse(principal.as_dict(), json_dumps_params=compact)

    @require_GET
    def list_tasks(request: HttpRequest) -> HttpResponse:
        page = paginate(model.objects.all(), page_request(request, pages))
        data = [
            {"id": t.id, "title": t.title, "priority": t.priority, "created_at": t.created_at.isoformat()}
            for t in page.items
        ]
        return page_response(page, data)

    urls.urlpatterns = [path("me", me), path("tasks", list_tasks)]
    urls.handler400, urls.handler403, urls.handler404, urls.handler500 = handler400, handler403, handler404, handler500
    return get_wsgi_application()


def _structlog_logging() -> dict[str, Any]:
    """django-structlog's lines as JSON, structlog configured the way its documentation sets it up."""
    import structlog

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": structlog.stdlib.ProcessorFormatter, "processor": structlog.processors.JSONRenderer()}
        },
        "handlers": {"sink": {"class": "logging.FileHandler", "filename": os.devnull, "formatter": "json"}},
        "loggers": {"django_structlog": {"handlers": ["sink"], "level": "INFO", "propagate": False}},
    }


def peers_app() -> Any:
    from django.core.wsgi import get_wsgi_application
    from django.urls import path

    jwt_auth = "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication"
    urls = types.ModuleType("stack_urls")  # a URLconf (hashable: Django caches resolvers by it)
    task_model = _setup(
        urls,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "django_structlog"],
        MIDDLEWARE=["django_structlog.middlewares.RequestMiddleware"],
        LOGGING=_structlog_logging(),
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url()}},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [jwt_auth],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
        SIMPLE_JWT={
            "ALGORITHM": "HS256",
            "SIGNING_KEY": SECRET,
            "AUDIENCE": AUDIENCE,
            "ISSUER": ISSUER,
            "USER_ID_CLAIM": "sub",
            "TOKEN_TYPE_CLAIM": "type",
            "AUTH_HEADER_TYPES": ("Bearer",),
        },
    )
    from django_ratelimit.decorators import ratelimit
    from rest_framework import generics, serializers
    from rest_framework.pagination import CursorPagination
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    limited = ratelimit(key="ip", rate=f"{LIMIT_PER_MINUTE}/m", block=True)

    class Me(APIView):
        permission_classes = (IsAuthenticated,)

        def get(self, request: Request) -> Response:
            claims = request.auth.payload  # the validated AccessToken
            scopes = claims.get("scope", "").split()
            return Response({"subject": claims["sub"], "roles": claims.get("roles", []), "scopes": scopes})

    class TaskSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
        class Meta:
            model = task_model
            fields = ("id", "title", "priority", "created_at")

    class TaskCursor(CursorPagination):
        ordering = "id"
        page_size = 20
        page_size_query_param = "limit"
        max_page_size = 100

    class Tasks(generics.ListAPIView):  # type: ignore[type-arg]
        queryset = task_model.objects.all()
        serializer_class = TaskSerializer
        pagination_class = TaskCursor

    urls.urlpatterns = [path("me", limited(Me.as_view())), path("tasks", limited(Tasks.as_view()))]
    return get_wsgi_application()
