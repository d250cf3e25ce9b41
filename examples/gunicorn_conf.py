"""gunicorn's settings for the examples: ``gunicorn -c examples/gunicorn_conf.py examples.flask_app:app``.

Every line as JSON, gunicorn's own (boot, workers starting and exiting, errors with their
tracebacks) and the app's, from the master's first; no second access line (backendkit
writes one per request, with its request id). With ``-k uvicorn.workers.UvicornWorker``
for the FastAPI example, or Django's WSGI app (``examples.django_app.wsgi:application``).
With ``BACKENDKIT_EXAMPLE_METRICS=1``, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
for ``-w 2`` (or more): every scrape then reports every worker.
"""

import os

from backendkit.logging import gunicorn_logconfig_dict

logconfig_dict = gunicorn_logconfig_dict("INFO")


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # A worker that exits takes its in-flight and breaker gauges with it. Imported here, as the
    # master starts: gunicorn calls child_exit from its SIGCHLD handler, and an import made there
    # can be interrupted by the next worker's exit, which then finds the module half imported
    # (seen in CI, two workers stopping together).
    from backendkit.observability.prometheus import child_exit  # noqa: F401
