"""The pure core of idempotency keys: the key parser, the request fingerprint, the stored
records and what a stored value means for a request.

Pure: no I/O, no framework, no driver, no clock read (``now`` is an argument). Everything in
this folder is under the pure-core import contract (``backendkit.*._core`` in pyproject.toml).
"""
