"""The pure core of rate limits: rates and policies, the step functions of both algorithms
(time passed in, in microseconds), decisions and their headers, key functions, the steps of
a check and the protocol of a store.

Pure: no I/O, no framework, no driver, no clock read (``now`` is an argument). Everything in
this folder is under the pure-core import contract (``backendkit.*._core`` in pyproject.toml).
"""
