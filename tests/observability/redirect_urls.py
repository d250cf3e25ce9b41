"""A Django URLconf with a view that redirects, for the span-name tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path


def moved(request: HttpRequest, n: int) -> HttpResponseRedirect:
    return HttpResponseRedirect("/tasks")


urlpatterns = [path("moved/<int:n>", moved)]
