"""gunicorn's settings for the examples: ``gunicorn -c examples/gunicorn_conf.py examples.flask_app:app``.

Every line as JSON, gunicorn's own (boot, workers starting and exiting, errors with their
tracebacks) and the app's, from the master's first; no second access line (backendkit
writes one per request, with its request id). With ``-k uvicorn.workers.UvicornWorker``
for the FastAPI example, or Django's WSGI app (``examples.django_app.wsgi:application``).
"""

from backendkit.logging import gunicorn_logconfig_dict

logconfig_dict = gunicorn_logconfig_dict("INFO")
