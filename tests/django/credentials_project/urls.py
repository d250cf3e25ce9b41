"""The admin, and backendkit's error views."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from backendkit.django.views import handler400, handler403, handler404, handler500

urlpatterns = [path("admin/", admin.site.urls)]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
