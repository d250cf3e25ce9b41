"""A URLconf that forgot backendkit's error views."""

from __future__ import annotations

from tests.django.urls import ok

urlpatterns: list[object] = []
_ = ok
