"""Choosing the key for a token: the token selects among configured (kid, alg, key) entries, nothing more.

Pure: the entries hold whatever verify function a backend built for each key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from backendkit.auth._core.errors import InvalidToken
from backendkit.auth._core.keys import EC_ALGS, MAX_KID_LENGTH

Verify = Callable[[bytes, bytes], bool]
"""A key's signature check, ``verify(signing_input, signature) -> bool``, its algorithm fixed."""

# Group orders of the NIST curves (FIPS 186-4, appendix D.1.2): r and s of a valid signature lie in [1, n-1].
_CURVE_ORDERS = {
    "ES256": int("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16),
    "ES384": int(
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16
    ),
    "ES512": int(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        16,
    ),
}
_COORDINATE_BYTES = {"ES256": 32, "ES384": 48, "ES512": 66}


def ecdsa_signature_in_range(alg: str, signature: bytes) -> bool:
    """Whether an ES* signature is ``r || s`` of the curve's size with both in [1, n-1].

    A DER signature, a short one or r = s = 0 (CVE-2022-21449, "psychic signatures")
    fails here, before any library sees it.
    """
    size = _COORDINATE_BYTES[alg]
    if len(signature) != 2 * size:
        return False
    order = _CURVE_ORDERS[alg]
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    return 0 < r < order and 0 < s < order


class KeyRing:
    """Configured keys by kid, and the kid-less ones by alg.

    A token naming a ``kid`` gets exactly that key, and only if the key is bound to
    the token's ``alg``. A token naming none gets the one kid-less key bound to its
    ``alg``; if there are several, or none, it is refused as ``unknown_kid``.
    """

    def __init__(self, entries: Iterable[tuple[str | None, str, Verify]]) -> None:
        self.by_kid: dict[str, tuple[str, Verify]] = {}
        by_alg: dict[str, list[Verify]] = {}
        for kid, alg, verify in entries:
            if kid is None:
                by_alg.setdefault(alg, []).append(verify)
            else:
                self.by_kid[kid] = (alg, verify)
        self.by_alg = {alg: found[0] for alg, found in by_alg.items() if len(found) == 1}
        self.algorithms = frozenset(by_alg) | frozenset(alg for alg, _ in self.by_kid.values())

    def select(self, header: Mapping[str, Any], *, allow_missing: bool = False) -> Verify | None:
        """The verify function for a token with ``header``, or :class:`InvalidToken`.

        With ``allow_missing``, a kid this ring lacks gives ``None`` instead (the caller may fetch).
        """
        alg = header["alg"]
        kid = header.get("kid")
        if kid is None:
            verify = self.by_alg.get(alg)
            if verify is None:
                raise InvalidToken("unknown_kid" if alg in self.algorithms else "unsupported_alg")
            return verify
        found = self.by_kid.get(kid)
        if found is None:
            if allow_missing:
                return None
            raise InvalidToken("unknown_kid")
        if found[0] != alg:
            raise InvalidToken("alg_mismatch")
        return found[1]


def check_header(header: Mapping[str, Any], max_kid_length: int = MAX_KID_LENGTH) -> None:
    """Refuse a JWS header this verifier must not act on, with the reason.

    ``alg`` must be a string and never ``none`` (in any case); ``crit``, ``b64``,
    ``zip`` and ``enc`` are refused (no extension is understood; the last two mean
    JWE); ``kid`` and ``typ`` must be strings, the kid at most ``max_kid_length``.
    ``jku``, ``x5u``, ``jwk`` and ``x5c`` are never read, so never followed.
    """
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise InvalidToken("malformed")
    if alg.lower() == "none":
        raise InvalidToken("unsupported_alg")
    if "crit" in header or "b64" in header or "zip" in header or "enc" in header:
        raise InvalidToken("unsupported_header")
    if "kid" in header:
        kid = header["kid"]
        if not isinstance(kid, str):
            raise InvalidToken("malformed")  # null included: strictly typed, as the claims are
        if len(kid) > max_kid_length:
            raise InvalidToken("unknown_kid")
    if "typ" in header and not isinstance(header["typ"], str):
        raise InvalidToken("malformed")


def signature_plausible(alg: str, signature: bytes) -> bool:
    """The checks a signature's shape allows before any key is used (ES* range checks)."""
    return alg not in EC_ALGS or ecdsa_signature_in_range(alg, signature)


__all__ = ["KeyRing", "Verify", "check_header", "ecdsa_signature_in_range", "signature_plausible"]
