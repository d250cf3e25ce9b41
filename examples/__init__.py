"""The same small "tasks" API, built on FastAPI, Flask and Django."""
