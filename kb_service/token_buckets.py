"""Per-client token buckets, for the rate limits of the perimeter and of the runtime's per-session quotas."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """Per-client token buckets: `per_minute` requests a minute on average, bursts up to `per_minute`."""

    MAX_CLIENTS = 10_000  # beyond this, full buckets are forgotten so memory stays bounded

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token; returns 0 if allowed, otherwise the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.refill_per_second)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > self.MAX_CLIENTS:
                    self._forget_full(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.refill_per_second

    def _forget_full(self, now: float) -> None:
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.refill_per_second >= self.capacity:
                del self._buckets[client]
