"""Secrets inside free text: credentials, secret ``key=value`` pairs, URL passwords, API keys. Pure.

API keys and refresh tokens are found by their shape (``bk_live_<id>_<secret>``),
in :mod:`backendkit.logging._core.opaque`, under the same rules.

Every pattern here runs in time linear in its input, whatever the input: a log
line is built from what clients send (paths, queries, User-Agents), and a
pattern that backtracks lets one request stall the server. The rules that keep
it so:

- a pattern that can fail after a long run of characters may start only at the
  beginning of such a run (a look-behind), so a run is tried once, not once per
  position;
- no quantifier is nested in another, and the value after a key is read only
  for a secret key, from where the key ended;
- what is scanned is capped (``max_length`` characters of one string).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Iterable

from backendkit.logging._core.opaque import SHORTEST, may_hold_credential, secret_spans

REDACTED = "[REDACTED]"

# An HTTP credential: the scheme, Bearer or Basic (any case), and the token68 after it. A scheme
# followed by another ("Bearer Bearer <token>", a client's mistake) is not a credential itself:
# the second one, found next, is.
_CREDENTIAL = re.compile(r"(?i:bearer|(?P<basic>basic))\s+(?!(?i:bearer|basic)\s)(?P<value>[A-Za-z0-9._~+/=-]+)")
# The words of prose that follow Bearer ("bearer token", a challenge's "Bearer realm=..."): a closed
# list, so that no short secret passes for prose ("Bearer letmeinplease" is redacted); and any lower-case
# word of up to 3 letters ("the bearer of"), 14 bits at most, which no bearer token is.
_SHORT_WORD = 3
# The longest word of prose after Basic ("Basic Auth", "the basic plan"): 14 letters of one case
# carry at most 66 bits; a Basic credential is recognised by what it decodes to instead.
_PROSE_LETTERS = 14
_PROSE = frozenset(
    {
        "auth",
        "authentication",
        "authorization",
        "challenge",
        "credential",
        "credentials",
        "error",
        "header",
        "headers",
        "realm",
        "scheme",
        "schemes",
        "scope",
        "token",
        "tokens",
    }
)
# After an Authorization key and a scheme, the credential ("Token 9944b0..."): white space and a token68,
# or the marker of one redacted already ("Bearer Bearer <token>": one marker for the whole value).
_SCHEME_CREDENTIAL = re.compile(r"[ \t]+(?P<token>[A-Za-z0-9._~+/=-]+|\[REDACTED\])")
_SCHEMES = ("bearer", "basic")
# What follows the key of a pair: a word followed by it is the next pair's key, not a credential.
_KEY_AHEAD = re.compile(r"[\"']?\s*:")
# A run of base64url characters and dots that holds "eyJ": where a JWS compact serialisation
# (three base64url parts, the header starting with '{"', so eyJ) may be. The run is found
# once, from its start; the JWT in it is then found by splitting on the dots (a pattern
# tried from every "eyJ" of "eyJeyJeyJ..." would scan the rest of the run each time).
_JWT_RUN = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*eyJ[A-Za-z0-9_.-]*")

# What a key written in text is made of: letters, digits, _ . - %, and [ ] (form
# arrays: password[], user[password]).
_KEY_CHARS = r"A-Za-z0-9_.%\[\]-"
# A key and its separator (key=, key:, 'key': , "key":). The value is not part of the
# pattern: it is read only after a secret key, so a value that holds more pairs
# ("y=1;password=x", "{'y': 'a,token=b'}") is searched for them like any other text.
_KEY_SEP = re.compile(rf"(?<![{_KEY_CHARS}])(?P<key>[{_KEY_CHARS}]+)(?P<kq>[\"']?)\s*[:=]\s*")
# A value after a secret key: quoted up to its closing quote on the same line, or bare
# up to white space, the next & or ;, a quote or a bracket.
_QUOTED = {'"': re.compile(r'[^"\n]*"'), "'": re.compile(r"[^'\n]*'")}
_BARE = re.compile(r"[^\s&;\"'<>()\[\]{}]*")
# The password in a URL's user information: scheme://user:password@host.
_USERINFO = re.compile(r"(://[^/\s:@]*:)([^@\s/]+)(@)")
# pydantic's error text: "[type=string_too_long, input_value='hunter2', input_type=str]".
# The value is the client's input, whatever field it was sent for.
_INPUT_VALUE, _INPUT_TYPE = "input_value=", ", input_type="
# What ends a token, looking back from where a long text is cut.
_TOKEN_ENDS = (" ", "\t", "\n", "\r", '"', "'", "<", ">")
# A run of text with a percent escape or a plus (a URL, a query, a form body): read
# decoded too, for what its encoding hides ("auth=Bearer%20...", "u%3Ahunter2%40db").
_ENCODED_RUN = re.compile(r"(?<![^\s\"'<>])[^\s\"'<>]*[%+][^\s\"'<>]*")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_BRACKETS = re.compile(r"[\[\]]")

DEFAULT_MAX_LENGTH = 65_536


def may_hold_secret(text: str) -> bool:
    """Whether ``text`` could hold a secret at all: the cheap check before the real ones.

    A pair needs ``=`` or ``:``, an encoded one ``%``, a JWT starts ``eyJ``, a
    credential says Bearer or Basic (any case), an API key or a refresh token
    holds ``_`` (see :mod:`~backendkit.logging._core.opaque`). Plain ``in`` tests:
    this runs for every string of every line.
    """
    if "=" in text or ":" in text or "%" in text or "eyJ" in text:
        return True
    if len(text) >= SHORTEST and may_hold_credential(text):
        return True
    if "b" in text or "B" in text:  # no lower-case copy of a text that holds no b
        lowered = text.lower()
        return "bearer" in lowered or "basic" in lowered
    return False


def unquote_plus(text: str) -> str:
    """Undo form encoding (``+`` and ``%XX``) well enough to read a parameter's name or value."""
    return _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), text.replace("+", " "))


