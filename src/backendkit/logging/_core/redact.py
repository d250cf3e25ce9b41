"""Redaction and sanitising of log values: pure functions, no logging, no I/O.

``Redactor.clean(value)`` returns a copy of ``value`` made only of JSON types
(dict with str keys, list, str, int, float, bool, None) in which:

- the value of any key that looks secret (``password``, ``token``...) is ``[REDACTED]``;
- JWTs, credentials, URL passwords and secret ``key=value`` pairs inside any string
  are ``[REDACTED]`` (see :mod:`backendkit.logging._core.scrub`);
- anything JSON cannot carry becomes a safe string, cycles and very deep
  nesting are cut, and nothing raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from itertools import islice
from typing import Any

from backendkit.logging._core.scrub import DEFAULT_MAX_LENGTH, REDACTED, TextScrubber, may_hold_secret

DEFAULT_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "set-cookie",
    "client_secret",
    "private_key",
)
"""Key fragments whose values are redacted (case-insensitive; ``-`` and ``_`` are ignored, so
``X-Api-Key``, ``api_key`` and ``apiKey`` are all the same key)."""

_SHORTEST = 7
_MAX_DEPTH = 12
_MAX_ITEMS = 1000


_INF, _NINF = float("inf"), float("-inf")


def _cut(kind: str) -> str:
    return f"[{kind}]"


class Redactor:
    """Cleans values for a log line.

    Args:
        keys: Key fragments to redact; ``None`` means :data:`DEFAULT_KEYS`.
        extra_keys: Fragments added to ``keys`` (extend the default list).
        allow_keys: Exact keys (case-insensitive) never redacted, even when a
            fragment matches (trim the default list: ``allow_keys=["token_type"]``).
        enabled: ``False`` turns key and value redaction off; sanitising stays.
        max_length: The most characters of one string scanned for secrets; a longer
            string that could hold one is cut there, with a marker of how much was
            dropped (the bound on the time one log value can take).
        float_hook: Applied to every finite float (the orjson encoder uses it to
            spell floats exactly as the stdlib encoder does).

    Example:
        >>> Redactor().clean({"user": "ann", "db": {"Password": "hunter2"}})
        {'user': 'ann', 'db': {'Password': '[REDACTED]'}}
    """

    def __init__(
        self,
        keys: Iterable[str] | None = None,
        *,
        extra_keys: Iterable[str] = (),
        allow_keys: Iterable[str] = (),
        enabled: bool = True,
        max_length: int = DEFAULT_MAX_LENGTH,
        float_hook: Callable[[float], Any] | None = None,
    ) -> None:
        self.float_hook = float_hook
        raw = [k.lower() for k in (DEFAULT_KEYS if keys is None else keys)] + [k.lower() for k in extra_keys]
        # How a key may be spelled inside text: api_key, api-key, apikey (and so apiKey).
        self._variants = tuple(
            dict.fromkeys(v for k in raw if k for v in (k, k.replace("_", "-"), k.replace("-", "_"), _norm(k)))
        )
        fragments = [_norm(k) for k in raw]
        self.fragments = tuple(dict.fromkeys(f for f in fragments if f))
        self.allow = frozenset(_norm(k) for k in allow_keys)
        # The shortest text that can hold a secret: "Basic x", or "<shortest key>=x".
        self.shortest = min([_SHORTEST, *(len(f) + 2 for f in self.fragments)])
        self.enabled = enabled
        self._verdicts: dict[str, bool] = {}
        self._text = TextScrubber(self.is_secret_key, self._variants, max_length=max_length)

    def is_secret_key(self, key: str) -> bool:
        """Whether the value under ``key`` is redacted."""
        verdict = self._verdicts.get(key)
        if verdict is None:
            name = _norm(key)
            verdict = self.enabled and name not in self.allow and any(f in name for f in self.fragments)
            if len(self._verdicts) < 10_000:  # keys repeat; a flood of unique ones must not grow this forever
                self._verdicts[key] = verdict
        return verdict

    def scrub(self, text: str) -> str:
        """``text`` with JWTs, credentials, URL passwords and ``secret_key=value`` pairs replaced.

        The pairs are what a URL's query or a DSN-like string holds
        (``?api_key=...``, ``password=...``); the key is matched like a mapping key.
        A percent-encoded stretch (``auth=Bearer%20...``) is read decoded as well;
        one that hides a secret is written decoded, the secret replaced. Text
        longer than ``max_length`` is cut before it is scanned. Time is linear
        in the length of ``text``, whatever it holds.
        """
        # Nothing redactable is shorter than "token=x" or "Basic x".
        if not self.enabled or len(text) < self.shortest or not may_hold_secret(text):
            return text
        return self._text.scrub(text)

    @property
    def verdicts(self) -> Mapping[str, bool]:
        """The keys judged so far and whether each is secret: a caller's hot loop looks here first.

        A key not in it yet is judged by :meth:`is_secret_key`, which remembers it.
        """
        return self._verdicts

    def clean(self, value: Any) -> Any:
        """A JSON-safe, redacted copy of ``value``; never raises."""
        return self._clean(value, 0, set())

    def clean_nested(self, value: Any, depth: int, seen: set[int]) -> Any:
        """:meth:`clean` for a value ``depth`` levels into a record whose containers so far are in ``seen``.

        For callers that clean many values of one record (the formatter's extras): the
        depth bound and the cycle check cover the whole record, not each value alone.
        """
        return self._clean(value, depth, seen)

    def clean_mapping(self, mapping: Mapping[Any, Any]) -> dict[str, Any]:
        """:meth:`clean` for the top level of a mapping, redacting by key."""
        out: dict[str, Any] = {}
        seen: set[int] = {id(mapping)}
        verdicts = self._verdicts
        for key, item in mapping.items():
            name = key if type(key) is str else _safe_str(key)
            secret = verdicts.get(name)
            if secret is None:
                secret = self.is_secret_key(name)
            out[name] = REDACTED if secret else self._clean(item, 1, seen)
        return out

    def _secret_pair(self, name: Any) -> bool:
        if isinstance(name, (bytes, bytearray)):
            name = bytes(name).decode("latin-1")
        return isinstance(name, str) and self.is_secret_key(name)

    def _clean(self, value: Any, depth: int, seen: set[int]) -> Any:
        kind = type(value)
        # The common types first, by exact type: this runs for every value of every line.
        if kind is str:
            return self.scrub(value) if len(value) >= self.shortest and may_hold_secret(value) else value
        if kind is int:  # beyond 64 bits not every JSON reader keeps the value: text
            return value if -(2**63) <= value < 2**64 else _int_text(value)
        if value is None or kind is bool:
            return value
        if kind is float:
            if value != value or value in (_INF, _NINF):
                return str(value)
            return value if self.float_hook is None else self.float_hook(value)
        if kind is dict and depth < _MAX_DEPTH:
            return self.clean_dict(value, depth, seen)
        return self._clean_other(value, depth, seen)

    def _clean_other(self, value: Any, depth: int, seen: set[int]) -> Any:
        if isinstance(value, str):
            return self.scrub(str(value))
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return self._clean(int(value), depth, seen)
        if isinstance(value, float):
            return self._clean(float(value), depth, seen)
        if depth >= _MAX_DEPTH:
            return _cut("too deep")
        if isinstance(value, Mapping):
            if type(value) is not dict:
                # A mapping whose items repeat a name keeps every value (werkzeug's Headers, a Mapping
                # in some releases): not a dict, where the last value of a name would win.
                pairs = _repeating_pairs(value)
                if pairs is not None:
                    return self._clean_pairs(pairs, depth, seen)
            return self.clean_dict(value, depth, seen)
        items = getattr(value, "items", None)
        if callable(items) and not isinstance(value, (str, bytes)):
            # Mapping-like without being a Mapping (werkzeug's Headers, say): by key, not as text.
            try:
                pairs = list(items())
            except Exception:
                pairs = None
            if pairs is not None and all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
                return self._clean_pairs(pairs, depth, seen)
        if isinstance(value, (list, tuple, set, frozenset)):
            if id(value) in seen:
                return _cut("cycle")
            if len(value) == 2 and isinstance(value, (list, tuple)) and self._secret_pair(value[0]):
                # A (name, value) pair, as ASGI and WSGI carry headers: the name decides.
                return [self._clean(value[0], depth + 1, seen), REDACTED]
            seen.add(id(value))
            items = list(value)[:_MAX_ITEMS] if not isinstance(value, (set, frozenset)) else _sorted(value)
            cleaned = [self._clean(item, depth + 1, seen) for item in items]
            seen.discard(id(value))
            return cleaned
        if isinstance(value, (datetime, date, time)):
            return value.isoformat()
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.scrub(_safe_str(bytes(value)))
        return self.scrub(_safe_str(value))

    def _clean_pairs(self, pairs: list[tuple[Any, Any]], depth: int, seen: set[int]) -> Any:
        out: dict[str, Any] = {}
        for key, item in pairs[:_MAX_ITEMS]:
            name = key if type(key) is str else _safe_str(key)
            value = REDACTED if self.is_secret_key(name) else self._clean(item, depth + 1, seen)
            # Repeated names (headers) keep every value.
            out[name] = (
                [*out[name], value]
                if isinstance(out.get(name), list)
                else ([out[name], value] if name in out else value)
            )
        return out

    def clean_dict(self, value: Mapping[Any, Any], depth: int, seen: set[int]) -> Any:
        """:meth:`clean_nested` for a mapping fewer than 12 levels deep, without the ladder of types before it.

        The common container of a log line, and the hottest loop of the redactor.
        """
        marker = id(value)
        if marker in seen:
            return _cut("cycle")
        out: dict[str, Any] = {}
        size = len(value)
        items = value.items() if size <= _MAX_ITEMS else islice(value.items(), _MAX_ITEMS)
        verdicts = self._verdicts
        shortest = self.shortest
        inside = False  # whether this mapping is in ``seen``: only while its containers are cleaned
        for key, item in items:
            name = key if type(key) is str else _safe_str(key)
            if verdicts.get(name) is not False and self.is_secret_key(name):  # a name seen before costs one lookup
                item = REDACTED
            else:  # the common cases inline: no call unless the value could hold a secret or is a container
                kind = type(item)
                if kind is str:
                    if len(item) >= shortest and may_hold_secret(item):
                        item = self.scrub(item)
                elif kind is int:
                    if not -(2**63) <= item < 2**64:
                        item = _int_text(item)
                elif kind is float:
                    item = self._clean(item, depth + 1, seen)
                elif not (kind is bool or item is None):
                    if not inside:  # a cycle back to this mapping is seen from here down
                        seen.add(marker)
                        inside = True
                    item = self._clean(item, depth + 1, seen)
            out[name] = item
        if size > _MAX_ITEMS:
            out["..."] = _cut(f"{size - _MAX_ITEMS} more")
        if inside:
            seen.discard(marker)
        return out


def _norm(key: str) -> str:
    # Header style, snake case and camel case name the same thing: X-Api-Key, x_api_key, xApiKey.
    return key.lower().replace("-", "").replace("_", "")


def _sorted(items: Iterable[Any]) -> list[Any]:
    listed = list(items)[:_MAX_ITEMS]
    try:
        return sorted(listed)
    except Exception:  # unorderable items, or a __lt__ that raises
        return listed


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than int-to-text conversion allows
        return f"<int with {value.bit_length()} bits>"


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        try:
            return object.__repr__(value)
        except Exception:  # pragma: no cover - object.__repr__ does not fail
            return "<unprintable>"


def _repeating_pairs(mapping: Mapping[Any, Any]) -> list[tuple[Any, Any]] | None:
    """The first items of ``mapping`` when a name repeats among them, else ``None``."""
    try:
        pairs = list(islice(mapping.items(), _MAX_ITEMS))
    except Exception:
        return None
    names = [pair[0] for pair in pairs if isinstance(pair, tuple) and len(pair) == 2]
    if len(names) != len(pairs):
        return None
    try:
        repeats = len(set(names)) < len(names)
    except TypeError:  # a name that cannot be hashed: no repeat told, the mapping as it is
        return None
    return pairs if repeats else None
