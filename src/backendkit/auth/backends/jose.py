"""The python-jose backend (the default): its key objects, each built once with its algorithm fixed.

Only ``jose.jwk.construct`` and the key objects' ``verify``/``sign`` are used;
never ``jose.jwt.decode``, whose gaps (no binding of a header's ``alg`` to the
key, accepted DER secrets, loose claim types) backendkit closes itself.
Algorithms: HS, RS and ES at 256, 384 and 512. Needs the ``jwt`` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backendkit._extras import require

require("jose", extra="jwt", module="backendkit.auth.backends.jose")

from jose import jwk  # noqa: E402
from jose.exceptions import JOSEError  # noqa: E402

from backendkit.auth._core.backend import Sign  # noqa: E402
from backendkit.auth._core.keys import EC_ALGS, HMAC_ALGS, HMACKey, PrivateKey, SigningKey, VerifyingKey  # noqa: E402
from backendkit.auth.backends._crypto import check_key_object  # noqa: E402
from backendkit.errors import ConfigurationError  # noqa: E402


def _construct(material: Any, alg: str) -> Any:
    try:
        return jwk.construct(material, alg)
    except (JOSEError, ValueError, TypeError, KeyError) as exc:  # (an unknown crv is a bare KeyError)
        raise ConfigurationError(f"python-jose cannot load this {alg} key: {exc}") from exc


class JoseBackend:
    """Signature checks by python-jose 3.x key objects (with its ``cryptography`` backend)."""

    name = "python-jose"
    algorithms = HMAC_ALGS | frozenset({"RS256", "RS384", "RS512"}) | EC_ALGS

    def _key(self, key: VerifyingKey | SigningKey, *, private: bool) -> Any:
        if key.alg not in self.algorithms:
            raise ConfigurationError(f"python-jose cannot use {key.alg}; the pyjwt backend can")
        if isinstance(key, HMACKey):
            return _construct(key.material, key.alg)
        loaded = _construct(dict(key.key) if not isinstance(key.key, (str, bytes)) else key.key, key.alg)
        check_key_object(loaded.prepared_key, key.alg, private=private)
        return loaded

    def verifier(self, key: VerifyingKey) -> Callable[[bytes, bytes], bool]:
        """The key object's ``verify``; see :class:`backendkit.auth.SignatureBackend`."""
        verify: Callable[[bytes, bytes], bool] = self._key(key, private=False).verify
        return verify

    def signer(self, key: SigningKey) -> Sign:
        """The key object's ``sign``; see :class:`backendkit.auth.SignatureBackend`."""
        sign: Sign = self._key(key, private=isinstance(key, PrivateKey)).sign
        return sign


__all__ = ["JoseBackend"]