class TextScrubber:
    """Redacts the secrets inside one string.

    Args:
        is_secret_key: Whether the value under a key (as written, or decoded) is secret.
        variants: Lower-case spellings of the secret key fragments: a text that holds
            none of them has no secret pair to look for.
        max_length: The most characters of one string that are scanned; the rest is
            dropped, and a marker says how much.
    """

    def __init__(
        self, is_secret_key: Callable[[str], bool], variants: Iterable[str], *, max_length: int = DEFAULT_MAX_LENGTH
    ) -> None:
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        self.is_secret_key = is_secret_key
        self.variants = tuple(variants)
        self.max_length = max_length

    def scrub(self, text: str) -> str:
        """``text`` with its secrets replaced by ``[REDACTED]``, cut to ``max_length`` characters."""
        if len(text) > self.max_length:
            text = self._cut(text)
        text = self._plain(text)
        if "%" in text or "+" in text:
            text = _ENCODED_RUN.sub(self._decoded_run, text)
        return text

    def _cut(self, text: str) -> str:
        head = text[: self.max_length]
        # The last token may be the first half of a secret whose end the cut removed (a URL
        # whose "@" comes later, a JWT before its second dot): such a token is dropped whole.
        start = max(head.rfind(c) for c in _TOKEN_ENDS) + 1
        tail = head[start:]
        if "://" in tail or "eyJ" in tail:
            head = head[:start]
        return f"{head}[{len(text) - len(head)} more characters]"

    def _plain(self, text: str) -> str:
        # The regular expressions are slow next to plain substring tests, so each
        # runs only when the text holds what it looks for.
        lowered = text.lower()
        if "bearer" in lowered or "basic" in lowered:
            text = _CREDENTIAL.sub(_credential, text)
        if "eyJ" in text:
            text = _JWT_RUN.sub(_jwts_in_run, text)
        if _INPUT_VALUE in text and _INPUT_TYPE in text:
            text = _pydantic_inputs(text)
        if ("=" in text or ":" in text) and self._names_a_secret(lowered):
            text = self._pairs(text)
        if "://" in text and "@" in text:
            text = _USERINFO.sub(rf"\1{REDACTED}\3", text)
        if may_hold_credential(text):  # last: a pair's value holding a key went whole already
            text = _opaque(text)
        return text

    def _names_a_secret(self, lowered: str) -> bool:
        if any(variant in lowered for variant in self.variants):
            return True
        return "%" in lowered and any(variant in unquote_plus(lowered) for variant in self.variants)

    def _pairs(self, text: str) -> str:
        out: list[str] = []
        done = 0  # text[:done] is in ``out``
        for match in _KEY_SEP.finditer(text):
            if match.start() < done:  # a key inside a value already redacted
                continue
            key = match["key"]
            decoded = unquote_plus(key) if "%" in key else key
            if not self._secret(decoded):
                continue
            start = match.end()
            quote = text[start : start + 1]
            closing = _QUOTED[quote].match(text, start + 1) if quote in _QUOTED else None
            if closing is not None:  # 'value' or "value": keep the quotes
                start, end = start + 1, closing.end() - 1
            else:  # a bare value (after an unclosed quote too)
                if quote in _QUOTED:
                    start += 1
                bare = _BARE.match(text, start)
                end = bare.end() if bare is not None else start
                if end == start:
                    continue
                if text[end : end + 1] in (" ", "\t") and _is_scheme(decoded, text[start:end]):
                    end = _credential_end(text, end)  # "Authorization: Token 9944b0...": the token goes too
            if decoded is not key and ("=" in decoded or ":" in decoded):
                # "password%3Dhunter4=x": the encoded key holds a pair of its own.
                out.append(f"{text[done : match.start()]}{REDACTED}{text[match.start('kq') : start]}")
            else:
                out.append(text[done:start])
            out.append(REDACTED)
            done = end
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)

    def _secret(self, key: str) -> bool:
        if "[" not in key:
            return self.is_secret_key(key)
        # A form-array key: secret when one of its names is (password[], user[password]),
        # each judged alone, so an allowed name stays allowed (data[token_type]).
        return any(self.is_secret_key(name) for name in _BRACKETS.split(key) if name)

    def _decoded_run(self, match: re.Match[str]) -> str:
        run = match.group(0)
        decoded = unquote_plus(run)
        if decoded == run:
            return run
        # One level of decoding, as a server applies: no loop through nested escapes.
        scrubbed = self._plain(decoded)
        return run if scrubbed == decoded else scrubbed


