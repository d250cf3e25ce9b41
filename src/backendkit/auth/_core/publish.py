"""The JWK Set a service publishes for the tokens it signs: built once, the same bytes on every framework.

Pure: the keys are written by :meth:`PublicKey.to_jwk`, the document serialised
deterministically (members sorted, no spaces, keys in the order given), and the
headers decided here; each adapter's route sends ``body`` and ``headers`` as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from backendkit.auth._core.keys import HMACKey, PrivateKey, PublicKey
from backendkit.errors import ConfigurationError

JWKS_MEDIA_TYPE = "application/jwk-set+json"
"""The media type RFC 7517 §8.5.1 registers for a JWK Set (``application/json`` on request)."""

JWKS_PATH = "/.well-known/jwks.json"
"""Where the routes serve the set by default: the path most issuers and clients use."""

DEFAULT_MAX_AGE = 300
"""Seconds clients and caches may keep the set (5 minutes): publish a new key at least that long before use."""

MAX_MAX_AGE = 86400
"""The longest ``max_age`` accepted (a day): clients stop trusting a removed key within it."""

_MEDIA_TYPES = (JWKS_MEDIA_TYPE, "application/json")


def route_path(path: str, what: str = "the JWKS path") -> str:
    """``path``, checked for the routes: ``ConfigurationError`` unless it starts with ``/``."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError(f"{what} starts with '/', not {path!r}")
    return path


class JWKSDocument:
    """The public keys that verify a service's tokens, as a JWK Set (RFC 7517 §5) ready to serve.

    Each key is a :class:`PublicKey` with the ``kid`` its tokens carry (set the same
    ``kid`` on the :class:`PrivateKey` that :class:`TokenIssuer` signs with); it is
    published with its ``alg`` and ``use: "sig"``. List the next key before tokens are
    signed with it, and keep the old one until the last token it signed has expired.
    A private key, a shared secret, a key without a kid, two keys with one kid or no
    key at all is a :class:`ConfigurationError`, when the document is built.

    Args:
        keys: The public keys to publish, in the order they are listed.
        max_age: Seconds clients and caches may keep the set (``Cache-Control: public, max-age=N``), 0 to 86400.
        media_type: ``application/jwk-set+json`` (RFC 7517's) or ``application/json``.

    Attributes:
        keys: The JWKs, as published.
        body: The document's bytes.
        headers: ``Content-Type`` and ``Cache-Control``, as every route sends them.

    Example:
        >>> jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        >>> document = JWKSDocument([PublicKey(jwk, alg="EdDSA", kid="2026-11")], max_age=600)
        >>> document.body
        b'{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"2026-11","kty":"OKP","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}'
        >>> document.headers
        (('Content-Type', 'application/jwk-set+json'), ('Cache-Control', 'public, max-age=600'))
    """

    def __init__(
        self, keys: Iterable[PublicKey], *, max_age: int = DEFAULT_MAX_AGE, media_type: str = JWKS_MEDIA_TYPE
    ) -> None:
        if isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= MAX_MAX_AGE:
            raise ConfigurationError(f"max_age is a whole number of seconds from 0 to {MAX_MAX_AGE}, not {max_age!r}")
        if media_type not in _MEDIA_TYPES:
            raise ConfigurationError(f"media_type is one of {list(_MEDIA_TYPES)}, not {media_type!r}")
        published: list[dict[str, str]] = []
        for key in keys:
            if isinstance(key, HMACKey):
                raise ConfigurationError("a shared secret (HMACKey) is never published: publish public keys only")
            if isinstance(key, PrivateKey):
                raise ConfigurationError("publish the PublicKey of this PrivateKey, never the private key itself")
            if not isinstance(key, PublicKey):
                raise ConfigurationError(f"a published key is a PublicKey, not {type(key).__name__}")
            if key.kid is None:
                raise ConfigurationError("a published key needs a kid (the kid its tokens carry): clients select by it")
            if any(jwk["kid"] == key.kid for jwk in published):
                raise ConfigurationError(f"two published keys share kid {key.kid!r}")
            published.append(key.to_jwk())
        if not published:
            raise ConfigurationError("a JWKS document needs at least one key")
        self.keys: tuple[dict[str, str], ...] = tuple(published)
        self.body = json.dumps({"keys": published}, sort_keys=True, separators=(",", ":")).encode("ascii")
        self.headers = (("Content-Type", media_type), ("Cache-Control", f"public, max-age={max_age}"))


__all__ = ["DEFAULT_MAX_AGE", "JWKS_MEDIA_TYPE", "JWKS_PATH", "MAX_MAX_AGE", "JWKSDocument", "route_path"]
