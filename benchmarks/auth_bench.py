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

    python benchmarks/auth_bench.py [--rounds 31] [--sample 0.05] [--quick] [--no-stages]
    python -m benchmarks.auth_bench --quick
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from importlib.metadata import version
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jose.backends
import jose.jwt
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk

from backendkit.auth import HMACKey, JWTVerifier, PrivateKey, PublicKey, TokenIssuer
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend

PACKAGES = ("python-jose", "pyjwt", "cryptography", "backendkit")
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
Samples = dict[str, list[float]]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    """Microseconds per call: each runner once per round, the order rotating, repeated to fill a sample."""
    reps: dict[str, int] = {}
    for name, run in runners.items():
        for _ in range(20):  # warm up: caches, the first call's imports
            run()
        start = time.perf_counter()
        for _ in range(50):
            run()
        reps[name] = max(20, int(sample_s / max((time.perf_counter() - start) / 50, 1e-7)))
    names = list(runners)
    samples: Samples = {name: [] for name in names}
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            run, n = runners[name], reps[name]
            start = time.perf_counter_ns()
            for _ in range(n):
                run()
            samples[name].append((time.perf_counter_ns() - start) / n / 1000)
    return samples


def ratio(samples: Samples, peer: str, base: str) -> float:
    """The median over rounds of peer / base, each round's pair measured side by side (> 1: base is faster)."""
    return statistics.median(p / b for p, b in zip(samples[peer], samples[base], strict=True))


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
    from backendkit.auth._claims import check_claims
    from backendkit.auth._compact import parse_compact
    from backendkit.auth._keyring import check_header, signature_plausible
    from backendkit.auth._principal import principal_from_claims

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


# --- main ---------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--sample", type=float, default=0.05, help="seconds each sample lasts (about)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of short samples")
    parser.add_argument("--no-stages", action="store_true", help="skip the stage breakdown")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.sample = 3, 0.01

    started = time.perf_counter()
    machine = f"{cpu_model()}, {os.cpu_count()} cpu(s), {platform.machine()}, {platform.platform()}"
    versions = ", ".join([f"python {platform.python_version()}"] + [f"{p} {version(p)}" for p in PACKAGES])
    jose_keys = f"python-jose keys: {jose.backends.RSAKey.__name__}, {jose.backends.ECKey.__name__}"
    print(f"machine: {machine}\nversions: {versions}\n{jose_keys}")
    load_before = os.getloadavg()[0]
    print(f"load average at the start: {load_before:.2f}\n")

    materials = {alg: Material(alg) for alg in ALGS}
    samples = {alg: case(material, args) for alg, material in materials.items()}
    if not args.no_stages:
        stages({alg: materials[alg] for alg in ("HS256", "RS256")}, args)

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
    load_after = os.getloadavg()[0]
    print(f"  machine: {machine}\n  versions: {versions}")
    print(f"  load average: {load_before:.2f} at the start, {load_after:.2f} at the end", end="")
    busy = max(load_before, load_after) > 1.5  # this run is one busy cpu; more means others competed
    print(" (others were running: the medians are noisier than usual)" if busy else "")
    print(f"  total time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
