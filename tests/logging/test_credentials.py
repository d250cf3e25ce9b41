"""``Bearer`` and ``Basic`` in text: every credential goes, and the prose that names them stays.

The scheme word alone does not make a credential: "bearer token refused: expired"
(backendkit's own refusal line) and "basic auth is off" are prose, and were once
written as "[REDACTED] refused: expired". What follows a scheme is prose only when
it is a short word of letters in one case; the corpus below (real token formats,
made by their own generators or to their published shapes) checks that no token
has that shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import string
import uuid
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.logging import JSONFormatter, Redactor
from tests.logging.conftest import make_record

REDACTOR = Redactor()
B62 = string.ascii_letters + string.digits


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _random(rnd: random.Random, alphabet: str, size: int) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(size))


def _jwt(rnd: random.Random) -> str:
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps({"sub": _random(rnd, B62, 8), "exp": rnd.randrange(2**31)}).encode())
    signature = hmac.new(b"k", f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(signature)}"


# Token formats as services issue them: the shape, and how it is made.
TOKEN_SHAPES: dict[str, Callable[[random.Random], str]] = {
    "JWT": _jwt,
    "secrets.token_urlsafe(16..48)": lambda rnd: secrets.token_urlsafe(rnd.randint(16, 48)),
    "secrets.token_hex(16..32)": lambda rnd: secrets.token_hex(rnd.randint(16, 32)),
    "UUID 4": lambda rnd: str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
    "GitHub ghp_": lambda rnd: "ghp_" + _random(rnd, B62, 36),
    "GitHub github_pat_": lambda rnd: f"github_pat_{_random(rnd, B62, 22)}_{_random(rnd, B62, 59)}",
    "Stripe sk_live_": lambda rnd: "sk_live_" + _random(rnd, B62, 24),
    "Slack xoxb-": lambda rnd: f"xoxb-{rnd.randrange(10**11)}-{rnd.randrange(10**11)}-{_random(rnd, B62, 24)}",
    "AWS access key id": lambda rnd: "AKIA" + _random(rnd, string.ascii_uppercase + string.digits, 16),
    "Google ya29.": lambda rnd: "ya29." + _random(rnd, B62 + "-_", 150),
    "GitLab glpat-": lambda rnd: "glpat-" + _random(rnd, B62 + "-_", 20),
    "npm_": lambda rnd: "npm_" + _random(rnd, B62, 36),
    "Django session key": lambda rnd: _random(rnd, string.ascii_lowercase + string.digits, 32),
    "opaque base62 (16..40)": lambda rnd: _random(rnd, B62, rnd.randint(16, 40)),
    "opaque letters (16..40)": lambda rnd: _random(rnd, string.ascii_letters, rnd.randint(16, 40)),
    "Basic user:password": lambda rnd: base64.b64encode(
        f"{_random(rnd, string.ascii_lowercase, rnd.randint(1, 8))}:"
        f"{_random(rnd, rnd.choice([string.ascii_lowercase, string.ascii_letters, B62]), rnd.randint(1, 12))}".encode()
    ).decode(),
}
SAMPLES = 2000


@pytest.mark.parametrize("shape", list(TOKEN_SHAPES))
def test_no_token_format_passes_for_prose(shape: str) -> None:
    rnd = random.Random(shape)
    scheme = "Basic" if shape.startswith("Basic") else "Bearer"
    spellings = (scheme, scheme.lower(), scheme.upper())
    for i in range(SAMPLES):
        token = TOKEN_SHAPES[shape](rnd)
        scrubbed = REDACTOR.scrub(f"the client sent {spellings[i % 3]} {token} twice")
        assert scrubbed == "the client sent [REDACTED] twice", (shape, token)


# Basic credentials whose base64 happens to look like a word: the decoding decides.
WORD_SHAPED_BASIC = {"c:o": "Yzpv", "j:prH": "ajpwckg=", "k:b": "azpi", "admin:admin": "YWRtaW46YWRtaW4="}


@pytest.mark.parametrize(("pair", "encoded"), list(WORD_SHAPED_BASIC.items()))
def test_a_basic_credential_shaped_like_a_word_is_still_one(pair: str, encoded: str) -> None:
    assert base64.b64decode(encoded).decode() == pair
    assert REDACTOR.scrub(f"login with Basic {encoded}") == "login with [REDACTED]"
    assert REDACTOR.scrub(f"login with basic {encoded.rstrip('=')} now") == "login with [REDACTED] now"


PROSE = [
    "bearer token refused: expired",
    "Bearer token refused: bad_signature",
    "BEARER TOKEN missing",
    "basic auth is off for /admin",
    "Basic Auth and Bearer tokens are both accepted",
    "falling back to basic authentication",
    "upgrade from the basic plan",
    'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
    'Basic realm="staff", charset="UTF-8"',
    "the bearer of this letter",
]


# After Bearer, a closed list of words is prose, not the shape of a word: a short secret that
# looks like one is still redacted in free text.
@pytest.mark.parametrize("secret", ["letmeinplease", "ABCDEFGHIJKLMN", "Letmein", "hunter", "secretword"])
def test_a_short_word_like_secret_after_bearer_is_redacted(secret: str) -> None:
    assert REDACTOR.scrub(f"retrying with Bearer {secret} now") == "retrying with [REDACTED] now"


@pytest.mark.parametrize("text", PROSE)
def test_prose_about_credentials_stays(text: str) -> None:
    assert REDACTOR.scrub(text) == text
    for engine in ("stdlib", "orjson"):
        line = json.loads(JSONFormatter(json=engine).format(make_record(text)))
        assert line["message"] == text


# After a secret key the value is the credential whatever its shape: a word-like
# token, another scheme, or a scheme sent twice.
HEADERS = {
    "Authorization: Bearer abcdefgh": "Authorization: [REDACTED]",
    "authorization: bearer Token": "authorization: [REDACTED]",
    "Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b": "Authorization: [REDACTED]",
    "Proxy-Authorization: Negotiate YIIabc== sent": "Proxy-Authorization: [REDACTED] sent",
    "Authorization=ApiKey k-123&x=1": "Authorization=[REDACTED]&x=1",
    'curl -H "Authorization: Bearer abc" https://api': 'curl -H "Authorization: [REDACTED]" https://api',
    "{'Authorization': 'Bearer abc'}": "{'Authorization': '[REDACTED]'}",
    "sent Bearer Bearer abc123x": "sent Bearer [REDACTED]",
    "sent Basic basic YWRtaW46YWRtaW4=": "sent Basic [REDACTED]",
    "sent bearer Basic Yzpv": "sent bearer [REDACTED]",
    "Authorization: Bearer Bearer abcdefgh": "Authorization: [REDACTED]",
    # The word after the scheme is the next pair's key: that pair is redacted as its own.
    "Authorization: Token password: hunter2": "Authorization: [REDACTED] password: [REDACTED]",
    "authorization: Bearer authorization: Bearer abc": "authorization: [REDACTED] authorization: [REDACTED]",
}


@pytest.mark.parametrize(("text", "expected"), list(HEADERS.items()))
def test_a_credential_after_a_secret_key_goes_whatever_its_shape(text: str, expected: str) -> None:
    assert REDACTOR.scrub(text) == expected


_SCHEME = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "Negotiate", "DPoP", "Bearer Bearer"])
_TOKEN68 = st.text(alphabet=B62 + "-._~+/", min_size=1, max_size=40).map(lambda t: t + "=" * (len(t) % 3))


@given(
    key=st.sampled_from(["Authorization", "authorization", "Proxy-Authorization", "HTTP_AUTHORIZATION"]),
    separator=st.sampled_from([": ", "=", ":", " = ", "': '", '": "']),
    scheme=_SCHEME,
    token=_TOKEN68,
    end=st.sampled_from(["", " ", "\n", "&x=1", "'", '"', ", next"]),
)
def test_any_token_after_an_authorization_key_is_redacted(
    key: str, separator: str, scheme: str, token: str, end: str
) -> None:
    quote = separator[-1] if separator[-1] in "'\"" else ""
    scrubbed = REDACTOR.scrub(f"headers {key}{separator}{scheme} {token}{quote}{end}")
    # (A scheme sent twice may be redacted in two parts: "[REDACTED] [REDACTED]".)
    assert scrubbed.replace("[REDACTED] [REDACTED]", "[REDACTED]") == f"headers {key}{separator}[REDACTED]{quote}{end}"


@given(
    scheme=st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "basic"]),
    token=st.text(alphabet=B62 + "-._~+/", min_size=15, max_size=60),
)
def test_any_long_token_after_a_scheme_is_redacted(scheme: str, token: str) -> None:
    assert REDACTOR.scrub(f"got {scheme} {token} from the client") == "got [REDACTED] from the client"


@given(
    scheme=st.sampled_from(["Bearer", "bearer", "BEARER"]),
    token=st.text(alphabet=B62 + "-._~+/", min_size=1, max_size=14).filter(
        lambda t: not (t.isalpha() and (t.islower() or t.isupper() or t.istitle()))
    ),
)
def test_any_short_token_that_is_not_a_word_is_redacted(scheme: str, token: str) -> None:
    assert REDACTOR.scrub(f"got {scheme} {token} from the client") == "got [REDACTED] from the client"
