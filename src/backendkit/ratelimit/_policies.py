"""The two policies a limiter checks: a token bucket and a sliding window."""

from __future__ import annotations

from typing import Any

from backendkit.ratelimit._algorithms import SlidingWindowSpec, Spec, TokenBucketSpec
from backendkit.ratelimit._rates import parse_rates


class Policy:
    """A set of rates checked with one algorithm. Subclassed by :class:`TokenBucket` and :class:`SlidingWindow`."""

    kind = ""

    def __init__(self, rate: str | Any, *, name: str | None = None) -> None:
        self.rates = parse_rates(rate)
        self.name = name

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
