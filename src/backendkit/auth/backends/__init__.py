"""Signature backends: python-jose (the default) and PyJWT.

Example:
    >>> from backendkit.auth.backends import default_backend
    >>> default_backend().name
    'python-jose'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backendkit._extras import MissingExtraError

if TYPE_CHECKING:
    from backendkit.auth._core.backend import SignatureBackend


def default_backend() -> SignatureBackend:
    """python-jose if it is installed (the ``jwt`` extra), else PyJWT (the ``pyjwt`` extra)."""
    try:
        from backendkit.auth.backends.jose import JoseBackend
    except MissingExtraError as jose_missing:
        try:
            from backendkit.auth.backends.pyjwt import PyJWTBackend
        except MissingExtraError:
            raise jose_missing from None
        return PyJWTBackend()
    return JoseBackend()


__all__ = ["default_backend"]
