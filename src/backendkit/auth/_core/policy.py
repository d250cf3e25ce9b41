"""The verification policy end to end, pure: take the token apart, then accept it with a chosen key.

The shell (:class:`backendkit.auth.JWTVerifier`) chooses the key between the two
steps, since that is where keys may have to be fetched, and passes the time in.
"""

from __future__ import annotations

from typing import Any

from backendkit.auth._core.claims import ClaimRules, check_claims
from backendkit.auth._core.compact import CompactJWS, parse_compact
from backendkit.auth._core.errors import InvalidToken
from backendkit.auth._core.keyring import Verify, check_header, signature_plausible


def open_token(token: object, max_size: int) -> CompactJWS:
    """The token taken apart, its header checked: everything before a key is chosen."""
    jws = parse_compact(token, max_size)
    check_header(jws.header)
    return jws


def accept(jws: CompactJWS, verify: Verify, rules: ClaimRules, now: float) -> dict[str, Any]:
    """The claims of ``jws`` if ``verify`` accepts its signature and ``rules`` its claims at ``now``."""
    if not signature_plausible(jws.header["alg"], jws.signature) or not verify(jws.signing_input, jws.signature):
        raise InvalidToken("bad_signature")
    check_claims(jws.header, jws.payload, rules, now)
    return jws.payload


__all__ = ["accept", "open_token"]
