"""App config: a label of its own, so the model's table is ``pagination_tests_item``."""

from __future__ import annotations

from django.apps import AppConfig


class PaginationTestsConfig(AppConfig):
    name = "tests.pagination.djangoapp"
    label = "pagination_tests"
    default_auto_field = "django.db.models.AutoField"
