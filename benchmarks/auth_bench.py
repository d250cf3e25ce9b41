"""JWTVerifier against python-jose and PyJWT: a verified token with its claims checked, HS256, RS256 and ES256.

Every contender verifies the same token (``sub``, ``iat``, ``exp``, ``jti``, ``iss``, ``aud``, ``roles``,
``scope``) for the same issuer and audience:

- backendkit ``JWTVerifier([key], issuer=..., audience=...).verify(token, now=...)``, on the python-jose
  backend (the default) and on the PyJWT backend; ``.claims(token, now=...)`` too, which stops before the
  principal is built;
- python-jose ``jose.jwt.decode`` with the key as its documentation passes it (the secret string, the PEM
  text), and, for information, with a key object built once;
- PyJWT ``jwt.decode`` with the key loaded once (the ``cryptography`` public key; the secret's bytes).

The RSA key has 2048 bits, the EC key is on P-256; keys are generated for the run. Contenders run in
rounds, one sample each per round in a rotating order; each sample repeats the call for about --sample
seconds. The median round is reported in microseconds per verify (the best beside); a ratio is the
median over rounds of peer / backendkit in the same round (> 1: backendkit is faster), and the targets
are judged on it. A stage breakdown of backendkit's verify follows (HS256 and RS256).

Three more sections, measured the same way (interleaved rounds, medians):

- http: what the FastAPI dependency adds to a request, against the one FastAPI's tutorial writes
  (``HTTPBearer()`` and ``jose.jwt.decode``), each measured as the route with it minus the same route
  without auth; every app has ``backendkit.fastapi.install(app)``, and requests go straight into the
  ASGI app on one event loop (no server, no sockets, no threads), HS256 tokens;
- jwks: what a cached kid lookup adds to an RS256 verify (``JWTVerifier(jwks=JWKSClient(url))`` against
  the same key configured statically), the JWKS served from a local ``http.server``; then storms of
  1,000 forged tokens with random kids, the server's requests counted, within and after the cooldown;
- redis: a revocation check on a redis-server of the run's own: round trips and Redis commands per
  check, microseconds per check (sync and async) and what a revocation list adds to verify.

    python benchmarks/auth_bench.py [--rounds 31] [--sample 0.05] [--quick] [--no-stages]
        [--only verify,http,jwks,redis]
    python -m benchmarks.auth_bench --quick
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import http.server
import json
import logging
import os
import secrets
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jose.backends
import jose.jwt
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

# At module level: FastAPI resolves an endpoint's (string) annotations in the module's globals.
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwk

from backendkit.auth import HMACKey, InvalidToken, JWTVerifier, Principal, PrivateKey, PublicKey, TokenIssuer
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend
from benchmarks._harness.http import ASGIDriver, http_scope
from benchmarks._harness.measure import (
    Samples,
    awaited,
    differences,
    measure_us,
    print_rows,
    ratio,
    repeated,
    scaled,
)
from benchmarks._harness.redis import commands_run, counting
from benchmarks._harness.run import Run, Summary, add_only, parse
from benchmarks._harness.run import only as chosen

PACKAGES = ("python-jose", "pyjwt", "cryptography", "backendkit")
SECTION_PACKAGES = {"http": ("fastapi", "starlette"), "redis": ("redis", "hiredis")}
SECTIONS = ("verify", "http", "jwks", "redis")
ISSUER = "https://auth.example.test/"
AUDIENCE = "tasks-api"
SUBJECT = "user-1"
EXTRA_CLAIMS = {"roles": ["editor", "viewer"], "scope": "tasks:read tasks:write"}
SECRET = "bench-hs256-secret-of-forty-two-bytes-long"
ALGS = ("HS256", "RS256", "ES256")

BK = "backendkit verify (python-jose backend)"
BK_PYJWT = "backendkit verify (PyJWT backend)"
BK_CLAIMS = "backendkit claims (python-jose backend)"
BK_CLAIMS_PYJWT = "backendkit claims (PyJWT backend)"
JOSE = "python-jose jwt.decode (key as documented)"
JOSE_OBJECT = "python-jose jwt.decode (key object, info)"
PYJWT = "PyJWT jwt.decode (key loaded once)"
# (alg, peer, at least this many times backendkit's time): the targets of the auth issue.
TARGETS = (("HS256", JOSE, 1.2), ("HS256", PYJWT, 1.0), ("RS256", JOSE, 2.0), ("RS256", PYJWT, 1.0))

Verify = Callable[[str], Any]


class Material:
    """One algorithm's keys in every shape the contenders take, and a token signed by backendkit."""

    def __init__(self, alg: str) -> None:
        self.alg = alg
        if alg == "HS256":
            signing: HMACKey | PrivateKey = HMACKey(SECRET)
            self.verifying: HMACKey | PublicKey = HMACKey(SECRET)
            self.jose_key: Any = SECRET  # python-jose's docs pass the secret string
            self.pyjwt_key: Any = SECRET.encode()
        else:
            private: Any = (
                rsa.generate_private_key(65537, 2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
            )
            private_pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            public_pem = (
                private.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
            signing = PrivateKey(private_pem, alg=alg)
            self.verifying = PublicKey(public_pem, alg=alg)
            self.jose_key = public_pem  # python-jose's docs pass the PEM text
            self.pyjwt_key = private.public_key()
        self.issued_at = int(time.time())
        issuer = TokenIssuer(signing, issuer=ISSUER, audience=AUDIENCE, lifetime=3600)
        self.token = issuer.issue(SUBJECT, claims=EXTRA_CLAIMS, now=self.issued_at)

    def verifier(self, backend: Any) -> JWTVerifier:
        return JWTVerifier([self.verifying], issuer=ISSUER, audience=AUDIENCE, backend=backend)

    def contenders(self) -> dict[str, Verify]:
        now = self.issued_at + 1
        on_jose, on_pyjwt = self.verifier(JoseBackend()), self.verifier(PyJWTBackend())
        peer_options: dict[str, Any] = {"algorithms": [self.alg], "audience": AUDIENCE, "issuer": ISSUER}
        jose_object = jwk.construct(self.jose_key, self.alg)
        return {
            BK: functools.partial(on_jose.verify, now=now),
            BK_PYJWT: functools.partial(on_pyjwt.verify, now=now),
            BK_CLAIMS: functools.partial(on_jose.claims, now=now),
            BK_CLAIMS_PYJWT: functools.partial(on_pyjwt.claims, now=now),
            JOSE: functools.partial(jose.jwt.decode, key=self.jose_key, **peer_options),
            JOSE_OBJECT: functools.partial(jose.jwt.decode, key=jose_object, **peer_options),
            PYJWT: functools.partial(jwt.decode, key=self.pyjwt_key, **peer_options),
        }


def subject_of(result: Any) -> Any:
    return result.subject if hasattr(result, "subject") else result["sub"]


def measure(runners: Mapping[str, Callable[[], Any]], rounds: int, sample_s: float) -> Samples:
    """Microseconds per call, in rotating rounds."""
    return measure_us({name: repeated(run) for name, run in runners.items()}, rounds, sample_s, least=20, warmup=50)


def case(material: Material, args: argparse.Namespace) -> Samples:
    verifies = material.contenders()
    for name, verify in verifies.items():
        assert subject_of(verify(material.token)) == SUBJECT, name
    token = material.token
    runners = {name: functools.partial(verify, token) for name, verify in verifies.items()}
    samples = measure(runners, args.rounds, args.sample)
    print(f"{material.alg} ({len(token)}-character token); us per verify, median of {args.rounds} rounds")
    print(f"  {'':<44}{'median':>9}{'best':>9}{'verifies/s':>12}{'/ bk':>8}{'/ bk PyJWT':>12}")
    for name, values in samples.items():
        m = statistics.median(values)
        print(
            f"  {name:<44}{m:>9.2f}{min(values):>9.2f}{1e6 / m:>12,.0f}"
            f"{ratio(samples, name, BK):>7.2f}x{ratio(samples, name, BK_PYJWT):>11.2f}x"
        )
    print()
    return samples


# --- where backendkit's time goes ---------------------------------------------------------------------------
STAGES = (
    "parse_compact",
    "check_header",
    "key select",
    "signature (plausible + verify)",
    "check_claims",
    "principal_from_claims",
)


def stage_runners(material: Material, backend: Any) -> dict[str, Callable[[], Any]]:
    """The steps of ``JWTVerifier.verify``: each alone, and the first 1..6 of them in sequence.

    Alone, a step runs on the same inputs every time and looks cheaper than it is in the
    pipeline; the differences between consecutive prefixes say what each costs in place.
    Private names: update this with the verifier.
    """
    from backendkit.auth._core.claims import check_claims
    from backendkit.auth._core.compact import parse_compact
    from backendkit.auth._core.keyring import check_header, signature_plausible
    from backendkit.auth._core.principal import principal_from_claims

    verifier, token, now = material.verifier(backend), material.token, material.issued_at + 1
    max_size, ring, rules = verifier.max_size, verifier.ring, verifier.rules
    mapping, roles = verifier.mapping, verifier.roles
    jws = parse_compact(token, max_size)
    header, payload, signing_input, signature = jws.header, jws.payload, jws.signing_input, jws.signature
    alg, verify = header["alg"], ring.select(header)
    assert verify is not None

    def sign_check() -> bool:
        return signature_plausible(alg, signature) and verify(signing_input, signature)

    alone: list[Callable[[], Any]] = [
        functools.partial(parse_compact, token, max_size),
        functools.partial(check_header, header),
        functools.partial(ring.select, header, allow_missing=False),
        sign_check,
        functools.partial(check_claims, header, payload, rules, now),
        functools.partial(principal_from_claims, payload, mapping, roles),
    ]

    def prefix(count: int) -> Callable[[], Any]:
        def run() -> Any:
            jws = parse_compact(token, max_size)
            if count > 1:
                check_header(jws.header)
            if count > 2:
                chosen = ring.select(jws.header, allow_missing=False)
                assert chosen is not None
                if count > 3 and not (
                    signature_plausible(jws.header["alg"], jws.signature) and chosen(jws.signing_input, jws.signature)
                ):
                    raise AssertionError("bad signature")
            if count > 4:
                check_claims(jws.header, jws.payload, rules, now)
            if count > 5:
                return principal_from_claims(jws.payload, mapping, roles)
            return jws

        return run

    runners = {f"alone {name}": run for name, run in zip(STAGES, alone, strict=True)}
    runners |= {f"first {count}": prefix(count) for count in range(1, len(STAGES) + 1)}
    runners["whole verify"] = functools.partial(verifier.verify, token, now=now)
    return runners


def stages(materials: dict[str, Material], args: argparse.Namespace) -> None:
    print(f"stages of backendkit's verify; us, median of {args.rounds} rounds")
    print("  alone: the step by itself on fixed inputs; in place: what adding it to the steps before costs")
    for alg, material in materials.items():
        for label, backend in (("python-jose", JoseBackend()), ("PyJWT", PyJWTBackend())):
            try:
                samples = measure(stage_runners(material, backend), args.rounds, args.sample / 3)
            except (ImportError, AttributeError) as exc:  # the internals moved: say so rather than guess
                print(f"  stage breakdown skipped: {exc!r}; update stage_runners")
                return
            med = {name: statistics.median(values) for name, values in samples.items()}
            whole = med["whole verify"]
            print(f"  {alg}, {label} backend: whole verify {whole:.2f}")
            print(f"    {'':<34}{'alone':>8}{'in place':>10}{'share':>8}")
            before = 0.0
            for count, name in enumerate(STAGES, 1):
                in_place = med[f"first {count}"] - before
                before = med[f"first {count}"]
                print(f"    {name:<34}{med[f'alone {name}']:>8.2f}{in_place:>10.2f}{in_place / whole:>8.0%}")
            shell = whole - before
            print(f"    {'the shell (verify, claims, accept)':<34}{'':>8}{shell:>10.2f}{shell / whole:>8.0%}")
    print()


# --- HTTP: what the FastAPI dependency adds to a request ----------------------------------------------------
HTTP_BATCH = 20  # requests per timed call, in one run_until_complete: the loop's own cost is spread over them
NO_AUTH = "no auth (the same route, no dependency)"
HTTP_BK = "backendkit Auth(JWTVerifier(...)).require()"
HTTP_TUTORIAL = "tutorial: HTTPBearer() + jose.jwt.decode"
HTTP_EMPTY = "an empty dependency (info: FastAPI's own cost)"


def tutorial_dependency(security: HTTPBearer) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The dependency FastAPI's tutorial writes: the HTTPBearer scheme, then python-jose's decode; 401 if bad."""

    async def current_claims(credentials: HTTPAuthorizationCredentials = Depends(security)) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jose.jwt.decode(
                credentials.credentials, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
            )
        except JWTError:
            raise HTTPException(401, "Could not validate credentials", headers={"WWW-Authenticate": "Bearer"}) from None
        return claims

    return current_claims


async def nothing() -> dict[str, str]:
    return {"sub": SUBJECT}


class Dependencies:
    """Both dependencies, built once: the apps route through them, and they are also called by hand."""

    def __init__(self) -> None:
        from backendkit.fastapi.auth import Auth

        self.verifier = JWTVerifier([HMACKey(SECRET)], issuer=ISSUER, audience=AUDIENCE)
        self.auth = Auth(self.verifier)
        self.authenticated = self.auth.require()
        self.security = HTTPBearer()
        self.current_claims = tutorial_dependency(self.security)

    def app(self, variant: str) -> FastAPI:
        """A FastAPI app with backendkit installed and one async route, ``GET /me``, behind ``variant``'s dependency."""
        from backendkit.fastapi import install

        app = FastAPI()
        install(app)
        if variant == HTTP_BK:
            authenticated = self.authenticated

            @app.get("/me")
            async def me_by_backendkit(principal: Principal = Depends(authenticated)) -> dict[str, str]:
                return {"sub": principal.subject}

        elif variant == HTTP_TUTORIAL:
            current_claims = self.current_claims

            @app.get("/me")
            async def me_by_tutorial(claims: dict[str, Any] = Depends(current_claims)) -> dict[str, str]:
                return {"sub": claims["sub"]}

        elif variant == HTTP_EMPTY:

            @app.get("/me")
            async def me_by_nothing(claims: dict[str, str] = Depends(nothing)) -> dict[str, str]:
                return {"sub": claims["sub"]}

        else:

            @app.get("/me")
            async def me() -> dict[str, str]:
                return {"sub": SUBJECT}

        return app

    def by_hand(self, loop: asyncio.AbstractEventLoop, token: str) -> dict[str, Callable[[], None]]:
        """The dependencies called as FastAPI would call them, without FastAPI; and their verification alone."""
        from starlette.requests import Request

        scope = me_scope(f"Bearer {token}")
        auth, authenticated, verifier = self.auth, self.authenticated, self.verifier
        security, current_claims = self.security, self.current_claims

        async def backendkit() -> None:
            request = Request(dict(scope))  # FastAPI builds one per request, for every dependency asking for it
            await authenticated(request, await auth.scheme(request))

        async def tutorial() -> None:
            credentials = await security(Request(dict(scope)))
            assert credentials is not None
            await current_claims(credentials)

        async def backendkit_verify() -> None:
            await verifier.averify(token)

        async def jose_decode() -> None:
            jose.jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)

        return {
            "backendkit: auth.scheme(request), then authenticated(...)": awaited(loop, backendkit, HTTP_BATCH),
            "  of which JWTVerifier.averify(token)": awaited(loop, backendkit_verify, HTTP_BATCH),
            "tutorial: HTTPBearer()(request), then current_claims(...)": awaited(loop, tutorial, HTTP_BATCH),
            "  of which jose.jwt.decode(token, ...)": awaited(loop, jose_decode, HTTP_BATCH),
        }


def me_scope(authorization: str) -> dict[str, Any]:
    """``GET /me`` with this ``Authorization``."""
    return http_scope("GET", "/me", [(b"host", b"bench"), (b"authorization", authorization.encode())])


def http_section(args: argparse.Namespace, summary: Summary) -> None:
    material = Material("HS256")
    loop = asyncio.new_event_loop()
    dependencies = Dependencies()
    variants = (NO_AUTH, HTTP_BK, HTTP_TUTORIAL, HTTP_EMPTY)
    scope = me_scope(f"Bearer {material.token}")
    clients = {variant: ASGIDriver(dependencies.app(variant), scope, loop) for variant in variants}
    forged = material.token[:-4] + ("AAAA" if not material.token.endswith("AAAA") else "BBBB")
    for variant, client in clients.items():  # each answers the token, and the auth ones refuse a forged one
        status, _, body = client.request()
        assert (status, json.loads(body)) == (200, {"sub": SUBJECT}), (variant, status, body)
        if variant in (HTTP_BK, HTTP_TUTORIAL):
            logging.disable(logging.CRITICAL)  # the access log's line for the 401
            try:
                assert client.request(me_scope(f"Bearer {forged}")).status == 401, variant
            finally:
                logging.disable(logging.NOTSET)
    batches = {variant: functools.partial(client.run, HTTP_BATCH) for variant, client in clients.items()}
    samples = scaled(measure(batches, args.rounds, args.sample * 2), HTTP_BATCH)
    parts = scaled(measure(dependencies.by_hand(loop, material.token), args.rounds, args.sample), HTTP_BATCH)
    loop.close()

    print(f"http: what the auth dependency adds to a FastAPI request; us per request, median of {args.rounds} rounds")
    print("  every app: FastAPI() + backendkit.fastapi.install(app), one async route GET /me answering {'sub': ...},")
    print(
        f"  the same Authorization header sent to all; the ASGI app called in-process, {HTTP_BATCH} requests a sample;"
    )
    print("  added: the median over rounds of (route with the dependency - route without), measured side by side")
    print_rows(samples, NO_AUTH, (HTTP_BK, HTTP_TUTORIAL, HTTP_EMPTY))
    ours, theirs = differences(samples, HTTP_BK, NO_AUTH), differences(samples, HTTP_TUTORIAL, NO_AUTH)
    ours_added, theirs_added = statistics.median(ours), statistics.median(theirs)
    value = theirs_added / ours_added if ours_added > 0 else float("inf")
    per_round = statistics.median(t / o for t, o in zip(theirs, ours, strict=True) if o > 0)
    verdict = "PASS" if value >= 1.0 else "MISS"
    print(f"  tutorial added / backendkit added: {value:.2f}x (median of per-round ratios {per_round:.2f}x)  {verdict}")
    print("  where the added time goes: the dependencies called by hand, outside FastAPI; us per call")
    print_rows(parts, width=58)
    names = list(parts)
    ours_by_hand, theirs_by_hand = statistics.median(parts[names[0]]), statistics.median(parts[names[2]])
    print(
        f"  FastAPI's share (added - called by hand): backendkit {ours_added - ours_by_hand:.2f} us, "
        f"tutorial {theirs_added - theirs_by_hand:.2f} us"
    )
    print()
    figure = f"{value:.2f}x (backendkit +{ours_added:.1f} us, tutorial +{theirs_added:.1f} us)"
    summary.judge("http: tutorial added / backendkit added >= 1.0x", figure, value >= 1.0)


# --- JWKS: a cached kid lookup, and storms of unknown kids --------------------------------------------------
JWKS_KID = "bench-rs256-1"
JWKS_COOLDOWN = 30.0
STORM = 1000
JWKS_STATIC = "static key: JWTVerifier([PublicKey(jwk, kid=...)]).verify"
JWKS_CACHED = "JWKS: JWTVerifier(jwks=JWKSClient(url)).verify, kid cached"
JWKS_SELECT = "JWKSClient.select(kid, alg) alone"
JWKS_RING = "the static key's lookup alone (verifier.ring.select)"


def _b64_uint(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class JWKSServer:
    """A JWKS document served at http://127.0.0.1:<port>/jwks.json from a thread; counts the requests."""

    def __init__(self, document: bytes) -> None:
        self.requests = 0
        counter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                counter.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="jwks-server", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class ManualClock:
    """Monotonic seconds that move only when told to: the JWKS cache's clock in the storms."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def forged_tokens(token: str, count: int) -> list[str]:
    """``token`` with its header replaced by one naming a random kid: what an attacker sends (bad signatures)."""
    _, payload, signature = token.split(".")
    forged = []
    for _ in range(count):
        header = json.dumps({"alg": "RS256", "typ": "JWT", "kid": secrets.token_hex(8)}, separators=(",", ":"))
        encoded = base64.urlsafe_b64encode(header.encode()).rstrip(b"=").decode()
        forged.append(f"{encoded}.{payload}.{signature}")
    return forged


def jwks_section(args: argparse.Namespace, summary: Summary) -> None:
    from backendkit.auth import JWKSClient

    private = rsa.generate_private_key(65537, 2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    numbers = private.public_key().public_numbers()
    public_jwk = {"kty": "RSA", "n": _b64_uint(numbers.n), "e": _b64_uint(numbers.e)}
    published = {**public_jwk, "kid": JWKS_KID, "alg": "RS256", "use": "sig"}
    signer = TokenIssuer(PrivateKey(private_pem, alg="RS256", kid=JWKS_KID), issuer=ISSUER, audience=AUDIENCE)
    issued_at = int(time.time())
    token = signer.issue(SUBJECT, claims=EXTRA_CLAIMS, now=issued_at)
    now = issued_at + 1
    server = JWKSServer(json.dumps({"keys": [published]}).encode())
    try:
        client = JWKSClient(server.url)
        cached = JWTVerifier(jwks=client, issuer=ISSUER, audience=AUDIENCE)
        static = JWTVerifier([PublicKey(public_jwk, alg="RS256", kid=JWKS_KID)], issuer=ISSUER, audience=AUDIENCE)
        assert cached.verify(token, now=now).subject == SUBJECT  # the one fetch, before timing
        assert static.verify(token, now=now).subject == SUBJECT
        assert server.requests == 1, server.requests
        header = {"alg": "RS256", "typ": "JWT", "kid": JWKS_KID}
        runners: dict[str, Callable[[], Any]] = {
            JWKS_STATIC: functools.partial(static.verify, token, now=now),
            JWKS_CACHED: functools.partial(cached.verify, token, now=now),
            JWKS_SELECT: functools.partial(client.select, JWKS_KID, "RS256"),
            JWKS_RING: functools.partial(static.ring.select, header, allow_missing=False),
        }
        samples = measure(runners, args.rounds, args.sample * 2)
        timed_requests = server.requests - 1

        print(f"jwks: a cached kid lookup (RS256, 2048-bit key); us per call, median of {args.rounds} rounds")
        print_rows(samples, JWKS_STATIC, (JWKS_CACHED,))
        added = statistics.median(differences(samples, JWKS_CACHED, JWKS_STATIC))
        verdict = "PASS" if added < 1.0 else "MISS"
        print(f"  JWKS verify - static verify: {added:+.2f} us (median of per-round differences); < 1 us  {verdict}")
        select = statistics.median(samples[JWKS_SELECT])
        print(f"  select alone {select:.2f} us; JWKS requests while timing: {timed_requests}")
        summary.judge(
            "jwks: cached kid lookup adds < 1 us to verify", f"{added:+.2f} us (select {select:.2f} us)", added < 1.0
        )

        # Storms: a client that has fetched nothing yet, on a clock that moves only when told to.
        clock = ManualClock()
        storm_client = JWKSClient(server.url, clock=clock, cooldown=JWKS_COOLDOWN)
        verifier = JWTVerifier(jwks=storm_client, issuer=ISSUER, audience=AUDIENCE)
        print(
            f"  storms of {STORM} forged tokens with random kids, on a new JWKSClient (cooldown {JWKS_COOLDOWN:g} s):"
        )
        counts = []
        for label, advance in (
            ("at first, nothing cached", 0.0),
            (f"the clock {JWKS_COOLDOWN + 1:g} s later", JWKS_COOLDOWN + 1),
        ):
            clock.now += advance
            before, reasons = server.requests, Counter[str]()
            start = time.perf_counter()
            for forged in forged_tokens(token, STORM):
                try:
                    verifier.verify(forged, now=now)
                except InvalidToken as exc:
                    reasons[exc.reason] += 1
            took = (time.perf_counter() - start) / STORM * 1e6
            counts.append(server.requests - before)
            refused = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
            print(f"    {label:<34} JWKS requests {counts[-1]:>3}   refused: {refused}   ({took:.1f} us per token)")
        assert verifier.verify(token, now=now).subject == SUBJECT  # the set it fetched serves the real kid
        ok = all(count <= 1 for count in counts)
        verdict = "PASS" if ok else "MISS"
        print(f"  requests per storm: {counts[0]} within the cooldown, {counts[1]} after it; at most 1 each  {verdict}")
        print()
        summary.judge(f"jwks: {STORM} unknown kids -> <= 1 fetch per cooldown", f"{counts[0]} then {counts[1]}", ok)
    finally:
        server.close()


# --- Revocation on Redis: one round trip per check ----------------------------------------------------------
REDIS_BATCH = 50  # awaits per timed call of an async runner, in one run_until_complete
REVOKED = 100  # of the 1,000 jtis counted, so that both answers are exercised


def redis_section(args: argparse.Namespace, summary: Summary) -> None:
    try:
        from tests.support.redis import find_redis_server, start_redis
    except ImportError as exc:
        print(f"revocation on Redis: skipped: the tests' redis helper cannot be imported ({exc})\n")
        summary.judge("redis: 1 command per revocation check", "n/a", None)
        return
    binary = find_redis_server()
    if binary is None:
        print("revocation on Redis: skipped: no redis-server\n")
        summary.judge("redis: 1 command per revocation check", "skipped: no redis-server", None)
        return
    server = start_redis(binary)
    try:
        redis_checks(args, summary, server.port)
    finally:
        server.stop()


def redis_checks(args: argparse.Namespace, summary: Summary, port: int) -> None:
    import redis
    import redis.asyncio

    from backendkit.auth.redis import AsyncRedisRevocations, RedisRevocations

    sync_class, async_class = counting(redis.Connection), counting(redis.asyncio.Connection)

    def sent() -> int:
        return int(sync_class.sent + async_class.sent)

    # Clients as an application builds them; the lists copy them with bounded timeouts (and the connection class).
    store = RedisRevocations(redis.Redis(connection_pool=redis.ConnectionPool(port=port, connection_class=sync_class)))
    async_pool = redis.asyncio.ConnectionPool(port=port, connection_class=async_class)
    async_store = AsyncRedisRevocations(redis.asyncio.Redis(connection_pool=async_pool))
    admin = redis.Redis(port=port)
    loop = asyncio.new_event_loop()
    material = Material("HS256")
    now = material.issued_at + 1
    plain = material.verifier(JoseBackend())
    on_redis = JWTVerifier([HMACKey(SECRET)], issuer=ISSUER, audience=AUDIENCE, revocations=store)
    on_async = JWTVerifier([HMACKey(SECRET)], issuer=ISSUER, audience=AUDIENCE, revocations=async_store)
    token = material.token
    jti = plain.claims(token, now=now)["jti"]
    jtis = [f"jti-{i}" for i in range(1000)]
    for i in range(REVOKED):
        store.revoke(jtis[i * 10], now + 3600, now)

    def batch(call: Callable[[], Awaitable[Any]]) -> Callable[[], None]:
        return awaited(loop, call, REDIS_BATCH)

    # Round trips and commands: 1,000 checks of distinct jtis, a tenth of them revoked, then 1,000 verifies.
    print(
        f"revocation on Redis: redis-server {admin.info('server')['redis_version']} on 127.0.0.1:{port}, no persistence"
    )
    print(f"  per check, over {len(jtis)} checks ({REVOKED} of the jtis revoked):{'round trips':>14}{'commands':>10}")
    counted: dict[str, tuple[float, float]] = {}

    async def async_checks() -> list[bool]:
        return [await async_store.ais_revoked(j, now) for j in jtis]

    async def async_verifies() -> None:
        for _ in jtis:
            await on_async.averify(token, now=now)

    passes: dict[str, Callable[[], Any]] = {
        "RedisRevocations.is_revoked": lambda: [store.is_revoked(j, now) for j in jtis],
        "AsyncRedisRevocations.ais_revoked": lambda: loop.run_until_complete(async_checks()),
        "JWTVerifier.verify + RedisRevocations": lambda: [on_redis.verify(token, now=now) for _ in jtis],
        "JWTVerifier.averify + AsyncRedisRevocations": lambda: loop.run_until_complete(async_verifies()),
    }
    for name, run in passes.items():
        run()  # connect first: the connection's own HELLO/CLIENT commands are not a check's
        before = sent()
        with commands_run(admin) as commands:
            answers = run()
        round_trips = (sent() - before) / len(jtis)
        if isinstance(answers, list) and isinstance(answers[0], bool):
            assert sum(answers) == REVOKED, (name, sum(answers))
        counted[name] = (round_trips, commands.total() / len(jtis))
        detail = ", ".join(f"{command} {calls / len(jtis):g}" for command, calls in sorted(commands.items()))
        print(f"    {name:<58}{round_trips:>7.2f}{commands.total() / len(jtis):>10.2f}   ({detail})")

    # Time: the checks against the same command sent bare on the same client, and verify with and without a list;
    # the floor of the latter is a verify followed by that bare command.
    client = store.client
    key = store.key(jti)

    def verify_then_exists() -> None:
        plain.verify(token, now=now)
        client.exists(key)

    runners: dict[str, Callable[[], Any]] = {
        "redis-py EXISTS, bare (the store's client)": functools.partial(client.exists, key),
        "RedisRevocations.is_revoked": functools.partial(store.is_revoked, jti, now),
        "verify, no revocations": functools.partial(plain.verify, token, now=now),
        "verify, then a bare EXISTS (the floor)": verify_then_exists,
        "verify + RedisRevocations": functools.partial(on_redis.verify, token, now=now),
    }

    async def loop_client() -> Any:
        return async_store.client  # the client the store opened for this loop

    async_client = loop.run_until_complete(loop_client())

    async def averify_then_exists() -> None:
        await plain.averify(token, now=now)
        await async_client.exists(key)

    async_runners: dict[str, Callable[[], Any]] = {
        "redis.asyncio EXISTS, bare (the store's client)": batch(functools.partial(async_client.exists, key)),
        "AsyncRedisRevocations.ais_revoked": batch(lambda: async_store.ais_revoked(jti, now)),
        "averify, no revocations": batch(lambda: plain.averify(token, now=now)),
        "averify, then a bare EXISTS (the floor)": batch(averify_then_exists),
        "averify + AsyncRedisRevocations": batch(lambda: on_async.averify(token, now=now)),
    }
    sync_samples = measure(runners, args.rounds, args.sample)
    async_samples = scaled(measure(async_runners, args.rounds, args.sample * 2), REDIS_BATCH)
    print(f"  us per call, median of {args.rounds} rounds (async: {REDIS_BATCH} awaits in a row per sample);")
    print("  verify, averify: JWTVerifier's, an HS256 token; differences: medians over rounds of per-round differences")
    for samples in (sync_samples, async_samples):
        names = list(samples)
        print_rows(samples)
        plain_row, floor_row, listed_row = names[2:]
        added = statistics.median(differences(samples, listed_row, plain_row))
        over_floor = statistics.median(differences(samples, listed_row, floor_row))
        check = statistics.median(differences(samples, names[1], names[0]))
        print(
            f"    the list adds {added:.2f} us to a verify, {over_floor:+.2f} us over the floor;"
            f" the check costs {check:+.2f} us over the bare EXISTS"
        )
    ok = all(abs(trips - 1) < 1e-9 and abs(commands - 1) < 1e-9 for trips, commands in counted.values())
    print(f"  one round trip and one command per check, sync and async, verify included: {'PASS' if ok else 'MISS'}")
    print()
    shown = ", ".join(f"{trips:.2f}/{commands:.2f}" for trips, commands in counted.values())
    summary.judge("redis: 1 round trip / 1 command per revocation check", shown, ok)
    loop.run_until_complete(async_store.aclose())
    loop.close()
    store.close()
    admin.close()


# --- main ---------------------------------------------------------------------------------------------------


def verify_summary(samples: dict[str, Samples]) -> None:
    print("summary: median us per verify")
    print(f"  {'':<44}" + "".join(f"{alg:>10}" for alg in ALGS))
    for name in samples["HS256"]:
        print(f"  {name:<44}" + "".join(f"{statistics.median(samples[alg][name]):>10.2f}" for alg in ALGS))
    # The peers' decode checks the signature and the claims and returns the claims: so does
    # JWTVerifier.claims (the like-for-like line). verify also builds the Principal (roles mapped to
    # permissions), which no peer does; its ratios are judged too, and printed beside.
    print("targets: peer / backendkit, the median of the per-round ratios")
    for alg, peer, wanted in TARGETS:
        for bk in (BK_CLAIMS, BK_CLAIMS_PYJWT, BK, BK_PYJWT):
            value = ratio(samples[alg], peer, bk)
            label = f"{alg} {peer.split(' (')[0]} / {bk} >= {wanted:.1f}x"
            print(f"  {label:<86}{value:>6.2f}x  {'PASS' if value >= wanted else 'MISS'}")
    for peer in (JOSE, PYJWT):
        for bk in (BK, BK_PYJWT):
            label = f"ES256 {peer.split(' (')[0]} / {bk} (no target)"
            print(f"  {label:<86}{ratio(samples['ES256'], peer, bk):>6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--sample", type=float, default=0.05, help="seconds each sample lasts (about)")
    parser.add_argument("--no-stages", action="store_true", help="skip the stage breakdown")
    add_only(parser, SECTIONS)
    args = parse(parser, quick={"rounds": 3, "sample": 0.01})
    only = chosen(parser, args, SECTIONS)

    run = Run(list(PACKAGES) + [p for section in only for p in SECTION_PACKAGES.get(section, ())])
    run.header(f"python-jose keys: {jose.backends.RSAKey.__name__}, {jose.backends.ECKey.__name__}")

    samples: dict[str, Samples] = {}
    if "verify" in only:
        materials = {alg: Material(alg) for alg in ALGS}
        samples = {alg: case(material, args) for alg, material in materials.items()}
        if not args.no_stages:
            stages({alg: materials[alg] for alg in ("HS256", "RS256")}, args)
    summary = Summary()
    sections = {"http": http_section, "jwks": jwks_section, "redis": redis_section}
    for name, section in sections.items():
        if name in only:
            section(args, summary)

    if samples:
        verify_summary(samples)
    if summary.lines:
        summary.print("targets: http, jwks, redis")
    run.footer()


if __name__ == "__main__":
    main()
