"""``python -m backendkit.apikeys``: see :mod:`backendkit.apikeys._cli`."""

from __future__ import annotations

from backendkit.apikeys._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
