"""The pure core of pagination: page and cursor parameters, the signed cursor codec, the
keyset plan (``seek``), filters and sorting, and how fetched rows become a page.

Pure: no I/O, no framework, no driver, no clock read (``now`` is an argument). Everything in
this folder is under the pure-core import contract (``backendkit.*._core`` in pyproject.toml).
"""
