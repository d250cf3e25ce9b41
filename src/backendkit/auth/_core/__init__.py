"""The pure core of authentication: compact JWS parsing, keys and key rings, claim checks, the
principal, roles and guards, JWKS documents and their cache policy.

Pure: no I/O, no framework, no driver, no clock read (``now`` is an argument). Everything in
this folder is under the pure-core import contract (``backendkit.*._core`` in pyproject.toml).
"""