def _opaque(text: str) -> str:
    """``text`` with the id and secret of each API key or refresh token replaced (``bk_live_[REDACTED]``)."""
    out: list[str] = []
    done = 0
    for start, end in secret_spans(text):
        out.append(f"{text[done:start]}{REDACTED}")
        done = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _is_scheme(key: str, value: str) -> bool:
    """Whether ``value`` is an authentication scheme, its credential to follow.

    Under an ``Authorization`` key (a header's ``credentials``, RFC 9110 §11.4), any
    word is; under another secret key, only Bearer and Basic, so that nothing after
    an ordinary value is taken with it (``token=x 404``).
    """
    if not (value.isascii() and value.isalpha()):
        return False
    return value.lower() in _SCHEMES or "authorization" in key.lower().replace("-", "").replace("_", "")


def _credential_end(text: str, end: int) -> int:
    """Where the credential after the scheme ending at ``end`` ends (after the next one if the scheme is sent twice)."""
    while (credential := _SCHEME_CREDENTIAL.match(text, end)) is not None:
        if _KEY_AHEAD.match(text, credential.end()):  # "Authorization: Basic password: ...": a pair follows
            break
        end = credential.end()
        if credential["token"].lower() not in _SCHEMES:
            break
    return end


def _credential(match: re.Match[str]) -> str:
    """A ``Bearer`` or ``Basic`` credential replaced, the scheme with it; a word of prose after the scheme kept."""
    return match.group(0) if _is_prose(match["value"], basic=match["basic"] is not None) else REDACTED


def _is_prose(value: str, *, basic: bool) -> bool:
    """Whether the word after a scheme is prose rather than a credential.

    After Bearer, only the words prose puts there (:data:`_PROSE`, any case) and the
    short words of a sentence ("the bearer of"): a closed list rather than a shape, so
    that a short secret ("Bearer letmeinplease") is still redacted. "Basic" is a common
    word ("the basic plan") and its credential has a shape of its own: the base64 of
    ``user:password`` (RFC 7617), a credential whatever else it looks like; a word of
    up to 14 letters of one case (or capitalised) that is not one is prose.
    """
    word = value.rstrip("=")  # "Bearer realm=\"api\"": a challenge's parameter name
    if not basic:
        return word.lower() in _PROSE or (word.isalpha() and word.islower() and len(word) <= _SHORT_WORD)
    if not (0 < len(word) <= _PROSE_LETTERS and word.isalpha()):
        return False
    if not (word.islower() or word.isupper() or word.istitle()):
        return False
    return not _holds_user_password(word)


def _holds_user_password(word: str) -> bool:
    try:  # letters only: every character is in the base64 alphabet
        return b":" in binascii.a2b_base64(word + "=" * (-len(word) % 4))
    except binascii.Error:
        return False


def _jwts_in_run(match: re.Match[str]) -> str:
    """The run with each JWT in it replaced: a part holding "eyJ" and five more characters, then two more parts."""
    parts = match.group(0).split(".")
    out: list[str] = []
    i, found = 0, False
    while i < len(parts):
        part = parts[i]
        start = part.find("eyJ")
        if start >= 0 and len(part) - start >= 8 and i + 2 < len(parts) and parts[i + 1]:
            out.append(part[:start] + REDACTED)  # header, payload and signature (which may be empty)
            i += 3
            found = True
        else:
            out.append(part)
            i += 1
    return ".".join(out) if found else match.group(0)


def _pydantic_inputs(text: str) -> str:
    """Each line's pydantic input, from its first ``input_value=`` to its last ``, input_type=``, replaced.

    The last one, so an input that itself holds ", input_type=" is still covered; a line
    without ``, input_type=`` is not pydantic's and is left alone.
    """
    out: list[str] = []
    done = 0
    while True:
        start = text.find(_INPUT_VALUE, done)
        if start < 0:
            break
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        end = text.rfind(_INPUT_TYPE, start, line_end)
        if end < 0:
            out.append(text[done:line_end])
            done = line_end
            continue
        out.append(f"{text[done : start + len(_INPUT_VALUE)]}{REDACTED}")
        done = end
    out.append(text[done:])
    return "".join(out)
