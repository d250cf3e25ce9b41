"""The PyJWT backend: PyJWT's algorithm objects and prepared keys, each pair fixed at configuration.

Chosen over joserfc for the second backend because its per-algorithm objects
(``prepare_key``, ``from_jwk``, ``verify``, ``sign``) are a small documented API
that maps one to one onto a key bound to one algorithm, it is the library FastAPI's
documentation and most peers moved to, and it needs only ``cryptography`` (no
``ecdsa``). It adds PS256/384/512 and EdDSA. Only the algorithm objects are used;
never ``jwt.decode``. Needs the ``pyjwt`` extra.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from backendkit._extras import require

require("jwt", extra="pyjwt", module="backendkit.auth.backends.pyjwt")

from jwt.algorithms import get_default_algorithms  # noqa: E402
from jwt.exceptions import PyJWTError  # noqa: E402

from backendkit.auth._core.backend import Sign  # noqa: E402
from backendkit.auth._core.keys import ALGORITHMS, HMACKey, PrivateKey, SigningKey, VerifyingKey  # noqa: E402
from backendkit.auth.backends._crypto import check_key_object  # noqa: E402
from backendkit.errors import ConfigurationError  # noqa: E402


class PyJWTBackend:
    """Signature checks by PyJWT 2.x algorithm objects (HS, RS, PS, ES and EdDSA)."""

    name = "pyjwt"

    def __init__(self) -> None:
        self._algorithms = get_default_algorithms()
        self.algorithms = frozenset(self._algorithms) & ALGORITHMS

    def _prepared(self, key: VerifyingKey | SigningKey, *, private: bool) -> tuple[Any, Any]:
        if key.alg not in self.algorithms:
            raise ConfigurationError(f"PyJWT cannot use {key.alg}")
        algorithm = self._algorithms[key.alg]
        try:
            if isinstance(key, HMACKey):
                return algorithm, algorithm.prepare_key(key.material)
            if isinstance(key.key, (str, bytes)):
                prepared = algorithm.prepare_key(key.key)
            else:
                prepared = algorithm.from_jwk(json.dumps(dict(key.key)))
        except (PyJWTError, ValueError, TypeError) as exc:
            raise ConfigurationError(f"PyJWT cannot load this {key.alg} key: {exc}") from exc
        check_key_object(prepared, key.alg, private=private)
        return algorithm, prepared

    def verifier(self, key: VerifyingKey) -> Callable[[bytes, bytes], bool]:
        """The algorithm's ``verify`` with the prepared key bound; see :class:`backendkit.auth.SignatureBackend`."""
        algorithm, prepared = self._prepared(key, private=False)
        verify = algorithm.verify

        def check(signing_input: bytes, signature: bytes) -> bool:
            return bool(verify(signing_input, prepared, signature))

        return check

    def signer(self, key: SigningKey) -> Sign:
        """The algorithm's ``sign`` with the prepared key bound; see :class:`backendkit.auth.SignatureBackend`."""
        algorithm, prepared = self._prepared(key, private=isinstance(key, PrivateKey))
        sign = algorithm.sign

        def make(signing_input: bytes) -> bytes:
            return bytes(sign(signing_input, prepared))

        return make


__all__ = ["PyJWTBackend"]
