"""The pure core of health checks: the report and its JSON, what a run of checks decides
(timeouts, answers), and which probe asked for what.

Pure: no I/O, no framework, no driver, no clock read (``now`` is an argument). Everything in
this folder is under the pure-core import contract (``backendkit.*._core`` in pyproject.toml).
"""
