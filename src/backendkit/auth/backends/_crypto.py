"""Checks on a loaded ``cryptography`` key that neither JOSE library makes completely.

python-jose wraps an EC key in its RSA key class if asked to, and both libraries
verify with 1024-bit RSA keys. A key is checked once, at configuration.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from backendkit.errors import ConfigurationError

MIN_RSA_BITS = 2048
_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_RSA = (rsa.RSAPublicKey, rsa.RSAPrivateKey)
_EC = (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)
_OKP = (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey, ed448.Ed448PublicKey, ed448.Ed448PrivateKey)


def check_key_object(key: Any, alg: str, *, private: bool) -> None:
    """``ConfigurationError`` unless ``key`` is of ``alg``'s family and size, and private only if asked to be."""
    family = alg[:2]
    if family in ("RS", "PS"):
        if not isinstance(key, _RSA):
            raise ConfigurationError(f"{alg} needs an RSA key, not {type(key).__name__}")
        if key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(f"an RSA key needs at least {MIN_RSA_BITS} bits, not {key.key_size}")
    elif family == "ES":
        if not isinstance(key, _EC):
            raise ConfigurationError(f"{alg} needs an EC key, not {type(key).__name__}")
        if key.curve.name != _CURVES[alg]:
            raise ConfigurationError(f"{alg} needs a key on {_CURVES[alg]}, not {key.curve.name}")
    elif not isinstance(key, _OKP):
        raise ConfigurationError(f"{alg} needs an Ed25519 or Ed448 key, not {type(key).__name__}")
    is_private = isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, *_OKP[1::2]))
    if is_private != private:
        wanted = "a private key (to sign)" if private else "a public key (to verify)"
        raise ConfigurationError(f"this {alg} key should be {wanted}")
