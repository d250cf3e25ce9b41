"""The model the Django backend is paged over: the same columns as the SQLAlchemy tests' table."""

from __future__ import annotations

from django.db import models


class Item(models.Model):
    id = models.IntegerField(primary_key=True)
    a = models.IntegerField(null=True)
    b = models.TextField(null=True)
    c = models.IntegerField()
    at = models.DateTimeField(null=True)
    n = models.BigIntegerField(null=True)  # the filter tests' 64-bit and decimal columns
    d = models.DecimalField(max_digits=20, decimal_places=4, null=True)

    class Meta:
        app_label = "pagination_tests"


class Task(models.Model):
    """The model docs/pagination.md pages in its Django example."""

    title = models.TextField()
    priority = models.IntegerField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = "pagination_tests"
