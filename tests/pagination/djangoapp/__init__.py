"""A Django app with one model, for the QuerySet pagination tests (tables made by the fixture, no migrations)."""
