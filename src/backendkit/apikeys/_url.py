"""A key store from a URL: what the command line and the examples take (``--store``, an environment variable)."""

from __future__ import annotations

from backendkit.apikeys._stores.memory import KeyStore
from backendkit.errors import ConfigurationError


def store_from_url(url: str) -> KeyStore:
    """The key store ``url`` names.

    - ``redis://``, ``rediss://``, ``unix://``: ``RedisKeyStore`` (the ``redis`` extra);
    - any SQLAlchemy URL (``sqlite:///keys.db``, ``postgresql+psycopg://...``): ``SQLKeyStore``,
      its table created when missing (the ``sqlalchemy`` extra).
    """
    if not isinstance(url, str) or ("://" not in url and not url.startswith("sqlite:")):
        raise ConfigurationError(f"a key store URL is redis://... or a SQLAlchemy URL, not {url!r}")
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        from backendkit.apikeys.redis import RedisKeyStore

        return RedisKeyStore.from_url(url)
    from backendkit.apikeys.sqlalchemy import SQLKeyStore

    return SQLKeyStore.from_url(url, create=True)


__all__ = ["store_from_url"]
