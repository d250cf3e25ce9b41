"""The two policies a limiter checks: a token bucket and a sliding window."""

from __future__ import annotations

from typing import Any

from backendkit.ratelimit._core.algorithms import SlidingWindowSpec, Spec, TokenBucketSpec
from backendkit.ratelimit._core.rates import parse_rates

MAX_NAME = 64


def check_name(name: str) -> str:
    """``name`` if it can name a policy in the ``RateLimit`` headers as it is; ``ValueError`` otherwise.

    The headers carry it as a Structured Field string (RFC 9651): printable ASCII
    only. Anything else would have to be dropped on the wire (``"per-user-✓"`` was
    sent as ``"per-user-"``), so it is refused here, at start-up, as is an empty name.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a policy name is a non-empty string")
    if len(name) > MAX_NAME:
        raise ValueError(f"a policy name is at most {MAX_NAME} characters: {name[:MAX_NAME]!r}...")
    if not all(" " <= c <= "~" for c in name):
        raise ValueError(
            f"a policy name is printable ASCII (it travels in the RateLimit headers as it is), not {name!r}"
        )
    return name


class Policy:
    """A set of rates checked with one algorithm. Subclassed by :class:`TokenBucket` and :class:`SlidingWindow`."""

    kind = ""

    def __init__(self, rate: str | Any, *, name: str | None = None) -> None:
        self.rates = parse_rates(rate)
        self.name = check_name(name) if name is not None else None

    def names(self) -> list[str]:
        """One name per rate, for headers and keys: ``"60-per-60s"``, or the given name."""
        if self.name is not None:
            return [self.name if len(self.rates) == 1 else f"{self.name}-{i}" for i in range(len(self.rates))]
        return [f"{rate.amount}-per-{rate.window}s" for rate in self.rates]

    def specs(self) -> list[Spec]:
        """The algorithm's parameters for each rate."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'; '.join(r.text for r in self.rates)!r})"


class TokenBucket(Policy):
    """A token bucket in GCRA form: ``rate`` on average, bursts of up to ``burst`` at once.

    Args:
        rate: ``"10/second"`` (limits notation; several with ``;``) or a
            ``limits.RateLimitItem``.
        burst: How many requests may arrive at once; the rate's amount by default.
        name: The policy's name in headers.

    Example:
        >>> TokenBucket("10/second", burst=20).specs()[0].burst
        20
    """

    kind = "token_bucket"

    def __init__(self, rate: str | Any, *, burst: int | None = None, name: str | None = None) -> None:
        super().__init__(rate, name=name)
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        self.burst = burst

    def specs(self) -> list[Spec]:
        return [TokenBucketSpec(r.amount, r.window_us, self.burst or r.amount) for r in self.rates]


class SlidingWindow(Policy):
    """A sliding-window counter: at most ``rate`` in any window, estimated from two fixed windows.

    Example:
        >>> SlidingWindow("100/minute").specs()[0].limit
        100
    """

    kind = "sliding_window"

    def specs(self) -> list[Spec]:
        return [SlidingWindowSpec(r.amount, r.window_us) for r in self.rates]
