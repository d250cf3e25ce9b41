"""The signature backend protocol: what verification delegates, and nothing more.

A backend turns a configured key into a signature check (or a signer) once, when
a verifier is built. It never parses a token, never reads a header and never
checks a claim: that policy is backendkit's (see ``_compact``, ``_keyring`` and
``_claims``). Two backends ship in :mod:`backendkit.auth.backends`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from backendkit.auth._core.keys import SigningKey, VerifyingKey

Sign = Callable[[bytes], bytes]


class SignatureBackend(Protocol):
    """Builds key objects with their algorithm fixed, from a JOSE library."""

    name: str
    """A short name for docs and logs (``"python-jose"``, ``"pyjwt"``)."""

    algorithms: frozenset[str]
    """The algorithms this backend can bind a key to."""

    def verifier(self, key: VerifyingKey) -> Callable[[bytes, bytes], bool]:
        """``verify(signing_input, signature) -> bool`` for ``key``; ``ConfigurationError`` if unusable."""
        ...

    def signer(self, key: SigningKey) -> Sign:
        """``sign(signing_input) -> signature`` for ``key``; ``ConfigurationError`` if unusable."""
        ...


__all__ = ["Sign", "SignatureBackend"]
