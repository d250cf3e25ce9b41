"""URLs of the Django example, with backendkit's JSON error views."""

from __future__ import annotations

from django.conf import settings
from django.urls import include, path

from backendkit.django.health import health_routes
from backendkit.django.views import handler400, handler403, handler404, handler500
from examples import _metrics
from examples.django_app import views

urlpatterns = [
    *health_routes(views.health),
    *_metrics.django_routes(getattr(settings, "METRICS", None)),  # with BACKENDKIT_EXAMPLE_METRICS=1
    path("", views.home),
    path("tasks", views.TaskCollection.as_view()),
    path("tasks/<int:task_id>", views.TaskItem.as_view()),
    # The API versions (BACKENDKIT["VERSIONING"] reads the first segment; version 1's answers carry its deprecation).
    path("v1/", include([path("tasks/<int:task_id>", views.task_v1)])),
    path("v2/", include([path("tasks/<int:task_id>", views.task_v2)])),
    path("legacy/tasks", views.legacy_tasks),
    path("limited", views.limited),
    path("me", views.me),
    path("admin/audit", views.audit),
    path("reports", views.reports),
    path("auth/login", views.login),
    path("auth/refresh", views.refresh),
    path("auth/logout", views.logout),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
