"""The pure policy: claims, roles, guards, the Authorization header, principals, and hostile input."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.auth import (
    ClaimMapping,
    GuardContext,
    HMACKey,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    JWTVerifier,
    PermissionDenied,
    Principal,
    PublicKey,
    Role,
    Roles,
    bearer_token,
    permits,
    predicate,
    require,
)
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend
from backendkit.errors import ConfigurationError
from tests.auth.keys import AUDIENCE, ISSUER, NOW, claims, forge, token, verifying_keys

VERIFIER = JWTVerifier(verifying_keys(), issuer=ISSUER, audience=AUDIENCE)


def test_leeway_is_bounded_and_applied() -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier(verifying_keys(), leeway=61)
    with pytest.raises(ConfigurationError):
        JWTVerifier(verifying_keys(), leeway=-1)
    lenient = JWTVerifier(verifying_keys(), issuer=ISSUER, audience=AUDIENCE, leeway=30)
    assert lenient.verify(token(exp=int(NOW) - 20), now=NOW).subject == "user-1"
    with pytest.raises(InvalidToken) as caught:
        lenient.verify(token(exp=int(NOW) - 31), now=NOW)
    assert caught.value.reason == "expired"
    assert lenient.verify(token(nbf=int(NOW) + 20, iat=int(NOW) + 20), now=NOW).subject == "user-1"


def test_exp_at_the_instant_is_expired() -> None:
    strict = JWTVerifier(verifying_keys(), leeway=0)
    with pytest.raises(InvalidToken):
        strict.verify(token(exp=int(NOW)), now=NOW)
    assert strict.verify(token(exp=int(NOW) + 1), now=NOW).subject == "user-1"


@pytest.mark.parametrize(("typ", "accepted"), [("at+jwt", True), ("application/AT+JWT", True), ("JWT", False)])
def test_typ_is_enforced_where_configured(typ: str, accepted: bool) -> None:
    verifier = JWTVerifier(verifying_keys(), typ="at+jwt")
    tok = forge({"alg": "HS256", "typ": typ}, claims())
    if accepted:
        assert verifier.verify(tok, now=NOW).subject == "user-1"
    else:
        with pytest.raises(InvalidToken) as caught:
            verifier.verify(tok, now=NOW)
        assert caught.value.reason == "wrong_type"
    with pytest.raises(InvalidToken):
        verifier.verify(forge({"alg": "HS256"}, claims()), now=NOW)


def test_required_claims_and_revocation_need_their_claims() -> None:
    from backendkit.auth import MemoryRevocations

    verifier = JWTVerifier(verifying_keys(), required_claims=["tenant"])
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token(), now=NOW)
    assert caught.value.reason == "missing_claim"
    assert verifier.verify(token(tenant="t1"), now=NOW).claims["tenant"] == "t1"
    revocable = JWTVerifier(verifying_keys(), revocations=MemoryRevocations())
    with pytest.raises(InvalidToken) as caught:
        revocable.verify(token(jti=...), now=NOW)
    assert caught.value.reason == "missing_claim"


def test_revoke_then_verify_says_revoked_until_exp() -> None:
    from backendkit.auth import MemoryRevocations

    revocations = MemoryRevocations()
    verifier = JWTVerifier(verifying_keys(), revocations=revocations)
    tok = token()
    principal = verifier.verify(tok, now=NOW)
    verifier.revoke(principal, now=NOW)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(tok, now=NOW + 1)
    assert caught.value.reason == "revoked"
    with pytest.raises(InvalidToken) as caught:
        asyncio.run(verifier.averify(tok, now=NOW + 1))
    assert caught.value.reason == "revoked"
    assert verifier.verify(token(jti="other"), now=NOW).subject == "user-1"
    revocations.revoke("later", expires_at=NOW + 2000, now=NOW + 700)  # the sweep forgets the expired entry
    assert len(revocations) == 1


@given(st.binary(max_size=600))
def test_random_bytes_raise_nothing_but_invalid_token(data: bytes) -> None:
    for candidate in (data.decode("latin-1"), base64.urlsafe_b64encode(data).decode(), _dotted(data)):
        with pytest.raises(InvalidToken):
            VERIFIER.verify(candidate, now=NOW)


def _dotted(data: bytes) -> str:
    third = max(1, len(data) // 3)
    parts = [data[:third], data[third : 2 * third], data[2 * third :] or b"x"]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts)


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
            max_leaves=12,
        ),
        max_size=8,
    )
)
def test_signed_arbitrary_claims_raise_nothing_but_invalid_token_or_pass(payload: dict[str, object]) -> None:
    tok = forge({"alg": "HS256"}, payload)
    try:
        principal = VERIFIER.verify(tok, now=NOW)
    except InvalidToken:
        return
    assert isinstance(principal.subject, str)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ([], None),
        ("Bearer abc", "abc"),
        ("bEaReR  a.b.c ", "a.b.c"),
        ("Basic dXNlcg==", None),
        (["Bearer x"], "x"),
        ("Bearer a+/b==", "a+/b=="),
    ],
)
def test_bearer_token_reads_the_header(value: object, expected: str | None) -> None:
    assert bearer_token(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer é", ["Bearer a", "Bearer b"], "Bearer\ta", "(bad) x"],
)
def test_a_malformed_authorization_header_is_invalid_request(value: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        bearer_token(value)  # type: ignore[arg-type]
    assert caught.value.status == 400
    assert caught.value.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_request"'


@given(st.text(max_size=200))
def test_bearer_token_never_raises_anything_else(value: str) -> None:
    with contextlib.suppress(InvalidRequest):
        bearer_token(value)


def test_challenges_quote_the_realm() -> None:
    err = InvalidToken("expired", realm='a "quoted" \\ realm\r\n')
    assert err.headers["WWW-Authenticate"] == (
        'Bearer realm="a \\"quoted\\" \\\\ realm", error="invalid_token", '
        'error_description="The access token is invalid or has expired."'
    )
    assert InsufficientScope(["a", "b"]).headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="a b"'
    )
    with pytest.raises(ValueError, match="unknown reason"):
        InvalidToken("because")


ROLES = Roles(
    {
        "viewer": Role(grants=["tasks:read"]),
        "editor": Role(inherits=["viewer"], grants=["tasks:write"]),
        "admin": Role(inherits=["editor"], grants=["audit:read"]),
        "root": {"grants": ["*"]},
    }
)


def test_roles_inherit_transitively() -> None:
    assert ROLES.permissions_of(["admin"]) == {"tasks:read", "tasks:write", "audit:read"}
    assert ROLES.permissions_of(["viewer", "nobody"]) == {"tasks:read"}
    assert ROLES.permissions_of([]) == frozenset()


def test_a_cycle_or_an_undefined_parent_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="a -> b -> c -> a"):
        Roles({"a": Role(inherits=["b"]), "b": Role(inherits=["c"]), "c": Role(inherits=["a"])})
    with pytest.raises(ConfigurationError, match="cycle"):
        Roles({"a": Role(inherits=["a"])})
    with pytest.raises(ConfigurationError, match="not defined"):
        Roles({"a": Role(inherits=["ghost"])})
    with pytest.raises(ConfigurationError):
        Roles({"a": Role(grants="tasks:read")})
    with pytest.raises(ConfigurationError):
        Roles({"a": Role(grants=["tasks::read"])})


def test_a_deep_chain_resolves_without_a_depth_cap() -> None:
    chain = {f"r{i}": Role(inherits=[f"r{i + 1}"], grants=[f"p:{i}"]) for i in range(5000)}
    chain["r5000"] = Role(grants=["p:end"])
    roles = Roles(chain)
    assert len(roles.permissions_of(["r0"])) == 5001


@pytest.mark.parametrize(
    ("granted", "needed", "expected"),
    [
        (["tasks:read"], "tasks:read", True),
        (["tasks:read"], "tasks:write", False),
        (["tasks:*"], "tasks:delete", True),
        (["tasks:*"], "tasks:delete:any", True),
        (["*"], "audit:read", True),
        (["*:read"], "audit:read", True),
        (["*:read"], "audit:write", False),
        (["tasks:*:own"], "tasks:delete:any", False),
        (["tasks:*:own"], "tasks:delete:own", True),
        (["tasks:read:own"], "tasks:read", False),
        (["task:*"], "tasks:read", False),
    ],
)
def test_permission_patterns(granted: list[str], needed: str, expected: bool) -> None:
    assert permits(granted, needed) is expected


def _ctx(principal: Principal, **params: object) -> GuardContext:
    return GuardContext(principal, params)


ADMIN = Principal("u1", frozenset({"admin"}), frozenset({"reports:read"}), ROLES.permissions_of(["admin"]))
VIEWER = Principal("u2", frozenset({"viewer"}), frozenset(), ROLES.permissions_of(["viewer"]))


def test_require_checks_scopes_first_then_roles_and_permissions() -> None:
    assert require().check(_ctx(VIEWER)) is None
    assert require(permissions=["tasks:read"]).check(_ctx(VIEWER)) is None
    denial = require(permissions=["audit:read"], scopes=["reports:read"]).check(_ctx(VIEWER))
    assert isinstance(denial, InsufficientScope)
    assert denial.scopes == ("reports:read",)
    assert isinstance(require(permissions=["audit:read"]).check(_ctx(VIEWER)), PermissionDenied)
    assert isinstance(require(roles=["admin"]).check(_ctx(VIEWER)), PermissionDenied)
    assert require(roles=["admin"], permissions=["audit:read"], scopes=["reports:read"]).check(_ctx(ADMIN)) is None
    with pytest.raises(ConfigurationError):
        require(permissions="audit:read")


def test_guards_compose() -> None:
    owns = predicate(lambda ctx: ctx.params.get("owner") == ctx.principal.subject)
    guard = require(permissions=["audit:read"]) | owns
    assert guard.check(_ctx(VIEWER, owner="u2")) is None
    assert isinstance(guard.check(_ctx(VIEWER, owner="u1")), PermissionDenied)
    assert guard.check(_ctx(ADMIN, owner="someone")) is None
    both = require(permissions=["tasks:read"]) & owns
    assert isinstance(both.check(_ctx(VIEWER, owner="x")), PermissionDenied)
    assert both.check(_ctx(VIEWER, owner="u2")) is None
    assert isinstance((~owns).check(_ctx(VIEWER, owner="u2")), PermissionDenied)
    assert (~owns).check(_ctx(VIEWER, owner="x")) is None
    together = require(owns, permissions=["tasks:read"])  # what every adapter's require(guard, ...) makes
    assert together.check(_ctx(VIEWER, owner="u2")) is None
    assert isinstance(together.check(_ctx(ADMIN.__class__("u2"), owner="u2")), PermissionDenied)
    truthy = predicate(lambda ctx: 1)  # only True lets a request through
    assert isinstance(truthy.check(_ctx(VIEWER)), PermissionDenied)


def test_async_predicates_run_from_async_code_only() -> None:
    async def owns(ctx: GuardContext) -> bool:
        await asyncio.sleep(0)
        return ctx.params.get("owner") == ctx.principal.subject

    guard = require(scopes=["reports:read"]) | predicate(owns)
    assert guard.is_async
    assert asyncio.run(guard.acheck(_ctx(VIEWER, owner="u2"))) is None
    assert isinstance(asyncio.run(guard.acheck(_ctx(VIEWER, owner="x"))), InsufficientScope)
    with pytest.raises(ConfigurationError, match="async"):
        guard.check(_ctx(VIEWER, owner="x"))


def test_claim_mappings_for_common_identity_providers() -> None:
    keycloak = {
        "realm_access": {"roles": ["viewer"]},
        "resource_access": {"api": {"roles": ["editor"]}},
        "scope": "a b",
    }
    assert ClaimMapping.keycloak("api").read(keycloak) == ({"viewer", "editor"}, {"a", "b"}, frozenset())
    auth0 = {"https://example.com/roles": ["admin"], "scope": "read:x", "permissions": ["tasks:read"]}
    assert ClaimMapping.auth0("https://example.com/").read(auth0) == ({"admin"}, {"read:x"}, {"tasks:read"})
    assert ClaimMapping.entra().read({"roles": ["Task.Admin"], "scp": "User.Read"}) == (
        {"Task.Admin"},
        {"User.Read"},
        frozenset(),
    )
    assert ClaimMapping.cognito().read({"cognito:groups": ["g"], "scope": "s"}) == ({"g"}, {"s"}, frozenset())
    assert ClaimMapping().read({"scp": ["a", "b"], "groups": ["g"]}) == ({"g"}, {"a", "b"}, frozenset())
    with pytest.raises(InvalidToken):
        ClaimMapping().read({"roles": {"admin": True}})


def test_the_principal_carries_effective_permissions() -> None:
    verifier = JWTVerifier(verifying_keys(), roles=ROLES)
    principal = verifier.verify(token(roles=["admin"], scope="reports:read tasks:read", permissions=["x:y"]), now=NOW)
    assert principal.as_dict() == {
        "sub": "user-1",
        "roles": ["admin"],
        "scopes": ["reports:read", "tasks:read"],
        "permissions": ["audit:read", "tasks:read", "tasks:write", "x:y"],
    }


# RFC 7520 section 4: the signature vectors. Their payload is prose, so a JWT verifier refuses it as claims,
# but each backend must find the signature good.
RFC7520_RSA = {
    "kty": "RSA",
    "n": (
        "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqV"
        "wGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde"
        "3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5g"
        "HdrNP5zw"
    ),
    "e": "AQAB",
}
RFC7520_EC = {
    "kty": "EC",
    "crv": "P-521",
    "x": "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
    "y": "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
}
RFC7520_HMAC = base64.urlsafe_b64decode("hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg=")
_PAYLOAD = (
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kI"
    "GlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
)
RFC7520_VECTORS = {
    "4.1 RS256": (
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
        "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA"
        "78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQ"
        "dLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18"
        "kDquDg",
        PublicKey(RFC7520_RSA, alg="RS256", kid="bilbo.baggins@hobbiton.example"),
    ),
    "4.2 PS384": (
        "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
        "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcb"
        "UrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8I"
        "mUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-"
        "X72Eaw",
        PublicKey(RFC7520_RSA, alg="PS384", kid="bilbo.baggins@hobbiton.example"),
    ),
    "4.3 ES512": (
        "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
        "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxX"
        "Pn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2",
        PublicKey(RFC7520_EC, alg="ES512", kid="bilbo.baggins@hobbiton.example"),
    ),
    "4.4 HS256": (
        "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9",
        "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0",
        HMACKey(RFC7520_HMAC, alg="HS256", kid="018c0ae5-4d9b-471b-bfd6-eef314bc7037"),
    ),
}


@pytest.mark.parametrize("backend", [JoseBackend(), PyJWTBackend()], ids=lambda b: b.name)
@pytest.mark.parametrize("name", sorted(RFC7520_VECTORS))
def test_rfc7520_signature_vectors(backend: JoseBackend | PyJWTBackend, name: str) -> None:
    header, signature, key = RFC7520_VECTORS[name]
    if key.alg not in backend.algorithms:
        with pytest.raises(ConfigurationError):
            backend.verifier(key)
        return
    signing_input = f"{header}.{_PAYLOAD}".encode()
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    verify = backend.verifier(key)
    assert verify(signing_input, raw) is True
    assert verify(signing_input + b"x", raw) is False
    verifier = JWTVerifier([key], backend=backend)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(f"{header}.{_PAYLOAD}.{signature}")
    assert caught.value.reason == "malformed"  # prose is not a claims object


class _SyncOnlyList:
    """A blocking revocation list (as RedisRevocations is): it notes the thread each check ran on."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def revoke(self, jti: str, expires_at: float, now: float) -> None:
        self.threads.append(threading.get_ident())

    def is_revoked(self, jti: str, now: float) -> bool:
        self.threads.append(threading.get_ident())
        return False


def test_a_blocking_revocation_list_is_asked_off_the_event_loop() -> None:
    blocking = _SyncOnlyList()
    verifier = JWTVerifier(verifying_keys(), revocations=blocking)
    assert verifier.checks_sync

    async def main() -> int:
        principal = await verifier.averify(token(), now=NOW)
        await verifier.arevoke(principal, now=NOW)
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(blocking.threads) == 2
    assert loop_thread not in blocking.threads


def test_an_async_only_revocation_list_is_refused_where_verification_is_sync() -> None:
    from flask import Flask

    from backendkit.auth import AsyncRedisRevocations
    from backendkit.flask import BackendKit
    from backendkit.flask.auth import Auth

    verifier = JWTVerifier(verifying_keys(), revocations=AsyncRedisRevocations.from_url("redis://127.0.0.1:1/0"))
    assert not verifier.checks_sync
    with pytest.raises(ConfigurationError, match="async"):
        verifier.verify(token(), now=NOW)
    app = Flask(__name__)
    BackendKit(app)
    with pytest.raises(ConfigurationError, match="synchronously"):
        Auth(verifier, app)
