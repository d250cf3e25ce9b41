"""Golden vectors: one table that every implementation of the algorithms must reproduce.

Times and durations in microseconds. Each row: (now, cost, op, allowed, remaining,
reset_after, retry_after). The pure functions, the memory store (its general path
and its inline one-policy hit) and the Redis script all run this table.
"""

from __future__ import annotations

from backendkit.ratelimit._core.algorithms import SlidingWindowSpec, Spec, TokenBucketSpec

Row = tuple[int, int, str, bool, int, int, int | None]
S = 1_000_000

VECTORS: dict[str, tuple[Spec, list[Row]]] = {
    "token bucket 10/s, burst 10": (
        TokenBucketSpec(limit=10, window=S, burst=10),
        [
            (0, 1, "hit", True, 9, 100_000, None),
            *[(0, 1, "hit", True, 8 - n, 200_000 + n * 100_000, None) for n in range(9)],
            (0, 1, "hit", False, 0, 1_000_000, 100_000),
            (50_000, 1, "peek", False, 0, 950_000, 50_000),
            (100_000, 1, "hit", True, 0, 1_000_000, None),
            (1_100_000, 3, "hit", True, 7, 300_000, None),
            (1_100_000, 2, "refund", True, 9, 100_000, None),
        ],
    ),
    "token bucket 1/s, burst 3, cost above burst": (
        TokenBucketSpec(limit=1, window=S, burst=3),
        [
            (0, 4, "hit", False, 3, 0, 1_000_000),
            (0, 3, "hit", True, 0, 3_000_000, None),
            (2_500_000, 1, "hit", True, 1, 1_500_000, None),
        ],
    ),
    "sliding window 3 per 10 s": (
        SlidingWindowSpec(limit=3, window=10 * S),
        [
            (0, 1, "hit", True, 2, 20_000_000, None),
            (1_000_000, 1, "hit", True, 1, 19_000_000, None),
            (2_000_000, 1, "hit", True, 0, 18_000_000, None),
            (3_000_000, 1, "hit", False, 0, 17_000_000, 10_333_334),
            (10_000_000, 1, "hit", False, 0, 10_000_000, 3_333_334),
            (13_333_334, 1, "hit", True, 0, 16_666_666, None),
            (13_333_334, 1, "refund", True, 1, 6_666_666, None),
            (40_000_000, 2, "hit", True, 1, 20_000_000, None),
        ],
    ),
    "sliding window 5 per 1 s, cost above limit": (
        SlidingWindowSpec(limit=5, window=S),
        [
            (0, 6, "hit", False, 5, 0, 1_000_000),
            (0, 5, "hit", True, 0, 2_000_000, None),
        ],
    ),
}
